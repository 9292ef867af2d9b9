"""The window's icons: our action names → Material Design Icons 6 glyphs, drawn in the palette's colours.

The glyphs come from the MDI 6 font that qtawesome bundles (icons and font Apache-2.0, qtawesome MIT). A font
icon is drawn at whatever size and device-pixel ratio is asked for, so it stays sharp on HiDPI screens. Its
colour is the palette's (button text; highlighted text on a switch that is on; the disabled text colour when
off), so ``set_icon`` remembers each icon's name on its button or action and ``refresh`` re-makes them all when
the palette changes (the window calls it on a theme change). A switch (``toggle=True``) shows a different glyph
when on, and ``button_stylesheet`` gives it the accent background then.

Only MDI 6 is loaded, through qtawesome's ``IconicFont`` with the font's folder given: its other eleven fonts
are neither read nor (on Windows) copied into the user's fonts folder, and the frozen bundle carries one font.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QHideEvent,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QShowEvent,
)
from PySide6.QtWidgets import QAbstractButton, QMenu, QMenuBar, QWidget

if TYPE_CHECKING:
    from qtawesome.iconic_font import IconicFont

#: Our action names → the glyph (or the off and on glyphs of a switch). One place, so every part reuses them.
NAMES: dict[str, str | tuple[str, str]] = {
    # The composer
    "attach": "paperclip",
    "think": ("lightbulb-outline", "lightbulb-on"),
    "camera": "camera-outline",
    "talk": "microphone-outline",
    "recording": "microphone",
    "hands_free": ("headset-off", "headset"),
    "screenshot_html": "monitor-screenshot",
    "send": "send",
    "stop": "stop",
    # A message
    "copy": "content-copy",
    "speak": "volume-high",
    "stop_speaking": "volume-off",
    "edit": "pencil-outline",
    "regenerate": "refresh",
    "previous": "chevron-left",
    "next": "chevron-right",
    "preview": "web",
    "save": "content-save-outline",
    "cancel": "close",
    "play": "play",
    # The sidebar and menus
    "new_chat": "message-plus-outline",
    "search": "magnify",
    "rename": "pencil-outline",
    "delete": "delete-outline",
    "pin": "pin-outline",
    "export": "export-variant",
    "open_model": "folder-open-outline",
    "remote": "lan-connect",
    "models": "cube-outline",
    "settings": "cog-outline",
    "quit": "exit-to-app",
    "shortcuts": "keyboard-outline",
    "palette": "console-line",
    "preset": "tune-variant",
    "preset_menu": "menu-down",
    "about": "information-outline",
    # States
    "server": ("server-off", "server-network"),
    "busy": "loading",
    "download": "download",
    "pause": "pause",
    "resume": "play",
    "retry": "refresh",
    "load": "upload",
}

#: Menu items (their text without "&" and shortcut) → our icon names.
MENU_ICONS = {
    "Open model…": "open_model",
    "Remote server (OpenAI-compatible)…": "remote",
    "Models…": "models",
    "Settings…": "settings",
    "Server": "server",
    "Export chat as Markdown…": "export",
    "Export chat as JSON…": "export",
    "Quit": "quit",
    "New chat": "new_chat",
    "Search chats": "search",
    "Previous chat": "previous",
    "Next chat": "next",
    "Stop the answer": "stop",
    "Regenerate the last answer": "regenerate",
    "Copy the last answer": "copy",
    "Keyboard shortcuts": "shortcuts",
    "Command palette…": "palette",
    "New chat with a preset": "preset",
    "About Gemma Desk": "about",
}

_PROPERTY = "deskIcon"  # the name set_icon gave an object, read again by refresh
_TOGGLE = "deskToggle"  # a switch: the button stylesheet fills it with the accent colour when on
_HELD = "deskHeld"  # a button held down while it works (push-to-talk): filled with the accent colour while down


@cache
def _font() -> IconicFont:
    """The MDI 6 font, loaded once (needs a QApplication)."""
    os.environ.setdefault("QT_API", "pyside6")  # qtawesome speaks Qt through QtPy: make it pick PySide6
    import qtawesome
    from qtawesome.iconic_font import IconicFont

    folder = qtawesome.get_fonts_info()[0]
    mdi6 = ("mdi6", "materialdesignicons6-webfont-6.9.96.ttf", "materialdesignicons6-webfont-charmap-6.9.96.json")
    return IconicFont((*mdi6, folder))


def glyphs(name: str) -> tuple[str, str]:
    """The off and on glyph names of one of our icons (the same for an icon that is not a switch)."""
    entry = NAMES[name]
    return (entry, entry) if isinstance(entry, str) else entry


def icon(name: str, palette: QPalette | None = None, *, on_accent: bool = False) -> QIcon:
    """Our icon ``name`` in ``palette``'s colours (the application's when None). ``on_accent``: drawn on the
    accent colour (the Send button), so in highlighted-text colour."""
    pal = palette if palette is not None else QGuiApplication.palette()
    text = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    accent_text = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    off, on = glyphs(name)
    normal = accent_text if on_accent else text
    drawn: QIcon = _font().icon(
        f"mdi6.{off}",
        on=f"mdi6.{on}",
        color=normal.name(),
        color_on=accent_text.name() if off != on else normal.name(),
        color_disabled=disabled.name(),
        color_on_disabled=disabled.name(),
    )
    return QIcon(_Sized(drawn))


class _Sized(QIconEngine):
    """The icon font's icon, never asked for a glyph of no size: a widget painted before its layout pass (a few
    pixels high) made the font painter set a negative pixel size and paint on a null pixmap (Qt warnings)."""

    def __init__(self, drawn: QIcon) -> None:
        super().__init__()
        self._drawn = drawn

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        if min(rect.width(), rect.height()) >= _SMALLEST:
            self._drawn.paint(painter, rect, Qt.AlignmentFlag.AlignCenter, mode, state)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        if min(size.width(), size.height()) >= _SMALLEST:
            return self._drawn.pixmap(size, scale, mode, state)
        empty = QPixmap(max(size.width(), 1), max(size.height(), 1))
        empty.fill(Qt.GlobalColor.transparent)
        return empty

    def clone(self) -> QIconEngine:
        return _Sized(self._drawn)


_SMALLEST = 4  # px: below this a glyph is not drawn (nothing legible fits)


def set_icon(
    target: QAbstractButton | QAction, name: str, *, toggle: bool = False, held: bool = False, on_accent: bool = False
) -> None:
    """Give a button or menu action our icon ``name``, remembered so ``refresh`` can re-colour it. ``toggle``: a
    switch, outlined when off and filled with the accent colour when on (its on icon drawn to suit); ``held``: a
    button filled with the accent colour while held down; ``on_accent``: the icon drawn for the accent colour."""
    target.setProperty(_PROPERTY, f"{name}|{int(on_accent)}")
    if toggle:
        target.setProperty(_TOGGLE, True)
    if held:
        target.setProperty(_HELD, True)
    target.setIcon(icon(name, on_accent=on_accent))


def decorate_menus(bar: QMenuBar) -> None:
    """Give the menu bar's items their icons (``MENU_ICONS``), submenus included."""
    menus: list[QMenuBar | QMenu] = [bar]
    while menus:
        for action in menus.pop().actions():
            name = MENU_ICONS.get(action.text().split("\t")[0].replace("&", ""))
            if name:
                set_icon(action, name)
            submenu = action.menu()
            if isinstance(submenu, QMenu):
                menus.append(submenu)


