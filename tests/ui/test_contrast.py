"""Colour contrast of the window's text and states against WCAG 2.x level AA, in the light and dark themes.

The ratios come from ``app.ui.shell.contrast`` (no Qt: WCAG's relative luminance); the colours from the palettes
the app installs (``apply_theme``) and the colours the window's own styles use. Normal text needs 4.5:1, the
states of controls (the accent that marks selection and focus, a card's border) 3:1. Disabled text is exempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.chat.consent_card import _muted
from app.ui.chat.tool_block import _COLOURS
from app.ui.chat.turn_style import bubble_colour
from app.ui.shell.contrast import (
    AA_COMPONENT,
    AA_TEXT,
    blend,
    contrast_ratio,
    parse,
    relative_luminance,
)
from app.ui.shell.theme import ERROR_COLOURS, apply_theme, aside_colour, window_stylesheet

ROLE = QPalette.ColorRole


def test_ratios_are_wcag_relative_luminance() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # and the just-passes one
    assert relative_luminance("#fff") == pytest.approx(1.0)
    assert contrast_ratio("#1a73e8", "#fff") == contrast_ratio("#fff", "#1a73e8")
    assert blend("#000000", 0.5, "#ffffff") == (128, 128, 128)
    assert parse("#0a0B0c") == (10, 11, 12)


def _hex(colour: QColor, under: QColor | None = None) -> str:
    if under is not None and colour.alpha() < 255:
        r, g, b = blend((colour.red(), colour.green(), colour.blue()), colour.alphaF(), _rgb(under))
        return f"#{r:02x}{g:02x}{b:02x}"
    return colour.name()


def _rgb(colour: QColor) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


def _stylesheet_colour(sheet: str, selector: str, key: str) -> str:
    rule = re.search(re.escape(selector) + r" \{([^}]*)\}", sheet)
    assert rule is not None, sheet
    value = re.search(key + r": ([^;]+);", rule.group(1))
    assert value is not None, rule.group(0)
    return value.group(1).strip()


def _rgba_over(value: str, under: str) -> str:
    """A stylesheet ``rgba(r, g, b, a)`` (a: 0–255) as drawn over ``under``, or a plain #rrggbb."""
    found = re.fullmatch(r"rgba\((\d+), (\d+), (\d+), (\d+)\)", value)
    if found is None:
        return value
    r, g, b, a = (int(x) for x in found.groups())
    mixed = blend((r, g, b), a / 255, under)
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def theme_pairs(theme: str) -> Iterator[tuple[str, str, str, float]]:
    """(what, foreground, background, needed ratio) for every pair the window draws in ``theme``."""
    apply_theme(theme)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    p = app.palette()
    window, base = p.color(ROLE.Window).name(), p.color(ROLE.Base).name()
    for what, fg, bg in (
        ("window text on window", ROLE.WindowText, ROLE.Window),
        ("text on base (messages, fields)", ROLE.Text, ROLE.Base),
        ("button text on button", ROLE.ButtonText, ROLE.Button),
        ("placeholder on base", ROLE.PlaceholderText, ROLE.Base),
        ("muted text (placeholder role) on window", ROLE.PlaceholderText, ROLE.Window),
        ("highlighted text on highlight", ROLE.HighlightedText, ROLE.Highlight),
        ("link on base", ROLE.Link, ROLE.Base),
        ("link on window", ROLE.Link, ROLE.Window),
        ("tooltip text on tooltip", ROLE.ToolTipText, ROLE.ToolTipBase),
    ):
        yield what, _hex(p.color(fg), p.color(bg)), p.color(bg).name(), AA_TEXT
    yield "accent (selection, focus, checked) on window", p.color(ROLE.Highlight).name(), window, AA_COMPONENT
    yield "accent (selection, focus, checked) on base", p.color(ROLE.Highlight).name(), base, AA_COMPONENT
    sheet = window_stylesheet(p)
    user_bg = bubble_colour(p).name()
    yield "text on your message's bubble", p.color(ROLE.Text).name(), user_bg, AA_TEXT
    muted = _hex(p.color(ROLE.PlaceholderText), p.color(ROLE.Base))
    yield "muted text (a document's details) on your message's bubble", muted, user_bg, AA_TEXT
    aside = aside_colour(p).name()
    yield "muted text (thinking, footers, cards) on the thinking/tool block", muted, aside, AA_TEXT
    yield "text on the thinking/tool block", p.color(ROLE.Text).name(), aside, AA_TEXT
    yield (
        "quiet text the stylesheet sets (#ThinkingText) on the block",
        _stylesheet_colour(sheet, "#ThinkingText", "color"),
        aside,
        AA_TEXT,
    )
    notice_bg = _rgba_over(_stylesheet_colour(sheet, "#NoticeBar", "background"), window)
    yield "window text on the notice bar / consent card", p.color(ROLE.WindowText).name(), notice_bg, AA_TEXT
    border = _stylesheet_colour(sheet, "#ConsentCard", "border").split()[-1]
    yield "consent card border (accent) on window", border, window, AA_COMPONENT
    probe = QWidget()
    yield "consent card's secondary text on the card", _muted(probe), notice_bg, AA_TEXT
    dark = theme == "dark"
    yield "error text on window", ERROR_COLOURS[dark], window, AA_TEXT
    yield "error text on base", ERROR_COLOURS[dark], base, AA_TEXT
    for kind, colours in _COLOURS.items():
        yield f"tool status '{kind}' on window", colours[dark], window, AA_TEXT


@pytest.fixture
def restore_theme(qapp: QApplication) -> Iterator[None]:
    yield
    apply_theme("light")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_and_states_meet_wcag_aa(theme: str, restore_theme: None) -> None:
    table, failing = [], []
    for what, fg, bg, need in theme_pairs(theme):
        ratio = contrast_ratio(fg, bg)
        table.append(f"{theme:5} {what:48} {fg} on {bg}: {ratio:5.2f} (needs {need})")
        if ratio < need:
            failing.append(table[-1])
    print("\n".join(table))
    assert not failing, "below WCAG AA:\n" + "\n".join(failing)


def test_disabled_text_is_exempt_but_still_differs_from_enabled(restore_theme: None) -> None:
    for theme in ("light", "dark"):
        apply_theme(theme)
        p = QApplication.instance().palette()  # type: ignore[union-attr]
        disabled = p.color(QPalette.ColorGroup.Disabled, ROLE.WindowText)
        assert disabled.name() != p.color(ROLE.WindowText).name(), theme  # disabled controls still look disabled
