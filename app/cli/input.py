"""What the command line reads: prompts and ``chat`` lines as bytes (invalid UTF-8 repaired, paths kept
exact), the ``/file PATH``-style attachment commands a line begins with (the rest is the user's text, byte for
byte), and their decoding into attachments to send."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from app.cli.output import Output, printable
from app.media import MediaError
from app.media.intake import AttachmentKind, PendingAttachment, decode_file, kind_for_suffix, unsupported_message

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


#: The commands a ``chat`` line may begin with, each followed by a path.
ATTACH_COMMANDS = ("/image", "/audio", "/video", "/file")


class LineError(ValueError):
    """A ``chat`` line whose attachment commands cannot be read (e.g. ``/file`` with no path)."""


def load_attachments(files: list[tuple[str, Path]]) -> list[PendingAttachment]:
    """Decode attachments (raises ``MediaError`` with a clear message); each keeps its path's exact bytes, its
    name is made printable (a name that is not UTF-8 is stored and shown with U+FFFD). The kind "file" means:
    judge by the name, then by the content (a picture, a recording, a video or a document)."""
    return [_load(kind, path) for kind, path in files]


def _load(kind: str, path: Path) -> PendingAttachment:
    name = printable(path.name)
    if kind != "file":
        return decode_file(path, cast("AttachmentKind", kind), name=name)
    named = kind_for_suffix(path)
    if named is None:
        raise MediaError(unsupported_message(name))
    if named == "model":
        raise MediaError(f"{name} is a model file: load it with --model, not as an attachment.")
    return decode_file(path, named, name=name)


def parse_chat_line(line: str) -> tuple[list[tuple[str, Path]], str]:
    """Split a ``chat`` line into its attachments and its text.

    Only the attachment commands at the start of the line are read (``/image PATH``, ``/audio PATH``,
    ``/video PATH``, ``/file PATH``, any number of them; a path with spaces is put in quotes); everything after
    them is the user's text exactly as typed, quotes, backslashes and runs of spaces included (only the line's
    ending is taken off). Raises ``LineError`` for a command with no path or an unclosed quote.
    """
    text = line.removesuffix("\n").removesuffix("\r")
    files: list[tuple[str, Path]] = []
    rest = text
    while True:
        stripped = rest.lstrip(" \t")
        command = next((c for c in ATTACH_COMMANDS if _starts_word(stripped, c)), None)
        if command is None:
            break
        path, rest = _take_path(stripped[len(command) :], command)
        files.append((command[1:], Path(path).expanduser()))
    if not files:
        return [], text
    return files, rest[1:] if rest[:1] in (" ", "\t") else rest


def _starts_word(text: str, word: str) -> bool:
    return text.startswith(word) and (len(text) == len(word) or text[len(word)] in " \t")


def _take_path(after: str, command: str) -> tuple[str, str]:
    """The path at the start of ``after`` (quoted with " or ', or up to the next space) and what follows it."""
    body = after.lstrip(" \t")
    if not body:
        raise LineError(f"{command} needs a path, e.g. {command} notes.pdf")
    quote = body[0]
    if quote in "\"'":
        end = body.find(quote, 1)
        if end < 0:
            raise LineError(f"{command}: the path's closing {quote} is missing.")
        path, rest = body[1:end], body[end + 1 :]
    else:
        cut = len(body)
        for separator in (" ", "\t"):
            found = body.find(separator)
            if 0 <= found < cut:
                cut = found
        path, rest = body[:cut], body[cut:]
    if not path:
        raise LineError(f"{command} needs a path, e.g. {command} notes.pdf")
    return path, rest


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
            try:
                files, text = parse_chat_line(line)
            except LineError as exc:
                self.skipped += 1
                self.out.error(f"line {number}: {exc}")
                self.out.done("error")
                continue
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
