"""Screenshots of the Server switch and the remote server dialog in the real window (run under Xvfb).

The window loads the tiny Gemma 4 and turns its server on; a client's streamed request keeps it busy while the
first picture is taken (the status bar says so). Then a second engine with the tiny model serves as "another
Gemma Desk" and the remote dialog lists its models for the second picture.

    xvfb-run -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_server SERVER.png DIALOG.png [--dark]
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(server_png: Path, dialog_png: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    os.environ.setdefault("GEMMA_DESK_THREADS", "1")
    import httpx
    from PySide6.QtWidgets import QApplication

    from app.engine import Engine, EventQueue, LoadRequest
    from app.server import LocalServer, ServerOptions
    from app.settings import Settings
    from app.ui.shell.app import create_window
    from tests.conftest import build_tiny_model

    model = build_tiny_model()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    settings = Settings.load()
    port = _free_port()
    settings.update({"theme": "dark" if "--dark" in sys.argv else "light", "server_port": port, "max_tokens": 40})
    settings.save()
    window = create_window(app)
    window.resize(1180, 720)
    window.show()
    window.load_model(model)
    _wait(app, lambda: window.bridge.model_info is not None)
    window.server.set_on(True)
    _wait(app, lambda: window.server.state == "on")

    release = threading.Event()

    def client() -> None:
        body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2000, "stream": True}
        with httpx.stream("POST", f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=60) as response:
            for _line in response.iter_lines():
                release.wait(60)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    _wait(app, lambda: window.server.in_flight == 1)
    _settle(app)
    window.grab().save(str(server_png))
    release.set()
    thread.join(60)

    events = EventQueue()
    other = Engine(events)
    for _event in events.until_done(other.load(LoadRequest(model_path=model, n_ctx=4096, n_threads=1)), 60):
        pass
    remote = LocalServer(other, ServerOptions(port=0))
    remote.start()
    window.loading.choose_remote()
    dialog = window.loading.remote_dialog
    assert dialog is not None
    dialog.url.setText(remote.address + "/v1")
    dialog.key.setText("gd-example-key")
    dialog.list_models()
    _wait(app, lambda: dialog.models.count() > 0)
    dialog.models.setCurrentRow(0)
    _settle(app)
    dialog.grab().save(str(dialog_png))
    dialog.reject()
    window.close()
    remote.stop()
    other.close()


def _wait(app: object, condition: object, timeout_s: float = 60.0) -> None:
    import time

    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there")
        QApplication.processEvents()
        time.sleep(0.02)


def _settle(app: object) -> None:
    import time

    from PySide6.QtWidgets import QApplication

    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
