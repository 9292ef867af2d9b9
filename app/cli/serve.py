"""``gemma-desk serve``: load a model and answer OpenAI-compatible requests until Ctrl-C.

Safe by default: it listens on 127.0.0.1; another address needs an API key (``--api-key KEY``, the
``GEMMA_DESK_API_KEY`` environment variable, or a key made once with ``--new-key``, of which only a salted hash
is kept in the settings folder). Exit codes as elsewhere: 0 (``--new-key`` alone), 1 the model or the port
failed, 2 bad arguments, 130 stopped with Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.cli.chat import load_request
from app.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Output, PlainOutput
from app.engine import Engine, EventQueue, Failed, LoadProgress, ModelLoaded
from app.server import (
    DEFAULT_HOST,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_PORT,
    KeyCheck,
    LocalServer,
    ServerError,
    ServerOptions,
    store_new_key,
    stored_key,
)
from app.server.keys import settings_path

KEY_ENV = "GEMMA_DESK_API_KEY"


def add_parser(sub: Any, positive_int: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="answer OpenAI-compatible requests (/v1/chat/completions) with a local model",
        description=(
            "Load a model and serve the OpenAI chat-completions API on this machine until Ctrl-C. It listens on "
            "127.0.0.1 only, unless --host names another address, which needs an API key."
        ),
    )
    serve.add_argument("--model", "-m", type=Path, help="a Gemma GGUF file")
    serve.add_argument("--mmproj", type=Path, help="the model's vision/audio projector GGUF")
    serve.add_argument(
        "--assistant",
        type=Path,
        metavar="GGUF",
        help="Gemma 4's MTP assistant to draft with (default: one that fits, found next to the model)",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"the address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT}; 0: any)")
    keys = serve.add_mutually_exclusive_group()
    keys.add_argument("--api-key", metavar="KEY", help=f"the key clients must send (or set {KEY_ENV})")
    keys.add_argument("--new-key", action="store_true", help="make a new API key, show it once and keep only its hash")
    serve.add_argument(
        "--cors", action="append", default=[], metavar="ORIGIN", help="allow web pages from ORIGIN (repeatable)"
    )
    serve.add_argument("--ctx", type=positive_int, help="context size in tokens (default: 8192 or less)")
    serve.add_argument("--threads", type=positive_int, help="CPU threads (default: all cores)")
    serve.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload to the GPU (-1: all)")
    serve.add_argument(
        "--cpu-moe",
        type=int,
        default=0,
        metavar="N",
        help="mixture-of-experts models (26B-A4B): the experts of the first N layers stay in RAM",
    )
    serve.add_argument("--vision-budget", type=positive_int, default=280, help="tokens per image, 70 … 1120")
    serve.add_argument(
        "--max-in-flight",
        type=positive_int,
        default=DEFAULT_MAX_IN_FLIGHT,
        metavar="N",
        help=f"requests queued or running at once (default {DEFAULT_MAX_IN_FLIGHT}); more get 429",
    )
    serve.add_argument(
        "--allow-remote-images", action="store_true", help="fetch http(s) image URLs (default: data: URLs only)"
    )
    serve.add_argument("--verbose", action="store_true", help="also print the engine's log")


def run(args: argparse.Namespace) -> int:
    out = PlainOutput(sys.stdout, sys.stderr)
    try:
        key = _key(args, out)
    except OSError as error:
        return out.fail(f"The new key could not be saved in {settings_path()}: {error.strerror or error}.", EXIT_FAILED)
    if args.model is None:
        if args.new_key:
            return EXIT_OK
        return out.fail("serve needs --model PATH (a Gemma GGUF file).", EXIT_USAGE)
    options = ServerOptions(
        host=args.host,
        port=args.port,
        key=key,
        cors_origins=tuple(args.cors),
        max_in_flight=args.max_in_flight,
        allow_remote_images=args.allow_remote_images,
    )
    events = EventQueue()
    engine = Engine(events)
    try:
        try:
            server = LocalServer(engine, options)  # refuses an unsafe address before the slow load
        except ServerError as error:
            return out.fail(str(error), EXIT_USAGE)
        if not _load(engine, events, args, out):
            return EXIT_FAILED
        try:
            server.start()
        except ServerError as error:
            return out.fail(str(error), EXIT_FAILED)
        return _serve(server, out, key is not None)
    except KeyboardInterrupt:
        return out.interrupted(EXIT_INTERRUPTED)
    finally:
        engine.close()


def _key(args: argparse.Namespace, out: Output) -> KeyCheck | None:
    if args.new_key:
        key = store_new_key()
        sys.stdout.write(
            f"New API key (shown only now; keep it somewhere safe): {key}\n"
            f"Only a salted hash of it is kept, in {settings_path()}; --new-key again replaces it.\n"
        )
        sys.stdout.flush()
        return KeyCheck.for_key(key)
    given = args.api_key or os.environ.get(KEY_ENV, "")
    if given:
        return KeyCheck.for_key(given)
    stored = stored_key()
    return KeyCheck(stored) if stored is not None else None


def _load(engine: Engine, events: EventQueue, args: argparse.Namespace, out: Output) -> bool:
    ok = False
    for event in events.until_done(engine.load(load_request(args))):
        if isinstance(event, LoadProgress):
            out.progress(event.fraction)
        elif isinstance(event, ModelLoaded):
            ok = True
            out.loaded(event)
        elif isinstance(event, Failed):
            out.error(event.message)
    return ok


def _serve(server: LocalServer, out: Output, keyed: bool) -> int:
    lock = "clients must send the API key" if keyed else "no API key needed, this machine only"
    sys.stdout.write(f"Serving the OpenAI API at {server.address}/v1 ({lock}). Ctrl-C stops.\n")
    sys.stdout.flush()
    try:
        while server.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        server.stop()
        return out.interrupted(EXIT_INTERRUPTED)
    out.error("The server stopped unexpectedly.")
    return EXIT_FAILED
