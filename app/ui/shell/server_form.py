"""Adding or editing an MCP server: a form (a program to start, or a web address), or the ``mcpServers`` JSON that
Claude Desktop, Cursor and LM Studio use, pasted whole (several servers at once).

Nothing here starts a server: the form only builds ``mcpServers`` entries and checks them with
``app.tools.mcp.config``; a refused entry is named in one line inside the dialog, which stays open.

    form = ServerForm(parent, taken={"files"})
    form.accepted.connect(lambda: print(form.entries()))
    form.open()
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.tools.mcp.config import McpConfigError, parse_mcp_servers, parse_server
from app.ui.shell.problem_bar import problem_bar

#: One server as ``mcpServers`` holds it: ``(name, entry)``.
Entry = tuple[str, dict[str, Any]]

JSON_EXAMPLE = """{
  "mcpServers": {
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/me/notes"]},
    "web": {"url": "http://127.0.0.1:8000/mcp"}
  }
}"""


def split_arguments(text: str) -> list[str]:
    """Arguments one per line; a single line is split the way a shell would (quotes keep spaces)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return lines
    try:
        return shlex.split(lines[0])
    except ValueError as error:
        raise McpConfigError(f"arguments: {error} (put each argument on a line of its own instead)") from None


def join_arguments(args: Iterable[str]) -> str:
    """The text ``split_arguments`` reads back as ``args``."""
    args = list(args)
    return shlex.join(args) if len(args) == 1 else "\n".join(args)


