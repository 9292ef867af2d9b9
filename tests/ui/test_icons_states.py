"""Icons and states you can see: the real window's buttons carry icons and tooltips, switches look on or off,
icons follow a dark theme, and a model loading or a download running shows a turning busy icon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from app.ui import icons
from app.ui.model_setup.downloads import PAUSED, RUNNING
from app.ui.shell.main_window import MainWindow
from app.ui.shell.theme import apply_theme
from tests.models.http_fixture import FileServer
from tests.models.served_catalog import endpoint, serve_catalog
from tests.ui.conftest import Launch, WindowFactory

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def system_colours_after() -> Iterator[None]:
    """The theme is the application's: give the next test the system's colours back."""
    yield
    apply_theme("system")


def keys(sequence: str) -> str:
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


def centre_colour(widget: QWidget) -> QColor:
    """The colour most of the button's background shows (the commonest pixel along its left padding)."""
    image = widget.grab().toImage()
    counts: dict[int, int] = {}
    for y in range(3, image.height() - 3):
        for x in range(2, 5):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
    return QColor.fromRgb(max(counts, key=lambda c: counts[c]))


def ink_lightness(icon: QIcon, state: QIcon.State = QIcon.State.Off) -> int:
    """The mean lightness of an icon's drawn (opaque) pixels."""
    image = icon.pixmap(QSize(24, 24), 1.0, QIcon.Mode.Normal, state).toImage()
    ink = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    solid = [c.lightness() for c in ink if c.alpha() > 200]
    assert solid, "the icon draws nothing"
    return sum(solid) // len(solid)


def same_colour(a: QColor, b: QColor, tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def visible_buttons(window: MainWindow) -> list[QAbstractButton]:
    """The buttons of the composer, the messages' headers, the sidebar and the status bar that are on screen."""
    found: list[QAbstractButton] = []
    for area in (window.composer, window.sidebar, window.status):
        found += [b for b in area.findChildren(QAbstractButton) if b.isVisible()]
    for message in window.chat.messages:
        found += [b for b in message.findChildren(QToolButton, "MessageAction") if b.isVisible()]
    return found


def test_every_visible_button_has_an_icon_and_a_tooltip(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    from tests.ui.test_server_switch import configure

    configure(max_tokens=8)
    window = open_window(tiny_model)
    qtbot.keyClicks(window.composer.input, "Hello")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2 and not window.controller.generating, timeout=20_000)
    qtbot.mouseClick(window.chat.messages[1].regenerate_button, Qt.MouseButton.LeftButton)  # a second version
    qtbot.waitUntil(lambda: window.chat.messages[1].next_button.isVisible(), timeout=20_000)
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)
    qtbot.keyClicks(window.composer.input, "More")  # Send is enabled
    buttons = visible_buttons(window)
    names = {b.accessibleName() or b.text() for b in buttons}
    for expected in ("Attach files", "Think before answering", "Camera", "Push to talk", "Send message", "New chat"):
        assert expected in names
    assert {"Copy", "Edit", "Regenerate", "Speak", "‹", "›"} <= {b.text() for b in buttons}
    for button in buttons:
        label = button.accessibleName() or button.text() or type(button.parent()).__name__
        assert not button.icon().isNull(), f"{label} has no icon"
        assert button.toolTip().strip(), f"{label} has no tooltip"
        if not isinstance(button.parent(), QLineEdit):  # the search box's magnifier: its action's (below)
            assert icons.icon_name(button), f"{label}'s icon is not one of ours (it would not follow the theme)"
    search = window.sidebar.search.actions()
    assert any(icons.icon_name(action) == "search" for action in search)  # the magnifier in the search box
    menu_icons = [a for m in window.menuBar().actions() if m.menu() for a in m.menu().actions() if icons.icon_name(a)]
    assert len(menu_icons) >= 10  # File, Chat and Help items


