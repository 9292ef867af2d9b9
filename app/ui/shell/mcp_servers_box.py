"""The MCP servers on the Tools page: the list (each can be switched off, edited, removed), and the chosen server's
tools, each with its own enable checkbox.

Seeing a server's tools means starting it: that happens on a worker thread (``app.ui.tasks``), the first time the
server is shown, while the page says "Starting…"; then its tools, or the one line that says why there are none.
The managers started for this are closed on threads of their own when the dialog closes (``shutdown``), or when
their server is edited or removed. Everything edits the dialog's copy of the tool settings; nothing is saved here.
"""

from __future__ import annotations

import logging
import shlex
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.tools.mcp.config import McpConfigError, parse_server
from app.tools.mcp.manager import McpManager, ServerTools
from app.tools.tool_settings import ToolSettings
from app.ui.shell.server_form import Entry, ServerForm
from app.ui.shell.tool_row import ToolRow
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)

#: How long a server may take to start and list its tools before the page says it did not answer.
LIST_TIMEOUT_S = 30.0
STARTING = "Starting…"
SWITCHED_OFF = "Switched off: the model is offered none of its tools."
NO_SERVERS = (
    "No MCP servers yet. Add one: a program on this computer or a web address, "
    "or paste the mcpServers settings from another app."
)


@dataclass
class _Listing:
    """One server started to list its tools: its manager, the work in flight, and what it said."""

    manager: McpManager
    future: Future[ServerTools] | None = None
    result: ServerTools | None = None


def describe(entry: dict[str, Any]) -> str:
    """What a server runs or where it is, in one line."""
    if "url" in entry and entry.get("type", entry.get("transport", "http")) != "stdio":
        return str(entry["url"])
    command = entry.get("command", "")
    args = entry.get("args", [])
    parts = [command, *args] if isinstance(args, list) else [command]
    return shlex.join(str(part) for part in parts)


def _close_later(listing: _Listing) -> None:
    """Stop the listing's server on a thread of its own once its listing is done (closing may take a second)."""

    def close(_future: object = None) -> None:
        threading.Thread(target=listing.manager.close, name="mcp-close").start()

    if listing.future is None:
        close()
    else:
        listing.future.add_done_callback(close)


class _Listings:
    """The servers started for listing, kept apart from the widgets: they are stopped even when the dialog is
    deleted without closing, and a late result finds ``closed`` rather than a deleted widget."""

    def __init__(self) -> None:
        self.by_server: dict[str, _Listing] = {}
        self.closed = False

    def forget(self, name: str) -> None:
        listing = self.by_server.pop(name, None)
        if listing is not None:
            _close_later(listing)

    def shutdown(self) -> None:
        self.closed = True
        for name in list(self.by_server):
            self.forget(name)


