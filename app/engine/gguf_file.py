"""Reads a GGUF file's header to check it before llama.cpp touches it.

A model file is untrusted input: it may be missing, not a GGUF at all, cut
short by an interrupted download, or a projector (mmproj) passed as a model.
This reader walks the header with bounds checks, collects the metadata, and
works out how long the file must be from its tensor table, so each of those
cases gets its own clear message instead of a crash or a vague failure.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.errors import ModelFileError
from app.regular_file import NotRegularFile, open_regular

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

#: Arrays longer than this are not kept in ``metadata`` (only their length is).
_KEEP_ARRAY_MAX = 256
#: A sane upper bound on any count in a header; beyond it the file is corrupt.
_MAX_COUNT = 1 << 31

# GGUF value types → struct format (scalars only).
_SCALAR_FORMATS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9

# ggml tensor types → (elements per block, bytes per block). Facts from ggml's type traits.
GGML_BLOCK_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 36),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
    39: (32, 17),
    40: (64, 36),
    41: (128, 18),
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def n_bytes(self) -> int | None:
        sizes = GGML_BLOCK_SIZES.get(self.ggml_type)
        if sizes is None:
            return None
        block, size = sizes
        return self.n_elements // block * size


@dataclass
class GGUFInfo:
    """What the header says about a GGUF file."""

    path: Path
    version: int
    file_size: int
    metadata: dict[str, Any]
    array_lengths: dict[str, int]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    expected_size: int | None = None  # None when a tensor type is unknown to us

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", "") or self.path.stem)

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return str(value) if value else None

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def is_projector(self) -> bool:
        return self.architecture == "clip"

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)


class _Cursor:
    """Bounds-checked reads over the mapped file."""

    def __init__(self, buf: mmap.mmap | bytes, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelFileError(
                f"{self.path.name} is incomplete: its header ends early (the download was probably interrupted)."
            )

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        self.need(size)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def count(self) -> int:
        n = int(self.unpack("<Q"))
        if n > _MAX_COUNT:
            raise ModelFileError(f"{self.path.name} is corrupt: its header holds an impossible count ({n}).")
        return n

    def string(self) -> str:
        n = self.count()
        self.need(n)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.count()
        self.need(n)
        self.pos += n


def _read_value(cur: _Cursor, vtype: int, key: str, lengths: dict[str, int]) -> Any:
    if vtype in _SCALAR_FORMATS:
        return cur.unpack(_SCALAR_FORMATS[vtype])
    if vtype == _STRING:
        return cur.string()
    if vtype == _ARRAY:
        etype = int(cur.unpack("<I"))
        n = cur.count()
        lengths[key] = n
        keep = n <= _KEEP_ARRAY_MAX
        if etype in _SCALAR_FORMATS:
            fmt = _SCALAR_FORMATS[etype]
            size = struct.calcsize(fmt)
            cur.need(size * n)
            if keep:
                values = list(struct.unpack_from("<" + fmt[1] * n, cur.buf, cur.pos))
                cur.pos += size * n
                return values
            cur.pos += size * n
            return None
        if etype == _STRING:
            if keep:
                return [cur.string() for _ in range(n)]
            for _ in range(n):
                cur.skip_string()
            return None
        raise ModelFileError(f"{cur.path.name} is corrupt: unsupported array type {etype} in '{key}'.")
    raise ModelFileError(f"{cur.path.name} is corrupt: unknown value type {vtype} in '{key}'.")


def projector_width(info: GGUFInfo) -> int | None:
    """The text width a projector feeds (it must equal the model's embedding width)."""
    for key in ("clip.vision.projection_dim", "clip.audio.projection_dim"):
        value = info.get(key)
        if isinstance(value, int):
            return value
    return None


def read_gguf_info(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read and check ``path``'s header. Raises :class:`ModelFileError` with a clear message."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelFileError(f"Model file not found: {p}")
    if p.is_dir():
        raise ModelFileError(f"{p} is a folder, not a model file.")
    try:
        opened, info = open_regular(p)
        size = info.st_size
        with opened as fh:
            if size < 24:
                head = fh.read(4)
                if head == GGUF_MAGIC:
                    raise ModelFileError(f"{p.name} is incomplete: the file is only {size} bytes long.")
                raise ModelFileError(f"{p.name} is not a GGUF model file.")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, p, size)
    except NotRegularFile as error:
        raise ModelFileError(f"{p.name} is {error.kind}, not a model file.") from None
    except PermissionError:
        raise ModelFileError(f"No permission to read {p}.") from None
    except IsADirectoryError:
        raise ModelFileError(f"{p} is a folder, not a model file.") from None
    except OSError as exc:
        raise ModelFileError(f"Could not read {p}: {exc.strerror or exc}.") from None


def _parse(buf: mmap.mmap, path: Path, file_size: int) -> GGUFInfo:
    cur = _Cursor(buf, path)
    cur.need(4)
    if bytes(buf[0:4]) != GGUF_MAGIC:
        raise ModelFileError(f"{path.name} is not a GGUF model file.")
    cur.pos = 4
    version = int(cur.unpack("<I"))
    if version not in (2, 3):
        raise ModelFileError(f"{path.name} uses GGUF version {version}, which this app cannot read.")
    n_tensors = cur.count()
    n_kv = cur.count()
    metadata: dict[str, Any] = {}
    lengths: dict[str, int] = {}
    for _ in range(n_kv):
        key = cur.string()
        vtype = int(cur.unpack("<I"))
        metadata[key] = _read_value(cur, vtype, key, lengths)
    tensors: list[TensorInfo] = []
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = int(cur.unpack("<I"))
        if n_dims > 8:
            raise ModelFileError(f"{path.name} is corrupt: tensor '{name}' has {n_dims} dimensions.")
        shape = tuple(int(cur.unpack("<Q")) for _ in range(n_dims))
        ggml_type = int(cur.unpack("<I"))
        offset = int(cur.unpack("<Q"))
        tensors.append(TensorInfo(name, shape, ggml_type, offset))
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = DEFAULT_ALIGNMENT
    data_offset = (cur.pos + alignment - 1) // alignment * alignment
    end = data_offset
    known = True
    for t in tensors:
        nbytes = t.n_bytes()
        if nbytes is None:  # a tensor type newer than our table: skip the size check
            known = False
            break
        end = max(end, data_offset + t.offset + nbytes)
    expected = end if known else None
    info = GGUFInfo(
        path=path,
        version=version,
        file_size=file_size,
        metadata=metadata,
        array_lengths=lengths,
        tensors=tensors,
        data_offset=data_offset,
        expected_size=expected,
    )
    if expected is not None and file_size < expected:
        raise ModelFileError(
            f"{path.name} is incomplete: {file_size:,} of {expected:,} bytes "
            "(the download was probably interrupted; download it again)."
        )
    return info
