"""Many clients on one engine: requests queue and run one at a time, the rest get 429, a client that hangs up
stops its generation, and a flood of requests leaves nothing behind."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.chat.tool_grammar import answer_grammar
from tests.server.conftest import ServerFactory, client

LONG = answer_grammar("la " * 4000)  # far more than any test lets it write


def _stream_times(address: str, text: str, out: dict[str, tuple[float, float, str]], name: str) -> None:
    """Stream one forced answer; record when its first and last words came and what it said."""
    stamps: list[float] = []
    words: list[str] = []
    with client(address) as api:
        for chunk in api.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": name}],
            max_tokens=400,
            stream=True,
            extra_body={"grammar": answer_grammar(text)},
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                stamps.append(time.perf_counter())
                words.append(chunk.choices[0].delta.content)
    out[name] = (stamps[0], stamps[-1], "".join(words))


def test_two_clients_at_once_are_both_answered_one_after_the_other(serve: ServerFactory) -> None:
    counts: list[int] = []
    server = serve(on_activity=counts.append)
    results: dict[str, tuple[float, float, str]] = {}
    text = "word " * 60 + "end"
    threads = [threading.Thread(target=_stream_times, args=(server.address, text, results, n)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert set(results) == {"a", "b"}
    assert all(r[2] == text for r in results.values())
    first, second = sorted(results.values())
    # The engine answered one, then the other: the second's words began once the first's were (nearly) all out
    # (the clients read on their own threads, so a stamp may lag a little behind the engine).
    assert second[0] > first[0] + 0.5 * (first[1] - first[0])
    assert max(counts) == 2 and counts[-1] == 0  # the window saw two in flight, then none


def test_past_the_limit_a_request_gets_429_with_retry_after(serve: ServerFactory) -> None:
    server = serve(max_in_flight=1)
    body = {"messages": [{"role": "user", "content": "go"}], "stream": True, "max_tokens": 7000, "grammar": LONG}
    with (
        httpx.Client(timeout=60) as http,
        http.stream("POST", server.address + "/v1/chat/completions", json=body) as held,
    ):
        assert held.status_code == 200
        turned = http.post(
            server.address + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
        )
        assert turned.status_code == 429 and turned.headers["retry-after"] == "1"
        assert turned.json()["error"]["type"] == "rate_limit_error"
    # The held stream was dropped: its slot frees and the next request is answered.
    deadline = time.monotonic() + 30
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    reply = httpx.post(
        server.address + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    )
    assert reply.status_code == 200


def _full_answer_s(address: str) -> float:
    start = time.perf_counter()
    with client(address) as api:
        reply = api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "long"}], max_tokens=7000, extra_body={"grammar": LONG}
        )
    assert reply.usage is not None and reply.usage.completion_tokens == 7000
    return time.perf_counter() - start


def test_a_client_that_hangs_up_mid_stream_frees_the_engine(serve: ServerFactory) -> None:
    counts: list[int] = []
    server = serve(on_activity=counts.append)
    whole = _full_answer_s(server.address)  # how long the long answer takes when nobody hangs up
    with client(server.address) as api:
        stream = api.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "long"}],
            max_tokens=7000,
            stream=True,
            extra_body={"grammar": LONG},
        )
        for n, _chunk in enumerate(stream):
            if n == 5:
                break
        hung_up = time.perf_counter()
        stream.close()
    with client(server.address) as api:
        reply = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "next"}], max_tokens=2)
    waited = time.perf_counter() - hung_up
    assert reply.choices[0].finish_reason == "length"
    assert waited < whole / 2, f"the next answer waited {waited:.2f} s; the whole long answer takes {whole:.2f} s"
    assert counts[-1] == 0


def _hang_up_after_sending(address: str, body: dict[str, object]) -> None:
    """Send a request over a raw socket and hang up before any answer comes."""
    host, port = address.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(head.encode() + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        time.sleep(0.5)  # it is queued behind the running answer by now


def _wait_until(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_queued_client_that_hangs_up_is_dropped(serve: ServerFactory) -> None:
    counts: list[int] = []
    server = serve(on_activity=counts.append)
    body = {"messages": [{"role": "user", "content": "go"}], "stream": True, "max_tokens": 7000, "grammar": LONG}
    with httpx.Client(timeout=60) as first, first.stream("POST", server.address + "/v1/chat/completions", json=body):
        _hang_up_after_sending(server.address, {**body, "stream": False})
        assert 2 in counts
        assert _wait_until(lambda: server.in_flight == 1, 5)  # dropped while the first still runs
    assert _wait_until(lambda: server.in_flight == 0, 5)  # and the first, hung up too, stopped


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    pytest.skip("no /proc/self/status VmRSS on this system")


def test_two_hundred_requests_from_twenty_clients(serve: ServerFactory) -> None:
    server = serve()
    url = server.address + "/v1/chat/completions"
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def one_client(n: int, rounds: int) -> None:
        with httpx.Client(timeout=120) as http:
            for i in range(rounds):
                stream = (n + i) % 2 == 0
                body = {"messages": [{"role": "user", "content": f"client {n} round {i}"}], "max_tokens": 4}
                reply = http.post(url, json={**body, "stream": stream})
                if reply.status_code == 200:
                    assert reply.text.rstrip().endswith("data: [DONE]") if stream else reply.json()["choices"]
                with lock:
                    statuses[reply.status_code] += 1

    def flood(rounds: int) -> None:
        threads = [threading.Thread(target=one_client, args=(n, rounds)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
            assert not t.is_alive(), "a client hung"

    flood(2)  # warm up: the allocator and the server's pools settle
    before = _rss_kib()
    statuses.clear()
    flood(10)
    grown_mb = (_rss_kib() - before) / 1024
    assert sum(statuses.values()) == 200, statuses
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[200] >= 8
    assert grown_mb < 50, f"memory grew {grown_mb:.1f} MB over 200 requests"
    assert server.in_flight == 0
