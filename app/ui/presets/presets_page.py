"""Settings → Presets: the presets new chats can start with — new, copy, rename, edit, delete, and "From this chat".

The page edits a copy of the window's ``PresetBook`` (``edited``); after OK the owner commits it
(``ChatPresets.commit``), Cancel leaves it behind. Built-in presets are shown read-only: copy one to change it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import Value, setting
from app.settings.preset_book import PresetBook
from app.settings.presets import PRESET_KEYS, Preset, PresetError, check_name, check_prompt

#: The Think choices: (shown, stored).
THINK_CHOICES: tuple[tuple[str, bool | None], ...] = (
    ("As set for new chats (Settings → General)", None),
    ("On: think before answering", True),
    ("Off: answer at once", False),
)


class SamplingRow(QWidget):
    """One setting a preset may set: a check box (set it, or leave the user's setting) and its value."""

    def __init__(self, key: str, fallback: Value, on_edit: Callable[[], None]) -> None:
        super().__init__()
        s = setting(key)
        self.key = key
        self.use = QCheckBox(s.label)
        self.use.setToolTip(f"Set {s.label.lower()} for chats with this preset. Unticked: the setting as it is.")
        self.value: QSpinBox | QDoubleSpinBox
        if s.kind == "float":
            self.value = QDoubleSpinBox()
            self.value.setDecimals(2)
            self.value.setSingleStep(0.05)
            self.value.setRange(float(s.minimum or 0), float(s.maximum or 0))
        else:
            self.value = QSpinBox()
            self.value.setRange(int(s.minimum or 0), int(s.maximum or 0))
        self.value.setSpecialValueText(s.minimum_label)
        self.value.setAccessibleName(s.label)
        self.value.setToolTip(s.help)
        self.value.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.UpDownArrows)
        self._fallback = fallback
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.use)
        layout.addStretch(1)
        layout.addWidget(self.value)
        self.use.toggled.connect(self.value.setEnabled)
        self.use.toggled.connect(lambda _on: on_edit())
        self.value.valueChanged.connect(lambda _v: on_edit())

    def show_value(self, sampling: dict[str, Value]) -> None:
        present = self.key in sampling
        self.use.setChecked(present)
        self.value.setEnabled(present)
        number = sampling.get(self.key, self._fallback)
        if isinstance(self.value, QDoubleSpinBox):
            self.value.setValue(float(number))
        else:
            self.value.setValue(int(number))

    def read(self) -> Value | None:
        if not self.use.isChecked():
            return None
        return self.value.value()


