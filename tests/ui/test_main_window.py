"""The real window, offscreen, with the real engine and the tiny Gemma 4: what a user does and sees."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.store import Store
from app.ui.shell.main_window import MainWindow
from tests.fixtures.tiny_gemma4 import GEMMA4_CHAT_TEMPLATE, write_tiny_gemma4
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


def configure(**values: object) -> None:
    settings = Settings.load()
    settings.update({"context_size": 2048, "max_tokens": 24, "seed": 1, **values})
    settings.save()


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, text)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)


def wait_idle(qtbot: QtBot, window: MainWindow, timeout: int = 30_000) -> None:
    qtbot.waitUntil(
        lambda: not window.controller.generating and window.composer.send_button.text() != "Stop", timeout=timeout
    )


def stored_path(window: MainWindow) -> list:  # type: ignore[type-arg]
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        return store.path(conversation.id)


def test_send_streams_the_answer_and_saves_it(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=1500)
    window = open_window(tiny_model)
    assert "Tiny Gemma 4" in window.status.model_label.text()
    send(qtbot, window, "Hello there")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    answer = window.chat.messages[1]
    assert window.chat.messages[0].text() == "Hello there"
    assert window.composer.text() == ""  # the composer cleared itself
    seen: set[int] = set()
    qtbot.waitUntil(lambda: seen.add(len(answer.text())) or len(seen) >= 3, timeout=10_000)  # it grows in steps
    wait_idle(qtbot, window)
    assert answer.text().strip()
    assert "tok/s" in answer.footer.text()
    assert "tok/s" in window.status.speed_label.text()
    # The last save runs on the store thread: wait for it to land.
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=5000)
    path = stored_path(window)
    assert [m.role for m in path] == ["user", "assistant"]
    assert path[1].status == "complete" and path[1].content == answer.text()
    assert path[1].stats and path[1].stats["completion_tokens"] == 1500


def test_stop_with_esc_keeps_what_was_written(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=0, context_size=8192)
    window = open_window(tiny_model)
    send(qtbot, window, "Write forever")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2 and len(window.chat.messages[1].text()) > 20, timeout=10_000)
    assert window.composer.send_button.text() == "Stop"
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    wait_idle(qtbot, window, timeout=5000)
    # The last save runs on the store's thread: wait for it to land rather than read the store at once.
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "stopped", timeout=5000)
    path = stored_path(window)
    assert path[1].content == window.chat.messages[1].text() and len(path[1].content) > 20
    assert path[1].stats is not None and path[1].stats["completion_tokens"] < 8000


def test_thinking_block_streams_then_collapses_and_expands(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    template = GEMMA4_CHAT_TEMPLATE + (
        "{%- if add_generation_prompt and enable_thinking -%}{{ '<|channel>thought\\n' }}{%- endif -%}"
    )
    thinker = write_tiny_gemma4(tmp_path / "thinker.gguf", chat_template=template)
    configure(max_tokens=3000, thinking_default=True)
    window = open_window(thinker)
    assert window.composer.think_button.isChecked()
    send(qtbot, window, "Think hard")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    block = window.chat.messages[1].thinking
    qtbot.waitUntil(lambda: block.isVisible() and block.is_live and bool(block.text()), timeout=10_000)
    assert "Thinking" in block.header.text()
    wait_idle(qtbot, window)
    assert not block.is_live and not block.is_expanded
    assert block.header.text().startswith("Thought for")
    qtbot.mouseClick(block.header, Qt.MouseButton.LeftButton)
    assert block.is_expanded and block.body.isVisible()
    block.header.setFocus()
    qtbot.keyClick(block.header, Qt.Key.Key_Space)
    assert not block.is_expanded
    path = stored_path(window)
    assert path[1].thinking.strip() == block.text().strip() and path[1].thinking_seconds is not None


def test_regenerate_and_edit_keep_every_version(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=12, seed=-1)
    window = open_window(tiny_model)
    send(qtbot, window, "First question")
    wait_idle(qtbot, window)
    first_answer = window.chat.messages[1].text()
    assert window.chat.messages[1].regenerate_button.isVisible()
    qtbot.mouseClick(window.chat.messages[1].regenerate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.chat.messages[1].branch_label.text() == "2/2", timeout=5000)
    wait_idle(qtbot, window)
    second_answer = window.chat.messages[1].text()
    qtbot.mouseClick(window.chat.messages[1].prev_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.chat.messages[1].branch_label.text() == "1/2", timeout=5000)
    assert window.chat.messages[1].text() == first_answer != second_answer

    user = window.chat.messages[0]
    qtbot.wait(50)  # the answer switched versions: the layout pass that places the bubbles' buttons again
    qtbot.mouseClick(user.edit_button, Qt.MouseButton.LeftButton)
    assert user.editor.isVisible()
    user.editor.setPlainText("Second question")
    qtbot.mouseClick(user.save_edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.chat.messages[0].branch_label.text() == "2/2", timeout=5000)
    wait_idle(qtbot, window)
    assert window.chat.messages[0].text() == "Second question"
    qtbot.mouseClick(window.chat.messages[0].prev_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.chat.messages[0].text() == "First question", timeout=5000)
    assert window.chat.messages[1].branch_label.text() in ("1/2", "2/2")  # its answers came back with it


def test_drop_an_image_and_ask_about_it(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    picture = tmp_path / "cat.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(picture)
    configure(max_tokens=8)
    window = open_window(tiny_model, tiny_mmproj)
    window.composer.add_files([picture])
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1 and window.composer.pending_decodes() == 0)
    send(qtbot, window, "What is this?")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    wait_idle(qtbot, window)
    user = window.chat.messages[0]
    assert user.attachments_box.isVisible()
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=5000)  # the store thread's last save
    path = stored_path(window)
    [ref] = path[0].attachments
    assert ref.kind == "image" and ref.name == "cat.png"
    assert window.store.attachment_path(ref).read_bytes() == picture.read_bytes()
    assert path[1].stats and path[1].stats["media_encoded"] == 1


def test_a_program_dropped_is_refused_with_a_reason(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tmp_path: Path
) -> None:
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(range(256)))
    window = open_window(tiny_model)
    window.composer.add_files([program])
    qtbot.waitUntil(lambda: window.notice_bar.isVisible())
    assert "setup.exe: Gemma reads pictures, audio, video and documents" in window.notice_bar.label.text()
    assert window.composer.attachments() == []


def test_restart_finds_the_chat(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=10)
    window = open_window(tiny_model)
    send(qtbot, window, "Remember this chat")
    wait_idle(qtbot, window)
    answer = window.chat.messages[1].text()
    window.resize(900, 640)
    window.close()
    again = open_window()
    qtbot.waitUntil(lambda: len(again.chat.messages) == 2, timeout=5000)
    assert again.chat.messages[0].text() == "Remember this chat"
    assert again.chat.messages[1].text() == answer
    assert again.sidebar.titles() == ["Remember this chat"]
    assert (again.width(), again.height()) == (900, 640)  # geometry persists


def test_sending_while_the_model_still_loads(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=6)
    window = open_window()
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: window.bridge.is_loading or window.bridge.model_info is not None, timeout=5000)
    send(qtbot, window, "Are you there?")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    wait_idle(qtbot, window)
    assert window.chat.messages[1].text().strip()  # answered once the load finished


def test_closing_while_generating_saves_the_partial_answer(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    configure(max_tokens=0, context_size=8192)
    window = open_window(tiny_model)
    send(qtbot, window, "Long answer please")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2 and len(window.chat.messages[1].text()) > 10, timeout=10_000)
    conversation = window.controller.conversation
    assert conversation is not None
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 5
    with Store.open(window.store_path()) as store:
        path = store.path(conversation.id)
    assert path[1].status == "stopped" and len(path[1].content) > 10


def test_delete_with_undo_and_search(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    configure(max_tokens=4)
    window = open_window(tiny_model)
    for text in ("Apples are red", "Bananas are yellow"):
        window.new_chat()
        qtbot.waitUntil(lambda: window.controller.conversation is not None and not window.controller.path, timeout=5000)
        send(qtbot, window, text)
        qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
        wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 2)
    assert window.sidebar.titles()[0] == "Bananas are yellow"  # newest first
    window.sidebar.search.setText("apples")
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 1, timeout=3000)
    assert window.sidebar.titles() == ["Apples are red"]
    window.sidebar.search.clear()
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 2, timeout=3000)
    window.sidebar.select(window.sidebar.ids()[0])
    window.sidebar.delete_current()
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 1 and window.notice_bar.isVisible(), timeout=3000)
    assert window.notice_bar.action.text() == "Undo"
    qtbot.mouseClick(window.notice_bar.action, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 2, timeout=3000)


def test_every_button_has_a_name_and_a_tooltip(open_window: WindowFactory, tiny_model: Path) -> None:
    window = open_window(tiny_model)
    unnamed = [
        b.text() or b.objectName()
        for b in window.findChildren(QAbstractButton)
        if b.isVisible() and not (b.accessibleName() and b.toolTip())
    ]
    assert unnamed == []


def test_a_corrupt_database_is_kept_aside_and_the_app_starts(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)  # (it holds the test settings already)
    (home / "chats.sqlite3").write_bytes(os.urandom(8192))
    window = open_window()
    assert window.notice_bar.isVisible() and "could not be read" in window.notice_bar.label.text()
    assert list(home.glob("chats.corrupt-*.sqlite3"))


def test_a_database_from_a_newer_version_is_left_alone(qtbot: QtBot, open_window: WindowFactory, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    db = home / "chats.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA user_version = 99")
    before = db.read_bytes()
    window = open_window()
    assert window.notice_bar.isVisible() and "newer" in window.notice_bar.label.text()
    assert db.read_bytes() == before


KILL_SCRIPT = """
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui.shell.app import create_window
app = QApplication([])
window = create_window(app)
window.show()
window.load_model(Path(sys.argv[1]))
def go():
    if window.bridge.model_info is None:
        QTimer.singleShot(50, go)
        return
    window.composer.set_text("Tell me everything")
    window.composer.input.submitRequested.emit()
