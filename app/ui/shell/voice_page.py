"""Settings → Voice: the declared "Voice" group, the voice picked from the system's own, and a Try it button.

The settings dialog builds one control per declaration; the voice's is a text field (its name). Given the
window's ``Speaker``, this page puts a list of the speech engine's voices in its place ("System default"
first) and keeps the two in step, so OK and Restore defaults work as for any other setting. Try it reads a
sentence with the voice, rate and volume on the page (nothing is saved until OK). Without a speech engine the
page says so, with the way to install one.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.speech import Speaker

SAMPLE = "This is how answers will sound. You can change the voice, the rate and the volume here."


def voice_page(box: QGroupBox, controls: dict[str, QWidget], speaker: Speaker | None) -> QWidget:
    """The Voice tab: ``box`` (the declared group's controls, in ``controls``) and, given ``speaker``, its voices."""
    page = QWidget()
    column = QVBoxLayout(page)
    box.setTitle("Reading answers aloud and hands-free conversation")
    column.addWidget(box)
    name = controls.get("speech_voice")
    if speaker is not None and isinstance(name, QLineEdit):
        if speaker.problem:
            problem = QLabel(speaker.problem)
            problem.setWordWrap(True)
            problem.setAccessibleName("Speech engine problem")
            column.addWidget(problem)
        else:
            _pick_from_list(box, name, speaker)
            column.addLayout(_try_row(controls, speaker))
    column.addStretch(1)
    return page


def _pick_from_list(box: QGroupBox, name: QLineEdit, speaker: Speaker) -> None:
    """Show the engine's voices in a list where the voice's name field was (the field stays, hidden, as the value)."""
    combo = QComboBox(box)
    combo.addItem("System default", "")
    combo.setAccessibleName("Voice")
    combo.setToolTip(name.toolTip())
    form = box.layout()
    if isinstance(form, QFormLayout):
        label = form.labelForField(name)
        form.replaceWidget(name, combo)
        if isinstance(label, QLabel):
            label.setBuddy(combo)
    name.hide()

    def from_text(text: str) -> None:
        index = combo.findData(text)
        if index < 0:  # a voice this system no longer has (or not listed yet): kept, and shown as it is
            combo.addItem(f"{text} (not installed)" if speaker.voices() else text, text)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def fill() -> None:  # the engine lists its voices once it is open (seconds, on its own thread)
        for voice in speaker.voices():
            index = combo.findData(voice)
            if index < 0:
                combo.addItem(voice, voice)
            else:
                combo.setItemText(index, voice)
        from_text(name.text())

    fill()
    name.textChanged.connect(from_text)
    combo.currentIndexChanged.connect(lambda _i: name.setText(str(combo.currentData() or "")))
    speaker.ready.connect(fill)
    combo.destroyed.connect(lambda: _disconnect(speaker, fill, "ready"))


def _disconnect(speaker: Speaker, slot: object, signal: str = "speakingChanged") -> None:
    with contextlib.suppress(RuntimeError, TypeError):  # already gone
        getattr(speaker, signal).disconnect(slot)


def _try_row(controls: dict[str, QWidget], speaker: Speaker) -> QHBoxLayout:
    """Try it / Stop: read a sentence with what the page holds now."""
    button = QPushButton("&Try the voice")
    button.setToolTip("Read a sentence with this voice, rate and volume (nothing is saved until OK)")

    def try_it() -> None:
        if speaker.speaking:
            speaker.stop()
            return
        name, rate, volume = controls.get("speech_voice"), controls.get("speech_rate"), controls.get("speech_volume")
        if isinstance(name, QLineEdit):
            speaker.set_voice(name.text())
        if isinstance(rate, QDoubleSpinBox):
            speaker.set_rate(rate.value())
        if isinstance(volume, QSpinBox):
            speaker.set_volume(volume.value() / 100)
        speaker.speak_text(SAMPLE)

    button.clicked.connect(try_it)

    def relabel(on: bool) -> None:
        button.setText("S&top" if on else "&Try the voice")

    speaker.speakingChanged.connect(relabel)
    button.destroyed.connect(lambda: _disconnect(speaker, relabel))
    row = QHBoxLayout()
    row.addWidget(button)
    row.addStretch(1)
    return row
