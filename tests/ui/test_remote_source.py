"""File → Remote server…: the real window chats through a real OpenAI-compatible server (our LocalServer on a
second engine with the tiny Gemma 4, in this process or in a child process that is killed mid-answer)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine import Engine, EventQueue, LoadRequest
from app.server import KeyCheck, LocalServer, ServerOptions
from app.settings import Settings
from app.store import Store
from app.ui.model_setup.remote_source import RemoteSourceDialog
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui

KEY = "gd-test-key-for-the-remote"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote_server(tiny_model: Path) -> Iterator[LocalServer]:
    """Another Gemma Desk: a second in-process engine with the tiny model behind the OpenAI-compatible server."""
    events = EventQueue()
    engine = Engine(events)
    loaded = engine.load(LoadRequest(model_path=tiny_model, n_ctx=8192, n_threads=1))
    for _event in events.until_done(loaded, timeout=60):
        pass
    server = LocalServer(engine, ServerOptions(port=0, key=KeyCheck.for_key(KEY)))
    server.start()
    yield server
    server.stop()
    engine.close()


def configure(**values: object) -> None:
    settings = Settings.load()
    settings.update({"context_size": 2048, "seed": 1, **values})
    settings.save()


def list_models(qtbot: QtBot, window: MainWindow, address: str, key: str) -> RemoteSourceDialog:
    window.loading.choose_remote()
    dialog = window.loading.remote_dialog
    assert dialog is not None
    dialog.url.setText(address)
    dialog.key.setText(key)
    assert dialog.key.echoMode() == dialog.key.EchoMode.Password
    dialog.list_button.click()
    return dialog


def connect(qtbot: QtBot, window: MainWindow, address: str, key: str = KEY) -> str:
    """List the server's models, pick the first, Connect; the model's id."""
    dialog = list_models(qtbot, window, address, key)
    qtbot.waitUntil(lambda: dialog.models.count() > 0, timeout=20_000)
    model = dialog.models.item(0).text()
    dialog.select_model(model)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    return model


def send(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, text)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) >= 2, timeout=10_000)


def wait_idle(qtbot: QtBot, window: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=timeout)


def stored_answer_status(window: MainWindow) -> str:
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        return store.path(conversation.id)[-1].status


def test_chat_through_a_remote_server_then_back_to_local(
    qtbot: QtBot, launch: Launch, remote_server: LocalServer, tiny_model: Path
) -> None:
    configure(max_tokens=40)
    window = launch()
    host = remote_server.address.removeprefix("http://")
    model = connect(qtbot, window, remote_server.address)
    assert window.status.model_label.text() == f"Remote: {model} @ {host}"
    assert window.bridge.remote is not None and window.bridge.local_engine is None

    send(qtbot, window, "Hello there")
    answer = window.chat.messages[-1]
    wait_idle(qtbot, window)
    assert answer.text().strip() and "tok/s" in answer.footer.text()
    assert not answer.error.isVisible()
    qtbot.waitUntil(lambda: stored_answer_status(window) == "complete", timeout=5000)

    # The next start reconnects to the same server and model.
    saved = Settings.load()
    assert saved.get_str("last_engine") == "remote" and saved.get_str("remote_model") == model
    window.close()
    again = launch()
    qtbot.waitUntil(lambda: again.bridge.model_info is not None, timeout=20_000)
    assert again.status.model_label.text() == f"Remote: {model} @ {host}"

    # The server is the remote's, not the window's: the switch says why it stays off.
    again.server.set_on(True)
    assert again.server.state == "off" and "remote server" in again.notice_bar.label.text()

    # Opening a local model switches back.
    again.load_model(tiny_model)
    qtbot.waitUntil(lambda: again.bridge.model_info is not None and again.bridge.remote is None, timeout=30_000)
    assert "Tiny Gemma 4" in again.status.model_label.text() and again.bridge.local_engine is not None
    assert Settings.load().get_str("last_engine") == "local"


def test_stop_closes_the_remote_stream(qtbot: QtBot, launch: Launch, remote_server: LocalServer) -> None:
    configure(max_tokens=0, context_size=8192)
    window = launch()
    connect(qtbot, window, remote_server.address)
    send(qtbot, window, "Write forever")
    answer = window.chat.messages[-1]
    qtbot.waitUntil(lambda: len(answer.text()) > 20, timeout=20_000)
    assert window.composer.send_button.text() == "Stop"
    window.composer.send_button.click()
    wait_idle(qtbot, window, timeout=10_000)
    assert answer.footer.text() == "Stopped." and len(answer.text()) > 20
    qtbot.waitUntil(lambda: stored_answer_status(window) == "stopped", timeout=5000)
    qtbot.waitUntil(lambda: remote_server.in_flight == 0, timeout=10_000)  # the server heard the stream close


def test_a_wrong_key_is_one_line(qtbot: QtBot, launch: Launch, remote_server: LocalServer) -> None:
    window = launch()
    dialog = list_models(qtbot, window, remote_server.address, "not-the-key")
    with qtbot.waitSignal(dialog.listFailed, timeout=20_000) as failed:
        pass
    assert failed.args == ["The server refused the API key."]
    assert dialog.problem.isVisible() and dialog.problem.text() == "The server refused the API key."
    assert dialog.models.count() == 0 and not dialog.connect_button.isEnabled()


def test_an_unreachable_server_is_one_line(qtbot: QtBot, launch: Launch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    window = launch()
    dialog = list_models(qtbot, window, f"http://127.0.0.1:{port}", "")
    with qtbot.waitSignal(dialog.listFailed, timeout=20_000) as failed:
        pass
    assert failed.args[0].startswith(f"Could not reach http://127.0.0.1:{port}/v1") and "\n" not in failed.args[0]


CHILD_SERVER = """
import sys
from pathlib import Path
from app.engine import Engine, EventQueue, LoadRequest
from app.server import LocalServer, ServerOptions
events = EventQueue()
engine = Engine(events)
for _ in events.until_done(engine.load(LoadRequest(model_path=Path(sys.argv[1]), n_ctx=8192, n_threads=1)), 60):
    pass
