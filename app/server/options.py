"""How the local server runs: address, key, limits; and the rule that only loopback may go without a key."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.server.errors import ServerError
from app.server.keys import KeyCheck

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_IN_FLIGHT = 8
#: The largest request body taken (pictures and audio travel inline, base64).
MAX_BODY_BYTES = 32 * 1024 * 1024
#: The largest picture fetched from an http(s) URL, when remote images are allowed.
MAX_REMOTE_IMAGE_BYTES = 20 * 1024 * 1024
REMOTE_IMAGE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port
    key: KeyCheck | None = None  # None: no key asked (allowed on loopback only)
    cors_origins: tuple[str, ...] = ()
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT  # queued + running; the rest get 429
    allow_remote_images: bool = False
    max_body_bytes: int = MAX_BODY_BYTES


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_options(options: ServerOptions) -> None:
    """Refuse what is unsafe or impossible, with one line that says what to do."""
    if not is_loopback(options.host) and options.key is None:
        raise ServerError(
            f"Refusing to listen on {options.host} without an API key: anyone on the network could use the model. "
            "Give --api-key KEY or make one with --new-key, or keep the default --host 127.0.0.1."
        )
    if not 0 <= options.port <= 65535:
        raise ServerError(f"Port {options.port} is not a valid port (1 to 65535).")
    if options.max_in_flight < 1:
        raise ServerError("At least one request must be allowed in flight.")
    for origin in options.cors_origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ServerError(f"CORS origin {origin!r} must look like https://example.com (or be *).")
