"""The model manager's "On a remote server" section: the last remote server's models, beside the local ones.

It asks the remembered server (File → Remote server…) for its models on a worker when shown, and lists each
with a Use button; a failure is one line. "Remote server…" opens the dialog to give another address or key.
"""

from __future__ import annotations

import functools
import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from app.remote import RemoteConfig, list_models
from app.settings import Settings
from app.ui.model_setup.catalog_row import ERROR_COLOUR, _button, _colour, _fill, _label
from app.ui.model_setup.remote_source import LIST_TIMEOUT_S
from app.ui.tasks import run_in_background


class RemoteModelsBox(QGroupBox):
    """The remembered remote server's models, each with Use."""

    # Signals
    useRequested = Signal(object)  # RemoteConfig
    chooseRequested = Signal()  # "Remote server…": the dialog
    listed = Signal()  # the list (or its failure) is shown

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__("On a remote server (OpenAI-compatible)", parent)
        self.setObjectName("RemoteModels")
        self._settings = settings
        self._asked = 0
        self.status_label = _label("", "Remote server")
        self.list_widget = QWidget()
        self.list_widget.setAccessibleName("Models on the remote server")
        self._rows = QVBoxLayout(self.list_widget)
        self._rows.setContentsMargins(0, 0, 0, 0)
        tip = "Give the address and key of a server that runs Gemma (llama-server, vLLM, Ollama, Gemma Desk)"
        self.choose_button = _button("&Remote server…", "Remote server", tip, self.chooseRequested.emit)
        tip = "Ask the server again which models it serves"
        self.refresh_button = _button("Refresh", "Refresh the remote models", tip, self.refresh)
        buttons = _fill(QHBoxLayout(), self.choose_button, self.refresh_button, 1)
        _fill(QVBoxLayout(self), self.status_label, self.list_widget, buttons)
        self.refresh()

    def refresh(self) -> None:
        url, key = self._settings.get_str("remote_url"), self._settings.get_str("remote_api_key")
        self._clear()
        self.refresh_button.setVisible(bool(url))
        if not url:
            self._status("No remote server yet: a bigger machine can run the model for this one.")
            self.listed.emit()
            return
        self._asked += 1
        asked = self._asked
        self._status(f"Asking {url} for its models…")

        def shown(ids: list[str]) -> None:
            if asked == self._asked:
                self._show(url, key, ids)

        def failed(error: BaseException) -> None:
            if asked == self._asked:
                self._status(str(error).strip().splitlines()[0] if str(error).strip() else "The server failed.", True)
                self.listed.emit()

        run_in_background(lambda: list_models(url, key, LIST_TIMEOUT_S), shown, failed)

    def _show(self, url: str, key: str, ids: list[str]) -> None:
        self._clear()
        self._status(f"{url} serves {len(ids)} model{'s' if len(ids) != 1 else ''}." if ids else f"{url} serves none.")
        for model in ids:
            row = QFrame()
            row.setFrameShape(QFrame.Shape.StyledPanel)
            row.setAccessibleName(model)
            label = _label(f"<b>{html.escape(model)}</b><br>{html.escape(url)}", f"{model} on {url}", url)
            use = functools.partial(
                self.useRequested.emit, RemoteConfig(url, key, model, audio=self._settings.get_bool("remote_audio"))
            )
            button = _button("Use", f"Use {model}", "Chat with this model on the remote server", use)
            _fill(QHBoxLayout(row), label, button).setStretch(0, 1)
            self._rows.addWidget(row)
        self.listed.emit()

    def _clear(self) -> None:
        while (item := self._rows.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.setParent(None)
                widget.deleteLater()

    def _status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setAccessibleDescription(text)
        _colour(self.status_label, ERROR_COLOUR if error else None)
