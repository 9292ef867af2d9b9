"""Word, PowerPoint and Excel documents: which reader reads a file, and what the three readers share.

``read_office`` checks the file's ZIP first (``zip_guard``: the right kind, no zip bomb), then hands it to
the reader for its kind: ``word`` (python-docx), ``powerpoint`` (python-pptx) or ``excel`` (openpyxl). Any
failure inside those libraries (a damaged part, XML that does not parse) becomes one line naming the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.media.documents.model import Document, PageChoice
from app.media.documents.zip_guard import EXCEL, KINDS, POWERPOINT, WORD, OfficeKind, check_office_zip
from app.media.errors import MediaError, open_source, subject


def read_office(path: Path, *, name: str, choice: PageChoice) -> Document:
    """Read a ``.docx``, ``.pptx`` or ``.xlsx`` file (the kind from ``name``'s suffix, else the path's)."""
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    kind = next((k for k in KINDS if k.suffix == suffix), None)
    if kind is None:
        raise MediaError(f"{subject(name)} is not a Word, PowerPoint or Excel file.")
    stream, label = open_source(path, name)
    with stream:
        check_office_zip(stream, label, kind)
        with library_errors(label, kind):
            if kind is WORD:
                from app.media.documents.word import read_word

                return read_word(stream, name=label)
            if kind is POWERPOINT:
                from app.media.documents.powerpoint import read_powerpoint

                return read_powerpoint(stream, name=label, choice=choice)
            assert kind is EXCEL
            from app.media.documents.excel import read_excel

            return read_excel(stream, name=label, choice=choice)


@contextmanager
def library_errors(name: str, kind: OfficeKind) -> Iterator[None]:
    """Turn whatever a library raises on a damaged file into one line; its warnings are not the user's concern."""
    who = subject(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        try:
            yield
        except MediaError:
            raise
        except MemoryError:
            raise MediaError(f"{who} is too large to open on this computer.") from None
        except Exception:  # the libraries raise many types for broken parts; all mean the same to a user
            raise MediaError(f"{who} is damaged: it cannot be read as {kind.article}.") from None
