"""The Model manager window: Gemma 4 downloads with fit badges, the models on this machine, import and delete.

``ModelManager(catalog, settings, downloads)`` is a non-modal window. Its top
line sums up this machine (probed in the background); the catalog section has
one ``CatalogRow`` per model with a quantization chooser, the chosen
variant's size, fit badge and speed here, and the buttons its download allows; the
installed section lists the ``Library`` (downloaded and imported GGUFs) with
Load, Delete and Show in folder, and imports a GGUF from elsewhere. Every
disk, header and hardware read runs through ``run_in_background``; Load
buttons emit ``loadRequested(model, mmproj)`` for the main window.

``python -m app.ui.model_setup.manager`` shows it with the real catalog.
"""

from __future__ import annotations

import functools
import html
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.engine.errors import EngineError
from app.models.catalog import Catalog, load_catalog
from app.models.hardware import Hardware, probe_hardware
from app.models.library import Library, LocalModel
from app.models.speed import Speeds, load_speeds, speeds_or_none
from app.models.variants import Variant, VariantFit, all_variants, assess, mmproj_path, model_path, recommend_variant
from app.models.variants import variant_state as disk_state
from app.paths import models_dir
from app.settings import Settings
from app.ui import confirm
from app.ui.model_setup.catalog_row import CHECKING, ERROR_COLOUR, CatalogRow, _button, _colour, _fill, _label
from app.ui.model_setup.downloads import FAILED, PAUSED, DownloadJob, Downloads
from app.ui.model_setup.model_text import hardware_summary
from app.ui.tasks import run_in_background
from app.units import format_size


