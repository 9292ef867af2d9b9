"""Media intake without Qt: real files on disk become typed pending attachments, or one-line refusals."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from app.media import AudioInput, ImageInput, MediaError, VideoFrames, audio_from_samples, load_image
from app.media.documents import Document, PageChoice
from app.media.intake import (
    decode_file,
    decode_image_bytes,
    decode_text,
    kind_for_suffix,
    recording_attachment,
    unsupported_message,
)
from tests.media.clips import write_clip

REPO = Path(__file__).resolve().parents[2]
NOT_MEDIA = (
    r"Gemma reads pictures, audio, video and documents \(text, code, PDF, Word, PowerPoint, Excel\), "
    r"not this kind of file\."
)
HINT = "attach a picture, sound, video or document file."


def _png(path: Path, size: tuple[int, int] = (96, 64), colour: tuple[int, int, int] = (30, 140, 220)) -> Path:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path


def _wav(path: Path, seconds: float, amplitude: float = 0.5, rate: int = 16_000) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    sf.write(path, (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV")
    return path


def _png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height but whose data is a few bytes (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    )


# --- what a name says -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("photo.PNG", "image"),
        ("scan.jpeg", "image"),
        ("memo.mp3", "audio"),
        ("talk.oga", "audio"),
        ("clip.MKV", "video"),
        ("gemma-4-E4B-it-Q4_K_M.gguf", "model"),
        ("screenshot", ""),
        ("notes.txt", "document"),
        ("report.PDF", "document"),
        ("slides.pptx", "document"),
        ("Makefile", "document"),
        ("Dockerfile", "document"),
        ("Dockerfile.dev", "document"),
        ("main.rs", "document"),
        ("setup.exe", None),
        ("photos.zip", None),
    ],
)
def test_a_name_alone_says_the_kind(name: str, kind: str | None) -> None:
    assert kind_for_suffix(Path(name)) == kind


# --- what files become ----------------------------------------------------------------------------------------


def test_a_png_becomes_an_image_with_its_size_and_pixels(tmp_path: Path) -> None:
    path = _png(tmp_path / "photo.png")
    attachment = decode_file(path, "image")
    assert (attachment.kind, attachment.name, attachment.source_path, attachment.data) == (
        "image",
        "photo.png",
        path,
        None,
    )
    assert attachment.size == path.stat().st_size
    assert attachment.summary == f"{attachment.size} bytes · 96×64"
    assert isinstance(attachment.payload, ImageInput)
    assert tuple(attachment.payload.pixels[32, 48]) == (30, 140, 220)
    assert attachment.media_id == load_image(path).media_id and attachment.notes == ()


def test_a_jpeg_over_a_kilobyte_is_summed_up_in_kilobytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    pixels = np.random.default_rng(3).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=95)
    attachment = decode_file(path, "image")
    size = path.stat().st_size
    assert size > 1000
    assert attachment.summary == f"{size / 1000:.1f} KB · 400×300"
    assert isinstance(attachment.payload, ImageInput) and attachment.payload.width == 400


def test_a_wav_becomes_audio_in_thirty_second_parts(tmp_path: Path) -> None:
    short = decode_file(_wav(tmp_path / "voice.wav", 2.0), "audio")
    assert (short.kind, short.summary, short.notes) == ("audio", "0:02", ())
    assert isinstance(short.payload, AudioInput) and len(short.payload.clips) == 1
    long = decode_file(_wav(tmp_path / "lecture.wav", 45.0), "audio")
    assert long.summary == "0:45 · 2 parts"
    assert isinstance(long.payload, AudioInput) and len(long.payload.clips) == 2


def test_a_silent_recording_says_so(tmp_path: Path) -> None:
    attachment = decode_file(_wav(tmp_path / "quiet.wav", 1.0, amplitude=0.0), "audio")
    assert attachment.notes == ("quiet.wav sounds silent: Gemma will hear nothing in it.",)


def test_a_video_becomes_one_frame_a_second(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", seconds=3, fps=10, size=(64, 48), fourcc="mp4v")
    attachment = decode_file(path, "video")
    assert (attachment.kind, attachment.summary, attachment.notes) == ("video", "3 frames", ())
    assert isinstance(attachment.payload, VideoFrames) and len(attachment.payload.frames) == 3
    red = attachment.payload.frames[0].pixels[24, 32]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60  # the clip's first second is red
    assert attachment.media_id == "+".join(frame.media_id for frame in attachment.payload.frames)


def test_a_long_video_is_cut_to_its_first_minute_with_a_note(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "walk.avi", seconds=62, fps=2, size=(64, 48))
    attachment = decode_file(path, "video")
    assert attachment.summary == "60 frames · first 1:00 of 1:02"
    assert attachment.notes == ("walk.avi is 1:02 long: Gemma will see only its first 1:00.",)


def test_a_file_without_a_suffix_is_judged_by_its_content(tmp_path: Path) -> None:
    shot = _png(tmp_path / "screenshot.png").rename(tmp_path / "screenshot")
    voice = _wav(tmp_path / "voice.wav", 1.0).rename(tmp_path / "voice")
    assert decode_file(shot, "").kind == "image"
    assert decode_file(voice, "").kind == "audio"
    script = tmp_path / "backup"
    script.write_text("#!/bin/sh\ncp -r ~/notes /mnt/usb\n")
    document = decode_file(script, "")
    assert (document.kind, document.summary) == ("document", f"{script.stat().st_size} bytes · 2 lines")
    assert isinstance(document.payload, Document) and document.payload.kind == "shell script"
    program = tmp_path / "tool"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    with pytest.raises(MediaError, match=rf"^tool: {NOT_MEDIA}$"):
        decode_file(program, "")


def test_pasted_bytes_are_kept_with_the_picture(tmp_path: Path) -> None:
    data = _png(tmp_path / "a.png", size=(20, 10)).read_bytes()
    attachment = decode_image_bytes(data, "pasted image.png")
    assert (attachment.kind, attachment.name, attachment.source_path, attachment.data) == (
        "image",
        "pasted image.png",
        None,
        data,
    )
    assert attachment.size == len(data) and attachment.summary == f"{len(data)} bytes · 20×10"
    assert attachment.media_id == decode_file(tmp_path / "a.png", "image").media_id  # the same picture


def test_a_recording_keeps_its_wav_and_length(tmp_path: Path) -> None:
    samples = (0.3 * np.sin(np.arange(16_000 * 3) / 10)).astype(np.float32)
    wav = tmp_path / "recording.wav"
    sf.write(wav, samples, 16_000)
    audio = audio_from_samples(samples, 16_000)
    attachment = recording_attachment(wav, audio)
    assert (attachment.kind, attachment.name, attachment.source_path, attachment.summary) == (
        "audio",
        "recording.wav",
        wav,
        "0:03",
    )
    assert attachment.size == wav.stat().st_size and attachment.payload is audio


# --- documents ------------------------------------------------------------------------------------------------


def test_a_text_document_keeps_its_bytes_and_counts_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Shopping\n\n- milk\n- bread\n", encoding="utf-8")
    attachment = decode_file(path, kind_for_suffix(path) or "")
    assert (attachment.kind, attachment.name, attachment.source_path) == ("document", "notes.md", path)
    assert attachment.data == path.read_bytes() and attachment.size == len(attachment.data)
    assert attachment.summary == f"{attachment.size} bytes · 4 lines"
    assert isinstance(attachment.payload, Document)
    assert (attachment.payload.kind, attachment.payload.language) == ("Markdown", "markdown")
    assert attachment.media_id == attachment.payload.media_id and attachment.media_id.startswith("doc:")
    path.unlink()  # the file goes away after the drop: the attachment still holds what was read
    assert attachment.payload.text == "# Shopping\n\n- milk\n- bread\n"


def test_a_long_text_document_is_summed_up_in_kilobytes_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    path.write_text("".join(f"2026-01-01 12:00:{i % 60:02d} GET /index.html 200\n" for i in range(120)))
    attachment = decode_file(path, "document")
    assert attachment.summary == f"{path.stat().st_size / 1000:.1f} KB · 120 lines"


def test_a_document_takes_a_page_choice_through_to_its_reader(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("a,b\n1,2\n")
    attachment = decode_file(path, "document", choice=PageChoice(pages=(1,)))
    assert isinstance(attachment.payload, Document) and attachment.payload.text == "a,b\n1,2\n"


def test_a_pdf_without_its_extension_goes_to_the_pdf_reader(tmp_path: Path) -> None:
    scan = tmp_path / "scan"
    scan.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    with pytest.raises(MediaError, match=r"^scan\b") as caught:
        decode_file(scan, "")
    assert "looks binary" not in str(caught.value)  # the PDF reader answered, not the text reader


def test_pasted_text_becomes_a_text_document_holding_its_bytes() -> None:
    text = "Dear team,\r\nthe numbers are in.\r\n" * 100
    attachment = decode_text(text)
    assert (attachment.kind, attachment.name, attachment.source_path) == ("document", "Pasted text.txt", None)
    assert attachment.data == text.encode("utf-8") and attachment.size == len(attachment.data)
    assert attachment.summary == f"{len(attachment.data) / 1000:.1f} KB · 200 lines"
    assert isinstance(attachment.payload, Document)
    assert attachment.payload.text == text.replace("\r\n", "\n") and attachment.payload.kind == "text"
    code = decode_text("def f():\n    return 1\n", name="snippet.py")
    assert isinstance(code.payload, Document) and code.payload.language == "python"
    with pytest.raises(MediaError, match=r"^Pasted text\.txt is empty\.$"):
        decode_text("")


def test_the_refusal_names_what_is_still_refused() -> None:
    assert unsupported_message("setup.exe") == (
        "setup.exe: Gemma reads pictures, audio, video and documents (text, code, PDF, Word, PowerPoint, Excel), "
        "not this kind of file."
    )


# --- refusals: one line, naming the file ----------------------------------------------------------------------


def test_text_renamed_to_png_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("remember the milk")
    with pytest.raises(MediaError, match=r"^notes\.png is not an image \(it looks like text\)\.$"):
        decode_file(fake, "image")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty\.png is empty \(0 bytes\)\.$"):
        decode_file(empty, "image")
    with pytest.raises(MediaError, match=r"^pasted image\.png is empty\.$"):
        decode_image_bytes(b"", "pasted image.png")


def test_a_folder_is_refused_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "album").mkdir()
    (tmp_path / "holiday.png").mkdir()
    with pytest.raises(MediaError, match=rf"^album is a folder, not a file; {HINT}$"):
        decode_file(tmp_path / "album", "")
    with pytest.raises(MediaError, match=rf"^holiday\.png is a folder, not a file; {HINT}$"):
        decode_file(tmp_path / "holiday.png", "image")


def test_a_picture_claiming_huge_dimensions_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "huge.png"
    bomb.write_bytes(_png_with_header(30000, 30000))
    with pytest.raises(
        MediaError, match=r"^huge\.png is too large \(30000 × 30000 pixels\); the limit is 50 megapixels\.$"
    ):
        decode_file(bomb, "image")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"^gone\.wav was not found \(it may have been moved or deleted\)\.$"):
        decode_file(tmp_path / "gone.wav", "audio")
    with pytest.raises(MediaError, match=r"^gone was not found \(it may have been moved or deleted\)\.$"):
        decode_file(tmp_path / "gone", "")


def test_intake_runs_without_qt() -> None:
    code = "import sys, app.media.intake; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
