"""The recommendation: which model and quantization to offer first on this machine.

Bigger models first; for a model, Q4_K_M unless a higher-precision quant fits
in half the budget; below-4-bit quants only when nothing else fits; on a
machine with a GPU, a model that fits on the GPU before one that only fits in
RAM. Given a speed estimate, only variants that write at a comfortable rate
(``min_tok_s``) are considered first; when none does, the fastest model that
fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.models.fit.estimate import Estimate, EstimateOptions, estimate
from app.models.fit.facts import ModelFacts
from app.models.fit.verdict import Fit, check_fit
from app.models.hardware import Hardware

#: "Lots of room": a higher-precision quant is chosen only when it uses at most this much of the budget.
ROOMY_FRACTION = 0.5
#: Tokens per second that read comfortably: a slower variant is recommended only when nothing else fits.
COMFORTABLE_TOK_S = 8.0


@dataclass(frozen=True)
class Candidate:
    """One downloadable variant: a model at one quantization.

    ``arch`` is the model's architecture facts (``arch_facts`` of its GGUF;
    the same for every quant of a model), or empty with ``kv_bytes_per_token``
    instead. ``n_params`` ranks models by size (0: rank by the largest file).
    """

    id: str  # the model's id in the catalog, e.g. "gemma-4-e4b-it"
    quant: str  # "Q4_K_M", "Q8_0", …
    weights_bytes: int
    mmproj_bytes: int = 0
    arch: Mapping[str, Any] = field(default_factory=dict)
    kv_bytes_per_token: int | None = None
    n_params: int = 0
    mmproj_arch: Mapping[str, Any] = field(default_factory=dict)

    def facts(self) -> ModelFacts:
        return ModelFacts(
            weights_bytes=self.weights_bytes,
            mmproj_bytes=self.mmproj_bytes,
            arch=self.arch,
            kv_bytes_per_token=self.kv_bytes_per_token,
            mmproj_arch=self.mmproj_arch,
        )


DEFAULT_QUANT = "Q4_K_M"
#: Quantizations below ~4 bits: considered only when nothing else fits.
_LOW_BIT_PREFIXES = ("Q2", "Q3", "IQ1", "IQ2", "IQ3", "TQ")


def _is_low_bit(quant: str) -> bool:
    return quant.upper().startswith(_LOW_BIT_PREFIXES)


#: A candidate's decode tok/s where its memory estimate places it (None: unknown).
SpeedOf = Callable[[Candidate, Estimate], "float | None"]
#: May a candidate be picked? (its speed is fine, or not known)
_Allowed = Callable[[Candidate, Estimate], bool]


def recommend(
    candidates: Sequence[Candidate],
    hw: Hardware,
    *,
    n_ctx: int = 8192,
    swa_full: bool = True,
    speed: SpeedOf | None = None,
    min_tok_s: float = COMFORTABLE_TOK_S,
) -> tuple[str, str, Fit] | None:
    """The best (model id, quant, fit) for this machine, or None when nothing fits with headroom.

    Bigger models first (by ``n_params``, else by their largest file); for a
    model, Q4_K_M unless a higher-precision quant fits in half the budget
    ("lots of room"); below-4-bit quants only when no model fits otherwise.
    On a machine with a GPU, a model that fits on the GPU is preferred to one
    that only fits in RAM. With ``speed``, a variant estimated below
    ``min_tok_s`` is passed over while a faster one fits; when none is that
    fast, the fastest model that fits (at its usual quant) is the pick.
    """
    by_model: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_model.setdefault(c.id, []).append(c)

    def size(model_id: str) -> tuple[int, int]:
        group = by_model[model_id]
        return max(c.n_params for c in group), max(c.weights_bytes for c in group)

    order = sorted(by_model, key=size, reverse=True)
    placements = [-1, 0] if hw.gpus else [0]
    if speed is None:
        return _search(by_model, order, placements, hw, n_ctx, swa_full, None)
    rate = speed

    def comfortable(c: Candidate, est: Estimate) -> bool:
        tok_s = rate(c, est)
        return tok_s is None or tok_s >= min_tok_s

    found = _search(by_model, order, placements, hw, n_ctx, swa_full, comfortable)
    if found is not None:
        return found
    # Nothing is comfortable: the fastest model, and no richer quant than its usual one (each costs speed).
    options = EstimateOptions(swa_full=swa_full, gpu_layers=placements[0])
    usual = {m: _usual_weights(group) for m, group in by_model.items()}

    def fastest(model_id: str) -> float:
        lean = min(by_model[model_id], key=lambda c: c.weights_bytes)
        return rate(lean, estimate(lean.facts(), n_ctx, options)) or 0.0

    def lean_enough(c: Candidate, _est: Estimate) -> bool:
        return c.weights_bytes <= usual[c.id]

    order = sorted(order, key=fastest, reverse=True)
    return _search(by_model, order, placements, hw, n_ctx, swa_full, lean_enough)


def _usual_weights(group: Sequence[Candidate]) -> int:
    """The weights of a model's usual quant: Q4_K_M, else its leanest ≥4-bit one, else its leanest."""
    for c in group:
        if c.quant.upper() == DEFAULT_QUANT:
            return c.weights_bytes
    fair = [c.weights_bytes for c in group if not _is_low_bit(c.quant)]
    return min(fair or [c.weights_bytes for c in group])


def _search(
    by_model: Mapping[str, Sequence[Candidate]],
    order: Sequence[str],
    placements: Sequence[int],
    hw: Hardware,
    n_ctx: int,
    swa_full: bool,
    allowed: _Allowed | None,
) -> tuple[str, str, Fit] | None:
    """The first model in ``order`` with a quant that fits (GPU placement first, low-bit quants last)."""
    for gpu_layers in placements:
        options = EstimateOptions(swa_full=swa_full, gpu_layers=gpu_layers)
        for allow_low_bit in (False, True):
            for model_id in order:
                pick = _pick_quant(by_model[model_id], hw, n_ctx, options, allow_low_bit, allowed)
                if pick is not None:
                    return model_id, pick[0].quant, pick[1]
    return None


def _pick_quant(
    group: Sequence[Candidate],
    hw: Hardware,
    n_ctx: int,
    options: EstimateOptions,
    allow_low_bit: bool,
    allowed: _Allowed | None = None,
) -> tuple[Candidate, Fit] | None:
    fitting: list[tuple[Candidate, Fit]] = []
    for c in group:
        if _is_low_bit(c.quant) and not allow_low_bit:
            continue
        fit = check_fit(estimate(c.facts(), n_ctx, options), hw)
        if fit.verdict == "fits" and (allowed is None or allowed(c, fit.estimate)):
            fitting.append((c, fit))
    if not fitting:
        return None
    default = next((cf for cf in fitting if cf[0].quant.upper() == DEFAULT_QUANT), None)
    roomy = [cf for cf in fitting if cf[1].estimate_need <= ROOMY_FRACTION * cf[1].budget]
    if roomy:
        best = max(roomy, key=lambda cf: cf[0].weights_bytes)
        if default is None or best[0].weights_bytes > default[0].weights_bytes:
            return best
    if default is not None:
        return default
    # No Q4_K_M here: the leanest ≥4-bit quant that fits (or the richest low-bit one, when it came to that).
    pick = max if allow_low_bit else min
    return pick(fitting, key=lambda cf: cf[0].weights_bytes)
