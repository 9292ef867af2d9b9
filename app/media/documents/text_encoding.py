"""Bytes of a text file to text: byte-order marks, UTF-8, UTF-16 without a mark, else a guessed encoding.

``decode_text(data, name)`` returns the text (line endings made ``\\n``, control characters and terminal
colour codes taken out) and a note when the encoding was guessed. Content that is not text (a picture named
``.txt``, random bytes) and broken UTF-16 raise ``MediaError`` with one line naming the file.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from app.media.errors import MediaError, sniff

_BOMS: tuple[tuple[bytes, str, str], ...] = (  # UTF-32 first: its little-endian mark starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
#: Past this share of control characters (other than tabs, line breaks and form feeds), content is not text.
MAX_CONTROL_SHARE = 0.01
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0d-\x1f\x7f-\x9f]")  # all but tab, line feed, form feed
_SAMPLE = 65536
_NEAR_TIE = 0.02  # charset-normalizer's "chaos" (0 to 1): closer than this, two guesses are about as likely


def binary_message(name: str, head: bytes) -> str:
    found = sniff(head)
    if found is not None and found.family != "text":
        return f"{name} looks binary, not text (it looks like {found.kind})."
    return f"{name} looks binary, not text."


def decode_text(data: bytes, name: str) -> tuple[str, tuple[str, ...]]:
    """The text in ``data`` and any notes for the user (see the module's docstring). Raises MediaError."""
    head = data[:4096]
    notes: tuple[str, ...] = ()
    text = _decode_marked(data, name)
    if text is None:
        found = sniff(head)
        if found is not None and found.family != "text" and found.kind != "an SVG drawing":
            raise MediaError(binary_message(name, head))
        text = _decode_utf16_unmarked(data, name)
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if b"\x00" in data:
                raise MediaError(binary_message(name, head)) from None
            text, encoding = _guess(data, name, head)
            notes = (f"{name} is not UTF-8; it was read as {encoding} (a guess from its content).",)
    return _clean(text, name, head), notes


def _decode_marked(data: bytes, name: str) -> str | None:
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            if label == "UTF-16" and len(body) % 2:
                raise MediaError(f"{name} is not valid UTF-16: it has an odd number of bytes.")
            try:
                return body.decode(codec)
            except UnicodeDecodeError as error:
                if label == "UTF-16":
                    raise MediaError(f"{name} is not valid UTF-16: {_utf16_reason(error)}.") from None
                raise MediaError(f"{name} is not valid {label} (byte {error.start + len(bom):,} is wrong).") from None
    return None


def _utf16_reason(error: UnicodeDecodeError) -> str:
    if "end of data" in error.reason:
        return f"it ends in the middle of a character (at byte {error.start + 2:,})"
    return f"it has a broken character (an unpaired surrogate) at byte {error.start + 2:,}"


def _decode_utf16_unmarked(data: bytes, name: str) -> str | None:
    """UTF-16 without a byte-order mark, recognised by the zero bytes of mostly-ASCII text."""
    sample = data[: _SAMPLE - _SAMPLE % 2]
    if len(sample) < 4 or len(data) % 2:
        return None
    half = len(sample) // 2
    for codec, zeros, others in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if zeros.count(0) >= 0.9 * half and others.count(0) <= 0.01 * half:
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                raise MediaError(f"{name} is not valid UTF-16: {_utf16_reason(error)}.") from None
    return None


def _guess(data: bytes, name: str, head: bytes) -> tuple[str, str]:
    """charset-normalizer's guess; Windows-1252 (the commonest legacy encoding, a superset of Latin-1's
    letters) when it is about as likely as the best guess, as it often is for Western European text."""
    matches = list(from_bytes(data))
    if not matches:
        raise MediaError(binary_message(name, head))
    best = matches[0]
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos + _NEAR_TIE), None)
    encoding = (western or best).encoding
    try:
        return data.decode(encoding), _encoding_label(encoding)
    except (UnicodeDecodeError, LookupError):
        raise MediaError(binary_message(name, head)) from None


def _encoding_label(codec: str) -> str:
    """ "cp1252" → "Windows-1252", "shift_jis" → "Shift JIS", "latin_1" → "Latin-1"."""
    known = {
        "cp1252": "Windows-1252", "cp1250": "Windows-1250", "cp1251": "Windows-1251", "latin_1": "Latin-1",
        "iso8859_15": "Latin-9", "shift_jis": "Shift JIS", "cp932": "Shift JIS", "euc_jp": "EUC-JP",
        "gb18030": "GB18030", "gb2312": "GB2312", "big5": "Big5", "euc_kr": "EUC-KR", "cp949": "EUC-KR",
        "koi8_r": "KOI8-R", "mac_roman": "Mac Roman",
    }  # fmt: skip
    return known.get(codec, codec.replace("_", "-").upper())


def _clean(text: str, name: str, head: bytes) -> str:
    """Line endings as ``\\n``; no terminal colour codes; no control characters (too many: not text)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = _ANSI.sub("", text)
    cleaned, controls = _CONTROLS.subn("", text)
    if controls > MAX_CONTROL_SHARE * max(len(text), 1):
        raise MediaError(binary_message(name, head))
    return cleaned
