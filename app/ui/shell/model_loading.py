"""The window's model side: opening a model file, loading it (after the fit check), what the window offers
while there is none (the welcome page, downloads), the model manager, and the capabilities that follow a load.

The fit check and projector search run off the GUI thread in ``ModelSetup``; the load runs on the engine's
worker through the ``EngineBridge``; this object reacts to their signals and updates the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from app.engine import LoadRequest, ModelInfo
from app.models.catalog import Catalog
from app.ui import confirm
from app.ui.model_setup.setup import MachineReport
from app.ui.tasks import run_in_background

if TYPE_CHECKING:
    from app.remote import RemoteConfig
    from app.ui.model_setup.remote_models import RemoteModelsBox
    from app.ui.model_setup.remote_source import RemoteSourceDialog
    from app.ui.shell.main_window import MainWindow


class ModelLoading(QObject):
    """Loads models into the window's engine and keeps the window's model state in step."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.manager: QWidget | None = None
        self.remote_dialog: RemoteSourceDialog | None = None
        self.remote_models: RemoteModelsBox | None = None  # the model manager's remote section, once opened
        self._loading_path: tuple[Path, Path | None] | None = None
        b, m, welcome = window.bridge, window.models, window.welcome
        b.loadProgress.connect(self._on_load_progress)
        b.modelLoaded.connect(self._on_model_loaded)
        b.failed.connect(self._on_engine_failed)
        b.done.connect(self._on_engine_done)
        b.engineChanged.connect(self._on_engine_changed)
        welcome.downloadRequested.connect(m.download)
        welcome.loadRequested.connect(self.load_model)
        welcome.openFileRequested.connect(self.choose_model)
        welcome.manageRequested.connect(self.open_model_manager)
        m.machineChecked.connect(self._on_machine_checked)
        m.downloads.jobAdded.connect(self._on_download_started)
        m.loadApproved.connect(self._start_load)
        m.notice.connect(lambda text: window.notice_bar.show_notice(text, timeout_s=0))
        m.downloads.modelReady.connect(self._on_download_ready)

    # -- loading ----------------------------------------------------------------------------------

    def choose_model(self) -> None:
        start = self.w.settings.get_str("last_model_path")
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Open a Gemma model", str(Path(start).parent) if start else "", "GGUF models (*.gguf)"
        )
        if path:
            self.load_model(Path(path))

    def offer_model(self, path: Path) -> None:
        """A model file was dropped on the composer: ask before replacing the loaded one."""
        question = f"Load {Path(path).name}? The current model is unloaded first."
        if confirm.ask(self.w, "Load this model?", question):
            self.load_model(Path(path))

    def load_model(self, path: Path, mmproj: Path | None = None) -> None:
        """Check the fit and find the projector (off the GUI thread), then load both on the engine."""
        self.w.status.set_loading(path.name, 0.0)
        self.w.models.prepare_load(Path(path), mmproj)

    def reload_model(self) -> None:
        """Load the current model again (a setting that takes effect at load time changed)."""
        info = self.w.bridge.model_info
        if info is not None and self.w.bridge.remote is None:  # a remote server's model is the server's to load
            self.load_model(Path(info.path), Path(info.mmproj_path) if info.mmproj_path else None)

    def _start_load(
        self, path: Path, mmproj: Path | None, n_ctx: int, cpu_moe_layers: int = 0, assistant: Path | None = None
    ) -> None:
        if self.w.bridge.closed:  # the load plan finished after the window closed: nothing to load into
            return
        s = self.w.settings
        threads = s.get_int("threads")
        self._loading_path = (path, mmproj)
        self.w.bridge.load(
            LoadRequest(
                model_path=path,
                mmproj_path=mmproj,
                n_ctx=n_ctx,
                n_gpu_layers=s.get_int("gpu_layers"),
                n_threads=threads or None,
                vision_budget=s.get_int("vision_budget"),
                cpu_moe_layers=cpu_moe_layers,  # the load plan's: a mixture of experts too big for the GPU whole
                assistant_path=assistant,  # Gemma 4's MTP assistant found beside the model: drafts answers
            )
        )
        self.update_capabilities()
        self.update_page()

    def _on_load_progress(self, _rid: int, fraction: float) -> None:
        name = self._loading_path[0].name if self._loading_path else "model"
        self.w.status.set_loading(name, fraction)

    def _on_model_loaded(self, _rid: int, info: ModelInfo, notice: str) -> None:
        w = self.w
        remote = w.bridge.remote
        if remote is not None:
            w.status.set_remote(info, remote)
        else:
            w.status.set_model(info)
        self.update_capabilities()
        self.update_page()
        w.composer.focus_input()
        if notice:
            w.notice_bar.show_notice(notice)
        if remote is not None:  # reconnect next time; the key is kept in settings.json like the HF token
            last = {"last_engine": "remote", "remote_url": remote.base_url, "remote_model": remote.model or info.name}
            self._remember({**last, "remote_api_key": remote.api_key, "remote_audio": remote.audio})
            if self.remote_models is not None:
                self.remote_models.refresh()
        elif self._loading_path is not None:
            model, mmproj = self._loading_path
            self._remember(
                {"last_engine": "local", "last_model_path": str(model), "last_mmproj_path": str(mmproj or "")}
            )

    def _remember(self, values: dict[str, object]) -> None:
        self.w.settings.update(values)
        try:
            self.w.settings.save()
        except OSError as exc:
            self.w.notice_bar.show_notice(f"Could not save the settings: {exc}")

    def _on_engine_failed(self, rid: int, message: str, _kind: str) -> None:
        w = self.w
        if rid == w.bridge.loading_id:
            w.status.set_model(None)
            if w.bridge.remote is not None:
                w.notice_bar.show_notice(message, "Change…", self.choose_remote, timeout_s=0)
            else:
                w.notice_bar.show_notice(f"The model could not be loaded: {message}", timeout_s=0)
            if w.models.report is None:
                w.models.check_machine()
            self.update_page()

    # -- a remote server --------------------------------------------------------------------------

    def choose_remote(self) -> None:
        """File → Remote server (OpenAI-compatible)…: the dialog (window-modal, without blocking)."""
        from app.ui.model_setup.remote_source import RemoteSourceDialog

        if self.remote_dialog is not None:
            self.remote_dialog.raise_()
            return
        dialog = RemoteSourceDialog(self.w.settings, self.w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.connectRequested.connect(self.connect_remote)
        dialog.finished.connect(self._on_remote_dialog_finished)
        self.remote_dialog = dialog
        dialog.open()

    def _on_remote_dialog_finished(self, _result: int) -> None:
        self.remote_dialog = None

    def connect_remote(self, config: RemoteConfig) -> None:
        """Chat through ``config``'s server: the local model is freed, the remote model checked."""
        if self.w.bridge.closed:
            return
        self._loading_path = None
        self.w.bridge.use_remote(config)
        self.w.status.set_connecting(config)
        self.update_capabilities()
        self.update_page()

    def _on_engine_changed(self) -> None:
        self.w.status.set_model(None)
        self.update_capabilities()
        self.update_page()

    def _on_engine_done(self, _rid: int, _reason: str) -> None:
        if not self.w.bridge.is_loading:
            self.w.status.set_loading("", None)
            self.update_capabilities()

    # -- what the window offers --------------------------------------------------------------------

    def update_page(self) -> None:
        """The welcome page while there is no model, unless the user is reading an earlier chat."""
        w = self.w
        no_model = w.bridge.model_info is None and not w.bridge.is_loading
        reading = bool(w.controller.path)
        w.pages.setCurrentWidget(w.welcome if no_model and not reading else w.chat)

    def update_capabilities(self) -> None:
        """Camera, microphone and attachments follow what the loaded model can see and hear."""
        w = self.w
        info = w.bridge.model_info
        vision, audio = bool(info and info.has_vision), bool(info and info.has_audio)
        name = info.name if info else ""
        w.media.set_model(loaded=info is not None, vision=vision, audio=audio, name=name)
        w.composer.set_capabilities(
            model_loaded=info is not None or w.bridge.is_loading, vision=vision, audio=audio, model_name=name
        )
        w.chat.starters.set_abilities(loaded=info is not None, vision=vision, audio=audio)

    def _on_machine_checked(self, report: MachineReport) -> None:
        installed = report.installed[0] if report.installed else None
        self.w.welcome.set_machine(
            report.hardware, report.folder, report.recommended, installed, report.unfinished, report.advice
        )
        if report.catalog is None:
            self.w.welcome.set_failure(report.catalog_error)

    def _on_download_started(self, job: object) -> None:
        if self.w.bridge.model_info is None:
            self.w.welcome.track(job)  # type: ignore[arg-type]
        self.update_page()

    def _on_download_ready(self, variant: object, paths: list[Path]) -> None:
        model = paths[0]
        mmproj = paths[1] if len(paths) > 1 else None
        if self.w.bridge.model_info is None and not self.w.bridge.is_loading:
            self.load_model(model, mmproj)
        else:
            label = getattr(variant, "label", model.name)
            self.w.notice_bar.show_notice(f"{label} is downloaded.", "Load it", lambda: self.load_model(model, mmproj))

    def open_model_manager(self) -> None:
        from app.ui.model_setup.manager import ModelManager

        if self.manager is not None:
            self.manager.show()
            self.manager.raise_()
            self.manager.activateWindow()
            return
        models = self.w.models
        if models.catalog is None:
            from app.models.catalog import load_catalog

            def loaded(result: Catalog) -> None:
                models.catalog = result
                self.open_model_manager()

            run_in_background(
                lambda: load_catalog(models.catalog_path),
                loaded,
                lambda exc: self.w.notice_bar.show_notice(str(exc), timeout_s=0),
            )
            return
        manager = ModelManager(models.catalog, self.w.settings, models.downloads, self.w)
        manager.loadRequested.connect(self.load_model)
        from app.ui.model_setup.remote_models import RemoteModelsBox

        remote = RemoteModelsBox(self.w.settings, manager)
        remote.useRequested.connect(self.connect_remote)
        remote.chooseRequested.connect(self.choose_remote)
        manager.add_section(remote)
        self.remote_models = remote
        manager.in_use = lambda: self.w.bridge.model_info.path if self.w.bridge.model_info else None
        self.manager = manager
        manager.show()