class PresetsPage(QWidget):
    """``PresetsPage(book, fallbacks, from_chat)``: ``from_chat`` gives the open chat's set-up as a preset."""

    def __init__(
        self, book: PresetBook, fallbacks: dict[str, Value], from_chat: Callable[[], Preset | None] | None = None
    ) -> None:
        super().__init__()
        self.edited = book.copy()
        self._from_chat = from_chat
        self._showing: str | None = None  # the name of the preset in the editor
        self._loading = False
        self.list = QListWidget()
        self.list.setAccessibleName("Presets")
        self.list.setToolTip("The presets a new chat can start with (New chat ▾)")
        self.list.setMinimumWidth(160)
        self.list.currentItemChanged.connect(lambda item, _old: self._show(item))
        layout = QHBoxLayout(self)
        column = QVBoxLayout()
        column.addWidget(self.list, 1)
        column.addLayout(self._build_buttons())
        layout.addLayout(column, 2)
        layout.addWidget(self._build_editor(fallbacks), 3)
        self._refill(book.default().name)

    def _build_buttons(self) -> QGridLayout:
        grid = QGridLayout()
        self.new_button = self._button("&New", "A new preset with no system prompt", self._on_new)
        self.copy_button = self._button("Co&py", "A new preset like the one selected", self._on_copy)
        self.delete_button = self._button("&Delete", "Delete the preset selected", self._on_delete)
        self.from_chat_button = self._button(
            "From this c&hat",
            "Save the open chat's system prompt, Think and sampling as a new preset",
            self._on_from_chat,
        )
        self.from_chat_button.setEnabled(self._from_chat is not None and self._from_chat() is not None)
        for i, button in enumerate((self.new_button, self.copy_button, self.delete_button, self.from_chat_button)):
            grid.addWidget(button, i // 2, i % 2)
        return grid

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.setToolTip(tip)
        button.setAccessibleName(text.replace("&", ""))
        button.clicked.connect(slot)
        return button

    def _build_editor(self, fallbacks: dict[str, Value]) -> QGroupBox:
        box = QGroupBox("Preset")
        form = QFormLayout(box)
        self.note = QLabel()
        self.note.setWordWrap(True)
        form.addRow(self.note)
        self.name = QLineEdit()
        self.name.setAccessibleName("Preset name")
        self.name.setMaxLength(80)
        self.name.textEdited.connect(lambda _t: self._on_edited())
        self.think = QComboBox()
        self.think.setAccessibleName("Think")
        for text, value in THINK_CHOICES:
            self.think.addItem(text, value)
        self.think.currentIndexChanged.connect(lambda _i: self._on_edited())
        self.prompt = QPlainTextEdit()
        self.prompt.setAccessibleName("System prompt")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setMinimumHeight(self.prompt.fontMetrics().lineSpacing() * 6)
        self.prompt.textChanged.connect(self._on_edited)
        self.rows = [SamplingRow(key, fallbacks[key], self._on_edited) for key in PRESET_KEYS]
        for label, widget in (("Na&me:", self.name), ("&Think:", self.think), ("S&ystem prompt:", self.prompt)):
            buddy = QLabel(label)
            buddy.setBuddy(widget)
            form.addRow(buddy, widget)
        sampling = QLabel("Sampling: ticked, the preset sets it; unticked, Settings → General decides.")
        sampling.setWordWrap(True)
        form.addRow(sampling)
        for row in self.rows:
            form.addRow(row)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.hide()
        form.addRow(self.problem)
        self.editor = box
        return box

    # -- the list -------------------------------------------------------------------------------------

    def _refill(self, select: str | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for preset in self.edited.all():
            item = QListWidgetItem(f"{preset.name} (built-in)" if preset.builtin else preset.name)
            item.setData(Qt.ItemDataRole.UserRole, preset.name)
            item.setToolTip(preset.summary())
            self.list.addItem(item)
            if select is not None and preset.name.casefold() == select.casefold():
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._show(self.list.currentItem())

    def names(self) -> list[str]:
        return [str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(i)

    def _show(self, item: QListWidgetItem | None) -> None:
        preset = self.edited.find(str(item.data(Qt.ItemDataRole.UserRole))) if item is not None else None
        self._showing = preset.name if preset is not None else None
        self._loading = True
        try:
            self.name.setText(preset.name if preset else "")
            self.think.setCurrentIndex(self.think.findData(preset.thinking) if preset else 0)
            self.prompt.setPlainText(preset.system_prompt if preset else "")
            for row in self.rows:
                row.show_value(dict(preset.sampling) if preset else {})
        finally:
            self._loading = False
        builtin = preset is not None and preset.builtin
        for widget in (self.name, self.think, self.prompt, *self.rows):
            widget.setEnabled(preset is not None and not builtin)
        self.note.setText("Comes with Gemma Desk: press Copy to make one you can change." if builtin else "")
        self.note.setVisible(builtin)
        self.delete_button.setEnabled(preset is not None and not builtin)
        self.copy_button.setEnabled(preset is not None)
        self.problem.hide()

    # -- editing --------------------------------------------------------------------------------------

    def _on_edited(self) -> None:
        """Put what the editor holds into the preset shown (a name in use or too long a prompt: said, not kept)."""
        if self._loading or self._showing is None:
            return
        current = self.edited.find(self._showing)
        if current is None or current.builtin:
            return
        problems: list[str] = []
        name = current.name
        try:
            name = check_name(self.name.text())
            other = self.edited.find(name)
            if other is not None and other is not current:
                raise PresetError(f"There is already a preset called {other.name}.")
        except PresetError as error:
            problems.append(str(error))
            name = current.name
        prompt = current.system_prompt
        try:
            prompt = check_prompt(self.prompt.toPlainText(), name)
        except PresetError as error:
            problems.append(str(error))
        sampling = {row.key: value for row in self.rows if (value := row.read()) is not None}
        updated = self.edited.update(current.name, Preset(name, prompt, self.think.currentData(), sampling))
        self._showing = updated.name
        item = self.list.currentItem()
        if item is not None:
            item.setText(updated.name)
            item.setData(Qt.ItemDataRole.UserRole, updated.name)
            item.setToolTip(updated.summary())
        self.problem.setText(" ".join(problems))
        self.problem.setVisible(bool(problems))

    def _add(self, preset: Preset) -> None:
        added = self.edited.add(preset)
        self._refill(added.name)
        self.name.setFocus()
        self.name.selectAll()

    def _on_new(self) -> None:
        self._add(Preset(self.edited.unique_name("New preset")))

    def _on_copy(self) -> None:
        if self._showing is not None:
            copied = self.edited.copy_of(self._showing)
            self._refill(copied.name)
            self.name.setFocus()
            self.name.selectAll()

    def _on_delete(self) -> None:
        if self._showing is None:
            return
        index = self.list.currentRow()
        self.edited.delete(self._showing)
        names = self.names()
        names.remove(self._showing)
        self._refill(names[min(index, len(names) - 1)] if names else None)

    def _on_from_chat(self) -> None:
        preset = self._from_chat() if self._from_chat is not None else None
        if preset is not None:
            self._add(
                Preset(self.edited.unique_name(preset.name), preset.system_prompt, preset.thinking, preset.sampling)
            )
