"""``RemoteEngine``: the engine's API, answered by a remote OpenAI-compatible server.

Like ``app.engine.Engine`` it runs one worker thread fed by a request queue: ``load``, ``generate``, ``measure``,
``unload`` return a request id at once, events come back through ``on_event`` on the worker thread, and every
request ends with exactly one ``Done``. ``load`` checks the server (``GET /v1/models``, the model must be listed)
and says ``ModelLoaded``; ``generate`` streams ``POST /v1/chat/completions``.

``stop`` closes the answer's connection (the socket is shut down from the calling thread, so a worker blocked
reading wakes at once, even before the server's first byte) and the request ends ``stopped``. A failure is one
``Failed`` line then ``Done("error")`` — except a stream that breaks off after the answer began: what arrived
stays, and the request ends ``Done("stopped")`` after ``Failed`` says why (the conversation keeps it as stopped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from app.engine.errors import RequestError
from app.engine.events import (
    Done,
    Failed,
    GenerateRequest,
    MediaCost,
    ModelInfo,
    ModelLoaded,
    ModelUnloaded,
    Stats,
)
from app.engine.jobs import EventCallback, Job, JobWorker
from app.engine.prompt import Part
from app.remote.config import MIDWAY, RemoteConfig, RemoteError, fetch_models, status_message, transport_message
from app.remote.payload import request_body
from app.remote.stream import StreamError, StreamReader, stream_lines

log = logging.getLogger(__name__)


#: Roughly how many tokens a second of sound costs Gemma 4 (an estimate: the server does not say).
AUDIO_TOKENS_PER_S = 25
#: Roughly how many characters of text make one token (an estimate: no tokenizer here).
CHARS_PER_TOKEN = 4


class RemoteEngine(JobWorker):
    """A remote server behind the engine's API; thread-safe to call from anywhere."""

    thread_name = "gemma-remote"

    def __init__(self, on_event: EventCallback, config: RemoteConfig) -> None:
        self._config = config
        self._socket: socket.socket | None = None  # the running answer's connection
        self._info: ModelInfo | None = None
        # No kept-alive connections: each answer opens its own, so Stop can shut exactly that one.
        self._client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
        super().__init__(on_event)  # starts the worker

    # -- requests (any thread) ----------------------------------------------------

    def load(self, config: RemoteConfig | None = None) -> int:
        """Connect to the server (``config``, or the one given before): ``ModelLoaded`` when it serves the model."""
        return self._submit("load", config or self._config)

    def generate(self, request: GenerateRequest, on_event: EventCallback | None = None) -> int:
        return self._submit("generate", request, on_event)

    def unload(self) -> int:
        return self._submit("unload", None)

    def measure(self, parts: Sequence[Part]) -> int:
        """What attachments would cost in context tokens (``MediaCost``). There is no tokenizer here, so these are
        estimates: a picture costs the config's vision budget, a second of sound ``AUDIO_TOKENS_PER_S``, text
        one token per ``CHARS_PER_TOKEN`` characters."""
        return self._submit("measure", tuple(parts))

    @property
    def model_info(self) -> ModelInfo | None:
        """The connected model, as of the last ``ModelLoaded``/``ModelUnloaded`` event."""
        return self._info

    @property
    def config(self) -> RemoteConfig:
        """The server and model in use (the model filled in when the server serves only one)."""
        return self._config

    def close(self, timeout: float = 10.0) -> None:
        """Stop whatever runs (its connection closed) and end the thread."""
        super().close(timeout)
        self._client.close()

    # -- worker -------------------------------------------------------------------

    def _stop_running(self) -> None:
        """Close the running answer's connection (called with the lock held): Stop ends it at once."""
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed
                self._socket.shutdown(socket.SHUT_RDWR)

    def _job_ended(self) -> None:
        self._socket = None

    def _do(self, job: Job) -> None:
        rid = job.request_id
        if job.kind == "load":
            assert isinstance(job.payload, RemoteConfig)
            self._do_load(rid, job.payload)
        elif job.kind == "generate":
            assert isinstance(job.payload, GenerateRequest)
            self._do_generate(rid, job.payload)
        elif job.kind == "measure":
            assert isinstance(job.payload, tuple)
            self._emit(MediaCost(rid, tuple(self._estimate(job.payload))))
            self._emit(Done(rid, "measured"))
        elif job.kind == "unload":
            self._info = None
            self._emit(ModelUnloaded(rid))
            self._emit(Done(rid, "unloaded"))

    def _do_load(self, rid: int, config: RemoteConfig) -> None:
        self._info = None
        t0 = time.perf_counter()
        entries = fetch_models(self._client, config)
        ids = [str(e["id"]) for e in entries]
        if not config.model:
            if len(ids) != 1:
                what = "no models" if not ids else f"{len(ids)} models ({_listed(ids)})"
                raise RemoteError(f"The server at {config.host} serves {what}: choose one.")
            config = dataclasses.replace(config, model=ids[0])
        elif config.model not in ids:
            raise RemoteError(
                f"The server at {config.host} does not serve '{config.model}' (it serves {_listed(ids) or 'none'})."
            )
        entry = entries[ids.index(config.model)]
        self._config = config
        self._info = model_info(config, entry)
        self._emit(ModelLoaded(rid, self._info, "", round(time.perf_counter() - t0, 3)))
        self._emit(Done(rid, "loaded"))

    def _do_generate(self, rid: int, request: GenerateRequest) -> None:
        info, config = self._info, self._config
        if info is None:
            raise RequestError("No remote model is connected: connect to a server first.")
        body = request_body(request, config.model)
        reader = StreamReader(rid, time.perf_counter())
        failure = cut = ""
        try:
            self._stream(rid, body, reader)
        except StreamError as exc:
            failure, cut = str(exc), f"{MIDWAY}: {exc.detail}"
        except RemoteError as exc:
            failure, cut = str(exc), f"{MIDWAY}: {exc}"
        except httpx.HTTPError as exc:
            if reader.finish_reason is None:  # (a connection dropped after the last chunk loses nothing)
                failure = cut = transport_message(exc, config, answering=reader.answered)
        for event in reader.end():
            self._emit(event)
        if self._is_stopped(rid):
            reason, failure = "stopped", ""
        elif failure and not reader.answered:
            self._emit(Failed(rid, failure, "RemoteError"))
            self._emit(Done(rid, "error"))
            return
        elif failure or not reader.complete:  # broke off mid-answer: what came is kept, as stopped
            reason, failure = "stopped", cut or f"{MIDWAY}."
        else:
            reason = reader.stop_reason()
        self._emit(Stats(rid, reader.stats(reason, n_ctx=info.n_ctx)))
        if failure:
            self._emit(Failed(rid, failure, "RemoteError"))
        self._emit(Done(rid, reason))

    def _stream(self, rid: int, body: dict[str, Any], reader: StreamReader) -> None:
        """Send the request and feed the stream to ``reader``, emitting its events, until it ends or is stopped."""
        config = self._config
        timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)

        def trace(name: str, info: dict[str, Any]) -> None:
            if name == "connection.connect_tcp.complete":
                sock = info["return_value"].get_extra_info("socket")
                with self._lock:
                    self._socket = sock if isinstance(sock, socket.socket) else None
                    if rid in self._stopped:
                        self._stop_running()

        url = config.api_base + "/chat/completions"
        headers = config.headers()
        with self._client.stream(
            "POST", url, json=body, headers=headers, timeout=timeout, extensions={"trace": trace}
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise RemoteError(status_message(response, config))
            for line in stream_lines(response.iter_bytes()):
                if self._is_stopped(rid):
                    return
                for event in reader.feed_line(line):
                    self._emit(event)
                if reader.done:
                    return

    def _estimate(self, parts: Sequence[Part]) -> list[tuple[str, int]]:
        costs: list[tuple[str, int]] = []
        for part in parts:
            if part.type == "text":
                if part.media_id:
                    costs.append((part.media_id, max(1, len(part.text) // CHARS_PER_TOKEN)))
            elif part.type == "audio":
                seconds = float(getattr(part.payload, "duration_s", 30.0))
                costs.append((part.media_id, max(1, round(seconds * AUDIO_TOKENS_PER_S))))
            else:
                costs.append((part.media_id, self._config.vision_budget))
        return costs


def _listed(ids: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def model_info(config: RemoteConfig, entry: dict[str, Any]) -> ModelInfo:
    """What is known of a served model: what it takes (a Gemma Desk server's ``meta`` says; else the config),
    and the sizes the server tells (vLLM's ``max_model_len``; llama-server's ``meta``: ``n_ctx_train``,
    ``n_params``, ``size``)."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    assert isinstance(meta, dict)

    def number(value: Any) -> int:
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 0

    n_ctx = number(entry.get("max_model_len")) or number(meta.get("n_ctx")) or number(meta.get("n_ctx_train"))
    # a Gemma Desk server says what its model takes; for other servers the config (the user) does
    vision = meta["vision"] if isinstance(meta.get("vision"), bool) else config.vision
    audio = meta["audio"] if isinstance(meta.get("audio"), bool) else config.audio
    return ModelInfo(
        path=Path(config.model),
        name=config.model,
        architecture=str(meta.get("general.architecture", "")) or "remote",
        n_params=number(meta.get("n_params")),
        size_bytes=number(meta.get("size")),
        n_ctx=n_ctx,
        n_ctx_train=number(meta.get("n_ctx_train")) or n_ctx,
        backend=f"Remote ({config.host})",
        gpu_layers=0,
        n_layers=0,
        chat_template_source="server",
        has_vision=vision,
        has_audio=audio,
        vision_budget=config.vision_budget if vision else 0,
    )