class ModelManager(QDialog):
    """The catalog to download from and the models on this machine, side by side with what this machine has."""

    # Signals
    loadRequested = Signal(object, object)  # model Path, mmproj Path or None
    refreshed = Signal()  # the installed list and the rows' disk states were re-read
    hardwareChecked = Signal(object)  # Hardware, once probed (and after each re-probe)

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        downloads: Downloads,
        parent: QWidget | None = None,
        *,
        probe: Callable[[Path], Hardware] = probe_hardware,
        speeds: Callable[[Hardware], Speeds] = load_speeds,
    ) -> None:
        super().__init__(parent)
        self.in_use: Callable[[], Path | None] = lambda: None  # the loaded model, which must not be deleted
        self.setWindowTitle("Models")
        self.setModal(False)
        self._catalog = catalog
        self._settings = settings
        self._downloads = downloads
        self._probe = probe
        self._speeds = speeds
        self._fits: dict[str, VariantFit] = {}
        self._refresh_count = 0
        self.hardware: Hardware | None = None
        self.local_models: list[LocalModel] = []

        self.hardware_label = _label(CHECKING, "This machine", "Memory, processor, GPU and disk space available now")
        self.rows = [CatalogRow(m, downloads) for m in catalog]
        for row in self.rows:
            row.downloadRequested.connect(self._on_row_downloadRequested)
            row.loadRequested.connect(self._on_row_loadRequested)
            row.jobEnded.connect(self.refresh)
        self.installed_list = QWidget()
        self.installed_list.setAccessibleName("Installed models")
        self._installed_layout = QVBoxLayout(self.installed_list)
        self._installed_layout.setContentsMargins(0, 0, 0, 0)
        self.empty_label = _label("Reading the models folder…", "Installed models")
        self.problems_label = _label(name="Files that could not be read")
        _colour(self.problems_label, ERROR_COLOUR)
        self.message_label = _label(name="Model manager message")
        tip = "Add a GGUF model file from elsewhere (it stays where it is)"
        self.import_button = _button("&Import GGUF…", "Import GGUF", tip, self._choose_file)
        tip = "Show the models folder in your file manager"
        self.folder_button = _button("Open models &folder", "Open models folder", tip, lambda: self._open(self.folder))
        catalog_box, installed_box = QGroupBox("Download a Gemma 4 model"), QGroupBox("On this machine")
        content = QWidget()
        _fill(QVBoxLayout(catalog_box), *self.rows)
        tools = _fill(QHBoxLayout(), self.import_button, self.folder_button, 1)
        labels = (self.empty_label, self.installed_list, self.problems_label, self.message_label)
        _fill(QVBoxLayout(installed_box), *labels, tools)
        self._sections = _fill(QVBoxLayout(content), catalog_box, installed_box, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        _fill(QVBoxLayout(self), self.hardware_label, scroll, close)
        self.resize(780, 720)
        downloads.jobAdded.connect(self._on_downloads_jobAdded)
        downloads.modelReady.connect(self._on_downloads_modelReady)
        self.check_hardware()
        self.refresh()

    def add_section(self, widget: QWidget) -> None:
        """Another source of models below the local ones (the window adds its remote server's)."""
        self._sections.insertWidget(self._sections.count() - 1, widget)

    @property
    def folder(self) -> Path:
        """The models folder in force (the setting, else the default)."""
        return models_dir(self._settings.get_str("models_folder"))

    def row(self, model_ref: str) -> CatalogRow:
        """The catalog row of a model, by id or short name ("e4b")."""
        model = self._catalog.model(model_ref)
        return next(r for r in self.rows if r.model is model)

    # -- background reads -------------------------------------------------------------------

    def check_hardware(self) -> None:
        """Probe this machine and assess every variant on it, off the GUI thread; the badges follow."""
        folder, catalog, probe, speed_of = self.folder, self._catalog, self._probe, self._speeds

        def work() -> tuple[Hardware, dict[str, VariantFit], VariantFit | None]:
            hw = probe(folder)
            speeds = speeds_or_none(speed_of, hw)
            pick = recommend_variant(catalog, hw, speeds=speeds)
            return hw, {v.ref: assess(v, hw, speeds=speeds) for v in all_variants(catalog)}, pick

        run_in_background(work, self._alive(lambda r: self._on_checked(folder, *r)), self._alive(self._on_check_failed))

    def refresh(self) -> None:
        """Re-read the models folder in the background: the installed list and each row's download state."""
        self._refresh_count += 1
        count, folder, variants = self._refresh_count, self.folder, all_variants(self._catalog)

        def work() -> tuple[list[LocalModel], list[str], dict[str, str]]:
            models, problems = Library(folder).models()
            return models, problems, {v.ref: disk_state(folder, v) for v in variants}

        def done(result: tuple[list[LocalModel], list[str], dict[str, str]]) -> None:
            if count == self._refresh_count:  # a newer read is on its way: drop this one
                self._on_refreshed(*result)

        run_in_background(work, self._alive(done), self._alive(lambda exc: self._say(f"Cannot read {folder}: {exc}")))

    def import_file(self, path: Path) -> None:
        """Read a GGUF's header in the background and add it to the installed list (the file is not copied)."""
        path = Path(path)
        folder = self.folder
        self._say(f"Reading {path.name}…")
        run_in_background(
            lambda: Library(folder).import_model(path),
            self._alive(self._on_imported),
            self._alive(lambda exc: self._on_import_failed(path, exc)),
        )

    def _alive(self, fn: Callable[..., None]) -> Callable[..., None]:
        """``fn``, skipped when the window was deleted before a background read came back."""

        def call(*args: Any) -> None:
            if shiboken6.isValid(self):
                fn(*args)

        return call

    # -- patchable interaction -----------------------------------------------------------------

    def _open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)

    # -- results -------------------------------------------------------------------------------

    def _on_checked(self, folder: Path, hw: Hardware, fits: dict[str, VariantFit], pick: VariantFit | None) -> None:
        self.hardware, self._fits = hw, fits
        self.hardware_label.setText(hardware_summary(hw, folder))
        for row in self.rows:
            row.set_fits(fits, pick.variant if pick is not None else None)
        self.hardwareChecked.emit(hw)

    def _on_check_failed(self, exc: BaseException) -> None:
        self.hardware_label.setText(f"Could not check this machine: {exc}")
        for row in self.rows:
            row.set_fits({}, None)

    def _on_refreshed(self, models: list[LocalModel], problems: list[str], states: dict[str, str]) -> None:
        self.local_models = models
        while (item := self._installed_layout.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.setParent(None)  # gone from the window (and its accessibility tree) now, not at deletion
                widget.deleteLater()
        for model in models:
            self._installed_layout.addWidget(self._installed_row(model))
        self.empty_label.setText(
            "" if models else f"No models yet in {self.folder}: download one above, or import one."
        )
        self.empty_label.setVisible(not models)
        self.problems_label.setText("\n".join(problems))
        self.problems_label.setVisible(bool(problems))
        for row in self.rows:
            row.set_states(states)
        self.refreshed.emit()

    def _installed_row(self, model: LocalModel) -> QWidget:
        row = QFrame()
        row.setFrameShape(QFrame.Shape.StyledPanel)
        row.setAccessibleName(model.path.name)
        details = [model.kind, model.quantization, format_size(model.size_bytes)]
        details.append(f"projector {model.mmproj.name} found" if model.mmproj else "no projector (text only)")
        if model.imported:
            details.append(f"imported from {model.path.parent}")
        text = f"<b>{html.escape(model.path.name)}</b><br>{html.escape(' · '.join(details))}"
        tip = f"{model.name} ({model.architecture}), context {model.context_length or '?'} tokens\n{model.path}"
        label = _label(text, f"{model.path.name}: {' · '.join(details)}", tip)
        name = model.path.name
        load = functools.partial(self.loadRequested.emit, model.path, model.mmproj)
        buttons = [
            _button("Load", f"Load {name}", "Load this model for chatting", load),
            _button("Show in folder", f"Show {name} in folder", "Open the folder it is in", lambda: self._open(model)),
            _button("Delete", f"Delete {name}", "Delete the file (imported: forget it)", lambda: self._delete(model)),
        ]
        _fill(QHBoxLayout(row), label, *buttons).setStretch(0, 1)
        return row

    def _on_imported(self, model: LocalModel) -> None:
        self._say(f"Imported {model.path.name}: {model.kind}, {model.quantization}.")
        self.refresh()

    def _on_import_failed(self, path: Path, exc: BaseException) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        self._say(str(exc) if isinstance(exc, EngineError) else f"{path.name} could not be read: {reason}", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setText(text)
        _colour(self.message_label, ERROR_COLOUR if error else None)

    # -- actions -------------------------------------------------------------------------------

    def _on_row_downloadRequested(self, variant: Variant) -> None:
        vf, job = self._fits.get(variant.ref), self._downloads.job(variant)
        resuming = job is not None and job.state in (PAUSED, FAILED)  # asked when it started
        if vf is not None and vf.fit.verdict == "too_big" and not resuming:
            question = f"{vf.fit.message}. {variant.label} will probably not load on this machine. Download it anyway?"
            if not confirm.ask(self, "Download a model that is too big?", question):
                return
        endpoint, token = self._settings.get_str("hf_endpoint"), self._settings.get_str("hf_token")
        self._downloads.start(variant, self.folder, endpoint=endpoint, token=token or None)

    def _on_row_loadRequested(self, variant: Variant) -> None:
        folder = self.folder
        self.loadRequested.emit(model_path(folder, variant), mmproj_path(folder, variant))

    def _on_downloads_jobAdded(self, job: DownloadJob) -> None:
        for row in self.rows:
            if row.model.id == job.variant.model.id:  # started here or elsewhere (the welcome page)
                row.update_view()

    def _on_downloads_modelReady(self, _variant: Variant, _paths: list[Path]) -> None:
        self.refresh()
        self.check_hardware()  # less disk free now

    def _delete(self, model: LocalModel) -> None:
        name = model.path.name
        loaded = self.in_use()
        if loaded is not None and loaded.resolve() == model.path.resolve():
            self._say(f"Gemma Desk is using {name} now. Load another model first, then delete this one.", error=True)
            return
        if model.imported:
            question = f"Remove {name} from the list? The file stays in {model.path.parent}."
        else:
            question = f"Delete {name} ({format_size(model.size_bytes)}) from {model.path.parent}?"
        if not confirm.ask(self, "Delete model", question):
            return
        folder = self.folder

        def done(freed: int) -> None:
            self._say(f"Deleted {name}: {format_size(freed)} freed." if freed else f"Removed {name} from the list.")
            self.refresh()
            self.check_hardware()

        fail = self._alive(lambda exc: self._say(f"Could not delete {name}: {exc}", error=True))
        run_in_background(lambda: Library(folder).delete(model), self._alive(done), fail)

    def _open(self, what: LocalModel | Path) -> None:
        folder = what.path.parent if isinstance(what, LocalModel) else what
        self._open_url(QUrl.fromLocalFile(str(folder)))

    def _choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.import_file(Path(path))


def _preview() -> int:
    app = QApplication(sys.argv)
    downloads = Downloads()
    window = ModelManager(load_catalog(), Settings.load(), downloads)
    window.loadRequested.connect(lambda model, mmproj: print("load", model, mmproj))
    window.show()
    code = app.exec()
    downloads.pause_all()
    return code


if __name__ == "__main__":
    sys.exit(_preview())
