"""Fit verdicts: does an estimate fit the memory free now, and the largest default context that does.

"fits" keeps 15 % of the need (at least 1 GB) free; "tight" fits with less;
"too_big" does not fit. The budget depends on where the model runs: see
``check_fit``. ``fit_placement`` also tries keeping a mixture-of-experts
model's experts in RAM when the whole model does not fit the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.models.fit.estimate import Estimate, EstimateOptions, estimate
from app.models.fit.facts import ModelFacts, as_int
from app.models.fit.moe import cpu_moe_choices
from app.models.hardware import Hardware
from app.units import GB, format_gb

#: Headroom kept free: 15 % of what the model needs, and at least 1 GB.
HEADROOM_FRACTION = 0.15
HEADROOM_MIN = 1 * GB


@dataclass(frozen=True)
class Fit:
    """Whether an estimate fits this machine, and a sentence saying so."""

    verdict: str  # "fits" | "tight" | "too_big"
    estimate: Estimate
    headroom: int  # budget - need, bytes (negative when too big)
    message: str
    budget: int = 0  # bytes the need was compared with

    @property
    def estimate_need(self) -> int:
        """The bytes compared with the budget (all of it, or the GPU's or RAM's share)."""
        return self.budget - self.headroom


def headroom_needed(need: int) -> int:
    """Memory kept free beyond an estimate: 15 % of it, at least 1 GB."""
    return max(HEADROOM_MIN, int(need * HEADROOM_FRACTION))


def _verdict(need: int, budget: int) -> str:
    if need + headroom_needed(need) <= budget:
        return "fits"
    return "tight" if need <= budget else "too_big"


_RANK = {"fits": 0, "tight": 1, "too_big": 2}


def check_fit(estimate: Estimate, hw: Hardware) -> Fit:
    """Compare an estimate with what is free now.

    The budget is the GPU's free memory for what is offloaded (the discrete GPUs
    together, as llama.cpp splits layers across them), with the rest checked
    against available RAM; on unified memory (Apple Silicon) all of it against
    the smaller of the GPU's working-set budget and available RAM; on the CPU,
    available RAM. "fits" keeps 15 % (at least 1 GB) free; "tight" fits with
    less; "too_big" does not fit.
    """
    checks: list[tuple[str, int, int]] = []  # (where, need, budget)
    if estimate.where == "cpu" or not hw.gpus:
        checks.append(("RAM", estimate.total, hw.ram_available))
    elif hw.unified_memory or all(g.integrated for g in hw.gpus):
        gpu_free = sum(g.memory_free for g in hw.gpus)
        budget = min(gpu_free, hw.ram_available) if gpu_free > 0 else hw.ram_available
        checks.append(("memory", estimate.total, budget))
    else:
        checks.append(("GPU memory", estimate.gpu, hw.gpu_memory_free))
        checks.append(("RAM", estimate.ram, hw.ram_available))
    worst = max(checks, key=lambda c: (_RANK[_verdict(c[1], c[2])], c[1] - c[2]))
    label, need, budget = worst
    verdict = _verdict(need, budget)
    if verdict == "fits":
        message = f"Fits: needs {format_gb(need)} of {format_gb(budget)} {label} available"
    elif verdict == "tight":
        message = (
            f"Tight: needs {format_gb(need)} of {format_gb(budget)} {label} available; "
            "close other apps or pick a smaller context"
        )
    else:
        message = f"Too big: needs {format_gb(need)} but only {format_gb(budget)} {label} is available"
    if estimate.cpu_moe_layers:
        of = f" of {estimate.n_layer}" if estimate.n_layer else ""
        message += f"; GPU + CPU experts: the experts of {estimate.cpu_moe_layers}{of} layers stay in RAM"
    return Fit(verdict, estimate, budget - need, message, budget)


def fit_placement(facts: ModelFacts, hw: Hardware, n_ctx: int, options: EstimateOptions | None = None) -> Fit:
    """The fit at ``n_ctx``, keeping the experts of as few layers as possible in RAM when that helps.

    When the whole model fits with headroom, or the split does not apply (a dense model, the CPU, unified
    memory, a partial offload, ``options.cpu_moe_layers`` already set), this is ``check_fit`` of the estimate.
    Otherwise the smallest number of CPU-expert layers that "fits"; failing that the smallest that is "tight";
    failing that the whole model on the GPU, as asked.
    """
    opts = options if options is not None else EstimateOptions()
    whole = check_fit(estimate(facts, n_ctx, opts), hw)
    if whole.verdict == "fits" or opts.cpu_moe_layers:
        return whole
    tight: Fit | None = None
    for n in cpu_moe_choices(facts, hw, opts.gpu_layers):
        fit = check_fit(estimate(facts, n_ctx, replace(opts, cpu_moe_layers=n)), hw)
        if fit.verdict == "fits":
            return fit
        if fit.verdict == "tight" and tight is None:
            tight = fit
    return whole if whole.verdict == "tight" or tight is None else tight


def context_steps(cap: int, floor: int) -> list[int]:
    """Context sizes to try, largest first: ``cap``, then 2^k and 3·2^(k-1) down to ``floor``."""
    steps = {cap, floor}
    k = 8
    while (1 << k) <= cap:
        for n in (1 << k, 3 << (k - 1)):
            if floor <= n <= cap:
                steps.add(n)
        k += 1
    return sorted(steps, reverse=True)


def max_context_that_fits(
    facts: ModelFacts,
    hw: Hardware,
    *,
    cap: int = 32768,
    floor: int = 2048,
    options: EstimateOptions | None = None,
) -> int:
    """The default context: the largest "round" size ≤ ``cap`` (and the trained length) that fits.

    A mixture-of-experts model may keep some layers' experts in RAM to fit (``fit_placement``).
    Never the model's 128K/256K maximum unless asked for by ``cap``; ``floor``
    (or the trained length, if smaller) when even that does not fit — the
    caller's ``check_fit`` then says the model is too big.
    """
    n_train = as_int(facts.arch.get("context_length"), 0)
    if n_train > 0:
        cap = min(cap, n_train)
        floor = min(floor, n_train)
    floor = min(floor, cap)
    for n_ctx in context_steps(cap, floor):
        if fit_placement(facts, hw, n_ctx, options).verdict == "fits":
            return n_ctx
    return floor
