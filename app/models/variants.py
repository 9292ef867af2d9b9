"""Catalog entries on this machine: where their files go, whether they are there, and whether they fit.

A ``Variant`` is one catalog model at one quantization ("e4b:Q4_K_M"). This
module joins the catalog (``app.models.catalog``), the fit estimate
(``app.models.fit``) and the downloader (``app.models.download``): the files
a variant needs as ``DownloadSpec``s, its state in the models folder, its
estimate and fit on this machine with the largest default context that
fits, its speed here when ``Speeds`` are given, and the recommendation for a
first run. No Qt.

Downloads land flat in the models folder under their catalog file names, which
is where ``app.models.library.Library`` and ``find_mmproj`` look for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.models.catalog import DEFAULT_ENDPOINT, Catalog, CatalogModel, FileRef, Quant
from app.models.download import DownloadError, DownloadSpec, part_path
from app.models.fit import (
    Candidate,
    Estimate,
    EstimateOptions,
    Fit,
    ModelFacts,
    fit_placement,
    max_context_that_fits,
    recommend,
)
from app.models.hardware import Hardware
from app.models.speed import SLOW_TOK_S, SpeedEstimate, Speeds

#: The context every variant is compared at in lists and the recommendation.
COMPARE_CTX = 8192
#: The largest default context offered (the models' 128K/256K only when the user asks).
DEFAULT_CTX_CAP = 32768
#: On a machine without a GPU, dense models with more active parameters than this are too slow to
#: recommend (the 31B writes ~1-2 tokens/s on a desktop CPU); they stay in the list, marked so.
CPU_ACTIVE_PARAMS_MAX_B = 8.0

STATES = ("installed", "partial", "absent")


@dataclass(frozen=True)
class Variant:
    """A catalog model at one quantization."""

    model: CatalogModel
    quant: Quant

    @property
    def ref(self) -> str:
        """What the CLI accepts: "e4b:Q4_K_M"."""
        return f"{self.model.short_name}:{self.quant.name}"

    @property
    def label(self) -> str:
        return f"{self.model.name} {self.quant.name}"

    @property
    def files(self) -> tuple[FileRef, ...]:
        """The model file, then the projector (when the model has one)."""
        return self.model.files(self.quant)

    @property
    def download_size(self) -> int | None:
        """Bytes of every file together; None when a size is unknown."""
        sizes = [f.size for f in self.files]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    @property
    def can_verify(self) -> bool:
        return all(f.can_verify for f in self.files)

    def candidate(self) -> Candidate:
        mmproj = self.model.mmproj
        return Candidate(
            id=self.model.id,
            quant=self.quant.name,
            weights_bytes=self.quant.file.size or 0,
            mmproj_bytes=(mmproj.size or 0) if mmproj is not None else 0,
            arch=self.model.fit_arch(),
            kv_bytes_per_token=self.model.kv_bytes_per_token_f16,
            n_params=int(self.model.params_b * 1e9),
        )

    def facts(self) -> ModelFacts:
        return self.candidate().facts()


def all_variants(catalog: Catalog) -> list[Variant]:
    return [Variant(m, q) for m in catalog for q in m.quants]


def find_variant(catalog: Catalog, ref: str) -> Variant:
    """``"e4b"`` or ``"e4b:Q8_0"`` (``CatalogKeyError`` with the choices otherwise)."""
    model, quant = catalog.get(ref)
    return Variant(model, quant)


def local_path(folder: Path, ref: FileRef) -> Path:
    """Where ``ref`` is kept in the models folder (its base name; the catalog forbids odd paths)."""
    return Path(folder) / Path(ref.name).name


def model_path(folder: Path, variant: Variant) -> Path:
    return local_path(folder, variant.quant.file)


def mmproj_path(folder: Path, variant: Variant) -> Path | None:
    mm = variant.model.mmproj
    return local_path(folder, mm) if mm is not None else None


def download_specs(variant: Variant, folder: Path, endpoint: str = "") -> list[DownloadSpec]:
    """The files to fetch for ``variant``: URL (from ``endpoint``, default Hugging Face), destination, size, hash."""
    base = endpoint.strip() or DEFAULT_ENDPOINT
    if not base.lower().startswith(("http://", "https://")):
        raise DownloadError(
            f"The download server {base!r} is not an http:// or https:// address (Settings → Download server)."
        )
    return [
        DownloadSpec(
            url=ref.url(endpoint=base),
            dest=local_path(folder, ref),
            size=None if ref.size_approx else ref.size,
            sha256=ref.sha256,
            label=Path(ref.name).name,
        )
        for ref in variant.files
    ]


def file_state(folder: Path, ref: FileRef) -> str:
    """ "installed" (there, with the catalog's size when known), "partial" (a ``.part`` or a wrong size), "absent"."""
    path = local_path(folder, ref)
    if path.is_file():
        if ref.size is None or ref.size_approx or path.stat().st_size == ref.size:
            return "installed"
        return "partial"
    return "partial" if part_path(path).is_file() else "absent"


def variant_state(folder: Path, variant: Variant) -> str:
    """ "installed" when every file is, "absent" when the model file is not begun (a projector shared with
    another quantization does not count), else "partial"."""
    states = [file_state(folder, ref) for ref in variant.files]
    if all(s == "installed" for s in states):
        return "installed"
    return "absent" if states[0] == "absent" else "partial"


def gpu_layers_for(hw: Hardware) -> int:
    """How the app loads a model here: everything on the GPU when there is one (-1), else the CPU (0)."""
    return -1 if hw.has_gpu else 0


def too_slow_here(variant: Variant, hw: Hardware) -> bool:
    """A big dense model on a machine without a GPU: it fits but answers at a crawl."""
    return not hw.has_gpu and variant.model.active_params_b > CPU_ACTIVE_PARAMS_MAX_B


@dataclass(frozen=True)
class VariantFit:
    """A variant's estimate and verdict here, and the largest default context that fits."""

    variant: Variant
    fit: Fit  # at COMPARE_CTX (or the model's trained context, if smaller)
    default_ctx: int
    slow: bool  # below SLOW_TOK_S here (without a speed estimate: too_slow_here())
    speed: SpeedEstimate | None = None  # tokens per second here, when the machine's speed is known

    @property
    def badge(self) -> str:
        """A short word for lists: "Fits", "Tight", "Too big", "Slow here"."""
        if self.fit.verdict == "too_big":
            return "Too big"
        if self.slow:
            return "Slow here"
        return "Fits" if self.fit.verdict == "fits" else "Tight"


def assess(
    variant: Variant,
    hw: Hardware,
    *,
    n_ctx: int = COMPARE_CTX,
    vision_budget: int = 280,
    speeds: Speeds | None = None,
) -> VariantFit:
    facts = variant.facts()
    options = EstimateOptions(gpu_layers=gpu_layers_for(hw), vision_budget=vision_budget)
    ctx = min(n_ctx, variant.model.context_length)
    fit = fit_placement(facts, hw, ctx, options)  # a mixture of experts may keep some experts in RAM
    default_ctx = max_context_that_fits(
        facts, hw, cap=min(DEFAULT_CTX_CAP, variant.model.context_length), options=options
    )
    speed = speeds.for_catalog(variant.model, variant.quant, fit.estimate) if speeds is not None else None
    known = speed.decode if speed is not None else None
    slow = known < SLOW_TOK_S if known is not None else too_slow_here(variant, hw)
    return VariantFit(variant, fit, default_ctx, slow, speed)


def assess_all(catalog: Catalog, hw: Hardware, speeds: Speeds | None = None) -> list[VariantFit]:
    return [assess(v, hw, speeds=speeds) for v in all_variants(catalog)]


def recommend_variant(
    catalog: Catalog,
    hw: Hardware,
    *,
    n_ctx: int = COMPARE_CTX,
    speeds: Speeds | None = None,
    among: Callable[[CatalogModel], bool] | None = None,
) -> VariantFit | None:
    """The best variant for this machine (``fit.recommend``), None if none fits; only models ``among`` allows.

    With ``speeds``, the most capable variant that writes at a comfortable rate here (else the fastest that
    fits); without, the rule of thumb leaves out what is too slow here (big dense models on a CPU).
    """
    variants = [v for v in all_variants(catalog) if among is None or among(v.model)]
    usable = variants if speeds is not None else [v for v in variants if not too_slow_here(v, hw)] or variants
    by_key = {(v.model.id, v.quant.name): v for v in usable}
    rate = None
    if speeds is not None:
        known = speeds

        def rate(c: Candidate, est: Estimate) -> float | None:
            v = by_key[(c.id, c.quant)]
            return known.for_catalog(v.model, v.quant, est).decode

    pick = recommend([v.candidate() for v in usable], hw, n_ctx=n_ctx, speed=rate)
    if pick is None:
        return None
    model_id, quant, _fit = pick
    return assess(by_key[(model_id, quant)], hw, n_ctx=n_ctx, speeds=speeds)
