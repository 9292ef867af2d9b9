"""The window's Server switch: the local OpenAI-compatible server on the window's own engine, on and off.

The switch sits in the status bar (and under File → Server). On, the bar shows the address (a click copies it)
and, while the server answers, how many requests it has; the window's own answers queue behind them on the one
engine, and the bar says so while a message of the window's waits. Starting and stopping (uvicorn's startup
and shutdown) run on a worker, never on the GUI thread; a refusal (an address other than loopback without an
API key, a port in use) comes back as one line. The server shares the in-process engine only: while the window
chats through a remote server it is off. It stops when the window closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QToolButton

from app.ui.icons import set_icon
from app.ui.shell.server_key import show_new_key
from app.ui.tasks import run_in_background

if TYPE_CHECKING:
    from app.engine import Engine
    from app.server import LocalServer
    from app.server.keys import KeyHash
    from app.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)

State = Literal["off", "starting", "on", "stopping"]


class ServerSwitch(QObject):
    """Starts and stops the window's :class:`LocalServer` and shows its state in the status bar."""

    # Signals
    stateChanged = Signal(str)  # "off", "starting", "on", "stopping"
    activityChanged = Signal(int)  # requests in flight, once the status bar shows the number
    _activity = Signal(int)  # requests in flight, from the server's thread (queued to the GUI thread)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.server: LocalServer | None = None
        self.state: State = "off"
        self.in_flight = 0
        self.notice = ""  # the last refusal or failure, as shown
        self._pending: Future[LocalServer] | None = None
        self._started_on: Engine | None = None  # the engine the server was started on
        self._waiting = False  # the window's own message waits behind the server's requests
        self._activity.connect(self._on_activity, Qt.ConnectionType.QueuedConnection)
        self._build()
        b, c = window.bridge, window.controller
        b.engineChanged.connect(self._on_engine_changed)
        c.generatingChanged.connect(self._on_generating)
        for signal in (b.answerDelta, b.thinkingDelta, b.done):
            signal.connect(self._on_window_answer_moved)
        self._show()

    def _build(self) -> None:
        status = self.w.status
        self.button = QToolButton(status)
        self.button.setObjectName("ServerSwitch")
        self.button.setCheckable(True)
        self.button.setAutoRaise(True)
        self.button.setAccessibleName("Local server")
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        set_icon(self.button, "server", toggle=True)
        self.button.clicked.connect(self._on_button_clicked)
        self.address_button = QToolButton(status)
        self.address_button.setObjectName("ServerAddress")
        self.address_button.setAutoRaise(True)
        self.address_button.setAccessibleName("Server address")
        self.address_button.setToolTip("Click to copy the server's address")
        self.address_button.setStyleSheet("color: palette(link);")  # looks like what it does: a link to copy
        self.address_button.clicked.connect(self.copy_address)
        self.address_button.hide()
        status.add_before_stats(self.button, self.address_button)
        self.action = QAction("Run the local &server", self)
        self.action.setCheckable(True)
        self.action.setToolTip("Let other programs on this computer use the loaded model (OpenAI-compatible API)")
        self.action.triggered.connect(self.set_on)
        self.copy_action = QAction("&Copy the server address", self)
        self.copy_action.triggered.connect(self.copy_address)
        self.key_action = QAction("New API &key…", self)
        self.key_action.setToolTip("Make a key that clients must send; it is shown once and only its hash is kept")
        self.key_action.triggered.connect(lambda: show_new_key(self.w))

    def fill_menu(self, menu: QMenu) -> None:
        """File → Server: the switch, the address and the API key."""
        for action in (self.action, self.copy_action, self.key_action):
            menu.addAction(action)

    @property
    def address(self) -> str:
        return self.server.address if self.server is not None and self.state == "on" else ""

    # -- on and off -------------------------------------------------------------------------------

    def set_on(self, on: bool) -> None:
        if self.state in ("starting", "stopping"):
            self._show()  # one change at a time
        elif on and self.state == "off":
            self._start()
        elif not on and self.state == "on":
            self._stop()
        else:
            self._show()

    def _on_button_clicked(self, checked: bool) -> None:
        self.set_on(checked)

    def _start(self) -> None:
        from app.server.keys import stored_key
        from app.server.options import is_loopback

        engine = self.w.bridge.local_engine
        if engine is None:
            self._refuse(
                "The server shares the window's local model: it is off while the window chats with a remote "
                "server (File → Open model… to go back)."
            )
            return
        host = self.w.settings.get_str("server_host").strip() or "127.0.0.1"
        self.notice = ""
        self._set_state("starting")

        def go(key: KeyHash | None) -> None:
            if self.w.bridge.closed:
                return
            if key is None and not is_loopback(host):
                self._set_state("off")
                self._refuse(
                    f"Refusing to listen on {host} without an API key: anyone on the network could use the model. "
                    "Make one with File → Server → New API key…, or keep the address 127.0.0.1."
                )
                return
            self._started_on = engine
            self._pending = run_in_background(self._maker(engine, host, key), self._on_started, self._on_start_failed)

        run_in_background(stored_key, go, self._on_start_failed)  # reads server.json: off the GUI thread

    def _maker(self, engine: Engine, host: str, key: KeyHash | None) -> Callable[[], LocalServer]:
        from app.server import LocalServer, ServerOptions
        from app.server.keys import KeyCheck

        s = self.w.settings
        port, images, limit = (
            s.get_int("server_port"),
            s.get_bool("server_remote_images"),
            s.get_int("server_max_in_flight"),
        )
        activity = self._activity.emit

        def make() -> LocalServer:
            check = KeyCheck(key) if key is not None else None
            options = ServerOptions(host=host, port=port, key=check, allow_remote_images=images, max_in_flight=limit)
            server = LocalServer(engine, options, on_activity=activity)
            server.start()  # uvicorn's startup (binding the port), here on a worker
            return server

        return make

    def _on_started(self, server: LocalServer) -> None:
        self._pending = None
        self.server = server
        self._set_state("on")
        if self.w.bridge.closed:  # the window closed while it started
            self.shutdown()
        elif self.w.bridge.local_engine is not self._started_on:  # the window went to a remote server meanwhile
            self._stop()

    def _on_start_failed(self, error: BaseException) -> None:
        self._pending = None
        log.info("the local server did not start: %s", error)
        self._set_state("off")
        text = str(error).strip().splitlines()[0] if str(error).strip() else "The server could not start."
        # The server's words name the command line's option; the window's is a setting.
        self._refuse(text.replace("with --port", "in Settings → Server"))

    def _stop(self) -> None:
        server, self.server = self.server, None
        self._set_state("stopping")
        if server is None:
            self._set_state("off")
            return
        run_in_background(server.stop, lambda _r: self._on_stopped(), lambda _e: self._on_stopped())

    def _on_stopped(self) -> None:
        self.in_flight = 0
        self.w.bridge.server_requests = 0
        self._set_state("off")

    def shutdown(self, timeout: float = 10.0) -> None:
        """The window closes: stop the server (and one that is still starting) before the engine goes."""
        pending, self._pending = self._pending, None
        server, self.server = self.server, None
        if pending is not None:
            try:
                server = pending.result(timeout)
            except Exception:
                server = None
        if server is not None:
            try:
                server.stop()
            except Exception:
                log.exception("the local server did not stop cleanly")
        self.state = "off"

    def _refuse(self, message: str) -> None:
        self.notice = message
        self.w.notice_bar.show_notice(message)
        self._show()

    def _on_engine_changed(self) -> None:
        if self.w.bridge.local_engine is None and self.state in ("on", "starting"):
            self.w.notice_bar.show_notice("The local server stopped: the window now chats with a remote server.")
            if self.state == "on":
                self._stop()  # (one still starting stops once it has: ``_on_started``)

    # -- what the status bar shows ------------------------------------------------------------------

    def copy_address(self) -> None:
        if self.address:
            QGuiApplication.clipboard().setText(self.address)
            self.w.status.showMessage(f"Copied {self.address}", 3000)

    def _on_activity(self, count: int) -> None:
        self.in_flight = max(0, count)
        self.w.bridge.server_requests = self.in_flight
        if not self.in_flight:
            self._waiting = False
        self._show()
        self.activityChanged.emit(self.in_flight)

    def _on_generating(self, busy: bool) -> None:
        self._waiting = busy and self.in_flight > 0
        self._show()

    def _on_window_answer_moved(self, *_args: object) -> None:
        if self._waiting:
            self._waiting = False
            self._show()

    def _set_state(self, state: State) -> None:
        self.state = state
        self._show()
        self.stateChanged.emit(state)

    def _show(self) -> None:
        on, state = self.state == "on", self.state
        self.button.setChecked(state in ("on", "starting"))
        self.action.setChecked(state in ("on", "starting"))
        self.button.setEnabled(state in ("on", "off"))
        self.action.setEnabled(state in ("on", "off"))
        self.copy_action.setEnabled(on)
        words = {"off": "off", "starting": "starting…", "stopping": "stopping…"}
        self.button.setText(f"Server: {words.get(state) or self._activity_text()}")
        self.button.setToolTip(
            "Stop the local server" if on else "Start the local OpenAI-compatible server on the loaded model"
        )
        self.address_button.setVisible(on)
        if on:
            self.address_button.setText(self.address)
            self.address_button.setToolTip(f"Clients use {self.address}/v1 — click to copy the address")

    def _activity_text(self) -> str:
        """ "on", or what it answers: "answering 2 requests · your message waits its turn"."""
        n = self.in_flight
        if not n:
            return "on"
        text = f"answering {n} request{'s' if n != 1 else ''}"
        return text + (" · your message waits its turn" if self._waiting else "")
