"""The window's colours: follow the OS, or force light or dark with explicit palettes (Fusion); the window's
stylesheet derived from the palette."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.chat.turn_style import bubble_colour, mix
from app.ui.icons import button_stylesheet
from app.ui.shell.contrast import AA_TEXT, RGB, blend, contrast_ratio, hex_colour, mix_until, shade_until

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
    """ "system" follows the OS; "light" and "dark" force the colours (also where the OS has no say). Either
    way, secondary text and selected text are made to reach WCAG AA (``readable``)."""
    QGuiApplication.styleHints().setColorScheme(_SCHEMES.get(theme, Qt.ColorScheme.Unknown))
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if theme == "dark":
        app.setPalette(readable(_dark_palette()))
    elif theme == "light":
        app.setPalette(readable(app.style().standardPalette()))
    else:
        app.setPalette(QPalette())
        system = app.palette()
        adjusted = readable(system)
        if adjusted != system:
            app.setPalette(adjusted)


def _rgb(colour: QColor, under: QColor | None = None) -> RGB:
    """The colour as drawn: a translucent one blended over ``under``."""
    own = (colour.red(), colour.green(), colour.blue())
    if under is None or colour.alpha() == 255:
        return own
    return blend(own, colour.alphaF(), (under.red(), under.green(), under.blue()))


def readable(palette: QPalette) -> QPalette:
    """``palette`` with the colours that fall short of WCAG AA brought up to it: placeholder text (also the
    window's secondary, "muted" text) 4.5:1 on the window, the text fields and the user's messages, and selected
    text 4.5:1 on its highlight. Colours that already pass are kept (a high-contrast system theme stays as is)."""
    result = QPalette(palette)
    role = QPalette.ColorRole
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        base, window = _rgb(palette.color(group, role.Base)), _rgb(palette.color(group, role.Window))
        backs = [base, window, _rgb(bubble_colour(palette)), _rgb(aside_colour(palette))]
        shown = _rgb(palette.color(group, role.PlaceholderText), palette.color(group, role.Base))
        if min(contrast_ratio(shown, back) for back in backs) < AA_TEXT:
            text = _rgb(palette.color(group, role.Text))
            result.setColor(group, role.PlaceholderText, QColor(hex_colour(mix_until(text, base, backs, 4.6))))
        selected, highlight = _rgb(palette.color(group, role.HighlightedText)), palette.color(group, role.Highlight)
        if contrast_ratio(selected, _rgb(highlight)) < AA_TEXT:
            result.setColor(group, role.Highlight, QColor(hex_colour(shade_until(_rgb(highlight), selected, 4.6))))
    return result


#: Error text, light and dark: 4.5:1 on the window and the text fields of each theme.
ERROR_COLOURS = ("#c62828", "#f28b82")


def error_colour(widget: QWidget) -> str:
    """The colour of error text on ``widget``'s palette."""
    return ERROR_COLOURS[1] if is_dark(widget.palette()) else ERROR_COLOURS[0]


def muted(widget: QWidget) -> None:
    """Secondary text (details, statistics, hints): the palette's placeholder colour, which ``readable`` keeps
    at 4.5:1. Not a disabled look: that is too faint to read, and screen readers call it unavailable."""
    widget.setForegroundRole(QPalette.ColorRole.PlaceholderText)


def aside_colour(palette: QPalette) -> QColor:
    """The background of thinking and tool blocks, model cards and starters: the window shaded toward the text."""
    window = palette.window().color()
    return mix(window, palette.text().color(), 0.06 if window.lightness() < 128 else 0.035)


def window_stylesheet(palette: QPalette) -> str:
    """Colours derived from the palette, so light, dark and high-contrast themes all work."""
    window = palette.window().color()
    frame = palette.mid().color().name()
    highlight = palette.highlight().color()
    quiet = hex_colour(_rgb(palette.placeholderText().color(), window))  # AA on every background (readable)
    notice = f"rgba({highlight.red()}, {highlight.green()}, {highlight.blue()}, 40)"
    aside = aside_colour(palette).name()  # thinking and tool calls
    return (
        f"#Avatar {{ background: {highlight.name()}; color: {palette.highlightedText().color().name()};"
        " border-radius: 11px; font-weight: bold; }"
        f"#TurnMuted {{ color: {quiet}; }}"
        f"#ThinkingBlock {{ background: {aside}; border: none; border-left: 3px solid {quiet}; border-radius: 6px; }}"
        f"#ThinkingText {{ background: transparent; color: {quiet}; }}"
        f"#ThinkingHeader, #ThinkingIcon {{ color: {quiet}; }}"
        "#ThinkingHeader, #ThinkingHeader:checked { background: transparent; border: none; }"
        f"#ToolIcon {{ color: {highlight.name()}; }}"
        f"#ToolBlock {{ background: {aside}; border: none; border-left: 3px solid {highlight.name()};"
        " border-radius: 6px; }"
        "#ToolHeader, #ToolHeader:checked { background: transparent; border: none; }"
        f"#ToolStepText {{ color: {quiet}; }}"
        f"#ConsentCard {{ background: {notice}; border: 1px solid {highlight.name()}; border-radius: 8px; }}"
        f"#NoticeBar {{ background: {notice}; border: 1px solid {highlight.name()}; border-radius: 6px; }}"
        f"#ModelCard {{ background: {aside}; border: 1px solid {frame}; border-radius: 8px; }}"
        f"#ModelCardRole {{ color: {highlight.name()}; font-weight: 600; }}"
        f"#ModelCardFacts {{ color: {quiet}; }}"
        f"#StarterButton {{ border: 1px solid {frame}; border-radius: 8px; background: {aside}; }}"
        f"#StarterHint {{ color: {quiet}; }}"
        f"#StarterButton:hover, #StarterButton:focus {{ border-color: {highlight.name()}; }}"
        "#ChatColumn { background: transparent; }" + button_stylesheet(palette)
    )


def is_dark(palette: QPalette) -> bool:
    return palette.window().color().lightness() < 128
