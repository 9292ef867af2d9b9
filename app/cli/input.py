"""What the command line reads: prompts and ``chat`` lines as bytes (invalid UTF-8 repaired, paths kept
exact), ``/image PATH``-style attachments on a line, and their decoding into attachments to send."""

from __future__ import annotations

import io
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from app.cli.output import Output, printable
from app.media.intake import AttachmentKind, PendingAttachment, decode_file

REPLACED = "its invalid bytes were replaced with \N{REPLACEMENT CHARACTER}."


def readable_text(text: str) -> tuple[str, bool]:
    """``text`` with undecodable bytes (surrogate escapes) turned into U+FFFD, and whether there were any."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
            raw = text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace"), True
    return text, False


def stdin_bytes() -> BinaryIO:
    """Standard input as bytes, so that invalid UTF-8 is ours to handle, not the text layer's."""
    if sys.stdin is None:  # started without one (a GUI launcher)
        return io.BytesIO()
    buffer = getattr(sys.stdin, "buffer", None)
    return buffer if buffer is not None else io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))


def load_attachments(files: list[tuple[str, Path]]) -> list[PendingAttachment]:
    """Decode attachments (raises ``MediaError`` with a clear message); each keeps its path's exact bytes, its
    name is made printable (a name that is not UTF-8 is stored and shown with U+FFFD)."""
    return [decode_file(path, cast("AttachmentKind", kind), name=printable(path.name)) for kind, path in files]


def parse_chat_line(line: str) -> tuple[list[tuple[str, Path]], str]:
    """``/image PATH`` etc. anywhere in the line become attachments; the rest is the text."""
    try:
        words = shlex.split(line)
    except ValueError:  # an unbalanced quote: take the line as it is
        words = line.split()
    files: list[tuple[str, Path]] = []
    text: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("/image", "/audio", "/video") and i + 1 < len(words):
            files.append((word[1:], Path(words[i + 1]).expanduser()))
            i += 2
            continue
        text.append(word)
        i += 1
    return files, " ".join(text)


class ChatInput:
    """``chat``'s turns from a byte stream, one per line; a turn with a bad attachment is skipped and counted."""

    def __init__(self, out: Output, stream: BinaryIO) -> None:
        self.out = out
        self.stream = stream
        self.skipped = 0

    def __iter__(self) -> Iterator[tuple[list[PendingAttachment], str]]:
        for number, raw in enumerate(self.stream, start=1):
            # Paths keep their exact bytes (surrogate escapes); only the text shown to the model is repaired.
            line = raw.decode("utf-8", "surrogateescape")
            if not line.strip():
                continue
            files, text = parse_chat_line(line)
            text, mangled = readable_text(text)
            if mangled:
                self.out.notice(f"line {number} is not valid UTF-8 text; {REPLACED}")
            try:
                attachments = load_attachments(files)
            except Exception as exc:  # a bad attachment skips this turn, not the conversation
                self.skipped += 1
                self.out.error(str(exc))
                self.out.done("error")
                continue
            yield attachments, text
