"""The window's colours: follow the OS, or force light or dark with explicit palettes (Fusion); the window's
stylesheet derived from the palette."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.chat.turn_style import mix
from app.ui.icons import button_stylesheet

_SCHEMES = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark, "system": Qt.ColorScheme.Unknown}


def _dark_palette() -> QPalette:
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202124",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a",
        QPalette.ColorRole.AlternateBase: "#2a2b2e",
        QPalette.ColorRole.ToolTipBase: "#2a2b2e",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
        QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#2d2e31",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#8ab4f8",
        QPalette.ColorRole.HighlightedText: "#202124",
        QPalette.ColorRole.Link: "#8ab4f8",
        QPalette.ColorRole.Mid: "#3c4043",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#80868b"))
    return p


def apply_theme(theme: str) -> None:
    """ "system" follows the OS; "light" and "dark" force the colours (also where the OS has no say)."""
    QGuiApplication.styleHints().setColorScheme(_SCHEMES.get(theme, Qt.ColorScheme.Unknown))
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if theme == "dark":
        app.setPalette(_dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())


def window_stylesheet(palette: QPalette) -> str:
    """Colours derived from the palette, so light, dark and high-contrast themes all work."""
    window = palette.window().color()
    dark = window.lightness() < 128
    frame = palette.mid().color().name()
    highlight = palette.highlight().color()
    muted = mix(window, palette.text().color(), 0.5).name()  # (placeholderText may be translucent)
    notice = f"rgba({highlight.red()}, {highlight.green()}, {highlight.blue()}, 40)"
    aside = mix(window, palette.text().color(), 0.06 if dark else 0.035).name()  # thinking and tool calls
    return (
        f"#Avatar {{ background: {highlight.name()}; color: {palette.highlightedText().color().name()};"
        " border-radius: 11px; font-weight: bold; }"
        f"#TurnMuted {{ color: {muted}; }}"
        f"#ThinkingBlock {{ background: {aside}; border: none; border-left: 3px solid {muted}; border-radius: 6px; }}"
        f"#ThinkingText {{ background: transparent; color: {muted}; }}"
        f"#ThinkingHeader, #ThinkingIcon {{ color: {muted}; }}"
        "#ThinkingHeader, #ThinkingHeader:checked { background: transparent; border: none; }"
        f"#ToolIcon {{ color: {highlight.name()}; }}"
        f"#ToolBlock {{ background: {aside}; border: none; border-left: 3px solid {highlight.name()};"
        " border-radius: 6px; }"
        "#ToolHeader, #ToolHeader:checked { background: transparent; border: none; }"
        f"#ToolStepText {{ color: {muted}; }}"
        f"#ConsentCard {{ background: {notice}; border: 1px solid {highlight.name()}; border-radius: 8px; }}"
        f"#NoticeBar {{ background: {notice}; border: 1px solid {highlight.name()}; border-radius: 6px; }}"
        f"#ModelCard {{ background: {aside}; border: 1px solid {frame}; border-radius: 8px; }}"
        f"#ModelCardRole {{ color: {highlight.name()}; font-weight: 600; }}"
        f"#ModelCardFacts {{ color: {muted}; }}"
        f"#StarterButton {{ border: 1px solid {frame}; border-radius: 8px; background: {aside}; }}"
        f"#StarterHint {{ color: {muted}; }}"
        f"#StarterButton:hover, #StarterButton:focus {{ border-color: {highlight.name()}; }}"
        "#ChatColumn { background: transparent; }" + button_stylesheet(palette)
    )


def is_dark(palette: QPalette) -> bool:
    return palette.window().color().lightness() < 128
