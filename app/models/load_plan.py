"""Before loading a model: will it fit, and with how much context?

``plan_load`` reads the model's (and projector's) headers, estimates the
memory at the context the user asked for, and when that does not fit lowers
the context to the largest round size that does (never below 2,048 tokens).
When even that is too big the plan says so, and the window asks before
loading. A mixture-of-experts model that does not fit the GPU whole keeps
the experts of its first layers in RAM (``cpu_moe_layers``, as few as fit)
before its context is lowered. No Qt; runs off the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.models.fit import EstimateOptions, Fit, ModelFacts, fit_placement, max_context_that_fits
from app.models.hardware import Hardware

MIN_CTX = 2048


@dataclass(frozen=True)
class LoadPlan:
    n_ctx: int  # the context to load with
    fit: Fit  # at that context
    notice: str  # one line for the user when the context was lowered, else ""

    @property
    def too_big(self) -> bool:
        return self.fit.verdict == "too_big"

    @property
    def cpu_moe_layers(self) -> int:
        """Layers whose experts stay in RAM (``LoadRequest.cpu_moe_layers``); 0: the whole model as asked."""
        return self.fit.estimate.cpu_moe_layers

    @property
    def placement(self) -> str:
        """Where the model will run, in words ("GPU", "GPU + CPU experts (…)", "CPU", …)."""
        return self.fit.estimate.placement


def plan_load(
    model: Path,
    mmproj: Path | None,
    requested_ctx: int,
    hw: Hardware,
    *,
    gpu_layers: int = -1,
    vision_budget: int = 280,
) -> LoadPlan:
    """The context to load ``model`` with on ``hw`` and whether it fits (raises ``ModelFileError`` for bad files)."""
    facts = ModelFacts.from_gguf(model, mmproj)
    options = EstimateOptions(gpu_layers=gpu_layers if hw.has_gpu else 0, vision_budget=vision_budget)
    n_train = facts.arch.get("context_length")
    wanted = min(requested_ctx, n_train) if isinstance(n_train, int) and n_train > 0 else requested_ctx

    fit = fit_placement(facts, hw, wanted, options)
    if fit.verdict != "too_big" or wanted <= MIN_CTX:
        return LoadPlan(wanted, fit, _experts_notice(model, fit))
    smaller = max_context_that_fits(facts, hw, cap=wanted, floor=MIN_CTX, options=options)
    smaller_fit = fit_placement(facts, hw, smaller, options)
    if smaller_fit.verdict == "too_big":
        return LoadPlan(smaller, smaller_fit, "")
    notice = (
        f"The context was lowered from {wanted:,} to {smaller:,} tokens so that {model.name} fits in the memory "
        "available (Settings → Context size)."
    )
    return LoadPlan(smaller, smaller_fit, " ".join(n for n in (notice, _experts_notice(model, smaller_fit)) if n))


def _experts_notice(model: Path, fit: Fit) -> str:
    est = fit.estimate
    if not est.cpu_moe_layers:
        return ""
    return (
        f"{model.name} does not fit the GPU whole: the experts of {est.cpu_moe_layers} of its {est.n_layer} layers "
        "stay in RAM and run on the CPU (slower than all on the GPU)."
    )
