"""The architecture in writing: which package may import which, read from every import statement with ``ast``.

Imports at any depth count, those inside functions too. The table is DESIGN.md §1's picture: clients on
top (window, command line, self-check), the core below them, and data flowing down only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app"

#: What each top-level part of ``app`` may import (other parts of ``app``, and the native or Qt libraries).
ALLOWED: dict[str, set[str]] = {
    # Leaves: plain helpers.
    "paths": set(),
    "units": set(),  # how sizes, memory, parameter counts and durations are printed
    "regular_file": set(),
    "applog": {"paths"},
    "settings": {"paths"},
    # The core (no Qt, no window): data flows down, never back up into a client.
    "media": {"regular_file", "units"},  # decoding pictures, sound, video
    "store": {"regular_file"},  # SQLite and the attachments folder; knows nothing of models
    "engine": {"media", "regular_file", "llama_cpp"},  # the one core part that loads llama.cpp
    "models": {"engine", "paths", "units"},  # catalog, fit, downloads; llama.cpp only inside functions (test below)
    "render": set(),  # model text to HTML (markdown, artifacts): pure Python, shown by the window
    # Reading answers aloud: Qt's QtTextToSpeech (no widgets) over render's markdown-to-sentences.
    "speech": {"render", "PySide6"},
    "chat": {"engine", "media", "store", "tools"},  # the conversation core: history → request → stream → store
    # Remote engines: the engine's API over an OpenAI-compatible server (httpx); its events, types, stream parser.
    "remote": {"engine", "media", "units"},
    # Tool declarations, argument checks, results, the built-in tools and MCP servers (the mcp SDK); no Qt, no engine.
    "tools": {"media", "paths", "units"},
    # The local OpenAI-compatible server (Starlette on uvicorn): a client of the engine, shared with the window.
    "server": {"engine", "media", "paths", "units"},
    # Hands-free voice turns: the always-open microphone, endpointing, barge-in (sounddevice, webrtcvad; no Qt).
    "voice": {"media", "units"},
    # Clients.
    "cli": {
        "applog",
        "chat",
        "engine",
        "media",
        "models",
        "paths",
        "regular_file",  # --tools FILE: only a regular file is read
        "remote",  # --remote URL: chat through a remote OpenAI-compatible server
        "server",  # gemma-desk serve
        "settings",
        "speech",  # ask --speak: read the answer aloud
        "store",
        "tools",  # --tools FILE: the MCP servers, the offer and the consent prompt
        "ui",
        "units",
        "voice",  # hands-free voice turns
        "PySide6",
        "llama_cpp",
    },  # ui: below
    "ui": {
        "applog",
        "chat",
        "engine",
        "media",
        "models",
        "paths",
        "remote",  # a remote server as the model source
        "render",
        "settings",
        "speech",  # reading answers aloud
        "store",
        "tools",  # Settings → Tools: the tool settings, listing a server's tools
        "server",  # the Server switch: the local OpenAI-compatible server on the window's engine
        "units",
        "voice",  # hands-free voice turns
        "PySide6",
        "qtawesome",  # the icons (app/ui/icons.py): only the window draws them
        "llama_cpp",
    },
    "__main__": {"cli", "ui"},  # chooses window or command line, nothing else
}
#: Outside ``app.ui``, the window is reached only through its package's own functions (``app.ui.run_app``,
#: ``app.ui.window_check``): the command line uses it for the self-check, ``__main__`` to open the window.
WINDOW_ENTRY = "app.ui"
EXTERNAL = {"PySide6", "llama_cpp", "qtawesome"}


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports (absolute names), with its line."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return found


def part_of(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else "app"


def violations() -> list[str]:
    """Every import that breaks the table, as "file:line imports X (why)"."""
    wrong: list[str] = []
    for path in sorted(APP.rglob("*.py")):
        part = part_of(path)
        if part == "app":
            continue
        assert part in ALLOWED, f"{path.relative_to(REPO)}: a new part of app: add it to the table in {__file__}"
        for name, line in imports_of(path):
            top = name.split(".")[0]
            target = name.split(".")[1] if top == "app" and "." in name else (top if top in EXTERNAL else None)
            if target is None or target == part:
                continue
            if target not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {name} ({part} may not use {target})")
            elif target == "ui" and name != WINDOW_ENTRY:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {name}: outside the window, use {WINDOW_ENTRY}")
    return wrong


def test_every_part_imports_only_what_the_table_allows() -> None:
    assert violations() == []


def test_the_table_catches_imports_inside_functions_and_relative_ones() -> None:
    sample = APP / "store" / "_layer_probe.py"
    sample.write_text(
        "def f():\n    from app.ui import app\n    import PySide6.QtWidgets\n    from ..engine import native\n",
        encoding="utf-8",
    )
    try:
        found = [v for v in violations() if "_layer_probe" in v]
        assert found == [
            "app/store/_layer_probe.py:2 imports app.ui (store may not use ui)",
            "app/store/_layer_probe.py:3 imports PySide6.QtWidgets (store may not use PySide6)",
            "app/store/_layer_probe.py:4 imports app.engine (store may not use engine)",
        ]
    finally:
        sample.unlink()


def test_reading_the_catalog_and_model_headers_does_not_load_llama_cpp() -> None:
    """``app.models`` and the engine's header reader stay light: llama.cpp loads when a model does."""
    modules = [
        "app.models.catalog",
        "app.models.hardware",
        "app.models.fit",
        "app.models.variants",
        "app.models.download",
        "app.models.local",
        "app.models.library",
        "app.models.load_plan",
        "app.engine.gguf_file",
        "app.engine.events",
    ]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint(sorted(k for k in sys.modules if 'llama' in k))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def runtime_import_graph() -> dict[str, set[str]]:
    """Module → the ``app`` modules it imports at run time (any depth; ``if TYPE_CHECKING`` blocks left out)."""
    modules = {}
    for path in APP.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_module_imports_itself_back() -> None:
    """No import cycles (such as the window importing the app module that imports the window)."""
    graph = runtime_import_graph()
    cycles: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                cycles.append([*path, start])
            elif nxt > start and nxt not in path:
                walk(start, nxt, [*path, nxt])

    for module in sorted(graph):
        walk(module, module, [module])
    assert cycles == []
