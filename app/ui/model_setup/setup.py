"""The window's model side: the catalog, this machine, downloads, the welcome page and the check before loading.

At start it reads the catalog (checked: a broken ``models.toml`` is a notice,
not a crash), probes the hardware, its speed (``app.models.speed``: measured
once, then kept) and the models folder, and fills the welcome page. After
each answer it keeps what the local model measured (``record_speed``).
Before any model is loaded it estimates the memory at the context from the
settings, lowers the context when that is what it takes to fit, and asks
before loading something that will not fit. All of that runs off the GUI
thread; the window hears back through ``loadApproved``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.engine import GenerationStats
from app.models.advice import Advice, advise
from app.models.catalog import Catalog, CatalogError, load_catalog
from app.models.hardware import Hardware, probe_hardware
from app.models.library import Library, LocalModel
from app.models.load_plan import LoadPlan, plan_load
from app.models.local import find_assistant, find_mmproj
from app.models.speed import Speeds, load_speeds, record_turn, speeds_or_none
from app.models.speed.observed import MIN_DECODE_TOKENS
from app.models.variants import Variant, VariantFit, all_variants, assess, variant_state
from app.paths import models_dir
from app.settings import Settings
from app.ui import confirm
from app.ui.model_setup.downloads import DownloadJob, Downloads
from app.ui.tasks import run_in_background
from app.units import format_gb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MachineReport:
    """What the start-up probe found."""

    catalog: Catalog | None
    catalog_error: str
    hardware: Hardware
    folder: Path  # the models folder the probe looked at
    recommended: VariantFit | None
    installed: list[LocalModel]
    unfinished: VariantFit | None = None  # a download begun earlier (the app was closed or killed)
    advice: Advice | None = None  # the recommendation with a model that hears, when the pick cannot


class ModelSetup(QObject):
    # Signals
    machineChecked = Signal(object)  # MachineReport
    # model Path, projector Path | None, n_ctx, cpu_moe_layers, MTP assistant Path | None
    loadApproved = Signal(object, object, int, int, object)
    notice = Signal(str)

    def __init__(self, settings: Settings, window: QWidget) -> None:
        super().__init__(window)
        self.settings = settings
        self.window = window
        self.downloads = Downloads(self)
        self.catalog: Catalog | None = None
        self.hardware: Hardware | None = None
        self.report: MachineReport | None = None
        self.catalog_path: Path | None = None  # None: the models.toml that ships with the app
        self.probe: Callable[[Path], Hardware] = probe_hardware  # how this machine is looked at
        self.speeds: Callable[[Hardware], Speeds] = load_speeds  # how fast it is (measured once, then kept)

    def folder(self) -> Path:
        return models_dir(self.settings.get_str("models_folder"))

    # -- start-up -------------------------------------------------------------------------------

    def check_machine(self) -> None:
        """Read the catalog, probe the machine and the models folder (in the background)."""
        folder, source, look, speed_of = self.folder(), self.catalog_path, self.probe, self.speeds

        def probe() -> MachineReport:
            catalog, error = None, ""
            try:
                catalog = load_catalog(source)
            except CatalogError as exc:
                log.error("the model catalog is broken: %s", exc)
                error = f"The model catalog that came with Gemma Desk is damaged ({exc}); reinstall the app."
            hw = look(folder)
            speeds = speeds_or_none(speed_of, hw) if catalog is not None else None
            advice = advise(catalog, hw, speeds=speeds) if catalog is not None else None
            installed, _problems = Library(folder).models()
            begun = [v for v in all_variants(catalog) if variant_state(folder, v) == "partial"] if catalog else []
            unfinished = assess(begun[0], hw, speeds=speeds) if begun else None
            pick = advice.pick if advice is not None else None
            return MachineReport(catalog, error, hw, folder, pick, installed, unfinished, advice)

        def done(report: MachineReport) -> None:
            self.report, self.catalog, self.hardware = report, report.catalog, report.hardware
            if report.catalog_error:
                self.notice.emit(report.catalog_error)
            self.machineChecked.emit(report)

        def failed(exc: BaseException) -> None:
            log.error("could not look at this machine", exc_info=exc)
            self.notice.emit(f"Could not look at this machine's memory and disk: {exc}")

        run_in_background(probe, done, failed)

    def validate_catalog(self) -> None:
        """Read and check the catalog in the background (start-up with a model to load: no probe needed)."""
        source = self.catalog_path

        def done(catalog: Catalog) -> None:
            self.catalog = catalog

        def failed(exc: BaseException) -> None:
            log.error("the model catalog is broken: %s", exc)
            self.notice.emit(f"The model catalog that came with Gemma Desk is damaged ({exc}); reinstall the app.")

        run_in_background(lambda: load_catalog(source), done, failed)

    # -- downloads ----------------------------------------------------------------------------

    def download(self, variant: Variant) -> DownloadJob | None:
        """Start (or resume) a download, asking first when the variant will not fit here."""
        if self.hardware is not None:
            vf = assess(variant, self.hardware)
            if vf.fit.verdict == "too_big" and not confirm.ask(
                self.window,
                "This model may not fit",
                f"{vf.fit.message}.\n\nDownload {variant.label} anyway?",
            ):
                return None
        return self.downloads.start(
            variant,
            self.folder(),
            endpoint=self.settings.get_str("hf_endpoint"),
            token=self.settings.get_str("hf_token") or None,
        )

    # -- speed ------------------------------------------------------------------------------------

    def record_speed(self, model: Path | None, stats: GenerationStats, cpu_moe_layers: int = 0) -> None:
        """Keep what a real answer of the local ``model`` measured (in the background), so the estimates follow
        this machine; ``model`` None (a remote server) records nothing. ``cpu_moe_layers``: as the model loaded."""
        if model is None or stats.completion_tokens < MIN_DECODE_TOKENS:
            return
        hw, speed_of, look, folder = self.hardware, self.speeds, self.probe, self.folder()

        def work() -> Hardware:
            machine = hw or look(folder)
            speeds = speeds_or_none(speed_of, machine)
            if speeds is not None and model.is_file():
                record_turn(model, stats, speeds, cpu_moe_layers=cpu_moe_layers)
            return machine

        def keep(machine: Hardware) -> None:  # a resumed model skips the start-up probe: probe once, not per answer
            if self.hardware is None:
                self.hardware = machine

        run_in_background(work, keep, lambda exc: log.info("speed not recorded: %s", exc))

    # -- the check before loading -------------------------------------------------------------------

    def prepare_load(self, model: Path, mmproj: Path | None = None) -> None:
        """Find the projector, estimate the memory, then approve the load (asking first if it will not fit)."""
        requested = self.settings.get_int("context_size")
        gpu_layers = self.settings.get_int("gpu_layers")
        budget = self.settings.get_int("vision_budget")
        folder, look = self.folder(), self.probe

        drafts = self.settings.get_str("speculative") != "off"

        def plan() -> tuple[Path | None, LoadPlan | None, Path | None]:
            found = mmproj if mmproj is not None and mmproj.is_file() else find_mmproj(model)
            helper = find_assistant(model) if drafts else None  # Gemma 4's MTP drafter, when it sits beside
            try:
                hw = look(folder)
                load_plan = plan_load(model, found, requested, hw, gpu_layers=gpu_layers, vision_budget=budget)
                return found, load_plan, helper
            except Exception as exc:  # a bad file: the engine's preflight gives the user its message
                log.info("no estimate for %s: %s", model.name, exc)
                return found, None, helper

        def decide(result: tuple[Path | None, LoadPlan | None, Path | None]) -> None:
            found, load_plan, helper = result
            n_ctx, cpu_moe = requested, 0
            if load_plan is not None:
                n_ctx, cpu_moe = load_plan.n_ctx, load_plan.cpu_moe_layers
                if load_plan.too_big and not confirm.ask(
                    self.window,
                    "This model will not fit",
                    f"{load_plan.fit.message}.\n\nLoading {model.name} may make this computer very slow or fail. "
                    "Load it anyway?",
                ):
                    self.notice.emit(
                        f"{model.name} was not loaded: it needs about {format_gb(load_plan.fit.estimate_need)}."
                    )
                    return
                if load_plan.notice:
                    self.notice.emit(load_plan.notice)
            self.loadApproved.emit(model, found, n_ctx, cpu_moe, helper)

        run_in_background(plan, decide)

    # -- dialogs (tests replace this) -------------------------------------------------------------------
