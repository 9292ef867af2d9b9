"""The OpenAI-compatible HTTP API on Starlette: ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /health``. Every refusal is OpenAI's JSON error shape with its status."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.engine import Engine, ModelInfo
from app.server.bridge import Generation, InFlight
from app.server.content import ContentReader, DecodedMediaCache
from app.server.errors import ApiError, error_body
from app.server.options import ServerOptions
from app.server.replies import Answer, merged, sse
from app.server.translate import MAX_JSON_DEPTH, Reply, json_depth, parse_request

log = logging.getLogger(__name__)

#: A stream's chunks come at most this often (its first at once): tokens that arrive faster share a chunk, so a
#: fast model does not spend its time sending one chunk per token; at 125 a second no reader sees the merging.
STREAM_EVERY_S = 0.008
_CLIENT_ERRORS = ("RequestError", "ContextError", "TemplateError")


class Api:
    """The routes' shared state: the engine (shared with the window), the options, the requests in flight."""

    def __init__(self, engine: Engine, options: ServerOptions, in_flight: InFlight) -> None:
        self.engine = engine
        self.options = options
        self.in_flight = in_flight
        self.decoded = DecodedMediaCache()

    def app(self) -> Starlette:
        middleware = []
        if self.options.cors_origins:
            middleware.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=list(self.options.cors_origins),
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=["Authorization", "Content-Type"],
                )
            )
        routes = [
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]
        handlers: dict[Any, Any] = {HTTPException: _http_error, ApiError: _api_error, Exception: _internal_error}
        return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)

    # -- routes --------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        await self._authorize(request)
        info = self.engine.model_info
        if info is None:
            return JSONResponse({"status": "no model", "model": None}, status_code=503)
        return JSONResponse({"status": "ok", "model": model_id(info)})

    async def models(self, request: Request) -> Response:
        await self._authorize(request)
        info = self.engine.model_info
        data = [] if info is None else [_model_entry(info)]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        await self._authorize(request)
        info = self._model()
        if not self.in_flight.enter():
            raise ApiError(429, "The server is busy: too many requests in flight; try again shortly.")
        try:
            body = await _read_json(request, self.options.max_body_bytes)
            reader = ContentReader(
                allow_remote_images=self.options.allow_remote_images,
                can_see=info.has_vision,
                can_hear=info.has_audio,
                decoded=self.decoded,
            )
            if _has_media(body):  # decoding pictures and sound is CPU work: off the event loop
                generate, reply = await anyio.to_thread.run_sync(parse_request, body, reader)
            else:
                generate, reply = parse_request(body, reader)
            self._model()  # the model may have gone while the pictures were decoded
            generation = Generation(self.engine, generate, asyncio.get_running_loop())
        except BaseException:
            self.in_flight.leave()
            raise
        self.in_flight.track(generation)
        answer = Answer(model_id(info), reply.stop)
        if reply.stream:
            return StreamingResponse(
                self._stream(generation, answer, reply),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return await self._whole(request, generation, answer)

    # -- answering -----------------------------------------------------------------

    async def _whole(self, request: Request, generation: Generation, answer: Answer) -> Response:
        watcher = asyncio.create_task(_disconnected(request))
        watcher.add_done_callback(lambda task: None if task.cancelled() else generation.abandon())
        stop_reason = ""
        try:
            async for event in generation.events():
                answer.feed(event)
                if answer.stopped_by_string:
                    generation.stop()
                stop_reason = getattr(event, "stop_reason", stop_reason)
            answer.flush()
        finally:
            if not watcher.done():
                watcher.cancel()
            self._finished(generation)
        if answer.failure is not None:
            raise self._failure(answer)
        return JSONResponse(answer.completion(stop_reason))

    async def _stream(self, generation: Generation, answer: Answer, reply: Reply) -> AsyncIterator[bytes]:
        """The SSE body; a client that goes away cancels it here, which stops the generation."""
        stop_reason = ""
        try:
            yield sse(answer.chunk({"role": "assistant", "content": ""}))
            async for batch in generation.batches(every_s=STREAM_EVERY_S):
                deltas = []
                for event in batch:
                    delta = answer.feed(event)
                    if delta is not None:
                        deltas.append(delta)
                    stop_reason = getattr(event, "stop_reason", stop_reason)
                if answer.stopped_by_string:
                    generation.stop()
                if deltas:
                    yield b"".join(sse(answer.chunk(delta)) for delta in merged(deltas))
            tail = answer.flush()
            if tail is not None:
                yield sse(answer.chunk(tail))
            if answer.failure is not None:
                yield sse(self._failure(answer).body())
            else:
                yield sse(answer.chunk({}, answer.finish_reason(stop_reason)))
                if reply.include_usage:
                    yield sse(answer.usage_chunk())
            yield sse("[DONE]")
        finally:
            self._finished(generation)

    def _finished(self, generation: Generation) -> None:
        generation.stop()  # a no-op once it finished; a client gone mid-answer frees the engine
        self.in_flight.untrack(generation)
        self.in_flight.leave()

    def _failure(self, answer: Answer) -> ApiError:
        failure = answer.failure
        assert failure is not None
        if self.engine.model_info is None:
            return ApiError(503, "No model is loaded: load one in Gemma Desk first.", code="model_not_loaded")
        status = 400 if failure.kind in _CLIENT_ERRORS else 500
        return ApiError(status, failure.message, code=failure.kind)

    def _model(self) -> ModelInfo:
        info = self.engine.model_info
        if info is None:
            raise ApiError(503, "No model is loaded: load one in Gemma Desk first.", code="model_not_loaded")
        return info

    async def _authorize(self, request: Request) -> None:
        check = self.options.key
        if check is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "An API key is needed: send it as 'Authorization: Bearer KEY'.", code="invalid_api_key")
        presented = presented.strip()
        if check.quick(presented) or await anyio.to_thread.run_sync(check.check, presented):
            return
        raise ApiError(401, "The API key is not right.", code="invalid_api_key")


def model_id(info: ModelInfo) -> str:
    return info.path.stem or info.name


def _model_entry(info: ModelInfo) -> dict[str, Any]:
    try:
        created = int(info.path.stat().st_mtime)
    except OSError:
        created = 0
    meta = {  # llama-server's names for the sizes, and what the model takes (a Gemma Desk client reads these)
        "n_ctx": info.n_ctx,
        "n_ctx_train": info.n_ctx_train,
        "n_params": info.n_params,
        "size": info.size_bytes,
        "general.architecture": info.architecture,
        "vision": info.has_vision,
        "audio": info.has_audio,
    }
    return {"id": model_id(info), "object": "model", "created": created, "owned_by": "gemma-desk", "meta": meta}


async def _disconnected(request: Request) -> None:
    """Returns when the client hangs up (the body is read by now, so the next message is the disconnect)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length", "")
    too_large = f"The request body is larger than {limit // (1024 * 1024)} MiB."
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, too_large)
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise ApiError(413, too_large)
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.") from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError(400, f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    return body


def _has_media(body: Any) -> bool:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return False
    return any(
        isinstance(part, dict) and part.get("type") != "text"
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for part in message["content"]
    )


async def _api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    headers = {"Retry-After": "1"} if error.status == 429 else None
    if error.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = {404: "There is nothing at this path.", 405: "This path does not take that method."}
    text = message.get(error.status_code, str(error.detail))
    return JSONResponse(error_body(error.status_code, text), status_code=error.status_code, headers=error.headers)


async def _internal_error(_request: Request, error: Exception) -> Response:
    log.exception("server request failed", exc_info=error)
    return JSONResponse(error_body(500, f"Internal error: {type(error).__name__}."), status_code=500)