def test_think_looks_on_or_off_and_names_its_shortcut(qtbot: QtBot, launch: Launch) -> None:
    window = launch()
    think = window.composer.think_button
    window.composer.set_thinking(False)
    qtbot.waitUntil(think.isVisible)
    assert keys("Ctrl+T") in think.toolTip() and ": off." in think.toolTip()
    off_background = centre_colour(think)
    off_icon = think.icon().pixmap(QSize(20, 20), 1.0, QIcon.Mode.Normal, QIcon.State.Off).toImage()

    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts need an active window
    qtbot.waitUntil(window.isActiveWindow)
    window.composer.focus_input()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # the real shortcut
    assert think.isChecked() and window.controller.thinking_for_new
    assert ": on." in think.toolTip()
    on_background = centre_colour(think)
    on_icon = think.icon().pixmap(QSize(20, 20), 1.0, QIcon.Mode.Normal, QIcon.State.On).toImage()
    assert same_colour(on_background, icons.accent()), (on_background.name(), icons.accent().name())
    assert not same_colour(off_background, icons.accent())
    assert on_icon != off_icon  # the lit bulb, not the outline
    assert ink_lightness(think.icon(), QIcon.State.On) != ink_lightness(think.icon(), QIcon.State.Off)

    qtbot.keyClick(window.composer.input, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert not think.isChecked() and same_colour(centre_colour(think), off_background, 4)


def test_dark_theme_draws_light_icons_and_light_theme_dark_ones(qtbot: QtBot, launch: Launch) -> None:
    window = launch(theme="light")
    attach = window.composer.attach_button
    assert ink_lightness(attach.icon()) < 90
    before = attach.icon().cacheKey()

    window.settings.set("theme", "dark")
    window.apply_theme()
    assert attach.icon().cacheKey() != before  # re-made in the new palette's colours
    assert ink_lightness(attach.icon()) > 180
    on_accent = (window.composer.send_button, window.composer.think_button)  # drawn on the accent colour
    for button in visible_buttons(window):
        if button.isEnabled() and button not in on_accent:
            assert ink_lightness(button.icon()) > 150, button.accessibleName() or button.text()
    image = QImage(attach.grab().toImage())
    lightest = max(image.pixelColor(x, y).lightness() for x in range(image.width()) for y in range(image.height()))
    assert lightest > 200  # on screen, too: light ink on the dark composer

    window.settings.set("theme", "light")
    window.apply_theme()
    assert ink_lightness(attach.icon()) < 90


def test_the_server_switch_looks_different_on_and_off(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    from tests.ui.test_server_switch import configure, free_port, switch

    configure(server_port=free_port())
    window = open_window(tiny_model)
    button = window.server.button
    qtbot.waitUntil(button.isVisible)
    off_look = button.grab().toImage()
    off_background = centre_colour(button)
    assert button.text() == "Server: off"
    switch(qtbot, window, True)
    assert window.server.state == "on", window.notice_bar.label.text()
    assert same_colour(centre_colour(button), icons.accent())
    assert not same_colour(off_background, icons.accent())
    assert button.grab().toImage() != off_look
    on_glyph = button.icon().pixmap(QSize(20, 20), 1.0, QIcon.Mode.Normal, QIcon.State.On).toImage()
    off_glyph = button.icon().pixmap(QSize(20, 20), 1.0, QIcon.Mode.Normal, QIcon.State.Off).toImage()
    assert on_glyph != off_glyph  # a server with its network, not the struck-out one
    switch(qtbot, window, False)
    assert same_colour(centre_colour(button), off_background, 4)


def test_a_model_loading_shows_a_turning_busy_icon(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    window = open_window()
    busy = window.status.busy
    assert not busy.isVisible()
    window.load_model(tiny_model)
    assert busy.isVisible() and busy.turning and "Loading" in busy.toolTip()
    first = busy.angle
    qtbot.waitUntil(lambda: busy.angle != first or window.bridge.model_info is not None, timeout=5_000)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
    assert not busy.isVisible() and not busy.turning


def test_a_running_download_shows_a_turning_busy_icon_and_pausing_stops_it(
    qtbot: QtBot, launch: Launch, server: FileServer, tmp_path: Path, tiny_model: Path
) -> None:
    catalog = serve_catalog(server, tmp_path, tiny_model.read_bytes())
    server.slow_s, server.piece = 0.02, 4096  # ~200 KB/s: it runs long enough to look at
    window = launch(hf_endpoint=endpoint(server), context_size=2048, seed=1)
    qtbot.waitUntil(lambda: window.models.report is not None, timeout=20_000)
    window.models.catalog_path = catalog
    window.models.check_machine()
    welcome = window.welcome
    qtbot.waitUntil(lambda: welcome.primary.text().startswith("Download Tiny Gemma 4 ("), timeout=20_000)
    assert not welcome.busy.isVisible()
    qtbot.mouseClick(welcome.primary, Qt.MouseButton.LeftButton)
    job = welcome.job
    assert job is not None
    qtbot.waitUntil(lambda: job.state == RUNNING and welcome.busy.isVisible(), timeout=10_000)
    assert welcome.busy.turning
    assert not welcome.pause.icon().isNull() and not welcome.cancel.icon().isNull()
    qtbot.mouseClick(welcome.pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.state == PAUSED, timeout=10_000)
    assert not welcome.busy.isVisible() and not welcome.busy.turning
    job.cancel()


def test_busy_icon_turns_only_while_shown(qtbot: QtBot) -> None:
    busy = icons.BusyIcon("Working…")
    qtbot.addWidget(busy)
    assert not busy.turning
    busy.show()
    qtbot.waitUntil(lambda: busy.angle > 0, timeout=2_000)
    frames: list[QImage] = []
    for _ in range(2):
        frames.append(busy.grab().toImage())
        start = busy.angle
        qtbot.waitUntil(lambda s=start: busy.angle != s, timeout=2_000)
    assert frames[0] != frames[1]  # it turns on screen
    busy.hide()
    assert not busy.turning


def test_every_icon_name_is_a_glyph_of_the_font(qtbot: QtBot) -> None:
    for name in icons.NAMES:
        made = icons.icon(name)
        assert not made.pixmap(QSize(16, 16)).isNull(), name
    assert set(icons.MENU_ICONS.values()) <= set(icons.NAMES)


def test_the_composer_row_names_its_buttons_where_it_has_room(qtbot: QtBot, launch: Launch) -> None:
    window = launch()
    attach = window.composer.attach_button
    window.resize(1240, 820)
    qtbot.waitUntil(lambda: attach.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    assert attach.width() > attach.iconSize().width() + window.fontMetrics().horizontalAdvance("Attach")
    window.splitter.setSizes([400, 300])  # a narrow chat column
    window.resize(720, 820)
    qtbot.waitUntil(lambda: attach.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly)
    row = [b for b in window.composer.findChildren(QToolButton) if b.isVisible() and icons.icon_name(b)]
    assert all(b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly for b in row)
    assert all(b.toolTip() for b in row)  # the names are in the tooltips
    send = window.composer.send_button
    assert send.geometry().right() <= window.composer.width()  # nothing is pushed out of the box
    window.splitter.setSizes([240, 1000])
    window.resize(1240, 820)
    qtbot.waitUntil(lambda: attach.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
