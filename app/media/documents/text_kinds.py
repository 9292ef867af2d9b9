"""What a text-like file is, in words and as a Markdown fence's language: by its suffix, its name, its first line.

``text_kind(name, first_line)`` gives ("Python", "python"), ("CSV", "csv"), ("text", "") for plain text.
"""

from __future__ import annotations

import re
from pathlib import PurePath

#: suffix → (kind in words, fence language)
_BY_SUFFIX: dict[str, tuple[str, str]] = {
    ".txt": ("text", ""), ".text": ("text", ""), ".log": ("log", ""),
    ".md": ("Markdown", "markdown"), ".markdown": ("Markdown", "markdown"), ".rst": ("reStructuredText", "rst"),
    ".adoc": ("AsciiDoc", "asciidoc"), ".org": ("Org", "org"), ".tex": ("LaTeX", "latex"),
    ".html": ("web page (text)", ""), ".htm": ("web page (text)", ""), ".xhtml": ("web page (text)", ""),
    ".xml": ("XML", "xml"), ".svg": ("SVG", "xml"),
    ".csv": ("CSV", "csv"), ".tsv": ("TSV", "tsv"), ".json": ("JSON", "json"), ".jsonl": ("JSON Lines", "json"),
    ".ndjson": ("JSON Lines", "json"), ".yaml": ("YAML", "yaml"), ".yml": ("YAML", "yaml"),
    ".toml": ("TOML", "toml"), ".ini": ("INI", "ini"), ".cfg": ("configuration", "ini"),
    ".conf": ("configuration", ""), ".env": ("environment", "sh"), ".properties": ("properties", "properties"),
    ".sql": ("SQL", "sql"), ".graphql": ("GraphQL", "graphql"), ".proto": ("Protocol Buffers", "protobuf"),
    ".py": ("Python", "python"), ".pyi": ("Python", "python"), ".ipynb": ("Jupyter notebook", "json"),
    ".js": ("JavaScript", "javascript"), ".mjs": ("JavaScript", "javascript"), ".cjs": ("JavaScript", "javascript"),
    ".ts": ("TypeScript", "typescript"), ".tsx": ("TypeScript", "tsx"), ".jsx": ("JavaScript", "jsx"),
    ".c": ("C", "c"), ".h": ("C", "c"), ".cc": ("C++", "cpp"), ".cpp": ("C++", "cpp"), ".cxx": ("C++", "cpp"),
    ".hpp": ("C++", "cpp"), ".hh": ("C++", "cpp"), ".cs": ("C#", "csharp"), ".java": ("Java", "java"),
    ".kt": ("Kotlin", "kotlin"), ".kts": ("Kotlin", "kotlin"), ".scala": ("Scala", "scala"), ".go": ("Go", "go"),
    ".rs": ("Rust", "rust"), ".swift": ("Swift", "swift"), ".m": ("Objective-C or MATLAB", ""),
    ".mm": ("Objective-C++", "objectivec"), ".rb": ("Ruby", "ruby"), ".php": ("PHP", "php"), ".pl": ("Perl", "perl"),
    ".pm": ("Perl", "perl"), ".lua": ("Lua", "lua"), ".r": ("R", "r"), ".jl": ("Julia", "julia"),
    ".hs": ("Haskell", "haskell"), ".ml": ("OCaml", "ocaml"), ".ex": ("Elixir", "elixir"), ".exs": ("Elixir", "elixir"),
    ".erl": ("Erlang", "erlang"), ".clj": ("Clojure", "clojure"), ".dart": ("Dart", "dart"), ".zig": ("Zig", "zig"),
    ".nim": ("Nim", "nim"), ".v": ("Verilog", "verilog"), ".sv": ("SystemVerilog", "systemverilog"),
    ".vhd": ("VHDL", "vhdl"), ".sh": ("shell script", "sh"), ".bash": ("shell script", "bash"),
    ".zsh": ("shell script", "zsh"), ".fish": ("fish script", "fish"), ".ps1": ("PowerShell", "powershell"),
    ".bat": ("batch file", "bat"), ".cmd": ("batch file", "bat"), ".cmake": ("CMake", "cmake"),
    ".gradle": ("Gradle", "groovy"), ".mk": ("Makefile", "makefile"), ".dockerfile": ("Dockerfile", "dockerfile"),
    ".css": ("CSS", "css"), ".scss": ("SCSS", "scss"), ".sass": ("Sass", "sass"), ".less": ("Less", "less"),
    ".vue": ("Vue", "vue"), ".svelte": ("Svelte", "svelte"), ".diff": ("diff", "diff"), ".patch": ("diff", "diff"),
    ".srt": ("subtitles", "srt"), ".vtt": ("subtitles", "vtt"),
}  # fmt: skip

