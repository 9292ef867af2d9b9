"""The settings dialog: a control per declaration, values in and out, defaults, refused values, the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.settings import SETTINGS, Setting, Settings
from app.ui.shell.settings_dialog import (
    OWN_PAGES,
    SettingsDialog,
    _make_control,
    _read_control,
    _write_control,
    with_mnemonic,
)

pytestmark = pytest.mark.gui

DIALOG_SETTINGS = [s for s in SETTINGS if s.in_dialog]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "settings.json")


@pytest.fixture
def dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    widget = SettingsDialog(settings)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _button(dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> QWidget:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    return box.button(which)


def _mnemonic_text(dialog: SettingsDialog, control: QWidget) -> str:
    """The text that carries ``control``'s mnemonic: its buddy label's, or a checkbox's own."""
    if isinstance(control, QCheckBox):
        return control.text()
    labels = [label for label in dialog.findChildren(QLabel) if label.buddy() is control]
    assert len(labels) == 1
    return labels[0].text()


def test_every_dialog_setting_has_a_labelled_control(dialog: SettingsDialog) -> None:
    pages: dict[str, list[str]] = {}  # the Voice and Server pages' letters are their own
    for s in DIALOG_SETTINGS:
        control = dialog.control(s.key)
        assert control.accessibleName() == s.label
        assert control.toolTip() == s.help
        text = _mnemonic_text(dialog, control)
        assert text.replace("&", "") == s.label and text.count("&") == 1
        page = s.group if s.group in OWN_PAGES else "General"
        pages.setdefault(page, []).append(text[text.index("&") + 1].lower())
    for letters in pages.values():
        assert len(letters) == len(set(letters)), "two controls on one page share a mnemonic"
        assert "r" not in letters  # taken by Restore defaults


def test_controls_follow_the_declared_kind(dialog: SettingsDialog) -> None:
    expected = {"bool": QCheckBox, "int": QSpinBox, "float": QDoubleSpinBox, "choice": QComboBox}
    for s in DIALOG_SETTINGS:
        control = dialog.control(s.key)
        if s.kind == "str":
            assert isinstance(control, QPlainTextEdit if s.multiline else QLineEdit)
        else:
            assert isinstance(control, expected[s.kind])
    for s in SETTINGS:
        if not s.in_dialog:
            with pytest.raises(KeyError, match=f"^'{s.key}'$"):
                dialog.control(s.key)


def test_shows_the_current_settings(qtbot: QtBot, settings: Settings) -> None:
    settings.update({"temperature": 0.4, "top_k": 0, "theme": "dark", "vision_budget": 1120, "thinking_default": True})
    settings.set("system_prompt", "Be brief.")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.values() == {s.key: settings[s.key] for s in DIALOG_SETTINGS}
    top_k = dialog.control("top_k")
    assert isinstance(top_k, QSpinBox) and top_k.text() == "Off"  # the minimum's declared meaning


def test_changing_controls_changes_values(qtbot: QtBot, dialog: SettingsDialog) -> None:
    prompt = dialog.control("system_prompt")
    assert isinstance(prompt, QPlainTextEdit)
    prompt.setFocus()
    qtbot.keyClicks(prompt, "Answer in French.")
    thinking = dialog.control("thinking_default")
    qtbot.mouseClick(thinking, Qt.MouseButton.LeftButton)
    temperature = dialog.control("temperature")
    assert isinstance(temperature, QDoubleSpinBox)
    temperature.setValue(0.35)
    top_k = dialog.control("top_k")
    assert isinstance(top_k, QSpinBox)
    top_k.selectAll()
    qtbot.keyClicks(top_k, "40")
    budget = dialog.control("vision_budget")
    assert isinstance(budget, QComboBox)
    budget.setCurrentIndex(budget.findData(1120))
    theme = dialog.control("theme")
    assert isinstance(theme, QComboBox)
    theme.setCurrentIndex(theme.findData("light"))

    values = dialog.values()
    assert values["system_prompt"] == "Answer in French."
    assert values["thinking_default"] is True
    assert values["temperature"] == pytest.approx(0.35)
    assert values["top_k"] == 40
    assert values["vision_budget"] == 1120
    assert values["theme"] == "light"
    assert set(values) == {s.key for s in DIALOG_SETTINGS}