class McpServersBox(QGroupBox):
    """Edits ``edited``'s servers, which are switched off, and which of their tools are enabled."""

    # Signals
    changed = Signal()  # a server was added, edited or removed (its permissions may be gone)

    def __init__(self, edited: ToolSettings, parent: QWidget | None = None) -> None:
        super().__init__("MCP servers", parent)
        self._edited = edited
        self._listings = _Listings()
        self.destroyed.connect(self._listings.shutdown)
        self._rows: dict[str, ToolRow] = {}
        self.form: ServerForm | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Programs and web services that give the model more tools. Each tool is off until you enable it."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        columns = QHBoxLayout()
        columns.addLayout(self._build_list(), 2)
        columns.addWidget(self._build_details(), 3)
        layout.addLayout(columns)
        self._fill_list()

    def _build_list(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.servers = QListWidget()
        self.servers.setAccessibleName("MCP servers")
        self.servers.setMinimumHeight(self.fontMetrics().lineSpacing() * 7)
        self.servers.currentItemChanged.connect(self._on_servers_current_changed)
        self.servers.itemChanged.connect(self._on_servers_item_changed)
        column.addWidget(self.servers, 1)
        buttons = QHBoxLayout()
        self.add_button = self._button("A&dd server…", "Add a server by hand, or paste JSON from another app", buttons)
        self.edit_button = self._button("Ed&it…", "Change the chosen server's command, address or name", buttons)
        self.remove_button = self._button("Remo&ve", "Forget the chosen server and its permissions", buttons)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        buttons.addStretch(1)
        column.addLayout(buttons)
        return column

    def _build_details(self) -> QWidget:
        details = QWidget()
        layout = QVBoxLayout(details)
        layout.setContentsMargins(6, 0, 0, 0)
        self.heading = QLabel()
        font = QFont(self.heading.font())
        font.setBold(True)
        self.heading.setFont(font)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_row = QHBoxLayout()
        self.status_icon = QLabel()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Server status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_row.addWidget(self.status_icon, 0, Qt.AlignmentFlag.AlignTop)
        status_row.addWidget(self.status, 1)
        self.tools = QVBoxLayout()
        self.tools.setSpacing(2)
        bulk = QHBoxLayout()
        self.enable_all = self._button("E&nable all", "Enable every tool of this server", bulk)
        self.disable_all = self._button("Disable a&ll", "Disable every tool of this server", bulk)
        bulk.addStretch(1)
        self.restart_button = self._button("R&estart", "Start the server again and list its tools afresh", bulk)
        self.enable_all.clicked.connect(lambda: self._set_all(True))
        self.disable_all.clicked.connect(lambda: self._set_all(False))
        self.restart_button.clicked.connect(self._on_restart_clicked)
        for part in (self.heading, self.summary):
            layout.addWidget(part)
        layout.addLayout(status_row)
        layout.addLayout(self.tools)
        layout.addLayout(bulk)
        layout.addStretch(1)
        return details

    def _button(self, text: str, tip: str, row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        row.addWidget(button)
        return button

    # -- what the page and tests use -------------------------------------------------------------------

    def current(self) -> str | None:
        """The server whose details are shown."""
        item = self.servers.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.servers.count()):
            if self.servers.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.servers.setCurrentRow(row)

    def server_item(self, name: str) -> QListWidgetItem:
        return next(
            self.servers.item(row)
            for row in range(self.servers.count())
            if self.servers.item(row).data(Qt.ItemDataRole.UserRole) == name
        )

    def tool_row(self, name: str) -> ToolRow:
        """The shown server's tool called ``name`` (``KeyError`` when it is not listed)."""
        return self._rows[name]

    def tool_names(self) -> list[str]:
        return list(self._rows)

    def shutdown(self) -> None:
        """The dialog is closing: stop every server started for listing (on threads; nothing waits)."""
        self._listings.shutdown()

    # -- the list --------------------------------------------------------------------------------------

    def _fill_list(self, select: str | None = None) -> None:
        self.servers.blockSignals(True)
        self.servers.clear()
        for name, entry in self._edited.servers.items():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = name not in self._edited.disabled_servers
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            item.setToolTip(f"{describe(entry)}\nTick to use this server, clear to switch it off.")
            self.servers.addItem(item)
        self.servers.blockSignals(False)
        if self.servers.count():
            self.select(select or str(self.servers.item(0).data(Qt.ItemDataRole.UserRole)))
            if self.servers.currentRow() < 0:
                self.servers.setCurrentRow(0)
        self._render()

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_servers_current_changed(self, _current: object, _previous: object) -> None:
        self._render()

    @Slot(QListWidgetItem)
    def _on_servers_item_changed(self, item: QListWidgetItem) -> None:
        name = str(item.data(Qt.ItemDataRole.UserRole))
        if item.checkState() == Qt.CheckState.Checked:
            self._edited.disabled_servers.discard(name)
        else:
            self._edited.disabled_servers.add(name)
        if name == self.current():
            self._render()

    # -- the chosen server -----------------------------------------------------------------------------

    def _render(self) -> None:
        """Show the chosen server as things stand, starting it for its tools when it is on and not yet listed."""
        name = self.current()
        self._clear_rows()
        chosen = name is not None
        for widget in (self.summary, self.edit_button, self.remove_button, self.restart_button):
            widget.setVisible(chosen)
        self.heading.setText(name or "")
        self.heading.setVisible(chosen)
        if name is None:
            self._set_status(NO_SERVERS)
            self._show_bulk(False)
            return
        self.summary.setText(describe(self._edited.servers[name]))
        on = name not in self._edited.disabled_servers
        listing = self._listings.by_server.get(name)
        if listing is None and on and self.isVisible():
            listing = self._start(name)
        result = listing.result if listing is not None else None
        if listing is None:
            self._set_status(SWITCHED_OFF if not on else "Not started yet.")
        elif result is None:
            self._set_status(STARTING)
        elif result.error:
            self._set_status(_sentence(result.error), problem=True)
        else:
            count = len(result.tools)
            text = f"{count} tool{'s' if count != 1 else ''}." if count else "This server offers no tools."
            self._set_status(text if on else f"{SWITCHED_OFF} {text}")
            self._add_rows(name, result, enabled=on)
        self._show_bulk(bool(result and result.tools))
        self.enable_all.setEnabled(on)
        self.disable_all.setEnabled(on)

    def _set_status(self, text: str, problem: bool = False) -> None:
        self.status.setText(text)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.status_icon.setPixmap(icon.pixmap(size, size) if problem else icon.pixmap(0, 0))
        self.status_icon.setVisible(problem)

    def _show_bulk(self, shown: bool) -> None:
        self.enable_all.setVisible(shown)
        self.disable_all.setVisible(shown)

    def _clear_rows(self) -> None:
        for row in self._rows.values():
            self.tools.removeWidget(row)
            row.deleteLater()
        self._rows.clear()

    def _add_rows(self, server: str, result: ServerTools, enabled: bool) -> None:
        for spec in result.tools:
            key = (server, spec.name)
            row = ToolRow(spec, key in self._edited.enabled, partial(self._edited.set_enabled, key))
            row.setEnabled(enabled)
            self.tools.addWidget(row)
            self._rows[spec.name] = row

    def _set_all(self, on: bool) -> None:
        for row in self._rows.values():
            row.checkbox.setChecked(on)  # its toggled signal records it

    # -- listing, on a worker thread -------------------------------------------------------------------

    def _start(self, name: str) -> _Listing:
        try:
            manager = McpManager([parse_server(name, self._edited.servers[name])])
        except McpConfigError as error:
            listing = _Listing(McpManager([]), result=ServerTools(name, error=str(error)))
            self._listings.by_server[name] = listing
            return listing
        listing = _Listing(manager)
        listings = self._listings
        listings.by_server[name] = listing

        def listed(result: ServerTools) -> None:
            if listings.closed or listings.by_server.get(name) is not listing:
                return  # the dialog closed, or the server was edited, restarted or removed meanwhile
            listing.result = result
            self._on_listed(name)

        listing.future = run_in_background(
            lambda: manager.list_tools(timeout_s=LIST_TIMEOUT_S)[0],
            on_success=listed,
            on_error=lambda error: listed(ServerTools(name, error=f"server {name}: {error}")),
        )
        return listing

    def _on_listed(self, name: str) -> None:
        if name == self.current():
            self._render()

    def _forget(self, name: str) -> None:
        self._listings.forget(name)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        name = self.current()
        if name is not None and name not in self._listings.by_server:
            self._render()  # first shown: the chosen server starts now

    @Slot()
    def _on_restart_clicked(self) -> None:
        name = self.current()
        if name is not None:
            self._forget(name)
            self._render()

    # -- adding, editing, removing ---------------------------------------------------------------------

    @Slot()
    def _on_add_clicked(self) -> None:
        self._open_form(ServerForm(self, taken=self._edited.servers), None)

    @Slot()
    def _on_edit_clicked(self) -> None:
        name = self.current()
        if name is not None:
            form = ServerForm(self, taken=self._edited.servers, edit=(name, self._edited.servers[name]))
            self._open_form(form, name)

    def _open_form(self, form: ServerForm, editing: str | None) -> None:
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        form.accepted.connect(lambda: self._on_form_accepted(form.entries(), editing))
        self.form = form
        form.open()

    def _on_form_accepted(self, entries: list[Entry], editing: str | None) -> None:
        self.form = None
        if editing is not None and entries and entries[0][0] != editing:
            self._rename(editing, entries[0][0])
        for name, entry in entries:
            self._forget(name)
            self._edited.add_server((name, entry))
        self._fill_list(select=entries[-1][0] if entries else None)
        self.changed.emit()

    def _rename(self, old: str, new: str) -> None:
        """Carry the server's switches, enabled tools and permissions over to its new name."""
        edited = self._edited
        self._forget(old)
        edited.enabled = {(new if source == old else source, tool) for source, tool in edited.enabled}
        edited.always_allowed = {(new if source == old else source, tool) for source, tool in edited.always_allowed}
        if old in edited.disabled_servers:
            edited.disabled_servers = (edited.disabled_servers - {old}) | {new}
        edited.servers = {(new if name == old else name): entry for name, entry in edited.servers.items()}

    @Slot()
    def _on_remove_clicked(self) -> None:
        name = self.current()
        if name is None:
            return
        row = self.servers.currentRow()
        self._forget(name)
        self._edited.remove_server(name)
        names = list(self._edited.servers)
        self._fill_list(select=names[min(row, len(names) - 1)] if names else None)
        self.changed.emit()


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
