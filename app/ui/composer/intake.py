"""The composer's attachment intake: files, pictures and recordings become chips, decoded off the GUI thread.

``AttachmentIntake`` judges each file by its name on the GUI thread, refuses what cannot be attached (not
media, the same file twice, too many, media the loaded model cannot take) and reads the rest through
``run_in_background`` with ``app.media.intake``. It reports tray tiles and notices as signals; the
composer only shows them. Documents may be read again with other pages (``choose_pages``); one too long to
send whole waits for its pages (``pagesNeeded``) instead of failing; a long paste becomes a text document
that can go back into the message box (``take_pasted``).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import shiboken6
from PySide6.QtCore import QBuffer, QIODevice, QObject, QTimer, Signal
from PySide6.QtGui import QImage

from app.media import AudioInput, MediaError
from app.media.documents import DOCUMENT_NAMES, DOCUMENT_SUFFIXES, Document, PageChoice, TooManyPages
from app.media.intake import (
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    MODEL_SUFFIX,
    PASTED_TEXT_NAME,
    VIDEO_SUFFIXES,
    AttachmentKind,
    PendingAttachment,
    decode_file,
    decode_image_bytes,
    decode_text,
    kind_for_suffix,
    recording_attachment,
    unsupported_message,
)
from app.ui.composer.attachment_tray import Chip, chip_for
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)

#: Attachments one message may carry; more are left out with a notice.
MAX_ATTACHMENTS = 16


@dataclass(frozen=True)
class Abilities:
    """What the loaded model can take; before a model is loaded nothing is refused (it is checked at Send)."""

    model_loaded: bool = False
    vision: bool = False
    audio: bool = False
    model_name: str = ""

    def refusal(self, kind: str, name: str) -> str | None:
        """Why the loaded model cannot take this kind of media, or None."""
        if not self.model_loaded:
            return None
        model = self.model_name or "This model"
        if kind in ("image", "video") and not self.vision:
            what = "see pictures" if kind == "image" else "watch videos"
            return f"{name}: {model} was loaded without its vision projector (mmproj), so it cannot {what}."
        if kind == "audio" and not self.audio:
            return f"{name}: {model} cannot hear audio: only Gemma 4 E2B and E4B (with their mmproj) take audio."
        return None

    def document_refusal(self, document: Document) -> str | None:
        """Why the loaded model cannot take this document as read (pages as pictures need vision), or None."""
        if not self.model_loaded or self.vision or not document.pictures:
            return None
        count = len(document.pictures)
        model = self.model_name or "This model"
        return (
            f"{document.name}: {count} {document.unit}{'s' * (count != 1)} would go as pictures, but {model} "
            f"cannot see pictures: choose {document.unit}s to send as text"
        )


@dataclass(frozen=True)
class _Job:
    """An attachment to read: what it is believed to be, and the work (given the device pixel ratio)."""

    kind: str  # "" when only the content can tell
    name: str
    key: str  # the file's absolute path, to catch the same file twice ("" for pasted pictures)
    run: Callable[[float], Chip]
    path: Path | None = None  # the file, for a document that may be read again with other pages


class AttachmentIntake(QObject):
    """The attachments of the message being written, by token in tray order; None while one is read."""

    # Signals
    started = Signal(int, str, str)  # token, kind, name: a tile with a spinner
    ready = Signal(int, object)  # token, Chip: the tile's attachment and thumbnail
    dropped = Signal(int)  # token: its tile goes
    changed = Signal()  # what Send may do changed
    noticeRequested = Signal(str)
    modelFileDropped = Signal(object)  # Path to a .gguf
    recordingReady = Signal()  # a recording to send at once is read
    rereading = Signal(int)  # token: a document is read again with other pages
    pagesNeeded = Signal(int, int)  # token, page count: too long to send whole; its pages must be picked

    def __init__(self, dpr: Callable[[], float], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.abilities = Abilities()
        self._dpr = dpr
        self._items: dict[int, Chip | None] = {}
        self._keys: dict[int, str] = {}
        self._futures: dict[int, Future[Chip]] = {}
        self._sources: dict[int, tuple[Path, str]] = {}  # documents: the file and what the user calls it
        self._needs_pages: dict[int, int] = {}  # documents too long to send whole: their page count
        self._previous: dict[int, Chip] = {}  # documents being read again: the chip to restore on failure
        self._pasted: dict[int, str] = {}  # long pastes: the text exactly as pasted
        self._tokens = itertools.count(1)
        self._send_when_ready = False  # a push-to-talk clip: send as soon as it is read

    # --- what there is ------------------------------------------------------------------------------------

    def attachments(self) -> list[PendingAttachment]:
        return [chip.attachment for chip in self._items.values() if chip is not None]

    def pending(self) -> int:
        """How many are still being read."""
        return sum(chip is None and t not in self._needs_pages for t, chip in self._items.items())

    def tokens(self) -> list[int]:
        """Every attachment's token, in tray order (those still being read included)."""
        return list(self._items)

    def chip(self, token: int) -> Chip | None:
        return self._items.get(token)

    def source(self, token: int) -> tuple[Path, str] | None:
        """A document's file and name (None for pasted text and media)."""
        return self._sources.get(token)

    def page_count(self, token: int) -> int:
        """The pages of a document waiting for its pages to be picked (0 otherwise)."""
        return self._needs_pages.get(token, 0)

    def count(self) -> int:
        """How many there are, those still being read included."""
        return len(self._items)

    def blocker(self) -> str | None:
        """Why these attachments cannot be sent now, or None."""
        if pending := self.pending():
            return f"Wait: {pending} attachment{'s are' if pending > 1 else ' is'} still being read"
        for token, pages in self._needs_pages.items():  # only documents read from a file wait for their pages
            return f"Choose the pages of {self._sources[token][1]} to send: it has {pages:,}"
        for attachment in self.attachments():
            if refusal := self.abilities.refusal(attachment.kind, attachment.name):
                return f"{refusal} Remove it to send."
            if isinstance(attachment.payload, Document) and (
                refusal := self.abilities.document_refusal(attachment.payload)
            ):
                return refusal
        return None

    # --- adding -------------------------------------------------------------------------------------------

    def add_files(self, paths: list[Path]) -> None:
        """Pictures, audio and videos are read in the background; a .gguf is offered as a model."""
        jobs: list[_Job] = []
        model_offered = False
        for path in map(Path, paths):
            kind = kind_for_suffix(path)
            if kind is None:
                self.noticeRequested.emit(unsupported_message(path.name))
            elif kind == "model":
                if model_offered:
                    self.noticeRequested.emit(f"{path.name}: load one model at a time.")
                else:
                    model_offered = True
                    self.modelFileDropped.emit(path)
            elif refusal := self.abilities.refusal(kind, path.name):
                self.noticeRequested.emit(refusal)
            else:
                key = os.path.normcase(os.path.abspath(path))
                if key in self._keys.values() or any(job.key == key for job in jobs):
                    self.noticeRequested.emit(f"{path.name} is already attached.")
                else:
                    jobs.append(_Job(kind, path.name, key, _file_reader(path, kind), path))
        self._start(jobs)

    def add_pasted_text(self, text: str) -> int | None:
        """A long paste as a text document ("Pasted text.txt"); ``take_pasted`` gives it back. Its token."""
        started = self._start(
            [_Job("document", PASTED_TEXT_NAME, "", lambda dpr: chip_for(decode_text(text, name=PASTED_TEXT_NAME)))]
        )
        if not started:
            return None
        self._pasted[started[0]] = text
        return started[0]

    def take_pasted(self, token: int) -> str | None:
        """The pasted text exactly as pasted, its chip removed (None when ``token`` is no paste)."""
        text = self._pasted.get(token)
        if text is not None:
            self.remove(token)
        return text

    def is_pasted(self, token: int) -> bool:
        return token in self._pasted

    def choose_pages(self, token: int, choice: PageChoice) -> None:
        """Read a document again with these pages (and pictures); its chip spins meanwhile."""
        source = self._sources.get(token)
        if source is None or token not in self._items:
            return
        path, name = source
        old = self._items[token]
        if old is not None:
            self._previous[token] = old
        self._needs_pages.pop(token, None)
        self._items[token] = None
        self.rereading.emit(token)
        job = _Job("document", name, self._keys.get(token, ""), _file_reader(path, "document", choice), path)
        self._submit(token, job, self._dpr())
        self.changed.emit()

    def add_recording(self, path: Path, audio: AudioInput, *, send: bool) -> None:
        """A push-to-talk clip already decoded; ``send``: report ``recordingReady`` once it is attached."""
        self._send_when_ready = send
        key = os.path.normcase(os.path.abspath(path))
        self._start([_Job("audio", path.name, key, lambda dpr: chip_for(recording_attachment(path, audio), dpr))])

    def add_qimage(self, image: QImage, name: str) -> None:
        """A picture held as a QImage (the clipboard's, a rendered page), encoded as PNG off the GUI thread."""
        self._add_image(
            _Job("image", name, "", lambda dpr: chip_for(decode_image_bytes(png_of(image, name), name), dpr))
        )

    def add_image_bytes(self, data: bytes, name: str) -> None:
        """A picture held in memory (PNG, JPEG, …), e.g. a camera snapshot."""
        self._add_image(_Job("image", name, "", lambda dpr: chip_for(decode_image_bytes(data, name), dpr)))

    def remove(self, token: int) -> None:
        """Drop one attachment; a decode still running is abandoned."""
        self._items.pop(token, None)
        self._keys.pop(token, None)
        for kept in (self._sources, self._needs_pages, self._previous, self._pasted):
            kept.pop(token, None)
        future = self._futures.pop(token, None)
        if future is not None:
            future.cancel()  # only stops one that has not started; a running one's result is ignored
        self.dropped.emit(token)
        self.changed.emit()

    def clear(self) -> None:
        for token in list(self._items):
            self.remove(token)

    def _add_image(self, job: _Job) -> None:
        if refusal := self.abilities.refusal("image", job.name):
            self.noticeRequested.emit(refusal)
        else:
            self._start([job])

    def _start(self, jobs: list[_Job]) -> list[int]:
        """Start reading ``jobs`` (as many as there is room for); their tokens."""
        room = max(0, MAX_ATTACHMENTS - len(self._items))
        if len(jobs) > room:
            left = len(jobs) - room
            were = "was" if left == 1 else "were"
            self.noticeRequested.emit(f"Only {MAX_ATTACHMENTS} attachments fit in one message; {left} {were} left out.")
            jobs = jobs[:room]
        dpr = self._dpr()
        tokens: list[int] = []
        for job in jobs:
            token = next(self._tokens)
            tokens.append(token)
            self._items[token] = None
            self._keys[token] = job.key
            if job.path is not None and job.kind in ("document", ""):
                self._sources[token] = (job.path, job.name)
            self.started.emit(token, job.kind, job.name)
            self._submit(token, job, dpr)
        self.changed.emit()
        return tokens

    # --- results (on the GUI thread) ----------------------------------------------------------------------

    def _submit(self, token: int, job: _Job, dpr: float) -> None:
        self._futures[token] = run_in_background(
            lambda: job.run(dpr),
            lambda result: self._later(lambda: self._on_read(token, result)),
            lambda error: self._later(lambda: self._on_failed(token, job.name, error)),
        )

    def _later(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` from the event loop: never inside add_files (run_in_background calls back at once when
        the work is already done) and not at all once this object is gone."""
        if shiboken6.isValid(self):
            QTimer.singleShot(0, self, fn)

    def _on_read(self, token: int, chip: Chip) -> None:
        if token not in self._items or self._items[token] is not None:
            return  # removed or cleared meanwhile
        attachment = chip.attachment
        if refusal := self.abilities.refusal(attachment.kind, attachment.name):
            self.remove(token)
            self.noticeRequested.emit(refusal)
            return
        if not self._keep_first_of_twins(token, attachment):
            return
        self._futures.pop(token, None)
        self._previous.pop(token, None)
        self._items[token] = chip
        self.ready.emit(token, chip)
        self.changed.emit()
        for note in attachment.notes:
            self.noticeRequested.emit(note)
        if self._send_when_ready and not self.pending():
            self._send_when_ready = False
            self.recordingReady.emit()

    def _keep_first_of_twins(self, token: int, attachment: PendingAttachment) -> bool:
        """The same media twice: keep the one added first, whichever finished first. False: ``token`` went."""
        twins = [
            (t, c) for t, c in self._items.items() if c is not None and c.attachment.media_id == attachment.media_id
        ]
        if not twins:
            return True
        twin, other = twins[0][0], twins[0][1].attachment
        if twin < token:
            self.remove(token)
            self.noticeRequested.emit(_same_media_message(attachment.name, other.name))
            return False
        self.remove(twin)
        self.noticeRequested.emit(_same_media_message(other.name, attachment.name))
        return True

    def _on_failed(self, token: int, name: str, error: BaseException) -> None:
        if token not in self._items:
            return
        self._send_when_ready = False
        if isinstance(error, TooManyPages) and token in self._sources:
            self._futures.pop(token, None)
            self._needs_pages[token] = error.page_count
            self.pagesNeeded.emit(token, error.page_count)
            self.changed.emit()
            return
        if (previous := self._previous.pop(token, None)) is not None:  # other pages could not be read
            self._futures.pop(token, None)
            self._items[token] = previous
            self.ready.emit(token, previous)
            self.changed.emit()
            self.noticeRequested.emit(str(error) if isinstance(error, MediaError) else f"{name} could not be read.")
            return
        self.remove(token)
        if isinstance(error, MediaError):
            self.noticeRequested.emit(str(error))
        else:
            log.error("reading %s failed", name, exc_info=error)
            self.noticeRequested.emit(f"{name} could not be read ({type(error).__name__}: {error}).")


def png_of(image: QImage, name: str) -> bytes:
    """A QImage encoded as PNG (the bytes a pasted picture is kept as). Raises MediaError."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # the stub says bytes; only str works
        raise MediaError(f"{name} could not be read from the clipboard.")
    return bytes(buffer.data().data())


def file_filter() -> str:
    """The file picker's filter: the media and documents Gemma reads, and models."""

    def globs(suffixes: frozenset[str]) -> str:
        return " ".join(f"*{s}" for s in sorted(suffixes))

    media = IMAGE_SUFFIXES | AUDIO_SUFFIXES | VIDEO_SUFFIXES
    names = " ".join(sorted(n.capitalize() for n in DOCUMENT_NAMES if "." not in n))
    documents = f"{globs(DOCUMENT_SUFFIXES)} {names}"
    return ";;".join(
        [
            f"Pictures, audio, video and documents ({globs(media)} {documents})",
            f"Documents: text, code, PDF, Word, PowerPoint, Excel ({documents})",
            f"Pictures ({globs(IMAGE_SUFFIXES)})",
            f"Audio ({globs(AUDIO_SUFFIXES)})",
            f"Video ({globs(VIDEO_SUFFIXES)})",
            f"Gemma models (*{MODEL_SUFFIX})",
            "All files (*)",
        ]
    )


def _same_media_message(dropped: str, kept: str) -> str:
    if dropped == kept:
        return f"{dropped} is already attached."
    return f"{dropped} is the same as {kept}, which is already attached."


def _file_reader(
    path: Path, kind: AttachmentKind | Literal[""], choice: PageChoice | None = None
) -> Callable[[float], Chip]:
    return lambda dpr: chip_for(decode_file(path, kind, choice=choice), dpr)
