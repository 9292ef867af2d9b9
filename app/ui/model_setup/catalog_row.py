"""One catalog model in the model manager: its facts, a quantization chooser, the variant's fit, speed and download."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.catalog import CatalogModel
from app.models.download import Progress, describe_progress
from app.models.variants import Variant, VariantFit
from app.ui.icons import BusyIcon, set_icon
from app.ui.model_setup.downloads import DONE, FAILED, PAUSED, RUNNING, DownloadJob, Downloads
from app.ui.model_setup.model_text import model_facts
from app.units import format_gb, format_size

CHECKING = "Checking this machine…"
SLOW_WITHOUT_GPU = "Without a GPU this dense model answers very slowly."
BADGE_COLOURS = {"fits": "#2e7d32", "tight": "#b26a00", "too_big": "#c62828"}
ERROR_COLOUR = "#c62828"
MODALITY_ORDER = ("text", "image", "audio", "video")
L = TypeVar("L", QHBoxLayout, QVBoxLayout)
#: A catalog row's buttons: name -> (text, tooltip, the row states it shows in). Declared once; ``update_view`` follows.
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "download": ("Download", "Download this model into the models folder", ("absent",)),
    "pause": ("Pause", "Pause the download; what has arrived is kept", (RUNNING,)),
    "resume": ("Resume", "Continue the download where it stopped", (PAUSED, "partial")),
    "retry": ("Retry", "Try the download again", (FAILED,)),
    "cancel": ("Cancel", "Stop the download and delete what has arrived", (RUNNING, PAUSED, FAILED)),
    "load": ("Load", "Load this model for chatting", ("installed",)),
}


def _label(text: str = "", name: str = "", tip: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setAccessibleName(name or text)
    label.setToolTip(tip)
    return label


def _button(text: str, name: str, tip: str, slot: Callable[[], Any]) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setToolTip(tip)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def _fill(layout: L, *items: QWidget | QLayout | int) -> L:
    """``layout`` with ``items`` added in turn: widgets, layouts, and an int for a stretch."""
    for item in items:
        if isinstance(item, int):
            layout.addStretch(item)
        elif isinstance(item, QLayout):
            layout.addLayout(item)
        else:
            layout.addWidget(item)
    return layout


def _colour(label: QLabel, colour: str | None) -> None:
    label.setStyleSheet(f"color: {colour};" if colour else "")


class CatalogRow(QFrame):
    """One catalog model: its facts, a quantization chooser, the chosen variant's fit and its download."""

    # Signals
    downloadRequested = Signal(object)  # Variant: start, resume or retry (the window asks first if too big)
    loadRequested = Signal(object)  # Variant, installed
    jobEnded = Signal()  # a download of this row paused, failed, finished or was cancelled: re-read the disk

    def __init__(self, model: CatalogModel, downloads: Downloads, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._downloads = downloads
        self._fits: dict[str, VariantFit] = {}
        self._recommended: str | None = None
        self._checked = False  # the hardware probe has answered
        self._states: dict[str, str] = {}  # Variant.ref -> installed / partial / absent
        self._watched: list[DownloadJob] = []
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(model.name)
        self.title = _label(f"<b>{html.escape(model.name)}</b>", model.name, model.notes)
        self.facts = _label(model_facts(model), f"{model.name} facts", model.notes)
        self.quant_combo = QComboBox()
        for q in model.quants:
            self.quant_combo.addItem(q.name, q.name)
        self.quant_combo.setCurrentIndex(self.quant_combo.findData(model.default_quant.name))
        self.quant_combo.setAccessibleName(f"{model.name} quantization")
        self.quant_combo.setToolTip("Quantization: smaller needs less memory; Q8_0 is closest to the original")
        self.quant_combo.currentIndexChanged.connect(lambda _index: self.update_view())
        self.size_label = _label(name=f"{model.name} download size", wrap=False)
        self.badge_label = _label(CHECKING, f"{model.name} fit on this machine", wrap=False)
        self.speed_label = _label(name=f"{model.name} speed on this machine", wrap=False)
        tip = "The best pick for this machine's memory and speed"
        self.recommended_label = _label(
            "★ Recommended for this machine", "Recommended for this machine", tip, wrap=False
        )
        self.verify_label = _label("cannot verify: no SHA-256", f"{model.name} verification", wrap=False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setAccessibleName(f"{model.name} download progress")
        self.progress_bar.setToolTip("How much of the download has arrived")
        self.status_label = _label(name=f"{model.name} download status")
        self.buttons = {
            action: _button(text, f"{text} {model.name}", tip, functools.partial(self._on_action, action))
            for action, (text, tip, _states) in ACTIONS.items()
        }
        for action, button in self.buttons.items():
            set_icon(button, action)
        self.busy = BusyIcon(f"Downloading {model.name}…", self)  # turns while the download runs
        grid = QGridLayout(self)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.recommended_label, 0, 1)
        grid.addWidget(self.facts, 1, 0, 1, 2)
        labels = (self.size_label, self.badge_label, self.speed_label, self.verify_label)
        grid.addLayout(_fill(QHBoxLayout(), self.quant_combo, *labels, 1), 2, 0, 1, 2)
        grid.addWidget(self.progress_bar, 3, 0, 1, 2)
        grid.addLayout(_fill(QHBoxLayout(), self.busy, self.status_label, 1), 4, 0)
        grid.addLayout(_fill(QHBoxLayout(), 1, *self.buttons.values()), 4, 1)
        grid.setColumnStretch(0, 1)
        self.update_view()

    @property
    def variant(self) -> Variant:
        """The model at the quantization chosen in the combo."""
        return Variant(self.model, self.model.quant(str(self.quant_combo.currentData())))

    def job(self) -> DownloadJob | None:
        return self._downloads.job(self.variant)

    def set_fits(self, fits: dict[str, VariantFit], recommended: Variant | None) -> None:
        """The estimates, once probed; the first time, the recommended quantization is chosen in its row."""
        first = not self._checked
        self._fits, self._checked = fits, True
        self._recommended = recommended.ref if recommended is not None else None
        if first and recommended is not None and recommended.model.id == self.model.id:
            self.quant_combo.setCurrentIndex(self.quant_combo.findData(recommended.quant.name))
        self.update_view()

    def set_states(self, states: dict[str, str]) -> None:
        self._states = states
        self.update_view()

    def state(self) -> str:
        """What the buttons follow: running / paused / failed (a job), else installed / partial / absent on disk."""
        job = self.job()
        if job is not None and job.state in (RUNNING, PAUSED, FAILED):
            return job.state
        return "installed" if job is not None and job.state == DONE else self._states.get(self.variant.ref, "")

    def update_view(self) -> None:
        v = self.variant
        size = v.download_size
        self.size_label.setText(f"{format_size(size)} download" if size else "size unknown")
        self._show_fit(v)
        self.recommended_label.setVisible(self._recommended == v.ref)
        self.verify_label.setVisible(not v.can_verify)
        self.verify_label.setToolTip(f"{v.quant.file.verification}: the catalog gives no SHA-256 for this file")
        job = self.job()
        self._watch(job)
        state = self.state()
        for action, button in self.buttons.items():
            button.setVisible(state in ACTIONS[action][2])
        self.progress_bar.setVisible(state in (RUNNING, PAUSED))
        self.busy.setVisible(state == RUNNING)
        _colour(self.status_label, ERROR_COLOUR if state == FAILED else None)
        if state in (RUNNING, PAUSED) and job is not None:
            self._show_progress(job)
        elif state == FAILED and job is not None:
            self.status_label.setText(job.error)
        else:
            words = {"installed": "Downloaded", "partial": "Partly downloaded: Resume finishes it"}
            self.status_label.setText(words.get(state, ""))

    def _show_fit(self, v: Variant) -> None:
        vf = self._fits.get(v.ref)
        if vf is None:
            self.badge_label.setText(CHECKING if not self._checked else "fit unknown")
            self.badge_label.setToolTip("The estimate appears once this machine's memory has been checked")
            _colour(self.badge_label, None)
            self.speed_label.setVisible(False)
            return
        experts = " · GPU + CPU experts" if vf.fit.estimate.cpu_moe_layers else ""
        self.badge_label.setText(f"needs {format_gb(vf.fit.estimate_need)} — {vf.badge}{experts}")
        notes = [vf.fit.message, *vf.fit.estimate.notes]
        if vf.slow:
            speed = vf.speed
            known = speed is not None and speed.decode is not None
            notes.append(f"Slow here: it writes {speed.text}." if speed is not None and known else SLOW_WITHOUT_GPU)
        notes.append(f"Default context here: {vf.default_ctx:,} tokens")
        self.badge_label.setToolTip("\n".join(notes))
        _colour(self.badge_label, BADGE_COLOURS["tight" if vf.slow and vf.fit.verdict == "fits" else vf.fit.verdict])
        self._show_speed(vf)

    def _show_speed(self, vf: VariantFit) -> None:
        """ "about 14 tok/s" beside the badge ("measured …" for a model that ran here); nothing when too big."""
        speed = vf.speed
        self.speed_label.setVisible(speed is not None and vf.fit.verdict != "too_big")
        if speed is None:
            return
        self.speed_label.setText(f"· {speed.text}")
        self.speed_label.setToolTip(speed.detail)

    def _show_progress(self, job: DownloadJob) -> None:
        p = job.last_progress
        if p is None or not p.total:
            self.progress_bar.setRange(0, 0 if job.state == RUNNING else 1)  # busy until the size is known
        else:
            self.progress_bar.setRange(0, 1000)  # per mille: QProgressBar takes ints, files pass 2 GiB
            self.progress_bar.setValue(min(1000, p.done * 1000 // p.total))
        if p is None:
            self.status_label.setText("Paused" if job.state == PAUSED else "Starting…")
        else:
            self.status_label.setText(describe_progress(replace(p, state="paused") if job.state == PAUSED else p))

    def _watch(self, job: DownloadJob | None) -> None:
        if job is not None and not any(j is job for j in self._watched):
            self._watched.append(job)
            job.progressed.connect(self._on_job_progressed)
            job.stateChanged.connect(self._on_job_stateChanged)

    def _on_job_progressed(self, _p: Progress) -> None:
        job = self.job()
        if job is not None and job.state == RUNNING:
            self._show_progress(job)

    def _on_job_stateChanged(self, state: str) -> None:
        self.update_view()
        if state != RUNNING:
            self.jobEnded.emit()

    def _on_action(self, action: str) -> None:
        job = self.job()
        if action == "load":
            self.loadRequested.emit(self.variant)
        elif action == "pause" and job is not None:
            job.pause()
        elif action == "cancel" and job is not None:
            job.cancel()
        elif action in ("download", "resume", "retry"):
            self.downloadRequested.emit(self.variant)
