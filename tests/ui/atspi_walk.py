"""A screen reader's view of a running app, from outside: AT-SPI over D-Bus (Linux), printed as JSON.

Runs under the SYSTEM Python (``/usr/bin/python3``), where Debian's ``python3-pyatspi`` lives — not in the
project's virtual environment — with the session bus of the app in ``DBUS_SESSION_BUS_ADDRESS``:

    /usr/bin/python3 tests/ui/atspi_walk.py tree APP              every node: path, role, name, description, states
    /usr/bin/python3 tests/ui/atspi_walk.py toggle APP            press every expandable button twice: states after
    /usr/bin/python3 tests/ui/atspi_walk.py listen APP STOP_FILE  one JSON line per announcement until STOP_FILE exists

``APP`` is the application's accessible name (Qt: ``QGuiApplication.applicationName``). Exit status 3 with a
line on stderr when pyatspi or the app is missing. Nothing here imports the project.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

try:
    import pyatspi
    from gi.repository import GLib
except ImportError as error:  # pragma: no cover - the test skips on this
    print(f"no AT-SPI (python3-pyatspi / at-spi2-core): {error}", file=sys.stderr)
    sys.exit(3)

#: The deepest a walk goes (Qt trees are shallow; a cycle in a broken tree must not hang the test).
MAX_DEPTH = 60


def find_app(name: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        desktop = pyatspi.Registry.getDesktop(0)
        for app in desktop:
            if app is not None and app.name == name:
                return app
        if time.monotonic() > deadline:
            print(f"no application named {name!r} on the AT-SPI bus", file=sys.stderr)
            sys.exit(3)
        time.sleep(0.2)


def states(node: Any) -> list[str]:
    return sorted(pyatspi.stateToString(s) for s in node.getState().getStates())


def actions(node: Any) -> list[str]:
    try:
        action = node.queryAction()
    except NotImplementedError:
        return []
    return [action.getName(i) for i in range(action.nActions)]


def describe(node: Any, path: list[int]) -> dict[str, Any]:
    return {
        "path": path,
        "role": node.getRoleName(),
        "name": node.name or "",
        "description": node.description or "",
        "states": states(node),
        "actions": actions(node),
    }


def walk(app: Any) -> list[dict[str, Any]]:
    """Every node under ``app``, depth first, as a screen reader's review mode reaches them."""
    found: list[dict[str, Any]] = []

    def visit(node: Any, path: list[int]) -> None:
        found.append(describe(node, path))
        if len(path) >= MAX_DEPTH:
            return
        for index in range(node.childCount):
            child = node.getChildAtIndex(index)
            if child is not None:
                visit(child, [*path, index])

    visit(app, [])
    return found


def node_at(app: Any, path: list[int]) -> Any:
    node = app
    for index in path:
        node = node.getChildAtIndex(index)
    return node


def press(node: Any) -> None:
    action = node.queryAction()
    names = [action.getName(i) for i in range(action.nActions)]
    action.doAction(names.index("Press"))


def settle(node: Any, want: bool, timeout: float = 5.0) -> list[str]:
    """The node's states once ``expanded`` is ``want`` (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        now = states(node)
        if ("expanded" in now) == want or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def toggle(app: Any) -> list[dict[str, Any]]:
    """Press each showing expandable button (as a screen reader user activates it), then press it back."""
    results = []
    for item in walk(app):
        if "expandable" not in item["states"] or "showing" not in item["states"] or "Press" not in item["actions"]:
            continue
        node = node_at(app, item["path"])
        before = states(node)
        was = "expanded" in before
        press(node)
        after = settle(node, not was)
        press(node)
        back = settle(node, was)
        results.append({**item, "before": before, "after": after, "back": back})
    return results


def listen(app_name: str, stop_file: str) -> None:
    """Print each ``object:announcement`` from the app as a JSON line until ``stop_file`` appears."""

    def on_event(event: Any) -> None:
        try:
            source_app = event.host_application.name if event.host_application is not None else ""
        except Exception:  # a source gone meanwhile: still an announcement
            source_app = ""
        if source_app and source_app != app_name:
            return
        record = {"type": event.type, "text": str(event.any_data or ""), "politeness": event.detail1}
        print(json.dumps(record), flush=True)

    def check() -> bool:
        if os.path.exists(stop_file):
            pyatspi.Registry.stop()
            return False
        return True

    pyatspi.Registry.registerEventListener(on_event, "object:announcement")
    GLib.timeout_add(50, check)
    print(json.dumps({"type": "listening"}), flush=True)
    pyatspi.Registry.start()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("tree", "toggle", "listen"):
        print(__doc__, file=sys.stderr)
        return 2
    command, app_name = argv[0], argv[1]
    if command == "listen":
        listen(app_name, argv[2])
        return 0
    app = find_app(app_name)
    print(json.dumps(walk(app) if command == "tree" else toggle(app)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
