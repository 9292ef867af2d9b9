"""The window as a screen reader meets it: its AT-SPI tree and events, read from outside the app.

The real app runs in its own process on an Xvfb display (Qt's AT-SPI bridge needs a real platform) under a
private D-Bus session with ``QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1``, with the tiny model loaded and a chat that
has a thought, a tool call and a document (``tests/ui/a11y_window.py``). ``tests/ui/atspi_walk.py``, run by the
system Python where Debian's ``python3-pyatspi`` lives, walks the tree, presses buttons and listens to events
over AT-SPI exactly as Orca does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.ui.conftest import xvfb_display

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]
WALKER = REPO / "tests" / "ui" / "atspi_walk.py"
SYSTEM_PYTHON = "/usr/bin/python3"
APP_NAME = "Gemma Desk"
#: AT-SPI roles that say nothing about what a control is.
NO_ROLE = {"", "unknown", "invalid", "filler", "redundant object"}


def _need_atspi() -> None:
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip("no AT-SPI (python3-pyatspi / at-spi2-core): no system Python at /usr/bin/python3")
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import pyatspi"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("no AT-SPI (python3-pyatspi / at-spi2-core): the system Python has no pyatspi")
    services = (Path("/usr/share/dbus-1/services/org.a11y.Bus.service"), Path("/usr/libexec/at-spi-bus-launcher"))
    if not any(path.exists() for path in services):
        pytest.skip("no AT-SPI (python3-pyatspi / at-spi2-core): no at-spi-bus-launcher")
    for tool in ("dbus-daemon", "dbus-send"):
        if shutil.which(tool) is None:
            pytest.skip(f"no D-Bus session ({tool}: apt install dbus)")


def _session_bus(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """A private D-Bus session bus with the accessibility bus started on it."""
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    if not address:
        bus.kill()
        pytest.skip("no D-Bus session: dbus-daemon --session did not start")
    started = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
        env=env | {"DBUS_SESSION_BUS_ADDRESS": address},
        capture_output=True,
        text=True,
        timeout=30,
    )
    if started.returncode != 0:
        bus.kill()
        pytest.skip(
            f"no AT-SPI (python3-pyatspi / at-spi2-core): the accessibility bus did not start: {started.stderr}"
        )
    return bus, address


class AccessibleApp:
    """``python -m tests.ui.a11y_window`` with AT-SPI on; its report lines, commands and the walker."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = env
        self.commands = home / "commands"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.ui.a11y_window"],
            env=env | {"GEMMA_DESK_COMMANDS": str(self.commands), "QT_QPA_PLATFORM": "xcb"},
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_prefix(self, prefix: str, timeout: float, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines[after:]:
                if line.startswith(prefix):
                    return line
            report = "\n".join(self.lines[-60:])
            assert self.proc.poll() is None, f"the app ended while waiting for {prefix}:\n{report}"
            assert time.monotonic() < deadline, f"no {prefix} after {timeout} s:\n{report}"
            time.sleep(0.05)

    def command(self, line: str) -> None:
        with self.commands.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def walk(self, what: str) -> Any:
        done = subprocess.run(
            [SYSTEM_PYTHON, str(WALKER), what, APP_NAME], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def close(self) -> None:
        self.command("quit")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, cli_env: dict[str, str]
) -> Iterator[AccessibleApp]:
    _need_atspi()
    home = tmp_path_factory.mktemp("a11y") / "home"
    home.mkdir()
    runtime = home.parent / "runtime"  # the accessibility bus's socket: private to this test
    runtime.mkdir(mode=0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEMMA_DESK_HOME", str(home))
        settings = Settings.load()
        settings.update({"last_model_path": str(tiny_model), "context_size": 4096, "max_tokens": 12, "seed": 1})
        settings.save()
    with xvfb_display() as display:
        env = cli_env | {"DISPLAY": display, "XDG_RUNTIME_DIR": str(runtime), "GEMMA_DESK_HOME": str(home)}
        bus, address = _session_bus(env)
        env |= {"DBUS_SESSION_BUS_ADDRESS": address, "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1"}
        app = AccessibleApp(env, home)
        try:
            app.wait_prefix("READY", 120)
            yield app
        finally:
            app.close()
            bus.terminate()
            bus.wait(timeout=10)
            if bus.stdout is not None:
                bus.stdout.close()


def _reachable(node: dict[str, Any]) -> bool:
    states = set(node["states"])
    return {"focusable", "showing", "visible", "sensitive"} <= states


def test_every_control_the_keyboard_reaches_has_a_name_a_role_and_its_tooltip(running: AccessibleApp) -> None:
    tree = running.walk("tree")
    controls = [node for node in tree if _reachable(node)]
    assert len(controls) >= 15, tree  # the composer, the sidebar, the message actions, the blocks …
    unnamed = [node for node in controls if not node["name"].strip()]
    assert not unnamed, f"controls a screen reader reads as just their role: {unnamed}"
    no_role = [node for node in controls if node["role"] in NO_ROLE]
    assert not no_role, f"controls without a role: {no_role}"
    buttons = [node for node in controls if node["role"] in ("push button", "toggle button", "check box")]
    assert len(buttons) >= 8, controls
    tips = json.loads(running.wait_prefix("TOOLTIPS ", 5).removeprefix("TOOLTIPS "))
    assert tips, "no control with a tooltip was shown"
    print(f"window: {len(tree)} nodes, {len(controls)} reachable controls, {len(tips)} with tooltips")
    by_name = {node["name"]: node for node in tree if "showing" in node["states"]}  # a disabled one too
    for name, tip in tips:
        node = by_name.get(name)
        assert node is not None, f"{name!r} (tooltip {tip!r}) is not in the AT-SPI tree"
        assert node["description"].strip(), f"{name!r} has a tooltip ({tip!r}) but no accessible description"


def test_thinking_tool_and_document_blocks_say_expanded_or_collapsed(running: AccessibleApp) -> None:
    pressed = running.walk("toggle")
    names = [item["name"] for item in pressed]
    for prefix in ("Thought for", "Tool call calculator", "The text Gemma read from itinerary.txt"):
        assert any(name.startswith(prefix) for name in names), f"no expandable {prefix!r} among {names}"
    for item in pressed:
        assert item["role"] == "push button", item
        was = "expanded" in item["before"]
        assert ("collapsed" in item["before"]) is not was, item
        assert ("expanded" in item["after"]) is not was, f"pressing {item['name']!r} did not change it: {item}"
        assert ("collapsed" in item["after"]) is was, item
        assert ("expanded" in item["back"]) is was, f"pressing {item['name']!r} again did not change it back: {item}"


def _listen(env: dict[str, str], stop: Path) -> subprocess.Popen[str]:
    """The walker listening to the app's announcements (until ``stop`` exists)."""
    listener = subprocess.Popen(
        [SYSTEM_PYTHON, str(WALKER), "listen", APP_NAME, str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    first = listener.stdout.readline()
    assert json.loads(first) == {"type": "listening"}, first
    return listener


def test_each_finished_answer_is_announced_once_never_per_token(running: AccessibleApp, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    listener = _listen(running.env, stop)
    answers = []
    for question in ("Where is Lisbon?", "And how far is Porto?"):
        mark = len(running.lines)
        running.command(f"send {question}")
        answers.append(running.wait_prefix("ANSWERED ", 120, after=mark).split())
    time.sleep(1.5)  # any late announcement arrives
    stop.touch()
    out, err = listener.communicate(timeout=30)
    heard = [json.loads(line) for line in out.splitlines() if line.strip()]
    tokens = [int(answer[1]) for answer in answers]
    assert all(count > 1 for count in tokens), answers  # several tokens streamed: one announcement each
    assert len(heard) == len(answers), f"{len(heard)} announcements for {len(answers)} answers: {heard} {err}"
    assert all(event["type"] == "object:announcement" for event in heard), heard
    assert all(event["text"].startswith("Answer finished.") for event in heard), heard


def _unreadable(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The keyboard-reachable nodes a screen reader could not say: no name, or no real role."""
    return [n for n in nodes if _reachable(n) and (not n["name"].strip() or n["role"] in NO_ROLE)]


def test_every_settings_tab_names_its_controls(running: AccessibleApp) -> None:
    mark = len(running.lines)
    running.command("settings")
    tabs = int(running.wait_prefix("TAB 0 ", 30, after=mark).split()[2])
    checked, titles = 0, []
    try:
        for index in range(tabs):
            mark = len(running.lines)
            running.command(f"tab {index}")
            titles.append(running.wait_prefix(f"TAB {index} ", 30, after=mark).split(maxsplit=3)[3])
            tree = running.walk("tree")
            dialogs = [n["path"] for n in tree if n["role"] == "dialog" and n["name"].startswith("Settings")]
            assert dialogs, [n for n in tree if len(n["path"]) == 1]
            inside = [n for n in tree if n["path"][: len(dialogs[0])] == dialogs[0]]
            reachable = [n for n in inside if _reachable(n)]
            assert reachable, f"nothing reachable on the {titles[-1]} tab"
            checked += len(reachable)
            print(f"settings, {titles[-1]} tab: {len(inside)} nodes, {len(reachable)} reachable controls")
            assert not _unreadable(inside), f"on the {titles[-1]} tab: {_unreadable(inside)}"
    finally:
        running.command("close-settings")
    assert checked >= 20 and tabs >= 3, (checked, titles)
