"""Reading rows straight from an SQLite file's pages, for salvage when SQLite itself refuses a damaged file.

SQLite reaches a row by walking its table's b-tree from the root; one damaged page on that walk hides every row
beneath it, and a damaged first page hides the whole file. The rows themselves sit in *leaf* pages, which stay
readable. ``PageFile`` reads the file as its last commit left it (the main file with the write-ahead log's
committed frames laid over it) and ``table_records`` decodes every cell of every table-leaf page, following
overflow chains as far as they go. It knows the on-disk format only (documented at sqlite.org/fileformat.html),
not which table a leaf belongs to: the caller tells the tables apart by the shape of their rows.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

_MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR = 13, 5, 10, 2
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
_MAX_PAYLOAD = 1 << 30  # SQLite's own limit on a row is 1 GB

Value = int | float | str | bytes | None


@dataclass(frozen=True)
class Record:
    """One row as found in a table-leaf page.

    ``complete`` is False when the row's overflow chain broke: ``values`` then holds the columns that were read
    in full, and ``cut`` the text (or bytes) of the column the break fell in, if any.
    """

    page: int
    rowid: int
    values: tuple[Value, ...]
    complete: bool = True
    cut: str | bytes | None = None


class PageFile:
    """A database file's pages: ``page(n)`` (1-based) as the last committed transaction left it."""

    def __init__(self, path: Path) -> None:
        self._data = _map(path)
        data = self._data
        self.header_ok = len(data) >= 100 and data[:16] == _MAGIC
        size = struct.unpack_from(">H", data, 16)[0] if self.header_ok else 0
        size = 65536 if size == 1 else size
        if size not in _PAGE_SIZES:
            self.header_ok = False
            size = _wal_page_size(Path(f"{path}-wal")) or _guess_page_size(data)
        self.page_size = size
        self.usable = size - (data[20] if self.header_ok else 0)
        self._wal_pages, wal_count = _read_wal(Path(f"{path}-wal"), size)
        self.page_count = wal_count or len(data) // size

    def close(self) -> None:
        if isinstance(self._data, mmap.mmap):
            self._data.close()

    def page(self, number: int) -> bytes:
        """The page's bytes ("" for a page past the end of the file)."""
        frame = self._wal_pages.get(number)
        if frame is not None:
            return frame
        start = (number - 1) * self.page_size
        return bytes(self._data[start : start + self.page_size])

    def freelist(self) -> set[int]:
        """The pages on the free list (deleted content SQLite may reuse), as far as the list can be followed."""
        free: set[int] = set()
        first = self.page(1)
        if not self.header_ok or len(first) < 40:
            return free
        trunk = struct.unpack_from(">I", first, 32)[0]
        while 1 < trunk <= self.page_count and trunk not in free:
            free.add(trunk)
            page = self.page(trunk)
            if len(page) < 8:
                break
            following, count = struct.unpack_from(">II", page, 0)
            if count > (self.usable - 8) // 4:
                break
            for i in range(count):
                leaf = struct.unpack_from(">I", page, 8 + 4 * i)[0]
                if 1 < leaf <= self.page_count:
                    free.add(leaf)
            trunk = following
        return free

    def table_records(
        self,
        *,
        columns: Collection[int] | None = None,
        skip: Collection[int] = frozenset(),
        stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[Record]:
        """Every row of every table-leaf page (except pages in ``skip``), in page order; ``stop`` ends early.

        ``columns``: only rows with that many columns (the rest are skipped before their overflow pages are read).
        """
        wanted = frozenset(columns) if columns is not None else None
        for number in range(1, self.page_count + 1):
            if number in skip:
                continue
            if number % 64 == 0 and stop():
                return
            page = self.page(number)
            start = 100 if number == 1 else 0
            if len(page) < start + 8 or page[start] != _TABLE_LEAF:
                continue
            yield from self._leaf(number, page, start, wanted)

    def _leaf(self, number: int, page: bytes, start: int, wanted: frozenset[int] | None) -> Iterator[Record]:
        cells = struct.unpack_from(">H", page, start + 3)[0]
        pointers = start + 8
        if pointers + 2 * cells > self.usable:
            return
        for i in range(cells):
            offset = struct.unpack_from(">H", page, pointers + 2 * i)[0]
            if not pointers + 2 * cells <= offset < self.usable:
                continue
            try:
                record = self._cell(number, page, offset, wanted)
            except (IndexError, ValueError, struct.error, UnicodeDecodeError):
                continue  # a garbled cell: the page's other cells may still be fine
            if record is not None:
                yield record

    def _cell(self, number: int, page: bytes, offset: int, wanted: frozenset[int] | None) -> Record | None:
        size, offset = _varint(page, offset)
        rowid, offset = _varint(page, offset)
        if size > _MAX_PAYLOAD:
            return None
        rowid = rowid - (1 << 64) if rowid >= 1 << 63 else rowid
        local = self._local_size(size)
        payload = page[offset : offset + local]
        if len(payload) < local:
            return None
        header = record_header(payload, max(wanted, default=0) if wanted is not None else 1 << 16)
        if header is None or (wanted is not None and len(header[0]) not in wanted):
            return None
        if local < size:
            payload += self._overflow(struct.unpack_from(">I", page, offset + local)[0], size - local)
        values, cut = decode_values(payload, *header)
        return Record(number, rowid, values, complete=len(payload) == size and cut is None, cut=cut)

    def _local_size(self, size: int) -> int:
        """How much of a payload of ``size`` bytes a table-leaf cell keeps on its own page (the format's rule)."""
        usable = self.usable
        most = usable - 35
        if size <= most:
            return size
        least = (usable - 12) * 32 // 255 - 23
        local = least + (size - least) % (usable - 4)
        return local if local <= most else least

    def _overflow(self, number: int, wanted: int) -> bytes:
        """Follow an overflow chain for ``wanted`` bytes; a chain that breaks gives fewer.

        A page whose link points nowhere while more is wanted is itself suspect (random bytes look just like
        that), so its content is left out too.
        """
        parts: list[bytes] = []
        seen: set[int] = set()
        while wanted > 0 and 1 < number <= self.page_count and number not in seen:
            seen.add(number)
            page = self.page(number)
            if len(page) < self.usable:
                break
            chunk = page[4 : min(self.usable, 4 + wanted)]
            following = struct.unpack_from(">I", page, 0)[0]
            if wanted > len(chunk) and not (1 < following <= self.page_count and following not in seen):
                break
            parts.append(chunk)
            wanted -= len(chunk)
            number = following
        return b"".join(parts)


def record_header(payload: bytes, most: int = 1 << 16) -> tuple[list[int], int] | None:
    """A record's column types and where its values start; None when this is not a record header (or has more
    than ``most`` columns)."""
    header_size, at = _varint(payload, 0)
    if not 0 < header_size <= min(len(payload), 1 << 16):
        return None
    types: list[int] = []
    while at < header_size:
        kind = payload[at]
        if kind < 0x80:  # most column types fit in one byte
            at += 1
        else:
            kind, at = _varint(payload, at)
        if kind in (10, 11) or len(types) == most:
            return None
        types.append(kind)
    return (types, header_size) if at == header_size else None


def decode_values(payload: bytes, types: list[int], body: int) -> tuple[tuple[Value, ...], str | bytes | None]:
    """A record's values; a payload cut short gives the whole columns before the cut and the cut column's start."""
    values: list[Value] = []
    for kind in types:
        width = _width(kind)
        if body + width > len(payload):
            part = payload[body:]
            if kind >= 13 and kind % 2:
                return tuple(values), part.decode("utf-8", "ignore")
            return tuple(values), part if kind >= 12 else None
        values.append(_value(kind, payload[body : body + width]))
        body += width
    return tuple(values), None


def _width(kind: int) -> int:
    if kind >= 12:
        return (kind - 12) // 2 if kind % 2 == 0 else (kind - 13) // 2
    return (0, 1, 2, 3, 4, 6, 8, 8, 0, 0)[kind]


def _value(kind: int, raw: bytes) -> Value:
    if kind == 0:
        return None
    if kind <= 6:
        return int.from_bytes(raw, "big", signed=True)
    if kind == 7:
        return float(struct.unpack(">d", raw)[0])
    if kind in (8, 9):
        return kind - 8
    if kind % 2 == 0:
        return bytes(raw)
    return raw.decode("utf-8", "replace")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian variable-length integer (1–9 bytes) at ``at``; returns it and the next offset."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _map(path: Path) -> bytes | mmap.mmap:
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            return b""
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _guess_page_size(data: bytes | mmap.mmap) -> int:
    """With the header gone: the smallest page size under which (nearly) as many pages start like b-tree pages
    as under any other. Every multiple of the true size scores as well as the true size; half of it, half."""
    shares: dict[int, float] = {}
    for size in sorted(_PAGE_SIZES):
        pages = len(data) // size
        if pages < 2:
            continue
        sample = range(2, pages + 1, max(1, pages // 2000))
        hits = sum(_looks_like_btree_page(data, (number - 1) * size, size) for number in sample)
        shares[size] = hits / len(sample)
    best = max(shares.values(), default=0.0)
    if best == 0:
        return 4096  # what SQLite makes by default
    return min(size for size, share in shares.items() if share >= 0.75 * best)


def _looks_like_btree_page(data: bytes | mmap.mmap, start: int, size: int) -> bool:
    kind = data[start]
    if kind not in (_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR):
        return False
    cells, content = struct.unpack_from(">HH", data, start + 3)
    header = 8 if kind in (_TABLE_LEAF, _INDEX_LEAF) else 12
    return bool(cells > 0 and header + 2 * cells <= (content or 65536) <= size)


def _wal_page_size(path: Path) -> int:
    """The page size the write-ahead log's header gives (0 without a log)."""
    try:
        with path.open("rb") as file:
            header = file.read(12)
    except OSError:
        return 0
    if len(header) < 12 or struct.unpack_from(">I", header, 0)[0] not in _WAL_MAGIC:
        return 0
    size = int(struct.unpack_from(">I", header, 8)[0])
    return size if size in _PAGE_SIZES else 0


def _read_wal(path: Path, page_size: int) -> tuple[dict[int, bytes], int]:
    """The pages of the write-ahead log's committed transactions (checksums and salts checked), and the
    database's size in pages after the last of them (0 when there is no usable log)."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}, 0
    if len(data) < 32:
        return {}, 0
    magic, _version, size, _seq, salt1, salt2 = struct.unpack_from(">IIIIII", data, 0)
    if magic not in _WAL_MAGIC or size != page_size:
        return {}, 0
    order = ">" if magic & 1 else "<"
    sums = _checksum(data[:24], (0, 0), order)
    if sums != struct.unpack_from(">II", data, 24):
        return {}, 0
    committed: dict[int, bytes] = {}
    pending: dict[int, bytes] = {}
    pages = 0
    at = 32
    while at + 24 + size <= len(data):
        number, commit, s1, s2, c1, c2 = struct.unpack_from(">IIIIII", data, at)
        if (s1, s2) != (salt1, salt2):
            break
        sums = _checksum(data[at + 24 : at + 24 + size], _checksum(data[at : at + 8], sums, order), order)
        if sums != (c1, c2):
            break
        pending[number] = data[at + 24 : at + 24 + size]
        if commit:
            committed.update(pending)
            pending.clear()
            pages = commit
        at += 24 + size
    return committed, pages


def _checksum(data: bytes, start: tuple[int, int], order: str) -> tuple[int, int]:
    """The log's running checksum over ``data`` (a multiple of 8 bytes), continuing from ``start``."""
    s0, s1 = start
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1
