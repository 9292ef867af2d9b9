"""File → Remote server (OpenAI-compatible)…: chat through a model on another machine.

The user gives the server's base URL (llama-server, vLLM, Ollama, another Gemma Desk) and its API key (typed
hidden); "List models" asks the server which models it serves (``GET /v1/models``, on a worker) and a
failure shows as one line under the fields. Picking one and pressing Connect hands a ``RemoteConfig`` to the
window, which swaps its engine (``EngineBridge.use_remote``). The fields start from the last remote used.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.remote import RemoteConfig, RemoteError, list_models
from app.settings import Settings
from app.ui.tasks import run_in_background

#: Seconds "List models" waits for the server.
LIST_TIMEOUT_S = 10.0


class RemoteSourceDialog(QDialog):
    """Base URL, key, the server's models; Connect emits ``connectRequested``."""

    # Signals
    connectRequested = Signal(object)  # RemoteConfig
    modelsListed = Signal(list)  # the ids the server gave (tests wait on it)
    listFailed = Signal(str)  # one line

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RemoteSourceDialog")
        self.setWindowTitle("Remote server (OpenAI-compatible)")
        self.settings = settings
        self._asked = 0  # the number of the latest listing: answers to older ones are dropped
        self._build()
        self.url.setText(settings.get_str("remote_url"))
        self.key.setText(settings.get_str("remote_api_key"))
        self.hears.setChecked(settings.get_bool("remote_audio"))
        last = settings.get_str("remote_model")
        if last:
            self._fill([last], select=last)
        self._update_buttons()

    def _build(self) -> None:
        intro = QLabel(
            "Chat with a model that runs on another machine: llama-server, vLLM, Ollama or another Gemma Desk "
            "(its OpenAI-compatible API). Your messages, pictures and sound are sent to that server."
        )
        intro.setWordWrap(True)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://gpu-box:8000/v1")
        self.url.setAccessibleName("Server address")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("empty when the server needs none")
        self.key.setAccessibleName("API key")
        self.list_button = QPushButton("&List models")
        self.list_button.setToolTip("Ask the server which models it serves")
        self.list_button.clicked.connect(self.list_models)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.list_button)
        self.models = QListWidget()
        self.models.setAccessibleName("Models on the server")
        self.models.setMinimumHeight(90)
        self.models.itemDoubleClicked.connect(lambda _item: self.accept())
        self.models.currentItemChanged.connect(lambda *_a: self._update_buttons())
        self.hears = QCheckBox("The model hears &sound (Gemma 4 E2B or E4B)")
        self.hears.setToolTip(
            "Send recordings to it. Servers do not say what a model takes (a Gemma Desk server does: "
            "then this is set for you)."
        )
        self.problem = QLabel("")
        self.problem.setObjectName("RemoteProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: palette(link);")
        self.problem.hide()
        form = QFormLayout()
        for text, field, row in (
            ("Server &address:", self.url, url_row),
            ("API &key:", self.key, self.key),
            ("&Model:", self.models, self.models),
        ):
            label = QLabel(text)
            label.setBuddy(field)
            form.addRow(label, row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.hears)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.url.textChanged.connect(self._on_address_edited)
        self.key.textChanged.connect(self._on_address_edited)
        self.url.returnPressed.connect(self.list_models)
        self.resize(540, 320)

    # -- listing --------------------------------------------------------------------------------

    def list_models(self) -> None:
        """Ask the server for its models, on a worker; the list or one line comes back."""
        url, key = self.url.text().strip(), self.key.text().strip()
        if not url:
            self._show_problem("Give the server's address, for example http://gpu-box:8000/v1.")
            return
        self._asked += 1
        asked = self._asked
        self.list_button.setEnabled(False)
        self.list_button.setText("Listing…")
        self._show_problem("")

        def listed(ids: list[str]) -> None:
            if asked == self._asked:
                self._on_listed(ids)

        def failed(error: BaseException) -> None:
            if asked == self._asked:
                self._on_list_failed(error)

        run_in_background(lambda: list_models(url, key, LIST_TIMEOUT_S), listed, failed)

    def _on_listed(self, ids: list[str]) -> None:
        self._listing_done()
        if not ids:
            self._show_problem("The server answered but serves no models.")
        current = self.models.currentItem()
        self._fill(ids, select=current.text() if current else self.settings.get_str("remote_model"))
        if self.models.currentItem() is None and self.models.count():
            self.models.setCurrentRow(0)
        self.models.setFocus()
        self.modelsListed.emit(ids)

    def _on_list_failed(self, error: BaseException) -> None:
        self._listing_done()
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not isinstance(error, RemoteError):
            text = f"Could not list the models: {text}"
        self._show_problem(text)
        self.listFailed.emit(text)

    def _listing_done(self) -> None:
        self.list_button.setEnabled(True)
        self.list_button.setText("&List models")

    def _fill(self, ids: list[str], select: str = "") -> None:
        self.models.clear()
        for model in ids:
            item = QListWidgetItem(model)
            item.setData(Qt.ItemDataRole.ToolTipRole, model)
            self.models.addItem(item)
            if model == select:
                self.models.setCurrentItem(item)
        self._update_buttons()

    def _on_address_edited(self) -> None:
        self._asked += 1  # an answer for the old address no longer counts
        self._listing_done()
        self._update_buttons()

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
        self.problem.setAccessibleDescription(text)

    def _update_buttons(self) -> None:
        self.connect_button.setEnabled(bool(self.url.text().strip()) and self.models.currentItem() is not None)

    # -- the choice -----------------------------------------------------------------------------

    def select_model(self, model: str) -> None:
        matches = self.models.findItems(model, Qt.MatchFlag.MatchExactly)
        if matches:
            self.models.setCurrentItem(matches[0])

    def config(self) -> RemoteConfig | None:
        item = self.models.currentItem()
        url = self.url.text().strip()
        if item is None or not url:
            return None
        return RemoteConfig(url, self.key.text().strip(), item.text(), audio=self.hears.isChecked())

    def accept(self) -> None:
        config = self.config()
        if config is None:
            self._show_problem("List the server's models and pick one first.")
            return
        try:
            config.api_base  # noqa: B018 - checks the address
        except RemoteError as exc:
            self._show_problem(str(exc))
            return
        super().accept()
        self.connectRequested.emit(config)
