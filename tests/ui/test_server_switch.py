"""The window's Server switch: the real window and tiny Gemma 4, a real uvicorn server, the official openai client."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.server import stored_key
from app.settings import Settings
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import Launch, WindowFactory

pytestmark = pytest.mark.gui


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure(**values: object) -> None:
    settings = Settings.load()
    settings.update({"context_size": 2048, "seed": 1, **values})
    settings.save()


def switch(qtbot: QtBot, window: MainWindow, on: bool) -> None:
    qtbot.mouseClick(window.server.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.server.state in (("on", "off") if on else ("off",)), timeout=20_000)


def test_the_server_answers_with_the_windows_model_then_stops(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    port = free_port()
    configure(server_port=port)
    window = open_window(tiny_model)
    assert window.server.button.text() == "Server: off" and not window.server.address_button.isVisible()
    switch(qtbot, window, True)
    address = f"http://127.0.0.1:{port}"
    assert window.server.state == "on", window.notice_bar.label.text()
    assert window.server.button.text() == "Server: on"
    assert window.server.address_button.isVisible() and window.server.address_button.text() == address
    qtbot.mouseClick(window.server.address_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == address

    shown: list[str] = []
    window.server.activityChanged.connect(lambda _n: shown.append(window.server.button.text()))
    from openai import OpenAI

    client = OpenAI(base_url=address + "/v1", api_key="none", max_retries=0, timeout=120)
    result: dict[str, object] = {}

    def ask() -> None:
        try:
            stream = client.chat.completions.create(
                model="gemma", messages=[{"role": "user", "content": "Hello"}], max_tokens=200, stream=True
            )
            result["text"] = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        except Exception as exc:  # shown in the assertion below
            result["error"] = exc

    thread = threading.Thread(target=ask)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive() and bool(shown) and shown[-1] == "Server: on", timeout=120_000)
    thread.join()
    assert "error" not in result, result
    assert isinstance(result["text"], str) and result["text"].strip()
    assert "Server: answering 1 request" in shown  # busy, while it ran
    assert [m.id for m in client.models.list().data]  # the window's model is listed

    switch(qtbot, window, False)
    assert window.server.button.text() == "Server: off" and not window.server.address_button.isVisible()
    with pytest.raises(httpx.ConnectError):
        httpx.get(address + "/health", timeout=5)


def test_the_window_answers_behind_the_servers_requests(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    port = free_port()
    configure(server_port=port, max_tokens=8)
    window = open_window(tiny_model)
    switch(qtbot, window, True)
    released = threading.Event()
    done: list[int] = []

    def ask() -> None:
        with httpx.stream(
            "POST",
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "gemma", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 400, "stream": True},
            timeout=120,
        ) as response:
            for _line in response.iter_lines():
                released.wait(120)  # hold the engine until the window's message is seen waiting
            done.append(response.status_code)

    thread = threading.Thread(target=ask)
    thread.start()
    qtbot.waitUntil(lambda: window.server.in_flight == 1, timeout=30_000)
    window.composer.set_text("And me?")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: "your message waits its turn" in window.server.button.text(), timeout=10_000)
    released.set()
    thread.join(120)
    assert done == [200]
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=60_000)
    assert window.chat.messages[-1].text().strip()  # the window's answer came once the engine was free
    assert window.server.button.text() == "Server: on"


def test_a_network_address_without_a_key_is_refused(qtbot: QtBot, launch: Launch) -> None:
    window = launch(server_host="0.0.0.0", server_port=free_port())
    switch(qtbot, window, True)
    assert window.server.state == "off" and window.server.button.text() == "Server: off"
    shown = window.notice_bar.label.text()
    assert shown.startswith("Refusing to listen on 0.0.0.0 without an API key") and "\n" not in shown


def test_a_port_in_use_is_a_one_line_notice(qtbot: QtBot, launch: Launch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        window = launch(server_port=port)
        switch(qtbot, window, True)
        assert window.server.state == "off"
        shown = window.notice_bar.label.text()
        assert f"Port {port}" in shown and "already in use" in shown and "Settings → Server" in shown
        assert "\n" not in shown


def test_a_new_key_is_shown_once_and_opens_the_network_address(qtbot: QtBot, launch: Launch) -> None:
    port = free_port()
    window = launch(server_host="0.0.0.0", server_port=port)
    window.server.key_action.trigger()
    qtbot.waitUntil(lambda: window.key_dialog is not None, timeout=10_000)
    dialog = window.key_dialog
    key = dialog.field.text()  # type: ignore[union-attr]
    assert key.startswith("gd-") and len(key) > 30
    dialog.copy_button.click()  # type: ignore[union-attr]
    assert QApplication.clipboard().text() == key
    stored = stored_key()
    assert stored is not None and stored.matches(key)
    assert key not in window.settings.path.read_text(encoding="utf-8")  # only its hash is kept (server.json)
    dialog.reject()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: window.key_dialog is None, timeout=5000)

    switch(qtbot, window, True)
    assert window.server.state == "on", window.notice_bar.label.text()
    url = f"http://127.0.0.1:{port}/v1/models"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200


def test_settings_has_a_server_page_with_new_key(qtbot: QtBot, launch: Launch) -> None:
    from PySide6.QtWidgets import QPushButton

    window = launch()
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    server = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())].index("Server")
    dialog.tabs.setCurrentIndex(server)
    assert dialog.control("server_host").isVisible() and dialog.control("server_port").isVisible()
    button = next(b for b in dialog.findChildren(QPushButton) if b.accessibleName() == "New API key")
    button.click()
    qtbot.waitUntil(lambda: window.key_dialog is not None, timeout=10_000)
    assert window.key_dialog.parent() is dialog  # type: ignore[union-attr]
    assert window.key_dialog.isVisible()  # type: ignore[union-attr]


def test_the_server_stops_when_the_window_closes(qtbot: QtBot, launch: Launch) -> None:
    port = free_port()
    window = launch(server_port=port)
    switch(qtbot, window, True)
    assert window.server.state == "on"
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code in (200, 503)  # 503: no model
    window.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