server = LocalServer(engine, ServerOptions(port=0))
server.start()
print(server.address, flush=True)
sys.stdin.read()
"""


def test_the_server_killed_mid_answer_keeps_it_as_stopped(qtbot: QtBot, launch: Launch, tiny_model: Path) -> None:
    configure(max_tokens=0, context_size=8192)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SERVER, str(tiny_model)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "GEMMA_DESK_THREADS": "1"},
    )
    try:
        assert child.stdout is not None
        address = child.stdout.readline().strip()
        assert address.startswith("http://127.0.0.1:"), "the child server did not start"
        window = launch()
        connect(qtbot, window, address, key="")
        send(qtbot, window, "Write forever")
        answer = window.chat.messages[-1]
        qtbot.waitUntil(lambda: len(answer.text()) > 20, timeout=20_000)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        started = time.monotonic()
        wait_idle(qtbot, window, timeout=30_000)
        assert time.monotonic() - started < 30
        assert len(answer.text()) > 20  # what came is kept
        assert answer.footer.text().startswith("The server stopped in the middle of the answer")
        qtbot.waitUntil(lambda: stored_answer_status(window) == "stopped", timeout=5000)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()


def test_the_model_manager_lists_the_remote_models_beside_the_local_ones(
    qtbot: QtBot, launch: Launch, remote_server: LocalServer
) -> None:
    from PySide6.QtWidgets import QPushButton

    window = launch(remote_url=remote_server.address, remote_api_key=KEY)
    window.loading.open_model_manager()
    qtbot.waitUntil(lambda: window.loading.remote_models is not None, timeout=20_000)
    box = window.loading.remote_models
    assert box is not None
    qtbot.waitUntil(lambda: "serves 1 model" in box.status_label.text(), timeout=20_000)
    use = [b for b in box.findChildren(QPushButton) if b.accessibleName().startswith("Use ")]
    assert len(use) == 1
    model = use[0].accessibleName().removeprefix("Use ")
    use[0].click()
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    assert window.status.model_label.text() == f"Remote: {model} @ {remote_server.address.removeprefix('http://')}"


def test_switching_to_a_remote_mid_answer_stops_the_local_answer_and_server(
    qtbot: QtBot, launch: Launch, remote_server: LocalServer, tiny_model: Path
) -> None:
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(max_tokens=0, context_size=8192, server_port=port)
    window = launch()
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
    window.server.set_on(True)
    qtbot.waitUntil(lambda: window.server.state == "on", timeout=20_000)
    local_address = window.server.address
    send(qtbot, window, "Write forever")
    local_answer = window.chat.messages[-1]
    qtbot.waitUntil(lambda: len(local_answer.text()) > 20, timeout=20_000)

    connect(qtbot, window, remote_server.address)  # while the local answer streams
    wait_idle(qtbot, window, timeout=20_000)
    assert local_answer.footer.text() == "Stopped."  # the local engine closed (off the GUI thread)
    qtbot.waitUntil(lambda: window.server.state == "off", timeout=20_000)
    assert "remote server" in window.notice_bar.label.text()
    try:
        httpx.get(local_address + "/health", timeout=5)
        raise AssertionError("the window's server still answers")
    except httpx.ConnectError:
        pass

    window.settings.update({"max_tokens": 20})
    send(qtbot, window, "And now?")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 4, timeout=10_000)
    wait_idle(qtbot, window)
    remote_answer = window.chat.messages[-1]
    assert remote_answer.text().strip() and "tok/s" in remote_answer.footer.text()
    assert local_answer.footer.text() == "Stopped."  # no late event of the old engine reached it


def test_what_the_model_hears_is_the_servers_word_when_it_gives_it(
    qtbot: QtBot, launch: Launch, remote_server: LocalServer
) -> None:
    window = launch()
    dialog = list_models(qtbot, window, remote_server.address, KEY)
    qtbot.waitUntil(lambda: dialog.models.count() > 0, timeout=20_000)
    dialog.hears.setChecked(True)  # the user thinks it hears; the Gemma Desk server knows it has no projector
    dialog.select_model(dialog.models.item(0).text())
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    info = window.bridge.model_info
    assert info is not None and (info.has_vision, info.has_audio) == (False, False)
    qtbot.waitUntil(lambda: Settings.load().get_bool("remote_audio"), timeout=5000)  # the choice is remembered