def icon_name(target: QObject) -> str:
    """The name ``set_icon`` gave ``target`` ("" if none)."""
    value = target.property(_PROPERTY)
    return str(value).split("|")[0] if value else ""


def refresh(root: QObject) -> None:
    """Re-make every icon ``set_icon`` gave a button or action under ``root`` in the current palette's colours."""
    for kind in (QAbstractButton, QAction):
        for target in root.findChildren(kind):
            value = target.property(_PROPERTY)
            if value:
                name, accent = str(value).split("|")
                if isinstance(target, (QAbstractButton, QAction)):
                    target.setIcon(icon(name, on_accent=accent == "1"))
    for busy in root.findChildren(BusyIcon):
        busy.update()


def button_stylesheet(palette: QPalette) -> str:
    """Compact, flat icon buttons in the composer and message headers; a switch that is on is filled with the
    accent colour; Send is the accent-coloured main button. Colours from ``palette``, so every theme works."""
    text = palette.color(QPalette.ColorRole.ButtonText)
    hover = f"rgba({text.red()}, {text.green()}, {text.blue()}, 28)"
    pressed = f"rgba({text.red()}, {text.green()}, {text.blue()}, 56)"
    accent = palette.color(QPalette.ColorRole.Highlight)
    accent_text = palette.color(QPalette.ColorRole.HighlightedText).name()
    accent_hover = (accent.lighter(112) if accent.lightness() < 128 else accent.darker(110)).name()
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name()
    mid = palette.color(QPalette.ColorRole.Mid).name()
    flat = ("#Composer QToolButton", "QToolButton#ServerSwitch", "QToolButton#MessageAction")
    switch = tuple(f'{f}[{_TOGGLE}="true"]' for f in flat)
    held = tuple(f'{f}[{_HELD}="true"]' for f in flat)
    filled = f"background: {accent.name()}; color: {accent_text}; border-color: {accent.name()};"

    def rule(selectors: tuple[str, ...], state: str, body: str) -> str:
        return ", ".join(s + state for s in selectors) + f" {{ {body} }}"

    return "".join(
        (
            rule(flat, "", "border: 1px solid transparent; border-radius: 6px; padding: 3px 6px;"),
            rule(flat, ":hover", f"background: {hover};"),
            rule(flat, ":pressed", f"background: {pressed};"),
            rule(flat, ":disabled", f"color: {disabled};"),
            rule(switch, "", f"border-color: {mid};"),  # a switch that is off: an outline
            rule(switch, ":checked", filled),
            rule(switch, ":pressed", filled),
            rule(held, ":pressed", filled),
            rule(switch, ":checked:hover", f"background: {accent_hover};"),
            "QPushButton#SendButton"
            f" {{ background: {accent.name()}; color: {accent_text}; border: none; border-radius: 6px;"
            " padding: 5px 14px; }",
            f"QPushButton#SendButton:hover {{ background: {accent_hover}; }}",
            f"QPushButton#SendButton:disabled {{ background: {mid}; color: {disabled}; }}",
        )
    )


