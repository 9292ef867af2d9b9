"""Which reader reads a document: by its name (suffix or a well-known file name), then by its content.

``read_document(path, name=…, choice=…)`` is the one entry point; it picks the PDF, Office or text reader.
Each reader opens only a regular file (``app.media.errors.open_source``) and raises ``MediaError`` with a
one-line reason naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from app.media.documents.model import Document, PageChoice
from app.media.documents.model import TooManyPages as TooManyPages  # raised by the readers; named here for callers
from app.media.errors import MediaError, open_source, read_head, sniff

PDF_SUFFIX = ".pdf"
OFFICE_SUFFIXES = frozenset({".docx", ".pptx", ".xlsx"})
#: Text-like files by extension (the text reader also takes extension-less files whose content is text).
TEXT_SUFFIXES = frozenset(
    {
        # prose and markup
        ".txt", ".text", ".md", ".markdown", ".rst", ".adoc", ".org", ".tex", ".log",
        ".html", ".htm", ".xhtml", ".xml", ".svg",
        # data
        ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf",
        ".env", ".properties", ".sql", ".graphql", ".proto",
        # source code
        ".py", ".pyi", ".ipynb", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".c", ".h", ".cc", ".cpp",
        ".cxx", ".hpp", ".hh", ".cs", ".java", ".kt", ".kts", ".scala", ".go", ".rs", ".swift", ".m", ".mm",
        ".rb", ".php", ".pl", ".pm", ".lua", ".r", ".jl", ".hs", ".ml", ".ex", ".exs", ".erl", ".clj",
        ".dart", ".zig", ".nim", ".v", ".sv", ".vhd", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat",
        ".cmd", ".cmake", ".gradle", ".mk", ".dockerfile", ".css", ".scss", ".sass", ".less", ".vue",
        ".svelte", ".diff", ".patch", ".srt", ".vtt",
    }
)  # fmt: skip
#: Extension-less files known by name.
DOCUMENT_NAMES = frozenset(
    {"makefile", "gnumakefile", "dockerfile", "containerfile", "readme", "license", "copying", "authors",
     "changelog", "news", "todo", "vagrantfile", "gemfile", "rakefile", "procfile", "jenkinsfile", "cmakelists.txt"}
)  # fmt: skip
DOCUMENT_SUFFIXES = frozenset({PDF_SUFFIX, *OFFICE_SUFFIXES, *TEXT_SUFFIXES})


def is_document_name(path: Path) -> bool:
    """Whether the name alone says "document" (a known suffix, or a well-known name such as ``Makefile``)."""
    name = path.name.lower()
    return path.suffix.lower() in DOCUMENT_SUFFIXES or name in DOCUMENT_NAMES or name.startswith("dockerfile.")


def read_document(path: Path, *, name: str | None = None, choice: PageChoice | None = None) -> Document:
    """Read a document file. ``name`` is what the user calls it (the file's own name by default); ``choice``
    says which pages go and which as pictures (default: all pages, pictures decided by the reader).

    Raises MediaError (``TooManyPages`` for a PDF too long to take whole) with a one-line reason.
    """
    label = name or path.name
    wanted = choice or PageChoice()
    found = document_format(path, label)
    if found == "pdf":
        from app.media.documents.pdf import read_pdf

        return read_pdf(path, name=label, choice=wanted)
    if found == "office":
        from app.media.documents.office import read_office

        return read_office(path, name=label, choice=wanted)
    from app.media.documents.text import read_text_file

    return read_text_file(path, name=label)


def document_format(path: Path, name: str) -> Literal["pdf", "office", "text"]:
    """Which reader takes the file: by the name's suffix (else the path's), else by its first bytes (a PDF or
    an Office file without its extension); "text" for the rest (the text reader refuses what is not text)."""
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    if suffix == PDF_SUFFIX:
        return "pdf"
    if suffix in OFFICE_SUFFIXES:
        return "office"
    if suffix in TEXT_SUFFIXES:
        return "text"
    try:
        stream, _label = open_source(path, name)
    except MediaError:
        return "text"  # the reader names the problem
    with stream:
        found = sniff(read_head(stream))
    if found is not None and found.family == "document":
        return "pdf" if found.kind == "a PDF document" else "office"
    return "text"