def report():
    if window.chat.messages and len(window.chat.messages[-1].text()) > 200:
        print("STREAMING", flush=True)
    else:
        QTimer.singleShot(50, report)
QTimer.singleShot(0, go)
QTimer.singleShot(0, report)
app.exec()
"""


def test_killed_mid_answer_the_partial_answer_survives(
    qtbot: QtBot, open_window: WindowFactory, home: Path, tiny_model: Path
) -> None:
    configure(max_tokens=0, context_size=8192)
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tiny_model)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=env, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "STREAMING"
    time.sleep(1.2)  # let it write for a while, then pull the plug
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    window = open_window()
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    assert window.chat.messages[0].text() == "Tell me everything"
    assert len(window.chat.messages[1].text()) > 200
    assert "Stopped" in window.chat.messages[1].footer.text()
    assert window.notice_bar.isVisible() and "being written" in window.notice_bar.label.text()


def test_app_quits_cleanly(open_window: WindowFactory, tiny_model: Path) -> None:
    before = set(threading.enumerate())
    window = open_window(tiny_model)
    engine = [t for t in threading.enumerate() if t.name == "gemma-engine" and t not in before]
    assert engine and engine[0].is_alive()
    window.resize(870, 610)
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 10  # the model is freed and the engine ends; nothing hangs the quit
    assert not window.isVisible()
    assert not engine[0].is_alive()  # the model's thread has ended: the process can exit
    assert window.bridge.closed
    again = open_window()
    assert (again.width(), again.height()) == (870, 610)  # the window's place was saved on the way out


def test_dark_theme_applies_at_once(open_window: WindowFactory) -> None:
    window = open_window()
    window.settings.set("theme", "dark")
    window.apply_theme()
    assert window.chat.theme.name == "dark"
    assert window.palette().window().color().lightness() < 128
    window.settings.set("theme", "light")
    window.apply_theme()
    assert window.chat.theme.name == "light"
