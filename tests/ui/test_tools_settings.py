"""Settings → Tools: built-in tools, MCP servers (the real demo server, started on a worker thread), adding servers
by form or pasted JSON, standing permissions, and what OK saves to tools.json."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.tools.tool_settings import ToolSettings
from app.ui.shell.main_window import MainWindow
from app.ui.shell.mcp_servers_box import STARTING
from app.ui.shell.server_form import ServerForm, join_arguments, parse_pairs, split_arguments
from app.ui.shell.settings_dialog import SettingsDialog
from app.ui.shell.tools_page import ToolsPage, commit_tool_settings
from app.ui.tasks import wait_for_db
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui

DEMO = Path(__file__).parents[1] / "tools" / "mcp" / "demo_server.py"
DEMO_ENTRY = {"command": sys.executable, "args": [str(DEMO)]}
DEMO_TOOLS = {"add", "echo", "picture", "sleepy", "crash", "huge", "whoami"}
Open = Callable[..., SettingsDialog]


@pytest.fixture
def tools_path(tmp_path: Path) -> Path:
    return tmp_path / "tools.json"


@pytest.fixture
def open_dialog(qtbot: QtBot, tmp_path: Path, tools_path: Path) -> Iterator[Open]:
    """``open_dialog(tool_settings=None)``: the settings dialog, shown on its Tools tab (kept open for the test)."""
    dialogs: list[SettingsDialog] = []

    def make(tool_settings: ToolSettings | None = None) -> SettingsDialog:
        dialog = SettingsDialog(
            Settings(tmp_path / "settings.json"), tool_settings=tool_settings or ToolSettings(tools_path)
        )
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.tabs.setCurrentIndex(1)
        dialogs.append(dialog)
        return dialog

    yield make
    dialogs.clear()


def demo_servers_running() -> list[int]:
    """The demo servers this test process started that are still running (Linux's /proc)."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc to see the server processes")
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and str(DEMO).encode() in command:
            found.append(int(entry.name))
    return found


def page_of(dialog: SettingsDialog) -> ToolsPage:
    assert dialog.tools_page is not None
    return dialog.tools_page


def click(qtbot: QtBot, widget: QWidget) -> None:
    """A real click, once the widget is on screen: rows added to a shown page appear only after a queued show and
    a layout pass, and a click routed through the window before then lands on whatever is under it."""
    qtbot.waitUntil(lambda: not widget.isHidden(), timeout=5_000)
    QCoreApplication.processEvents()  # the layout pass that gives it its place
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def press_ok(qtbot: QtBot, dialog: QWidget) -> None:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    click(qtbot, box.button(QDialogButtonBox.StandardButton.Ok))


def save_and_load(qtbot: QtBot, dialog: SettingsDialog, target: ToolSettings) -> ToolSettings:
    """OK, then what the window does with the Tools page; the file read back."""
    with qtbot.waitSignal(dialog.accepted):
        press_ok(qtbot, dialog)
    edited = dialog.edited_tool_settings()
    assert edited is not None
    problems: list[str] = []
    commit_tool_settings(target, edited, problems.append)
    wait_for_db()
    assert problems == []
    return ToolSettings.load(target.path)


def test_enabling_a_builtin_and_pressing_ok_saves_it_through_the_window(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    window: MainWindow = open_window()
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    dialog.tabs.setCurrentIndex(1)
    page = page_of(dialog)
    assert set(page.builtin_rows) == {"current_time", "calculator", "read_user_file"}
    assert not any(row.checkbox.isChecked() for row in page.builtin_rows.values())  # all off to begin with
    assert page.builtin_rows["calculator"].description.text().strip()
    click(qtbot, page.builtin_rows["calculator"].checkbox)
    limit = dialog.control("tool_calls_per_answer")
    assert isinstance(limit, QSpinBox) and limit.value() == 10 and page.isAncestorOf(limit)
    limit.setValue(4)
    with qtbot.waitSignal(window.toolSettingsChanged):
        press_ok(qtbot, dialog)
    wait_for_db()
    assert ToolSettings.load(home / "tools.json").enabled == {("builtin", "calculator")}
    assert window.tool_settings.enabled == {("builtin", "calculator")}
    assert window.settings["tool_calls_per_answer"] == 4
    assert window.settings_dialog is None


def test_cancel_discards_the_tools_page(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(tools_path)
    dialog = open_dialog(owned)
    click(qtbot, page_of(dialog).builtin_rows["current_time"].checkbox)
    with qtbot.waitSignal(dialog.rejected):
        dialog.reject()
    assert owned.enabled == set() and not tools_path.exists()


def test_pasted_mcp_servers_json_adds_every_server(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(tools_path)
    dialog = open_dialog(owned)
    servers = page_of(dialog).servers
    click(qtbot, servers.add_button)
    form = servers.form
    assert isinstance(form, ServerForm)
    form.tabs.setCurrentIndex(1)
    form.json.setPlainText('{"mcpServers": {"broken": {"command": }}}')
    click(qtbot, form.ok_button)
    assert form.isVisible()
    assert form.problem() == "Not JSON: Expecting value (line 1, column 39)."
    pasted = {
        "mcpServers": {
            "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
            "web": {"type": "streamable-http", "url": "http://127.0.0.1:8931/mcp"},
        }
    }
    form.json.setPlainText(json.dumps(pasted))
    assert form.problem() is None  # editing clears the message
    with qtbot.waitSignal(form.accepted):
        click(qtbot, form.ok_button)
    assert [servers.servers.item(i).text() for i in range(servers.servers.count())] == ["files", "web"]
    saved = save_and_load(qtbot, dialog, owned)
    assert saved.servers == pasted["mcpServers"]


def test_a_refused_pasted_server_is_named_in_one_line(qtbot: QtBot, open_dialog: Open) -> None:
    servers = page_of(open_dialog()).servers
    click(qtbot, servers.add_button)
    form = servers.form
    assert form is not None
    form.tabs.setCurrentIndex(1)
    form.json.setPlainText('{"mcpServers": {"web": {"url": "ftp://example.org"}}}')
    click(qtbot, form.ok_button)
    assert form.problem() == "Server 'web': url must be an http:// or https:// address, not 'ftp://example.org'."
    form.reject()
    assert servers.servers.count() == 0


def test_adding_a_server_with_the_form(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(tools_path)
    dialog = open_dialog(owned)
    servers = page_of(dialog).servers
    click(qtbot, servers.add_button)
    form = servers.form
    assert form is not None
    click(qtbot, form.ok_button)
    assert form.problem() == "Give the server a name."
    qtbot.keyClicks(form.name, "notes")
    qtbot.keyClicks(form.command, "uvx")
    form.arguments.setPlainText('mcp-notes --root "/home/me/My Notes"')
    form.environment.setPlainText("NOTES_MODE=read\nbroken line")
    click(qtbot, form.ok_button)
    assert form.problem() == "Environment, line 2: expected NAME=value, not 'broken line'."
    form.environment.setPlainText("NOTES_MODE=read")
    form.folder.setText("/tmp")
    with qtbot.waitSignal(form.accepted):
        click(qtbot, form.ok_button)
    assert servers.current() == "notes"
    saved = save_and_load(qtbot, dialog, owned)
    assert saved.servers == {
        "notes": {
            "command": "uvx",
            "args": ["mcp-notes", "--root", "/home/me/My Notes"],
            "env": {"NOTES_MODE": "read"},
            "cwd": "/tmp",
        }
    }


def test_the_http_form_and_a_taken_name(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(tools_path, servers={"web": {"url": "http://127.0.0.1:1/mcp"}})
    dialog = open_dialog(owned)
    servers = page_of(dialog).servers
    click(qtbot, servers.add_button)
    form = servers.form
    assert form is not None
    form.name.setText("web")
    form.transport.setCurrentIndex(form.transport.findData("http"))
    form.url.setText("https://tools.example.org/mcp")
    form.headers.setPlainText("Authorization: Bearer abc")
    click(qtbot, form.ok_button)
    assert form.problem() == "There is already a server called 'web'."
    form.name.setText("remote")
    with qtbot.waitSignal(form.accepted):
        click(qtbot, form.ok_button)
    assert page_of(dialog).edited.servers["remote"] == {
        "type": "http",
        "url": "https://tools.example.org/mcp",
        "headers": {"Authorization": "Bearer abc"},
    }


def test_listing_the_demo_server_and_enabling_one_tool(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    qtbot.waitUntil(lambda: demo_servers_running() == [], timeout=15_000)  # earlier tests' servers have gone
    owned = ToolSettings(tools_path, servers={"demo": DEMO_ENTRY})
    dialog = open_dialog(owned)
    servers = page_of(dialog).servers
    assert servers.current() == "demo"
    assert servers.status.text() == STARTING  # the GUI thread went on while the server starts
    qtbot.waitUntil(lambda: set(servers.tool_names()) == DEMO_TOOLS, timeout=30_000)
    assert servers.status.text() == "7 tools."
    assert servers.tool_row("add").description.text() == "Add two whole numbers."
    assert "Only reads" in servers.tool_row("whoami").description.text()
    assert len(demo_servers_running()) == 1
    click(qtbot, servers.tool_row("add").checkbox)
    saved = save_and_load(qtbot, dialog, owned)
    assert saved.enabled == {("demo", "add")}
    qtbot.waitUntil(lambda: demo_servers_running() == [], timeout=15_000)  # closing the dialog stopped it


def test_enable_all_disable_all_and_switching_a_server_off(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(tools_path, servers={"demo": DEMO_ENTRY})
    dialog = open_dialog(owned)
    servers = page_of(dialog).servers
    qtbot.waitUntil(lambda: bool(servers.tool_names()), timeout=30_000)
    click(qtbot, servers.enable_all)
    assert page_of(dialog).edited.enabled == {("demo", name) for name in DEMO_TOOLS}
    click(qtbot, servers.disable_all)
    click(qtbot, servers.tool_row("echo").checkbox)
    servers.server_item("demo").setCheckState(Qt.CheckState.Unchecked)
    assert servers.status.text().startswith("Switched off")
    assert not servers.tool_row("echo").isEnabled()
    saved = save_and_load(qtbot, dialog, owned)
    assert saved.enabled == {("demo", "echo")} and saved.disabled_servers == {"demo"}


def test_a_server_that_cannot_start_shows_one_line_and_the_page_stays_usable(
    qtbot: QtBot, open_dialog: Open, tools_path: Path
) -> None:
    owned = ToolSettings(tools_path, servers={"ghost": {"command": "gemma-desk-no-such-server"}})
    dialog = open_dialog(owned)
    page = page_of(dialog)
    expected = "Server ghost: command 'gemma-desk-no-such-server' not found."
    qtbot.waitUntil(lambda: page.servers.status.text() == expected, timeout=30_000)
    assert page.servers.status_icon.isVisible()
    assert page.servers.tool_names() == []
    click(qtbot, page.builtin_rows["current_time"].checkbox)  # still answers the user
    assert ("builtin", "current_time") in page.edited.enabled


def test_editing_renames_and_removing_forgets(qtbot: QtBot, open_dialog: Open, tools_path: Path) -> None:
    owned = ToolSettings(
        tools_path,
        servers={"ghost": {"command": "gemma-desk-no-such-server"}, "web": {"url": "http://127.0.0.1:1/mcp"}},
        enabled={("ghost", "look")},
        always_allowed={("ghost", "look"), ("web", "fetch")},
    )
    dialog = open_dialog(owned)
    page = page_of(dialog)
    servers = page.servers
    click(qtbot, servers.edit_button)
    form = servers.form
    assert form is not None and form.name.text() == "ghost" and form.command.text() == "gemma-desk-no-such-server"
    form.name.setText("spirit")
    with qtbot.waitSignal(form.accepted):
        click(qtbot, form.ok_button)
    assert page.edited.enabled == {("spirit", "look")}
    assert set(page.permissions.revoke_buttons) == {("spirit", "look"), ("web", "fetch")}
    servers.select("web")
    click(qtbot, servers.remove_button)
    assert set(page.permissions.revoke_buttons) == {("spirit", "look")}
    saved = save_and_load(qtbot, dialog, owned)
    assert list(saved.servers) == ["spirit"] and saved.always_allowed == {("spirit", "look")}


def test_revoking_a_standing_permission_and_the_read_only_checkbox_persist(
    qtbot: QtBot, open_dialog: Open, tools_path: Path
) -> None:
    owned = ToolSettings(tools_path, always_allowed={("builtin", "calculator"), ("builtin", "current_time")})
    owned.save()
    dialog = open_dialog(ToolSettings.load(tools_path))
    permissions = page_of(dialog).permissions
    assert permissions.read_only.isChecked() is False
    click(qtbot, permissions.revoke_buttons[("builtin", "calculator")])
    assert set(permissions.revoke_buttons) == {("builtin", "current_time")}
    click(qtbot, permissions.read_only)
    target = ToolSettings.load(tools_path)
    saved = save_and_load(qtbot, dialog, target)
    assert saved.always_allowed == {("builtin", "current_time")}
    assert saved.auto_allow_read_only is True
    again = open_dialog(saved)
    assert page_of(again).permissions.read_only.isChecked()


def test_argument_and_pair_text() -> None:
    assert split_arguments('-y "@scope/pkg" --root "/a b"') == ["-y", "@scope/pkg", "--root", "/a b"]
    assert split_arguments("--root\n/a b\n\n") == ["--root", "/a b"]
    for args in (["/a b"], ["-y", "pkg"], []):
        assert split_arguments(join_arguments(args)) == args
    assert parse_pairs("Authorization: Bearer x:y\n\n", ":", "headers") == {"Authorization": "Bearer x:y"}
    assert parse_pairs("A==b", "=", "environment") == {"A": "=b"}


def test_tools_allowed_in_one_chat_are_listed_and_revoked_on_ok(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    from app.tools.consent import chat_permissions, with_chat_permission

    window: MainWindow = open_window()
    store = window.store
    trip = store.create_conversation("Trip planning")
    store.set_settings(trip.id, with_chat_permission({}, ("demo", "add")))
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    page = page_of(dialog)
    qtbot.waitUntil(lambda: bool(page.chat_permissions.revoke_buttons), timeout=5000)
    assert list(page.chat_permissions.revoke_buttons) == [(trip.id, ("demo", "add"))]
    labels = [label.text() for label in page.chat_permissions.findChildren(QLabel)]
    assert "add (MCP server ‘demo’) — in “Trip planning”" in labels
    click(qtbot, page.chat_permissions.revoke_buttons[(trip.id, ("demo", "add"))])
    assert page.chat_permissions.revoke_buttons == {}
    assert chat_permissions(store.get_conversation(trip.id).settings) == {("demo", "add")}  # not before OK
    press_ok(qtbot, dialog)
    wait_for_db()
    assert chat_permissions(store.get_conversation(trip.id).settings) == set()
