"""The first-run page: no model yet → the Gemma 4 that suits this machine, downloaded and loaded in a click.

It shows what the machine has, recommends a variant (``advise``) with its
speed here, offers a model that hears beside a pick that cannot (push-to-talk
needs one), and follows its download (bytes, speed, time left, pause/resume/cancel). It
offers a model already in the models folder when there is one, the model
manager for another choice, and "Open a GGUF…" for a file the user has.
The window owns the downloads and the loading; this page only asks.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.advice import Advice
from app.models.download import Progress, describe_progress
from app.models.hardware import Hardware
from app.models.library import LocalModel
from app.models.variants import Variant, VariantFit
from app.ui.icons import BusyIcon, set_icon
from app.ui.model_setup.downloads import CANCELLED, DONE, FAILED, PAUSED, RUNNING, DownloadJob
from app.ui.model_setup.model_card import ModelCard
from app.ui.model_setup.model_text import hardware_summary
from app.ui.shell.theme import error_colour
from app.units import format_gb, format_size


class WelcomePage(QWidget):
    """Shown in place of the conversation while no model is loaded."""

    # Signals
    downloadRequested = Signal(object)  # Variant
    loadRequested = Signal(object, object)  # model Path, projector Path or None
    openFileRequested = Signal()
    manageRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomePage")
        self.recommended: VariantFit | None = None
        self.installed: LocalModel | None = None
        self.unfinished: VariantFit | None = None
        self.advice: Advice | None = None
        self.job: DownloadJob | None = None

        self.title = QLabel("<h2>Welcome to Gemma Desk</h2>")
        self.title.setAccessibleName("Welcome")
        self.intro = QLabel(
            "Gemma Desk runs Google's Gemma 4 on this computer: nothing you type, show or say leaves it. "
            "To start, it needs a model."
        )
        self.intro.setWordWrap(True)
        self.machine = QLabel("Checking this machine…")
        self.machine.setWordWrap(True)
        self.machine.setAccessibleName("This machine")
        self.pick = QLabel("")
        self.pick.setWordWrap(True)
        self.pick.setTextFormat(Qt.TextFormat.RichText)
        self.pick.setAccessibleName("Recommended model")
        self.cards_box = QWidget()
        self.cards_row = QHBoxLayout(self.cards_box)
        self.cards_row.setContentsMargins(0, 0, 0, 0)
        self.cards_row.setSpacing(12)
        self.cards: list[ModelCard] = []

        self._build_download_controls()

        self.others = QPushButton("Choose another model…")
        self.others.setAccessibleName("Open the model manager")
        self.others.setToolTip("All Gemma 4 sizes and quantizations, with what fits this machine (Ctrl+M)")
        self.others.clicked.connect(self.manageRequested)
        self.open_file = QPushButton("Open a GGUF file…")
        self.open_file.setAccessibleName("Open a model file")
        self.open_file.setToolTip("Use a GGUF model you already have (Ctrl+L)")
        self.open_file.clicked.connect(self.openFileRequested)
        self.note = QLabel("You can read and search your chats and change settings while it downloads.")
        self.note.setWordWrap(True)

        self._lay_out()
        self._update()

    def _lay_out(self) -> None:
        """One centred column, at most 640 px wide."""
        self.busy = BusyIcon("Downloading the model…", self)  # turns while the download runs
        for button, name in ((self.pause, "pause"), (self.cancel, "cancel"), (self.open_file, "open_model")):
            set_icon(button, name)
        set_icon(self.others, "models")
        buttons = QHBoxLayout()
        buttons.addWidget(self.primary)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        more = QHBoxLayout()
        more.addWidget(self.others)
        more.addWidget(self.open_file)
        more.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(12)
        for w in (self.title, self.intro, self.machine, self.pick, self.cards_box):
            column.addWidget(w)
        column.addLayout(buttons)
        voice = QHBoxLayout()
        voice.addWidget(self.voice)
        voice.addStretch(1)
        column.addWidget(self.voice_note)
        column.addLayout(voice)
        column.addWidget(self.progress)
        status = QHBoxLayout()  # the turning icon while the download runs, and how far it is
        status.addWidget(self.busy)
        status.addWidget(self.progress_label, 1)
        column.addLayout(status)
        column.addWidget(self.error)
        column.addSpacing(8)
        column.addLayout(more)
        column.addWidget(self.note)
        column.addStretch(1)
        box = QWidget(self)
        box.setLayout(column)
        box.setMaximumWidth(640)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 4)
        outer.addStretch(1)
        outer.setContentsMargins(24, 32, 24, 24)

    def _build_download_controls(self) -> None:
        """Download / Pause / Cancel, the offer of a model that hears, the progress bar, its status, the problem."""
        self.voice_note = QLabel("")
        self.voice_note.setWordWrap(True)
        self.voice_note.setAccessibleName("A model for voice")
        self.voice = QPushButton("")
        self.voice.setAccessibleName("Download the model that hears")
        self.voice.setToolTip("Push-to-talk needs a model that takes sound")
        self.voice.clicked.connect(self._on_voice_clicked)
        self.primary = QPushButton("Download")
        self.primary.setDefault(True)
        self.primary.setEnabled(False)
        self.primary.setAccessibleName("Download the recommended model")
        self.primary.clicked.connect(self._on_primary_clicked)
        self.pause = QPushButton("Pause")
        self.pause.setAccessibleName("Pause the download")
        self.pause.setToolTip("Pause: what is downloaded is kept, and Resume carries on from there")
        self.pause.clicked.connect(self._on_pause_clicked)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName("Cancel the download")
        self.cancel.setToolTip("Stop and delete the unfinished download")
        self.cancel.clicked.connect(self._on_cancel_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Download progress")
        self.progress_label = QLabel("")
        self.progress_label.setAccessibleName("Download status")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {error_colour(self)};")
        self.error.setAccessibleName("Download problem")

    # -- what the window tells it -------------------------------------------------------------

    def set_machine(
        self,
        hw: Hardware,
        folder: Path,
        pick: VariantFit | None,
        installed: LocalModel | None,
        unfinished: VariantFit | None = None,
        advice: Advice | None = None,
    ) -> None:
        """The probe's results: this machine, the recommendation, a model already on disk, a download begun earlier,
        and the advice for voice when the pick cannot hear."""
        self.machine.setText(hardware_summary(hw, folder))
        self.recommended = pick
        self.installed = installed
        self.unfinished = unfinished
        self.advice = advice
        self._update()

    def set_failure(self, message: str) -> None:
        """The probe or the catalog failed: say so; opening a file still works."""
        self.machine.setText(message)
        self._update()

    def track(self, job: DownloadJob) -> None:
        """Follow ``job`` (the recommended variant's download, or one started from the manager)."""
        if self.job is job:
            return
        if self.job is not None:
            self.job.progressed.disconnect(self._on_job_progressed)
            self.job.stateChanged.disconnect(self._on_job_state_changed)
        self.job = job
        job.progressed.connect(self._on_job_progressed)
        job.stateChanged.connect(self._on_job_state_changed)
        self._update()

    # -- slots --------------------------------------------------------------------------------

    def _on_primary_clicked(self) -> None:
        job = self.job
        if job is not None and job.state in (PAUSED, FAILED):
            job.start()
        elif self.installed is not None and job is None:
            self.loadRequested.emit(self.installed.path, self.installed.mmproj)
        elif self.unfinished is not None and job is None:
            self.downloadRequested.emit(self.unfinished.variant)
        elif self.recommended is not None and (job is None or job.state == CANCELLED):
            self.downloadRequested.emit(self.recommended.variant)

    def _on_voice_clicked(self) -> None:
        voice = self.advice.for_voice if self.advice is not None else None
        if voice is not None and (self.job is None or self.job.state == CANCELLED):
            self.downloadRequested.emit(voice.variant)

    def _on_pause_clicked(self) -> None:
        if self.job is not None:
            self.job.pause()

    def _on_cancel_clicked(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_job_progressed(self, p: Progress) -> None:
        if p.total:
            self.progress.setValue(int(1000 * p.done / p.total))
        else:
            self.progress.setRange(0, 0)  # busy indicator
        self.progress_label.setText(describe_progress(p))

    def _on_job_state_changed(self, _state: str) -> None:
        self._update()

    # -- presentation -----------------------------------------------------------------------

    def _variant_text(self, v: Variant, vf: VariantFit | None) -> str:
        size = format_size(v.download_size) if v.download_size else "size unknown"
        senses = " and ".join(m for m in ("image", "audio") if m in v.model.modalities)
        can = f"; it reads text and {'pictures' if senses == 'image' else 'pictures and sound'}" if senses else ""
        need = f" It needs about {format_gb(vf.fit.estimate_need)} of memory here" if vf else ""
        speed = vf.speed if vf is not None else None
        if need and speed is not None and speed.decode is not None:
            need += f" and writes {speed.text}" if speed.source != "measured" else f" ({speed.text})"
        return f"<b>{v.label}</b> — a {size} download{can}.{need}{'.' if need else ''}"

    def _update(self) -> None:
        job, rec, inst = self.job, self.recommended, self.installed
        state = job.state if job is not None else ""
        downloading = state in (RUNNING, PAUSED, FAILED)
        self.progress.setVisible(downloading or state == DONE)
        self.progress_label.setVisible(downloading or state == DONE)
        self.busy.setVisible(state == RUNNING)
        self.pause.setVisible(state == RUNNING)
        self.cancel.setVisible(state in (RUNNING, PAUSED, FAILED))
        self.error.setVisible(state == FAILED)
        self.error.setText(job.error if job is not None and state == FAILED else "")
        self.primary.setEnabled(True)
        offer = job is None and inst is None and self.unfinished is None and rec is not None
        self._show_voice(offer=offer)
        self._show_cards(offer=offer)
        if job is not None and downloading:
            self.pick.setText(
                "Downloading " + self._variant_text(job.variant, rec if rec and rec.variant == job.variant else None)
            )
            self.primary.setText("Resume" if state == PAUSED else "Retry" if state == FAILED else "Downloading…")
            self.primary.setEnabled(state != RUNNING)
            self.primary.setAccessibleName(self.primary.text())
        elif job is not None and state == DONE:
            self.pick.setText(f"<b>{job.variant.label}</b> is downloaded and checked. Loading it…")
            self.progress_label.setText("Done")
            self.primary.setText("Loading…")
            self.primary.setEnabled(False)
        elif inst is not None:
            self.pick.setText(f"<b>{inst.path.name}</b> is already in your models folder.")
            self.primary.setText(f"Load {inst.name or inst.path.stem}")
            self.primary.setAccessibleName("Load the model already downloaded")
        elif self.unfinished is not None:
            v = self.unfinished.variant
            self.pick.setText("A download was interrupted: " + self._variant_text(v, self.unfinished))
            self.primary.setText("Resume the download")
            self.primary.setAccessibleName("Resume the interrupted download")
        elif rec is not None:
            self.pick.setText("Recommended for this machine: " + self._variant_text(rec.variant, rec))
            size = f" ({format_size(rec.variant.download_size)})" if rec.variant.download_size else ""
            self.primary.setText(f"Download {rec.variant.model.name}{size}")
            self.primary.setAccessibleName("Download the recommended model")
            self.primary.setToolTip(rec.fit.message)
        else:
            self.pick.setText(
                "No Gemma 4 in the catalog fits the memory free right now. Close other apps and reopen Gemma Desk, "
                "or open a smaller GGUF you have."
                if self.machine.text().startswith("This machine")
                else ""
            )
            self.primary.setText("Download")
            self.primary.setEnabled(False)

    def _show_cards(self, *, offer: bool) -> None:
        """What the offered models can do, side by side: the pick and, when it cannot hear, the one that can."""
        voice = self.advice.for_voice if self.advice is not None and offer else None
        shown = [(f, role) for f, role in ((self.recommended, "Recommended"), (voice, "For voice")) if f and offer]
        self.cards_box.setVisible(bool(shown))
        if [(c.fit, c.role.text()) for c in self.cards] == shown:
            return
        for card in self.cards:
            self.cards_row.removeWidget(card)
            card.deleteLater()
        self.cards = [ModelCard(fit, role, self.cards_box) for fit, role in shown]
        for card in self.cards:
            self.cards_row.addWidget(card, 1)

    def _show_voice(self, *, offer: bool) -> None:
        """Beside a recommendation that cannot hear: say so, and offer the best model that can."""
        advice = self.advice
        note = advice.voice_note if advice is not None and offer else ""
        self.voice_note.setText(note)
        self.voice_note.setVisible(bool(note))
        voice = advice.for_voice if advice is not None and note else None
        self.voice.setVisible(voice is not None)
        if voice is not None:
            size = f" ({format_size(voice.variant.download_size)})" if voice.variant.download_size else ""
            self.voice.setText(f"Download {voice.variant.model.name} instead{size}")


if __name__ == "__main__":  # a preview: uv run python -m app.ui.model_setup.welcome_page
    import sys

    from PySide6.QtWidgets import QApplication

    from app.models.advice import advise
    from app.models.catalog import load_catalog
    from app.models.hardware import probe_hardware
    from app.models.speed import load_speeds

    qapp = QApplication(sys.argv)
    page = WelcomePage()
    hardware = probe_hardware()
    advice = advise(load_catalog(), hardware, speeds=load_speeds(hardware))
    page.set_machine(hardware, Path("models"), advice.pick, None, None, advice)
    page.resize(900, 600)
    page.show()
    sys.exit(qapp.exec())
