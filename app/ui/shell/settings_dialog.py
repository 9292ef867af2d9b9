"""The settings dialog, built from the declarations in ``app.settings``: no setting has code of its own here.

One section per group, one control per declared kind (text, on/off, whole
number, number, choice), each with the declared label (with a mnemonic), help
as tooltip and accessible description. OK validates every value through
``app.settings.validate``; a refused value is named in a message inside the
dialog, its control takes the focus, and the dialog stays open.

Given the tool settings too, the dialog has four tabs: General, Tools
(``tools_page``: built-in tools, MCP servers, permissions, and the declared
"Tools" group), Voice (the declared "Voice" group; given the window's
``speaker``, the voice is picked from the system's voices and can be tried) and
Server (the declared "Server" group and, given ``new_key``, a New API key…
button); given the presets, a fifth: Presets (``app.ui.presets.presets_page``).
The Tools and Presets pages edit copies; the owner commits them after OK. The
Voice and Server pages' mnemonics are their own (General's letters are all
taken).

    dialog = SettingsDialog(settings, parent, tool_settings=tools)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        settings.update(dialog.values())
        commit_tool_settings(tools, dialog.edited_tool_settings(), notice)

``python -m app.ui.shell.settings_dialog [--tools]`` shows it with the defaults and prints what OK returns.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.settings import GROUPS, SETTINGS, Setting, Settings, SettingsError, Value, setting, validate
from app.settings.preset_book import PresetBook
from app.settings.presets import PRESET_KEYS, Preset
from app.store import Store
from app.tools.tool_settings import ToolKey, ToolSettings
from app.ui.accessible import ScrollPane
from app.ui.presets.presets_page import PresetsPage
from app.ui.shell.problem_bar import problem_bar
from app.ui.shell.tools_page import ToolsPage
from app.ui.shell.voice_page import voice_page

if TYPE_CHECKING:
    from app.speech import Speaker

#: The declared groups on pages of their own (when the dialog has pages), with mnemonics of their own.
SERVER_GROUP = "Server"
VOICE_GROUP = "Voice"
OWN_PAGES = (VOICE_GROUP, SERVER_GROUP)
#: The declared group shown on the Tools page (when the dialog has one) instead of with the others.
TOOLS_GROUP = "Tools"
FLOAT_DECIMALS = 2
FLOAT_STEP = 0.05
# Letters the buttons may take ("&OK", "&Cancel" on some platforms; "&Restore defaults").
_BUTTON_MNEMONICS = frozenset("ocr")


def with_mnemonic(label: str, used: set[str]) -> str:
    """``label`` with an ``&`` before a letter no other label took, preferring the start of a word."""
    starts = [i for i, ch in enumerate(label) if ch.isalnum() and (i == 0 or not label[i - 1].isalnum())]
    others = [i for i, ch in enumerate(label) if ch.isalnum() and i not in starts]
    for i in starts + others:
        letter = label[i].lower()
        if letter not in used:
            used.add(letter)
            return label[:i].replace("&", "&&") + "&" + label[i:].replace("&", "&&")
    return label.replace("&", "&&")


def _make_control(s: Setting, text: str) -> QWidget:
    """The widget for one declaration's kind; ``text`` is its label with a mnemonic (used by a checkbox)."""
    control: QWidget
    if s.kind == "bool":
        control = QCheckBox(text)
    elif s.kind == "choice":
        combo = QComboBox()
        for choice in s.choices:
            combo.addItem(s.choice_label(choice), choice)
        control = combo
    elif s.kind == "int":
        spin = QSpinBox()
        spin.setRange(int(s.minimum or 0), int(s.maximum or 0))
        control = spin
    elif s.kind == "float":
        double = QDoubleSpinBox()
        double.setDecimals(FLOAT_DECIMALS)
        double.setSingleStep(FLOAT_STEP)
        double.setRange(s.minimum or 0.0, s.maximum or 0.0)
        control = double
    elif s.multiline:
        edit = QPlainTextEdit()
        edit.setTabChangesFocus(True)  # Tab leaves the field instead of typing a tab: no keyboard trap
        edit.setMinimumHeight(edit.fontMetrics().lineSpacing() * 5)
        control = edit
    else:
        line = QLineEdit()
        if s.secret:
            line.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        control = line
    if isinstance(control, QAbstractSpinBox):
        control.setAccelerated(True)
        control.setSpecialValueText(s.minimum_label)
    control.setObjectName(s.key)
    control.setAccessibleName(s.label)
    control.setAccessibleDescription(s.help)
    control.setToolTip(s.help)
    control.setWhatsThis(s.help)
    return control


