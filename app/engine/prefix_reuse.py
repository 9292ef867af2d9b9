"""Prefix reuse: how much of the KV cache a new prompt keeps, and dropping the rest before it is evaluated.

A new turn keeps the longest common prefix of the cache and the prompt (``PrefixCache.common_prefix``) and
evaluates only what follows it.

Gemma 4's sliding-window layers: a sliding-window (SWA) KV cache of the default size only keeps the last
window of positions, so it cannot be rewound past that. Gemma 4's template also rewrites the last model
turn on every new turn (it drops the thought channel), so each follow-up rewinds to the start of the
previous answer — often further back than the window. We therefore keep the SWA cache full-size
(``LoadRequest.swa_full``, the default): any earlier position can be rewound to, at the cost of KV memory
for the sliding layers (counted in the fit estimate). With ``swa_full`` off, ``reusable_prefix`` checks the
cache's lowest position and starts from scratch when a rewind would go past it, so it stays correct, only
slower.
"""

from __future__ import annotations

from app.engine.native import NativeContext
from app.engine.prefix_cache import PrefixCache, PromptPlan


def reusable_prefix(cache: PrefixCache, ctx: NativeContext, plan: PromptPlan, n_swa: int) -> int:
    """Positions of ``plan`` the KV cache can keep (``n_swa``: the model's sliding window, 0 for none)."""
    n = cache.common_prefix(plan)
    # A default-size sliding-window cache keeps only its last positions:
    # rewinding further back than that would leave those layers blind.
    if 0 < n < len(cache) and n_swa > 0 and ctx.pos_min() > max(0, n - n_swa):
        return 0
    return n


def keep_prefix(cache: PrefixCache, ctx: NativeContext, plan: PromptPlan, n_swa: int) -> int:
    """Drop from the KV cache (and its keys) whatever ``plan`` cannot reuse; returns the positions kept."""
    reused = reusable_prefix(cache, ctx, plan, n_swa)
    if reused < len(cache):
        if not ctx.truncate(reused):
            ctx.clear()
            reused = 0
        cache.truncate(reused)
    return reused
