"""The window's keyboard shortcuts, read from the QActions, QShortcuts and buttons that really hold them.

Whoever makes a shortcut names it once with ``describe(obj, group, text)``; the shortcuts sheet (Ctrl+/) and
the command palette (Ctrl+K) read the window's objects when they open, so neither can list a key the app no
longer has. Keys read by a ``keyPressEvent`` (Enter in the message box, the push-to-talk release) have no
object to walk and are listed in ``KEY_EVENTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QWidget

_GROUP = "keymapGroup"
_TEXT = "keymapText"

STOP_TEXT = "Stop the answer and its reading aloud"
SNAP = "Snap a picture (camera panel open)"
EDIT_SEND = "Send the edited message (while editing one)"
EDIT_CANCEL = "Keep the message as it was (while editing one)"

#: The sheet's sections, in order; a group not named here comes after them.
GROUPS = ("Chat", "Chat list", "Composer", "Voice", "Camera", "Messages", "File", "Window", "Help")

Keyed = TypeVar("Keyed", QAction, QShortcut, QAbstractButton)


@dataclass(frozen=True)
class KeyEntry:
    group: str
    text: str  # what the keys do, plain text
    keys: tuple[str, ...]  # as this platform writes them (Ctrl+N; ⌘N on macOS)

    @property
    def keys_text(self) -> str:
        return "   ".join(self.keys)


def native(sequence: QKeySequence | str) -> str:
    """``sequence`` as this platform writes it (Ctrl+O, ⌘O)."""
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


def describe(obj: Keyed, group: str, text: str | None = None) -> Keyed:
    """Name ``obj``'s shortcut for the sheet: its section and, unless its own text says it, what it does."""
    obj.setProperty(_GROUP, group)
    if text is not None:
        obj.setProperty(_TEXT, text)
    return obj


#: Keys read by key events rather than held by an object, and keys of objects made only later (a message
#: being edited, the camera panel): merged with those objects' lines once they exist.
KEY_EVENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Composer", "Send the message", ("Return", "Ctrl+Return")),
    ("Composer", "New line in the message", ("Shift+Return",)),
    ("Voice", "Cancel the recording while you hold to talk", ("Esc",)),
    ("Camera", SNAP, ("Space",)),  # the camera panel's Snap button holds it once the panel exists
    ("Messages", EDIT_SEND, ("Ctrl+Return", "Ctrl+Enter")),
    ("Messages", EDIT_CANCEL, ("Esc",)),
    ("Window", "Move the focus to the next / previous control", ("Tab", "Shift+Tab")),
)


def menu_text(action: QAction) -> str:
    """``action``'s menu text in plain words: no mnemonic ampersands, key hint or trailing dots."""
    return _plain(action.text())


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands, its tab-separated key hint and its trailing dots."""
    text = text.split("\t", 1)[0].replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text.rstrip("…").rstrip(".").strip()


def action_text(action: QAction) -> str:
    """What ``action`` does, in plain words (the sheet's or its menu text)."""
    text = action.property(_TEXT)
    return str(text) if text else _plain(action.text())


def _group(obj: QObject) -> str:
    group = obj.property(_GROUP)
    return str(group) if group else "Window"


def _entry(obj: QObject) -> KeyEntry | None:
    """The sheet's line for one object, or None while it holds no key."""
    if isinstance(obj, QAction):
        sequences = [s for s in obj.shortcuts() if not s.isEmpty()]
        text = action_text(obj)
    elif isinstance(obj, QShortcut):
        sequences = [s for s in obj.keys() if not s.isEmpty()]  # noqa: SIM118 (a QShortcut, not a dict)
        text = str(obj.property(_TEXT) or obj.whatsThis())
    elif isinstance(obj, QAbstractButton):
        sequences = [obj.shortcut()] if not obj.shortcut().isEmpty() else []
        text = str(obj.property(_TEXT) or obj.accessibleName() or _plain(obj.text()))
    else:
        return None
    if not sequences or not text:
        return None
    return KeyEntry(_group(obj), text, tuple(native(s) for s in sequences))


def shortcuts_of(window: QWidget) -> list[KeyEntry]:
    """Every shortcut ``window`` has now, one line per thing it does, grouped in ``GROUPS`` order."""
    found: list[KeyEntry] = []
    for kind in (QAction, QShortcut, QAbstractButton):
        for obj in window.findChildren(kind):
            entry = _entry(obj)
            if entry is not None:
                found.append(entry)
    for group, text, sequences in KEY_EVENTS:
        found.append(KeyEntry(group, text, tuple(native(k) for k in sequences)))
    # one line per (group, text): Esc on the chat and on the sidebar, Ctrl+Return and Ctrl+Enter, once each
    merged: dict[tuple[str, str], list[str]] = {}
    for entry in found:
        held = merged.setdefault((entry.group, entry.text), [])
        held.extend(k for k in entry.keys if k not in held)
    order = {g: i for i, g in enumerate(GROUPS)}
    lines = [KeyEntry(group, text, tuple(held)) for (group, text), held in merged.items()]
    return sorted(lines, key=lambda e: (order.get(e.group, len(GROUPS)), e.group))