def parse_pairs(text: str, separator: str, what: str) -> dict[str, str]:
    """``NAME<separator>value`` lines (blank lines skipped) as a table; a line without the separator is named."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, found, value = line.partition(separator)
        if not found or not name.strip():
            raise McpConfigError(f"{what}, line {number}: expected NAME{separator}value, not {line.strip()[:60]!r}")
        pairs[name.strip()] = value.strip() if separator == ":" else value
    return pairs


def join_pairs(table: dict[str, Any], separator: str) -> str:
    between = ": " if separator == ":" else separator
    return "\n".join(f"{name}{between}{value}" for name, value in table.items())


def pasted_entries(text: str) -> list[Entry]:
    """The servers in pasted ``mcpServers`` JSON, each checked, kept as the user wrote them."""
    if not text.strip():
        raise McpConfigError("paste the JSON first")
    configs = parse_mcp_servers(text)  # every shape checked; raises the one line to show
    if not configs:
        raise McpConfigError("the JSON names no servers")
    document = json.loads(text)
    table = document.get("mcpServers", document)
    return [(config.name, table[config.name]) for config in configs]


class ServerForm(QDialog):
    """One server filled in by hand, or (when adding) several pasted as JSON; ``entries()`` after OK."""

    def __init__(self, parent: QWidget | None = None, *, taken: Iterable[str] = (), edit: Entry | None = None):
        super().__init__(parent)
        self.setWindowTitle("Edit MCP server" if edit else "Add MCP server")
        self.setMinimumWidth(560)
        self._taken = set(taken) - ({edit[0]} if edit else set())
        self._entries: list[Entry] = []
        problem = self._build_problem()
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_form(), "&Fill in")
        if edit is None:
            self.tabs.addTab(self._build_paste(), "Paste &JSON")
        else:
            self.tabs.tabBar().hide()
            self._fill(*edit)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Save" if edit else "&Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.tabs.currentChanged.connect(self._on_edited)

    def _build_form(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.name = self._line("Name", "A short name for the server, such as files")
        form.addRow("&Name:", self.name)
        self.transport = QComboBox()
        self.transport.addItem("Start a program on this computer (stdio)", "stdio")
        self.transport.addItem("Connect to a web address (HTTP)", "http")
        self.transport.setAccessibleName("Connection")
        form.addRow("Connec&tion:", self.transport)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_stdio())
        self.stack.addWidget(self._build_http())
        self.transport.currentIndexChanged.connect(self.stack.setCurrentIndex)
        form.addRow(self.stack)
        return page

    def _build_stdio(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.command = self._line("Command", "The program, such as npx, uvx or python")
        form.addRow("Co&mmand:", self.command)
        self.arguments = self._text("Arguments", "One per line, or all on one line as you would type them in a shell")
        form.addRow("Ar&guments:", self.arguments)
        self.environment = self._text("Environment", "NAME=value, one per line (optional)")
        form.addRow("&Environment:", self.environment)
        self.folder = self._line("Working folder", "The folder it starts in (optional)")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        label = QLabel("&Working folder:")
        label.setBuddy(self.folder)  # a row whose field is a layout gets no buddy of its own
        form.addRow(label, row)
        return page

    def _build_http(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.url = self._line("Address", "http://127.0.0.1:8000/mcp")
        form.addRow("A&ddress:", self.url)
        self.headers = self._text("Headers", "Name: value, one per line (optional), such as Authorization: Bearer …")
        form.addRow("&Headers:", self.headers)
        return page

    def _build_paste(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        hint = QLabel(
            "Paste the <code>mcpServers</code> settings from Claude Desktop, Cursor or LM Studio. "
            "Every server in them is added; one with a name already here replaces it."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.json = self._text("Servers as JSON", JSON_EXAMPLE, lines=10)
        hint.setBuddy(self.json)
        layout.addWidget(self.json, 1)
        return page

    def _build_problem(self) -> QWidget:
        self._problem, self.problem_text = problem_bar(self)
        return self._problem

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        line = QLineEdit()
        line.setAccessibleName(name)
        line.setPlaceholderText(placeholder)
        line.textChanged.connect(self._on_edited)
        return line

    def _text(self, name: str, placeholder: str, lines: int = 0) -> QPlainTextEdit:
        """A plain text field; ``lines`` > 0 lets it grow from that many lines, else it keeps four."""
        edit = QPlainTextEdit()
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.setTabChangesFocus(True)
        height = edit.fontMetrics().lineSpacing() * ((lines or 4) + 1)
        edit.setMinimumHeight(height)
        if not lines:
            edit.setMaximumHeight(height)
        edit.textChanged.connect(self._on_edited)
        return edit

    def _fill(self, name: str, entry: dict[str, Any]) -> None:
        config = parse_server(name, entry)
        self.name.setText(name)
        self.transport.setCurrentIndex(self.transport.findData(config.transport))
        self.command.setText(config.command)
        self.arguments.setPlainText(join_arguments(config.args))
        self.environment.setPlainText(join_pairs(dict(config.env), "="))
        self.folder.setText(config.cwd or "")
        self.url.setText(config.url)
        self.headers.setPlainText(join_pairs(dict(config.headers), ":"))

    # -- reading it back ---------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """The checked servers, after OK."""
        return list(self._entries)

    def problem(self) -> str | None:
        return self.problem_text.text() if not self._problem.isHidden() else None

    def _form_entry(self) -> Entry:
        name = self.name.text().strip()
        if not name:
            raise McpConfigError("give the server a name")
        if name in self._taken:
            raise McpConfigError(f"there is already a server called {name!r}")
        entry: dict[str, Any]
        if self.transport.currentData() == "http":
            entry = {"type": "http", "url": self.url.text().strip()}
            headers = parse_pairs(self.headers.toPlainText(), ":", "headers")
            if headers:
                entry["headers"] = headers
        else:
            entry = {"command": self.command.text().strip(), "args": split_arguments(self.arguments.toPlainText())}
            env = parse_pairs(self.environment.toPlainText(), "=", "environment")
            if env:
                entry["env"] = env
            if self.folder.text().strip():
                entry["cwd"] = self.folder.text().strip()
        parse_server(name, entry)
        return name, entry

    def accept(self) -> None:
        try:
            pasting = self.tabs.count() > 1 and self.tabs.currentIndex() == 1
            self._entries = pasted_entries(self.json.toPlainText()) if pasting else [self._form_entry()]
        except McpConfigError as error:
            self.problem_text.setText(_sentence(str(error)))
            self._problem.show()
            return
        super().accept()

    @Slot()
    def _on_edited(self) -> None:
        self._problem.hide()

    @Slot()
    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Working folder", self.folder.text())
        if folder:
            self.folder.setText(folder)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