def test_restore_defaults(qtbot: QtBot, settings: Settings) -> None:
    settings.update({"temperature": 0.2, "seed": 42, "theme": "dark", "system_prompt": "x"})
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.RestoreDefaults), Qt.MouseButton.LeftButton)
    assert dialog.values() == {s.key: s.default for s in DIALOG_SETTINGS}
    assert settings["temperature"] == 0.2  # nothing changes until the caller applies the values


def test_ok_then_the_caller_applies_the_values(qtbot: QtBot, settings: Settings, dialog: SettingsDialog) -> None:
    seed = dialog.control("seed")
    assert isinstance(seed, QSpinBox)
    seed.setValue(1234)
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    settings.update(dialog.values())
    assert settings["seed"] == 1234


def test_cancel_rejects(qtbot: QtBot, dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.rejected):
        qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_a_refused_value_is_named_and_nothing_changes(dialog: SettingsDialog) -> None:
    before = dialog.values()
    assert dialog.apply_values({"top_k": 10, "temperature": 5}) is False
    assert dialog.problem() == "Temperature must be between 0 and 2 (got 5)."
    assert dialog.values() == before  # all or nothing: top_k was not changed either
    assert dialog.apply_values({"top_k": 10}) is True
    assert dialog.problem() is None
    assert dialog.values()["top_k"] == 10


def test_ok_with_a_half_typed_number_keeps_the_dialog_open(qtbot: QtBot, dialog: SettingsDialog) -> None:
    context = dialog.control("context_size")
    assert isinstance(context, QSpinBox)
    context.setFocus()
    context.selectAll()
    qtbot.keyClicks(context, "5")  # on its way to 512 or more: not yet a value
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.problem() == "Context size must be between 512 and 262144 (got 5)."
    assert context.hasFocus()  # the refused control takes the focus, its text selected
    qtbot.keyClicks(context, "1024")
    assert dialog.problem() is None  # a new value clears the message
    with qtbot.waitSignal(dialog.accepted):
        dialog.accept()
    assert dialog.values()["context_size"] == 1024


def test_tab_reaches_every_control(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    controls = {dialog.control(s.key): s.key for s in DIALOG_SETTINGS}
    first = dialog.control(DIALOG_SETTINGS[0].key)
    first.setFocus()
    qtbot.waitUntil(first.hasFocus)
    reached: list[str] = []
    for _ in range(len(controls) + 5):  # the buttons too, then round again
        widget = QApplication.focusWidget()
        while widget is not None and widget not in controls:
            widget = widget.parentWidget()  # a spin box's focus is on its line edit
        if widget is not None and controls[widget] not in reached:
            reached.append(controls[widget])
        focused = QApplication.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert reached == [s.key for s in DIALOG_SETTINGS]  # every one, in the declared order


def test_mnemonics_prefer_word_starts_and_skip_taken_letters() -> None:
    used = {"o", "c", "r"}
    assert with_mnemonic("Top-p", used) == "&Top-p"
    assert with_mnemonic("Top-k", used) == "Top-&k"
    assert with_mnemonic("Context size", used) == "Context &size"
    assert with_mnemonic("Salt & pepper", {"s", "p"}) == "S&alt && pepper"
    assert with_mnemonic("ok", {"o", "k"}) == "ok"


def test_a_single_line_text_setting_gets_a_line_edit(qtbot: QtBot) -> None:
    declared = Setting(key="models_folder", kind="str", default="", label="Models folder", help="Where.", group="Model")
    control = _make_control(declared, "&Models folder")
    qtbot.addWidget(control)
    assert isinstance(control, QLineEdit)
    _write_control(control, "/tmp/models")
    assert _read_control(control) == "/tmp/models"
