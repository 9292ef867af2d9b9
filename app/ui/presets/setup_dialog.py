"""A chat's set-up, opened from its header: which preset it follows and its own system prompt.

Picking a preset fills in its system prompt (and, when saved, its Think and sampling); the prompt can then be
edited for this chat alone. The dialog only collects: its owner stores the result (on the store thread).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.settings.presets import MAX_PROMPT_CHARS, Preset


class ChatSetupDialog(QDialog):
    """``ChatSetupDialog(presets, preset_name, prompt, default_prompt)``; after OK: ``chosen()`` and ``prompt()``."""

    def __init__(
        self,
        presets: list[Preset],
        preset_name: str | None,
        prompt: str,
        default_prompt: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("This chat's set-up")
        self.setObjectName("ChatSetupDialog")
        self._presets = {p.name: p for p in presets}
        self.preset = QComboBox(self)
        self.preset.setAccessibleName("Preset")
        self.preset.setToolTip("Picking a preset puts in its system prompt; saving also takes its Think and sampling")
        for p in presets:
            self.preset.addItem(f"{p.name} (built-in)" if p.builtin else p.name, p.name)
        if preset_name is not None and preset_name not in self._presets:
            self.preset.addItem(f"{preset_name} (no longer a preset)", None)
            self.preset.setCurrentIndex(self.preset.count() - 1)
        elif preset_name is not None:
            self.preset.setCurrentIndex(self.preset.findData(preset_name))
        else:
            self.preset.insertItem(0, "None", None)
            self.preset.setCurrentIndex(0)
        self._initial = self.preset.currentData()
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("What the preset changes")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("SystemPromptEdit")
        self.text.setAccessibleName("System prompt")
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText(
            f"Empty: the default from Settings → Chat is used ({default_prompt.strip()[:80]}…)"
            if default_prompt.strip()
            else "Instructions the model reads before this conversation (empty: none)"
        )
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 8)
        self.text.setPlainText(prompt)
        self._build_layout()
        self.preset.currentIndexChanged.connect(self._on_preset_changed)
        self._show_summary()
        self.resize(560, 380)

    def _build_layout(self) -> None:
        form = QFormLayout()
        label = QLabel("&Preset:")
        label.setBuddy(self.preset)
        form.addRow(label, self.preset)
        form.addRow("", self.summary)
        prompt_label = QLabel("&System prompt (this chat only):")
        prompt_label.setBuddy(self.text)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setToolTip("Use this from the chat's next answer on")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(prompt_label)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def chosen(self) -> Preset | None:
        """The preset picked, when it is not the one the chat had."""
        name = self.preset.currentData()
        return self._presets.get(name) if name is not None and name != self._initial else None

    def prompt(self) -> str:
        return self.text.toPlainText()

    def accept(self) -> None:
        if len(self.prompt()) > MAX_PROMPT_CHARS:
            self.problem.setText(f"The system prompt may be at most {MAX_PROMPT_CHARS} characters.")
            self.problem.show()
            self.text.setFocus()
            return
        super().accept()

    def _on_preset_changed(self, _index: int) -> None:
        preset = self._presets.get(self.preset.currentData())
        if preset is not None:
            self.text.setPlainText(preset.system_prompt)
        self._show_summary()

    def _show_summary(self) -> None:
        preset = self._presets.get(self.preset.currentData())
        self.summary.setText(preset.summary() if preset is not None else "")
        self.summary.setVisible(preset is not None)