#: well-known extension-less names (lower case) → (kind, fence language)
_BY_NAME: dict[str, tuple[str, str]] = {
    "makefile": ("Makefile", "makefile"), "gnumakefile": ("Makefile", "makefile"),
    "dockerfile": ("Dockerfile", "dockerfile"), "containerfile": ("Dockerfile", "dockerfile"),
    "vagrantfile": ("Ruby", "ruby"), "gemfile": ("Ruby", "ruby"), "rakefile": ("Ruby", "ruby"),
    "jenkinsfile": ("Groovy", "groovy"), "cmakelists.txt": ("CMake", "cmake"), "procfile": ("Procfile", ""),
}  # fmt: skip

#: a shebang's interpreter → (kind, fence language)
_BY_INTERPRETER: dict[str, tuple[str, str]] = {
    "python": ("Python", "python"), "sh": ("shell script", "sh"), "bash": ("shell script", "bash"),
    "zsh": ("shell script", "zsh"), "dash": ("shell script", "sh"), "ksh": ("shell script", "sh"),
    "fish": ("fish script", "fish"), "node": ("JavaScript", "javascript"), "deno": ("TypeScript", "typescript"),
    "perl": ("Perl", "perl"), "ruby": ("Ruby", "ruby"), "php": ("PHP", "php"), "lua": ("Lua", "lua"),
    "rscript": ("R", "r"), "julia": ("Julia", "julia"), "awk": ("awk", "awk"), "tclsh": ("Tcl", "tcl"),
    "pwsh": ("PowerShell", "powershell"),
}  # fmt: skip

PLAIN = ("text", "")
WEB_PAGE = _BY_SUFFIX[".html"]
_INTERPRETER = re.compile(r"^#!\s*\S*?([A-Za-z]+)[\d.]*(?:\s|$)")
_ENV_INTERPRETER = re.compile(r"^#!\s*\S*/env\s+(?:-\S+\s+)*([A-Za-z]+)[\d.]*(?:\s|$)")


def text_kind(name: str, first_line: str = "") -> tuple[str, str]:
    """(kind in words, fence language) of a text file called ``name`` whose first line is ``first_line``."""
    path = PurePath(name)
    lowered = path.name.lower()
    if lowered in _BY_NAME:
        return _BY_NAME[lowered]
    if lowered.startswith("dockerfile."):
        return _BY_NAME["dockerfile"]
    found = _BY_SUFFIX.get(path.suffix.lower())
    if found is not None and found != PLAIN:
        return found
    return shebang_kind(first_line) or found or PLAIN


def shebang_kind(first_line: str) -> tuple[str, str] | None:
    """The script kind a ``#!`` line names (``#!/usr/bin/env python3`` → Python), or None."""
    if not first_line.startswith("#!"):
        return None
    found = _ENV_INTERPRETER.match(first_line) or _INTERPRETER.match(first_line)
    if found is None:
        return ("script", "")
    return _BY_INTERPRETER.get(found.group(1).lower(), ("script", ""))


def is_web_page(name: str) -> bool:
    return _BY_SUFFIX.get(PurePath(name).suffix.lower()) == WEB_PAGE
