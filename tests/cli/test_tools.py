"""``gemma-desk ask``/``chat`` with tools, run as real subprocesses: a real MCP server (the demo server, from an
``mcpServers`` file), the real built-ins, and the tiny model made to call them by ``--grammar`` (every round
must be a call, so ``--max-tool-calls`` ends the answer: the call past the limit is refused, not run)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from app.chat import ChatSession
from app.chat.tool_loop import DENIED
from app.chat.tool_steps import steps_from_json
from app.store import Store
from tests.chat.tool_grammar import calls_grammar
from tests.test_cli import assert_one_line_error, json_lines, run_cli
from tests.tools.mcp.test_client import DEMO


@pytest.fixture
def servers(tmp_path: Path) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"demo": {"command": sys.executable, "args": [str(DEMO)]}}}))
    return path


def grammar(tmp_path: Path, *calls: str) -> Path:
    path = tmp_path / "calls.gbnf"
    path.write_text(calls_grammar(*calls))
    return path


def tool_events(events: list[dict[str, object]]) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    for e in events:
        if e["type"] == "tool_call":
            found.append(("call", e["id"], e["name"], e["arguments"], e["source"]))
        elif e["type"] == "tool_result":
            found.append(("result", e["id"], e["status"], e["result"]))
    return found


@pytest.mark.parametrize("allow", ["add", "*"])
def test_allowed_mcp_call_runs_and_json_reports_each_call_once(
    python: str, cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path, allow: str
) -> None:
    proc = run_cli(
        python, cli_env, "ask", "-m", str(tiny_model), "--tools", str(servers), "--allow", allow,
        "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "--max-tool-calls", "1", "--json",
        "What is 2 + 40?",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    results = [e for e in events if e["type"] == "tool_result"]
    assert tool_events(events) == [
        ("call", "call_1", "add", {"a": 2, "b": 40}, "demo"),
        ("result", "call_1", "done", "42"),
        ("call", "call_2", "add", {"a": 2, "b": 40}, "demo"),
        ("result", "call_2", "limit", results[-1]["result"]),
    ]
    assert "limit of 1 tool calls" in str(results[-1]["result"])
    first = next(e for e in events if e["type"] == "tool_call")
    assert "call:add{" in str(first["raw"]) and first["error"] == ""
    assert isinstance(results[0]["seconds"], float) and 0 <= results[0]["seconds"] < 30
    assert events[-1] == {"type": "done", "stop_reason": "end"}
    assert "Traceback" not in proc.stderr and "Allow?" not in proc.stderr


def test_without_a_terminal_an_unlisted_tool_is_refused_and_the_model_told(
    python: str, cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    store = tmp_path / "chats.sqlite3"
    proc = subprocess.run(
        [
            python, "-m", "app", "chat", "-m", str(tiny_model), "--tools", str(servers), "--store", str(store),
            "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "--max-tool-calls", "1",
        ],
        input="What is 2 + 40?\n", capture_output=True, text=True, env=cli_env, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    notices = [line for line in proc.stderr.splitlines() if "standard input is not a terminal" in line]
    assert len(notices) == 1 and "--allow add" in notices[0] and "MCP server ‘demo’" in notices[0]
    assert '⚙ add (demo) {"a":2,"b":40} ✗ denied' in proc.stderr
    assert "Allow?" not in proc.stderr
    with Store.open(store) as opened:
        (conversation,) = opened.list_conversations()
        answer = opened.path(conversation.id)[-1]
        steps = steps_from_json(answer.tools)
    assert [(c.name, c.status, c.result) for c in steps[0].calls] == [("add", "denied", DENIED)]


def test_a_chats_permissions_from_the_window_do_not_carry_over(
    python: str, cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    store = tmp_path / "chats.sqlite3"
    with Store.open(store) as opened:
        chat = ChatSession(opened)
        conversation = chat.new()
        chat.allow_tool(conversation.id, ("demo", "add"))  # "allow in this chat", given in the window
    proc = subprocess.run(
        [
            python, "-m", "app", "chat", "-m", str(tiny_model), "--tools", str(servers), "--store", str(store),
            "--continue", "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "--max-tool-calls", "1",
        ],
        input="What is 2 + 40?\n", capture_output=True, text=True, env=cli_env, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '⚙ add (demo) {"a":2,"b":40} ✗ denied' in proc.stderr


def test_builtin_calculator_plain_output(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    proc = run_cli(
        python, cli_env, "ask", "-m", str(tiny_model), "--builtin-tools", "--allow", "builtin/calculator",
        "--allow", "calc", "--grammar", str(grammar(tmp_path, 'calculator{expression:"6*7"}')),
        "--max-tool-calls", "1", "Six sevens?",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("⚙")]
    assert len(lines) == 2
    assert lines[0].startswith('⚙ calculator {"expression":"6*7"} → 42 (') and lines[0].endswith(" s)")
    assert lines[1] == '⚙ calculator {"expression":"6*7"} ✗ not run: over the limit of tool calls (--max-tool-calls)'
    assert "--allow calc: no offered tool has that name (offered: current_time, calculator)" in proc.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "not JSON"),
        ('{"mcpServers": {"x": {"args": []}}}', "command must be a non-empty string"),
        ('{"mcpServers": {}}', "names no servers"),
    ],
)
def test_a_bad_tools_file_is_one_line_and_a_usage_error(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "mcp.json"
    if content is not None:
        path.write_text(content)
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--tools", str(path), "hi")
    assert_one_line_error(proc, 2, "--tools", fragment)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes (os.mkfifo) on this system")
def test_a_tools_path_that_is_not_a_regular_file_is_refused_at_once(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    pipe = tmp_path / "mcp.json"
    os.mkfifo(pipe)  # opening it to read would wait for a writer for ever
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--tools", str(pipe), "hi")
    assert_one_line_error(proc, 2, "--tools", "is a named pipe, not an mcpServers JSON file")
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--tools", str(tmp_path), "hi")
    assert_one_line_error(proc, 2, "--tools", "is a folder, not an mcpServers JSON file")


def test_allow_without_tools_is_a_usage_error(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--allow", "add", "hi")
    assert_one_line_error(proc, 2, "--allow")


class Terminal:
    """The command with a pseudo-terminal as its standard input (where the user types); stderr read as it comes."""

    def __init__(self, cli_env: dict[str, str], *args: str) -> None:
        master, slave = os.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env,
        )  # fmt: skip
        os.close(slave)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put(line)

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.seen) < count:
            self.seen.append(self.lines.get(timeout=max(0.1, deadline - time.monotonic())))

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the end: the exit status, stdout and stderr."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        try:
            out = self.proc.stdout.read()
            code = self.proc.wait(timeout=60)
        finally:
            os.close(self.master)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(timeout=10)
            self.proc.stdout.close()
            self.proc.stderr.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, out, "".join(self.seen)


ASKED = "The model wants to call add (MCP server ‘demo’) with:"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal (pty)")
def test_on_a_terminal_the_user_is_asked_and_always_covers_the_run(
    cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    terminal = Terminal(
        cli_env, "ask", "-m", str(tiny_model), "--tools", str(servers), "--json",
        "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "--max-tool-calls", "2", "What is 2 + 40?",
    )  # fmt: skip
    terminal.wait_for(ASKED)
    terminal.type(b"a\n")  # the prompt has no newline of its own: it is answered before it shows as a line
    code, out, err = terminal.finish()
    assert code == 0, err
    assert err.count("Allow? [y]es once / [a]lways in this run / [n]o") == 1
    assert '{\n  "a": 2,\n  "b": 40\n}' in err
    results = [e for e in json_lines(out) if e["type"] == "tool_result"]
    assert [(e["status"], e["result"]) for e in results][:2] == [("done", "42"), ("done", "42")]
    assert results[2]["status"] == "limit"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal (pty)")
def test_chat_on_a_terminal_reads_turns_and_answers_from_the_same_input(
    cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    terminal = Terminal(
        cli_env, "chat", "-m", str(tiny_model), "--tools", str(servers), "--json",
        "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "--max-tool-calls", "1",
    )  # fmt: skip
    terminal.type(b"What is 2 + 40?\n")
    terminal.wait_for(ASKED)
    terminal.type(b"maybe\ny\n")  # not an answer: asked again
    terminal.type(b"And again?\n")
    terminal.wait_for(ASKED, count=2)
    terminal.type(b"n\n\x04")  # no, then the end of input (Ctrl-D) ends the chat
    code, out, err = terminal.finish()
    assert code == 0, err
    assert err.count("Allow? [y]es once / [a]lways in this run / [n]o") == 3
    events = json_lines(out)
    results = [(e["status"], e["result"]) for e in events if e["type"] == "tool_result"]
    assert [status for status, _ in results] == ["done", "limit", "denied", "limit"]
    assert results[0][1] == "42" and results[2][1] == DENIED
    assert [e for e in events if e["type"] == "done"] == [{"type": "done", "stop_reason": "end"}] * 2


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_while_a_tool_runs_stops_the_answer(
    python: str, cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [
            python, "-m", "app", "ask", "-m", str(tiny_model), "--tools", str(servers), "--allow", "demo/sleepy",
            "--grammar", str(grammar(tmp_path, "sleepy{seconds:30}")), "--json", "Sleep.",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env,
    )  # fmt: skip
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "the command ended before the call"
        if json.loads(line)["type"] == "tool_call":
            break
    time.sleep(1.0)  # the tool is running (it sleeps 30 s)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    events = json_lines(out)
    assert [(e["type"], e.get("status")) for e in events[-2:]] == [("tool_result", "stopped"), ("done", None)]
    assert events[-1] == {"type": "done", "stop_reason": "stopped"}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal (pty) and SIGINT")
def test_ctrl_c_at_the_question_stops_the_answer(
    cli_env: dict[str, str], tiny_model: Path, servers: Path, tmp_path: Path
) -> None:
    terminal = Terminal(
        cli_env, "ask", "-m", str(tiny_model), "--tools", str(servers), "--json",
        "--grammar", str(grammar(tmp_path, "add{a:2,b:40}")), "What is 2 + 40?",
    )  # fmt: skip
    terminal.wait_for(ASKED)
    time.sleep(0.5)  # at the prompt
    terminal.proc.send_signal(signal.SIGINT)
    code, out, err = terminal.finish()
    assert code == 130, err
    assert "Traceback" not in err
    events = json_lines(out)
    assert [(e["type"], e.get("status")) for e in events[-2:]] == [("tool_result", "stopped"), ("done", None)]
    assert events[-1] == {"type": "done", "stop_reason": "stopped"}