class BusyIcon(QWidget):
    """A small turning ring: something is under way (a model loading, a download running). It turns only while
    shown, about 30 frames a second."""

    def __init__(self, tip: str, parent: QWidget | None = None, size: int = 16) -> None:
        super().__init__(parent)
        self.setFixedSize(size + 4, size + 4)
        self.setToolTip(tip)
        self.setAccessibleName(tip)
        self.angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def turning(self) -> bool:
        return self._timer.isActive()

    def _on_timer_timeout(self) -> None:
        self.angle = (self.angle + 12) % 360
        self.update()

    def showEvent(self, event: QShowEvent) -> None:
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def paintEvent(self, _event: object) -> None:
        """Three quarters of a ring in the accent colour, turned by ``angle``."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), max(2.0, self.width() / 9))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        margin = pen.widthF() / 2 + 2
        painter.drawArc(QRectF(self.rect()).adjusted(margin, margin, -margin, -margin), -self.angle * 16, 270 * 16)
        painter.end()


def accent(palette: QPalette | None = None) -> QColor:
    """The accent colour a switch that is on is filled with (tests compare against it)."""
    return (palette if palette is not None else QGuiApplication.palette()).color(QPalette.ColorRole.Highlight)


__all__ = ["NAMES", "BusyIcon", "accent", "button_stylesheet", "icon", "icon_name", "refresh", "set_icon"]
