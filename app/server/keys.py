"""API keys: made with ``secrets``, shown once, kept only as a salted scrypt hash in ``server.json``.

Requests are checked in constant time. A key seen correct once is remembered in memory by its SHA-256, so
later requests cost one hash rather than one scrypt; wrong keys pay the scrypt, one at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import config_dir, write_json_atomically

SETTINGS_FILE = "server.json"
_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 16 MiB and tens of milliseconds per check


def new_key() -> str:
    """A fresh random key: "gd-" and 43 URL-safe characters (256 random bits)."""
    return "gd-" + secrets.token_urlsafe(32)


def _scrypt(key: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(key.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


@dataclass(frozen=True, slots=True)
class KeyHash:
    """What is stored of a key: the salt, the scrypt parameters and the hash."""

    salt: bytes
    digest: bytes
    n: int = _N
    r: int = _R
    p: int = _P

    @staticmethod
    def of(key: str) -> KeyHash:
        salt = secrets.token_bytes(16)
        return KeyHash(salt, _scrypt(key, salt))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kdf": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": self.salt.hex(),
            "hash": self.digest.hex(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> KeyHash:
        if data.get("kdf") != "scrypt":
            raise ValueError("unknown key hash")
        n, r, p = int(data["n"]), int(data["r"]), int(data["p"])
        if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ValueError("key hash parameters out of range")
        return KeyHash(bytes.fromhex(data["salt"]), bytes.fromhex(data["hash"]), n, r, p)

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(_scrypt(key, self.salt, self.n, self.r, self.p), self.digest)


class KeyCheck:
    """Checks ``Authorization: Bearer KEY`` against a stored hash, in constant time."""

    def __init__(self, stored: KeyHash) -> None:
        self._stored = stored
        self._known: bytes | None = None  # SHA-256 of the key once it was seen to match
        self._slow = threading.Lock()  # wrong keys are checked one at a time

    @staticmethod
    def for_key(key: str) -> KeyCheck:
        return KeyCheck(KeyHash.of(key))

    def quick(self, presented: str) -> bool | None:
        """True when ``presented`` is the key already seen; None when the slow check must decide."""
        known = self._known
        if known is None:
            return None
        return True if hmac.compare_digest(hashlib.sha256(presented.encode("utf-8")).digest(), known) else None

    def check(self, presented: str) -> bool:
        """The full check (blocking: scrypt); remembers a match."""
        if self.quick(presented):
            return True
        with self._slow:
            ok = self._stored.matches(presented)
        if ok:
            self._known = hashlib.sha256(presented.encode("utf-8")).digest()
        return ok


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def stored_key(path: Path | None = None) -> KeyHash | None:
    """The stored key's hash, or None when there is none (or the file is unreadable: then no key is assumed
    and a non-loopback address is refused, the safe side)."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KeyHash.from_dict(data["api_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_new_key(path: Path | None = None) -> str:
    """Make a key, store its hash (replacing any earlier key) and return the key, to be shown once."""
    path = path or settings_path()
    key = new_key()
    data: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            data = loaded
    except (OSError, ValueError):
        pass
    data["api_key"] = KeyHash.of(key).as_dict()
    write_json_atomically(path, data)
    return key
