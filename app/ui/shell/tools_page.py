"""The Tools page of the settings dialog: the built-in tools, the MCP servers and their tools, and the permissions.

The page edits a copy of the window's ``ToolSettings`` (``edited``); after OK the owner hands it to
``commit_tool_settings``, which puts the edits into the settings everyone holds and saves them off the GUI thread.
Cancel leaves the copy behind. Everything is off until the user turns it on.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.store import Store
from app.tools import files
from app.tools.builtin import builtin_specs
from app.tools.model import ToolSpec
from app.tools.tool_settings import BUILTIN, ToolKey, ToolSettings
from app.ui.shell.chat_permissions import ChatPermissionsBox
from app.ui.shell.mcp_servers_box import McpServersBox
from app.ui.shell.tool_row import ToolRow
from app.ui.tasks import run_on_db

READ_ONLY_LABEL = "Allow tools that only read (as their server declares) without &asking"
NO_PERMISSIONS = "None. When the model asks to use a tool, “Always allow” puts it here."


def builtin_tools() -> list[ToolSpec]:
    """Every built-in the page lists, the file-reading one last."""
    return [*builtin_specs(), files.SPEC]


def permission_label(key: ToolKey) -> str:
    source, tool = key
    return f"{tool} (built-in)" if source == BUILTIN else f"{tool} on MCP server ‘{source}’"


def commit_tool_settings(target: ToolSettings, edited: ToolSettings, on_error: Callable[[str], None]) -> bool:
    """Put ``edited`` into ``target`` in place (whoever holds ``target`` sees the change) and save it on the store
    thread, atomically; ``on_error`` gets one line if that fails. False when nothing changed (nothing is saved)."""
    if edited.to_json() == target.to_json():
        return False
    for field in dataclasses.fields(ToolSettings):
        if field.name not in ("path", "load_notice"):
            setattr(target, field.name, copy.deepcopy(getattr(edited, field.name)))
    snapshot = target.copy()
    run_on_db(snapshot.save, on_error=lambda error: on_error(f"Could not save the tool settings: {error}"))
    return True


class PermissionsBox(QGroupBox):
    """Auto-allowing read-only tools, and the standing "always allowed" permissions, each with Revoke."""

    def __init__(self, edited: ToolSettings, parent: QWidget | None = None) -> None:
        super().__init__("Permissions", parent)
        self._edited = edited
        layout = QVBoxLayout(self)
        intro = QLabel("The model asks before it uses a tool, showing what it will send, unless you allowed it here.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.read_only = QCheckBox(READ_ONLY_LABEL)
        self.read_only.setChecked(edited.auto_allow_read_only)
        self.read_only.setToolTip(
            "A server says itself whether a tool only reads: trust this only for servers you trust."
        )
        self.read_only.toggled.connect(self._on_read_only_toggled)
        layout.addWidget(self.read_only)
        heading = QLabel("Always allowed, in every chat:")
        heading.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(heading)
        self._list = QVBoxLayout()
        self._list.setSpacing(2)
        layout.addLayout(self._list)
        self.revoke_buttons: dict[ToolKey, QPushButton] = {}
        self.refresh()

    def refresh(self) -> None:
        """List the standing permissions as they are now."""
        while (item := self._list.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        self.revoke_buttons.clear()
        if not self._edited.always_allowed:
            empty = QLabel(NO_PERMISSIONS)
            empty.setWordWrap(True)
            empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self._list.addWidget(empty)
        for key in sorted(self._edited.always_allowed):
            self._list.addWidget(self._row(key))

    def _row(self, key: ToolKey) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(permission_label(key))
        revoke = QPushButton("Revoke")
        revoke.setAutoDefault(False)
        revoke.setAccessibleName(f"Revoke {permission_label(key)}")
        revoke.setToolTip("Ask again before this tool runs")
        revoke.clicked.connect(lambda: self._on_revoke_clicked(key))
        layout.addWidget(label, 1)
        layout.addWidget(revoke)
        self.revoke_buttons[key] = revoke
        return row

    def _on_revoke_clicked(self, key: ToolKey) -> None:
        self._edited.revoke(key)
        self.refresh()

    @Slot(bool)
    def _on_read_only_toggled(self, on: bool) -> None:
        self._edited.auto_allow_read_only = on


class ToolsPage(QWidget):
    """``ToolsPage(tool_settings, limits)``: ``limits`` is the box of declared "Tools" settings, shown last."""

    def __init__(
        self,
        tool_settings: ToolSettings,
        limits: QWidget | None = None,
        parent: QWidget | None = None,
        *,
        store: Store | None = None,
    ):
        super().__init__(parent)
        self.edited = tool_settings.copy()
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_builtins())
        self.servers = McpServersBox(self.edited)
        layout.addWidget(self.servers)
        self.permissions = PermissionsBox(self.edited)
        layout.addWidget(self.permissions)
        self.servers.changed.connect(self.permissions.refresh)
        self.chat_permissions = ChatPermissionsBox(store)
        layout.addWidget(self.chat_permissions)
        if limits is not None:
            layout.addWidget(limits)
        layout.addStretch(1)

    def _build_builtins(self) -> QGroupBox:
        box = QGroupBox("Built-in tools")
        layout = QVBoxLayout(box)
        intro = QLabel("Tools that come with Gemma Desk. They run on this computer and reach nothing outside it.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.builtin_rows: dict[str, ToolRow] = {}
        for spec in builtin_tools():
            key = (BUILTIN, spec.name)
            row = ToolRow(spec, key in self.edited.enabled, partial(self.edited.set_enabled, key))
            layout.addWidget(row)
            self.builtin_rows[spec.name] = row
        return box

    def shutdown(self) -> None:
        """The dialog is closing: stop the servers started to list their tools."""
        self.servers.shutdown()
