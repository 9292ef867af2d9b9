"""The composer against real files (Pillow, soundfile, OpenCV), the real clipboard and real key events (offscreen)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage, QTextOption
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from app.engine.attachments import parts_for
from app.media import MediaError, load_image
from app.media.intake import PendingAttachment
from app.ui.composer.attachment_tray import TILE_SIZE
from app.ui.composer.composer import MAX_ATTACHMENTS, Composer

pytestmark = pytest.mark.gui

MODEL = "Gemma 4 E4B"
NOT_READABLE = (
    "Gemma reads pictures, audio, video and documents (text, code, PDF, Word, PowerPoint, Excel), "
    "not this kind of file."
)


# --- real media files ---------------------------------------------------------------------------------------


def _png(path: Path, seed: int = 0, size: tuple[int, int] = (96, 64)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _wav(path: Path, seconds: float = 1.0, rate: int = 16_000) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path


def _mp4(path: Path, seconds: int = 3, fps: float = 10.0, size: tuple[int, int] = (64, 48)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    try:
        for index in range(round(fps * seconds)):
            writer.write(np.full((size[1], size[0], 3), (index * 8) % 256, dtype=np.uint8))
    finally:
        writer.release()
    return path


def _file_urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture
def composer(qtbot: QtBot) -> Iterator[Composer]:
    """A composer with a model that sees and hears, shown and active (shortcuts need an active window)."""
    widget = Composer()
    qtbot.addWidget(widget)
    widget.set_capabilities(model_loaded=True, vision=True, audio=True, model_name=MODEL)
    widget.resize(640, 200)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    widget.focus_input()
    yield widget
    qtbot.waitUntil(lambda: widget.pending_decodes() == 0, timeout=10_000)


def _notices(composer: Composer) -> list[str]:
    seen: list[str] = []
    composer.noticeRequested.connect(seen.append)
    return seen


def _decoded(qtbot: QtBot, composer: Composer, count: int) -> list[PendingAttachment]:
    qtbot.waitUntil(lambda: composer.pending_decodes() == 0 and len(composer.attachments()) == count, timeout=10_000)
    return composer.attachments()


# --- typing and sending -------------------------------------------------------------------------------------


def test_enter_sends_text_and_clears(qtbot: QtBot, composer: Composer) -> None:
    qtbot.keyClicks(composer.input, "hello Gemma")
    with qtbot.waitSignal(composer.sendRequested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent.args == ["hello Gemma", []]
    assert composer.text() == ""


def test_ctrl_enter_sends_and_trailing_blank_lines_are_trimmed(qtbot: QtBot, composer: Composer) -> None:
    composer.set_text("\n\n  indented code\n\n")
    with qtbot.waitSignal(composer.sendRequested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.args == ["  indented code", []]


def test_shift_enter_inserts_a_newline(qtbot: QtBot, composer: Composer) -> None:
    qtbot.keyClicks(composer.input, "one")
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.input, "two")
    assert composer.text() == "one\ntwo"


def test_empty_or_blank_text_does_not_send(qtbot: QtBot, composer: Composer) -> None:
    notices = _notices(composer)
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
        composer.set_text("   \n\t ")
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
        composer.send_button.click()
    assert not composer.send_button.isEnabled()
    assert notices == []


def test_nothing_sends_without_a_model(qtbot: QtBot, composer: Composer) -> None:
    composer.set_capabilities(model_loaded=False, vision=False, audio=False)
    notices = _notices(composer)
    composer.set_text("hi")
    assert not composer.send_button.isEnabled()
    assert composer.send_button.toolTip() == "Load a model first"
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert notices == ["Load a model first."]
    assert composer.text() == "hi"


def test_busy_shows_stop_and_esc_stops(qtbot: QtBot, composer: Composer) -> None:
    composer.set_text("next question")
    composer.set_busy(True)
    assert composer.send_button.text() == "Stop"
    assert composer.send_button.isEnabled()
    assert composer.send_button.accessibleName() == "Stop generating"
    with qtbot.waitSignal(composer.stopRequested):
        composer.send_button.click()
    with qtbot.waitSignal(composer.stopRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Escape)
    with qtbot.assertNotEmitted(composer.sendRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert composer.text() == "next question"  # Enter neither sent nor inserted a line

    composer.set_busy(False)
    assert composer.send_button.text() == "Send"
    with qtbot.assertNotEmitted(composer.stopRequested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Escape)
    assert composer.text() == "next question"


def test_thinking_toggle_button_shortcut_and_silent_setter(qtbot: QtBot, composer: Composer) -> None:
    with qtbot.waitSignal(composer.thinkingToggled) as toggled:
        composer.think_button.click()
    assert toggled.args == [True]
    with qtbot.assertNotEmitted(composer.thinkingToggled):
        composer.set_thinking(False)
    assert not composer.think_button.isChecked()
    with qtbot.waitSignal(composer.thinkingToggled) as toggled:
        qtbot.keyClick(composer.input, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert toggled.args == [True]


def test_input_grows_with_its_text_up_to_ten_lines(qtbot: QtBot, composer: Composer) -> None:
    one_line = composer.input.height()
    composer.set_text("a\nb\nc")
    three_lines = composer.input.height()
    composer.set_text("\n".join(map(str, range(50))))
    capped = composer.input.height()
    composer.set_text("x" * 5000)  # one paragraph that wraps
    wrapped = composer.input.height()
    assert one_line < three_lines < capped
    assert composer.input.visual_lines() == 10
    assert wrapped == capped
    composer.clear()
    assert composer.input.height() == one_line
    for count in (1, 2, 5, 10, 11):
        composer.set_text("\n".join("line" for _ in range(count)))
        QApplication.processEvents()
        assert (composer.input.verticalScrollBar().maximum() > 0) == (count > 10), count


def _paste_back(qtbot: QtBot, composer: Composer, text: str) -> float:
    """Paste ``text`` (long: it becomes a "Pasted text" chip), then "Paste as text instead": the seconds the
    GUI thread spent on both."""
    mime = QMimeData()
    mime.setText(text)
    start = time.perf_counter()
    composer.input.insertFromMimeData(mime)
    spent = time.perf_counter() - start
    qtbot.waitUntil(lambda: len(composer.attachments()) == 1, timeout=20_000)
    assert composer.text() == ""
    [token] = composer.intake.tokens()
    start = time.perf_counter()
    composer.documents.paste_back(token)
    composer.repaint()
    return spent + time.perf_counter() - start


def test_megabyte_paste_becomes_a_chip_and_pastes_back_as_text_quickly(qtbot: QtBot, composer: Composer) -> None:
    line = "The quick brown fox jumps over the lazy dog, 0123456789.\n"
    text = line * (1_000_000 // len(line))
    elapsed = _paste_back(qtbot, composer, text)
    QApplication.processEvents()
    assert composer.text() == text
    assert elapsed < 2.0
    assert composer.send_button.isEnabled()
    assert composer.attachments() == []


def test_megabyte_line_without_spaces_pastes_back_quickly(qtbot: QtBot, composer: Composer) -> None:
    text = "QUJD" * 250_000  # base64-like: one unbroken 1 MB run
    elapsed = _paste_back(qtbot, composer, text)
    start = time.perf_counter()
    qtbot.keyClick(composer.input, Qt.Key.Key_Period)
    composer.repaint()
    assert elapsed + time.perf_counter() - start < 2.0
    assert composer.text() == text + "."
    composer.clear()
    assert composer.input.wordWrapMode() == QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


def test_plain_text_paste_is_text(qtbot: QtBot, composer: Composer) -> None:
    QApplication.clipboard().setText("pasted words")
    qtbot.keyClick(composer.input, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert composer.text() == "pasted words"
    assert composer.pending_decodes() == 0


# --- attachments --------------------------------------------------------------------------------------------


def test_pasting_a_screenshot_attaches_it(qtbot: QtBot, composer: Composer) -> None:
    shot = QImage(320, 200, QImage.Format.Format_RGB32)
    shot.fill(QColor(200, 30, 60))
    QApplication.clipboard().setImage(shot)
    qtbot.keyClick(composer.input, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

    [attachment] = _decoded(qtbot, composer, 1)
    assert composer.text() == ""
    assert (attachment.kind, attachment.name, attachment.source_path) == ("image", "pasted image.png", None)
    assert attachment.data is not None and attachment.data.startswith(b"\x89PNG")
    [part] = parts_for(attachment.payload)
    assert part.type == "image" and part.media_id == load_image(attachment.data).media_id
    assert (part.payload.width, part.payload.height) == (320, 200)
    assert tuple(part.payload.pixels[100, 160]) == (200, 30, 60)
    assert attachment.summary.endswith("320×200")
    assert attachment.size == len(attachment.data)
    [tile] = composer.tray.tiles()
    assert tile.thumbnail is not None and tile.thumbnail.pixelColor(10, 10) == QColor(200, 30, 60)

    with qtbot.waitSignal(composer.sendRequested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)  # a picture alone may be sent
    assert sent.args == ["", [attachment]]
    assert composer.attachments() == [] and not composer.tray.isVisible()


def test_add_image_bytes(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    data = _png(tmp_path / "a.png").read_bytes()
    composer.add_image_bytes(data, "from the web.png")
    [attachment] = _decoded(qtbot, composer, 1)
    assert (attachment.kind, attachment.name, attachment.data) == ("image", "from the web.png", data)


def test_pasted_file_urls_attach_files(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    composer.input.insertFromMimeData(_file_urls(_png(tmp_path / "shot.png")))
    [attachment] = _decoded(qtbot, composer, 1)
    assert (attachment.kind, attachment.source_path, attachment.data) == ("image", tmp_path / "shot.png", None)
    assert composer.text() == ""


def test_dropping_a_picture_a_recording_and_a_video(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    files = [_png(tmp_path / "photo.png"), _wav(tmp_path / "voice.wav", 2.0), _mp4(tmp_path / "clip.mp4")]
    mime = _file_urls(*files)  # the event does not own its data: keep it alive
    drop = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    composer.dropEvent(drop)
    assert drop.isAccepted()
    assert composer.pending_decodes() == 3  # decoding happens off the GUI thread, after the drop returns
    assert not composer.send_button.isEnabled()
    assert "still being read" in composer.send_button.toolTip()
    assert composer.tray.isVisible()

    image, audio, video = _decoded(qtbot, composer, 3)
    assert [a.kind for a in (image, audio, video)] == ["image", "audio", "video"]
    assert [a.name for a in (image, audio, video)] == ["photo.png", "voice.wav", "clip.mp4"]
    tiles = composer.tray.tiles()
    thumbs = [t.thumbnail for t in tiles]
    assert image.summary.endswith("· 96×64") and thumbs[0] is not None
    assert audio.summary == "0:02" and thumbs[1] is None
    assert [p.type for p in parts_for(audio.payload)] == ["audio"]
    assert video.summary == "3 frames" and thumbs[2] is not None
    assert [p.type for p in parts_for(video.payload) if p.type != "text"] == ["image"] * 3
    assert composer.send_button.isEnabled()

    assert [t.toolTip() for t in tiles] == [
        f"{image.name}\n{image.summary} · ~280 tokens",  # no model to count them: estimated
        f"{audio.name}\n{audio.summary}",  # a sound's cost only the model can tell
        f"{video.name}\n{video.summary} · ~840 tokens",
    ]
    thumb = thumbs[0]
    assert thumb is not None
    assert thumb.devicePixelRatio() == composer.devicePixelRatioF()
    assert thumb.width() == round(TILE_SIZE * composer.devicePixelRatioF())


def test_unsupported_file_is_refused_with_a_reason(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 4)
    notices = _notices(composer)
    composer.add_files([program])
    assert notices == [f"setup.exe: {NOT_READABLE}"]
    assert composer.pending_decodes() == 0 and composer.attachments() == []
    assert not composer.tray.isVisible()


def test_a_file_without_extension_is_judged_by_its_content(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    shot = _png(tmp_path / "screenshot.png").rename(tmp_path / "screenshot")
    program = tmp_path / "tool"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    notices = _notices(composer)
    composer.add_files([shot, program])
    [attachment] = _decoded(qtbot, composer, 1)
    assert attachment.kind == "image"
    assert notices == [f"tool: {NOT_READABLE}"]


def test_dropping_a_model_offers_to_load_it(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    model = tmp_path / "gemma-4-E4B-it-Q4_K_M.gguf"
    model.write_bytes(b"GGUF")
    with qtbot.waitSignal(composer.modelFileDropped) as dropped:
        composer.input.insertFromMimeData(_file_urls(model))
    assert dropped.args == [model]
    assert composer.pending_decodes() == 0 and composer.attachments() == []


def test_fifty_files_keep_the_first_sixteen_without_freezing(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    paths = [_png(tmp_path / f"photo{i:02d}.png", seed=i, size=(640, 480)) for i in range(50)]
    notices = _notices(composer)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()

    start = time.perf_counter()
    composer.add_files(paths)
    returned = time.perf_counter() - start
    assert composer.pending_decodes() == MAX_ATTACHMENTS
    assert notices == ["Only 16 attachments fit in one message; 34 were left out."]
    attached = _decoded(qtbot, composer, MAX_ATTACHMENTS)
    timer.stop()

    assert returned < 0.5  # add_files only names and queues the files
    assert len(ticks) >= 2  # the event loop kept running while they were decoded
    gaps = np.diff([start, *ticks])
    assert gaps.max() < 0.5
    assert [a.name for a in attached] == [p.name for p in paths[:MAX_ATTACHMENTS]]
    more = tmp_path / "one more.png"
    composer.add_files([_png(more, seed=99)])
    assert notices[-1] == "Only 16 attachments fit in one message; 1 was left out."


def test_a_damaged_file_leaves_a_notice_not_a_tile(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(MediaError, match=r"^broken\.png is damaged or incomplete\.$") as expected:
        load_image(broken)
    with qtbot.waitSignal(composer.noticeRequested) as notice:
        composer.add_files([broken])
    assert notice.args == [str(expected.value)]
    assert composer.pending_decodes() == 0 and composer.attachments() == []
    assert composer.tray.tiles() == [] and not composer.tray.isVisible()


def test_of_two_identical_pictures_the_first_added_stays(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    big = _png(tmp_path / "big.png", seed=7, size=(1500, 1500))  # slower to decode than the pasted copy
    notices = _notices(composer)
    composer.add_files([big])
    composer.add_image_bytes(big.read_bytes(), "pasted image.png")
    [kept] = _decoded(qtbot, composer, 1)
    assert kept.name == "big.png"
    assert notices == ["pasted image.png is the same as big.png, which is already attached."]


def test_the_same_media_is_attached_once(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    first = _png(tmp_path / "a.png", seed=5)
    copy = tmp_path / "copy of a.png"
    copy.write_bytes(first.read_bytes())
    notices = _notices(composer)
    composer.add_files([first, first])
    assert notices == ["a.png is already attached."]
    _decoded(qtbot, composer, 1)
    with qtbot.waitSignal(composer.noticeRequested) as notice:
        composer.add_files([copy])
    assert notice.args == ["copy of a.png is the same as a.png, which is already attached."]
    assert [a.name for a in _decoded(qtbot, composer, 1)] == ["a.png"]


def test_refusals_follow_the_models_abilities(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    files = [_png(tmp_path / "cat.png"), _wav(tmp_path / "song.wav"), _mp4(tmp_path / "walk.mp4")]
    composer.set_capabilities(model_loaded=True, vision=False, audio=False, model_name="Gemma 4 1B")
    notices = _notices(composer)
    composer.add_files(files)
    assert notices == [
        "cat.png: Gemma 4 1B was loaded without its vision projector (mmproj), so it cannot see pictures.",
        "song.wav: Gemma 4 1B cannot hear audio: only Gemma 4 E2B and E4B (with their mmproj) take audio.",
        "walk.mp4: Gemma 4 1B was loaded without its vision projector (mmproj), so it cannot watch videos.",
    ]
    assert composer.pending_decodes() == 0

    composer.set_capabilities(model_loaded=True, vision=True, audio=False, model_name="Gemma 4 31B")
    composer.add_files(files)
    assert notices[-1].startswith("song.wav: Gemma 4 31B cannot hear audio")
    assert [a.kind for a in _decoded(qtbot, composer, 2)] == ["image", "video"]


def test_attachments_made_before_a_model_is_loaded_are_checked_at_send(
    qtbot: QtBot, composer: Composer, tmp_path: Path
) -> None:
    composer.set_capabilities(model_loaded=False, vision=False, audio=False)
    composer.add_files([_png(tmp_path / "cat.png")])
    _decoded(qtbot, composer, 1)
    composer.set_capabilities(model_loaded=True, vision=False, audio=False, model_name="Gemma 4 1B")
    assert not composer.send_button.isEnabled()
    assert composer.send_button.toolTip().endswith("cannot see pictures. Remove it to send.")


def test_remove_button_drops_the_attachment(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    composer.add_files([_png(tmp_path / "cat.png"), _png(tmp_path / "dog.png", seed=1)])
    _decoded(qtbot, composer, 2)
    cat, dog = composer.tray.tiles()
    assert cat.remove_button.accessibleName() == "Remove cat.png"
    assert cat.remove_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    qtbot.mouseClick(cat.remove_button, Qt.MouseButton.LeftButton)
    assert [a.name for a in composer.attachments()] == ["dog.png"]
    dog.remove_button.setFocus()
    qtbot.keyClick(dog.remove_button, Qt.Key.Key_Space)
    assert composer.attachments() == []
    assert not composer.tray.isVisible()


def test_removing_a_tile_while_it_decodes(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    composer.add_files([_mp4(tmp_path / "clip.mp4")])
    [tile] = composer.tray.tiles()
    assert tile.attachment is None
    tile.remove_button.click()
    assert composer.pending_decodes() == 0
    with qtbot.assertNotEmitted(composer.noticeRequested, wait=300):
        pass
    assert composer.attachments() == [] and composer.tray.tiles() == []


def test_attach_button_opens_the_file_picker(
    qtbot: QtBot, composer: Composer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = _png(tmp_path / "photo.png")
    asked: list[str] = []

    def fake_picker(parent: object, caption: str, folder: str, filters: str) -> tuple[list[str], str]:
        asked.append(filters)
        return [str(photo)], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", fake_picker)
    composer.attach_button.click()
    assert [a.name for a in _decoded(qtbot, composer, 1)] == ["photo.png"]
    assert "*.png" in asked[0] and "*.wav" in asked[0] and "*.mp4" in asked[0] and "*.gguf" in asked[0]

    composer.clear()
    qtbot.keyClick(composer.input, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 2
    _decoded(qtbot, composer, 1)


def test_every_control_is_named_and_explained(composer: Composer) -> None:
    controls = [composer.input, composer.attach_button, composer.think_button, composer.send_button]
    for control in controls:
        assert control.accessibleName()
        assert control.toolTip()
    assert "Ctrl+O" in composer.attach_button.toolTip()
    assert "Ctrl+T" in composer.think_button.toolTip()
    assert "Shift+Enter" in composer.input.toolTip()
    assert composer.input.placeholderText().startswith("Ask Gemma")