def _write_control(control: QWidget, value: Value) -> None:
    if isinstance(control, QCheckBox):
        control.setChecked(bool(value))
    elif isinstance(control, QComboBox):
        control.setCurrentIndex(control.findData(value))
    elif isinstance(control, QSpinBox):
        control.setValue(int(value))
    elif isinstance(control, QDoubleSpinBox):
        control.setValue(float(value))
    elif isinstance(control, QPlainTextEdit):
        control.setPlainText(str(value))
    elif isinstance(control, QLineEdit):
        control.setText(str(value))


def _read_control(control: QWidget) -> object:
    """What the control holds, unchecked: a spin box with half-typed text gives that text, for validation to refuse."""
    if isinstance(control, QCheckBox):
        return control.isChecked()
    if isinstance(control, QComboBox):
        return control.currentData()
    if isinstance(control, QSpinBox | QDoubleSpinBox):
        return control.value() if control.hasAcceptableInput() else control.cleanText()
    if isinstance(control, QPlainTextEdit):
        return control.toPlainText()
    if isinstance(control, QLineEdit):
        return control.text()
    raise TypeError(f"no reader for {type(control).__name__}")


class SettingsDialog(QDialog):
    """Edits the settings marked ``in_dialog``; the caller applies ``values()`` after OK."""

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        tool_settings: ToolSettings | None = None,
        store: Store | None = None,
        new_key: Callable[[QWidget], None] | None = None,
        speaker: Speaker | None = None,
        presets: PresetBook | None = None,
        preset_from_chat: Callable[[], Preset | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.presets_page = (
            PresetsPage(presets, {k: settings[k] for k in PRESET_KEYS}, preset_from_chat) if presets else None
        )
        self._declared = [s for s in SETTINGS if s.in_dialog]
        self._controls: dict[str, QWidget] = {}
        self._new_key = new_key
        self._speaker = speaker
        used = set(_BUTTON_MNEMONICS)
        own = {group: set(_BUTTON_MNEMONICS) for group in OWN_PAGES}
        layout = QVBoxLayout(self)
        boxes = {group: self._group_box(group, own.get(group, used)) for group in GROUPS}
        self.tools_page: ToolsPage | None = None
        if tool_settings is None:
            for box in boxes.values():
                layout.addWidget(box)
        else:
            layout.addWidget(self._build_tabs(boxes, tool_settings, store), 1)
        layout.addWidget(self._make_problem_bar())
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        restore = self._buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.setText("&Restore defaults")
        restore.setToolTip("Put every setting in this dialog back to its default (nothing changes until OK).")
        restore.clicked.connect(self._on_restore_clicked)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        layout.addWidget(self._buttons)
        self._chain_tab_order(self._controls.values())
        self.apply_values({s.key: settings[s.key] for s in self._declared})

    def _group_box(self, group: str, used: set[str]) -> QGroupBox:
        box = QGroupBox(group)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for s in self._declared:
            if s.group == group:
                self._add_row(form, s, with_mnemonic(s.label, used))
        return box

    def _build_tabs(self, boxes: dict[str, QGroupBox], tool_settings: ToolSettings, store: Store | None) -> QTabWidget:
        """General settings on one tab; the tools, their servers and permissions (and the "Tools" group) on another."""
        general = QWidget()
        column = QVBoxLayout(general)
        for group, box in boxes.items():
            if group not in (TOOLS_GROUP, *OWN_PAGES):
                column.addWidget(box)
        column.addStretch(1)
        limits = boxes.get(TOOLS_GROUP)
        if limits is not None:
            limits.setTitle("Each answer")
        self.tools_page = ToolsPage(tool_settings, limits, store=store)
        scroll = ScrollPane()
        scroll.setAccessibleName("Tools")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.tools_page)
        scroll.setMinimumWidth(self.tools_page.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings sections")
        self.tabs.addTab(general, "General")
        self.tabs.addTab(scroll, "Tools")
        if VOICE_GROUP in boxes:
            self.tabs.addTab(voice_page(boxes[VOICE_GROUP], self._controls, self._speaker), "Voice")
        if SERVER_GROUP in boxes:
            self.tabs.addTab(self._server_page(boxes[SERVER_GROUP]), "Server")
        if self.presets_page is not None:
            self.tabs.addTab(self.presets_page, "Presets")
        return self.tabs

    def _server_page(self, box: QGroupBox) -> QWidget:
        """The local server's settings and, when the owner can make one, a New API key… button."""
        page = QWidget()
        column = QVBoxLayout(page)
        box.setTitle("Local server (File → Server → Run the local server)")
        column.addWidget(box)
        if self._new_key is not None:
            button = QPushButton("New API &key…")
            button.setToolTip(
                "Make the key clients must send (needed for any address but 127.0.0.1); it is shown once and "
                "only its hash is kept"
            )
            button.setAccessibleName("New API key")
            make = self._new_key
            button.clicked.connect(lambda: make(self))
            row = QHBoxLayout()
            row.addWidget(button)
            row.addStretch(1)
            column.addLayout(row)
        column.addStretch(1)
        return page

    def revoked_chat_permissions(self) -> list[tuple[int, ToolKey]]:
        """The single-chat permissions the user revoked (the window writes them when OK is pressed)."""
        return [] if self.tools_page is None else self.tools_page.chat_permissions.revoked()

    def edited_presets(self) -> PresetBook | None:
        """The presets as the Presets page left them (a copy: nothing changes until the owner commits it)."""
        return self.presets_page.edited if self.presets_page is not None else None

    def edited_tool_settings(self) -> ToolSettings | None:
        """The tool settings as the Tools page left them (a copy: nothing changes until the owner commits it)."""
        return self.tools_page.edited if self.tools_page is not None else None

    def done(self, result: int) -> None:
        if self.tools_page is not None:
            self.tools_page.shutdown()  # OK or Cancel: the servers started for listing stop
        super().done(result)

    def _add_row(self, form: QFormLayout, s: Setting, text: str) -> None:
        control = _make_control(s, text)
        if isinstance(control, QCheckBox):
            form.setWidget(form.rowCount(), QFormLayout.ItemRole.FieldRole, control)  # its own text is the label
        else:
            label = QLabel(text)
            label.setBuddy(control)
            label.setToolTip(s.help)
            form.addRow(label, control)
        self._connect_edited(control)
        self._controls[s.key] = control

    def _make_problem_bar(self) -> QWidget:
        self._problem, self._problem_text = problem_bar(self)
        return self._problem

    def _connect_edited(self, control: QWidget) -> None:
        if isinstance(control, QCheckBox):
            control.toggled.connect(self._on_control_edited)
        elif isinstance(control, QComboBox):
            control.currentIndexChanged.connect(self._on_control_edited)
        elif isinstance(control, QSpinBox | QDoubleSpinBox | QLineEdit | QPlainTextEdit):
            control.textChanged.connect(self._on_control_edited)

    def _chain_tab_order(self, controls: Iterable[QWidget]) -> None:
        for first, second in itertools.pairwise(controls):
            QWidget.setTabOrder(first, second)

    def control(self, key: str) -> QWidget:
        """The control that edits ``key`` (``KeyError`` for a setting not in the dialog)."""
        return self._controls[key]

    def problem(self) -> str | None:
        """The message shown about a refused value, or None."""
        return self._problem_text.text() if not self._problem.isHidden() else None

    def values(self) -> dict[str, Value]:
        """Every dialog setting's value, checked; ``SettingsError`` names the first refused one."""
        return {s.key: validate(s.key, _read_control(self._controls[s.key])) for s in self._declared}

    def apply_values(self, values: Mapping[str, object]) -> bool:
        """Show these values in the controls: all of them, or none with a message if one is refused.

        Keys the dialog does not show (such as the last model's path) are checked and then ignored.
        """
        try:
            checked = {key: validate(key, value) for key, value in values.items()}
        except SettingsError as error:
            self._show_problem(error)
            return False
        for key, value in checked.items():
            if key in self._controls:
                _write_control(self._controls[key], value)
        self._problem.hide()
        return True

    def accept(self) -> None:
        try:
            self.values()
        except SettingsError as error:
            self._show_problem(error)
            return
        super().accept()

    def _show_problem(self, error: SettingsError) -> None:
        self._problem_text.setText(str(error))
        self._problem.show()
        control = self._controls.get(error.key or "")
        if control is not None:
            control.setFocus()
            if isinstance(control, QAbstractSpinBox | QLineEdit):
                control.selectAll()

    @Slot()
    def _on_restore_clicked(self) -> None:
        self.apply_values({s.key: s.default for s in self._declared})

    @Slot()
    def _on_control_edited(self) -> None:
        self._problem.hide()


def main() -> None:
    app = QApplication(sys.argv)
    settings = Settings()
    settings.set("system_prompt", "Answer briefly.")
    tools = ToolSettings(Path(tempfile.mkdtemp(prefix="gemma-desk-tools-")) / "tools.json")
    dialog = SettingsDialog(settings, tool_settings=tools if "--tools" in sys.argv else None)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        print(json.dumps({key: value for key, value in dialog.values().items() if value != setting(key).default}))
        edited = dialog.edited_tool_settings()
        if edited is not None:
            print(json.dumps(edited.to_json()))
    app.quit()


if __name__ == "__main__":
    main()
