"""Gemma 4's MTP assistant as a speculative drafter: load it next to the target, propose 1–4 tokens a step.

Google publishes, for each Gemma 4 size, an "assistant" (GGUF architecture ``gemma4-assistant``): a few
small layers that take the target's last hidden state and the token just chosen, read the target's own KV
cache, and guess the next token — and, from their own output state, the one after. ``MtpDrafter`` runs it
through llama.cpp's MTP context (``app.engine.mtp_native``) and fits the speculative loop's ``Drafter`` shape
(``app.engine.speculative``): ``reset``, ``prompt_done``, ``draft``, ``verified``.

What the loop must do for it (``app.engine.speculative.SpeculativeLoop`` does all of it):

- Create the drafter before the prompt is evaluated: it switches the target context to keep the hidden state
  of every token that has logits (``set_target_states``); it reads the row of the prompt's last token.
- Verify a draft in one ``llama_decode`` of ``[last token, draft 1, …, draft k]`` with logits on every
  position (batch index i = the i-th of those tokens), then call ``verified`` before anything else decodes
  on the target. A step without drafts is a one-token batch and is reported to ``verified`` the same way.
- Roll the target's KV cache back past the rejected drafts (``NativeContext.truncate``). The assistant's
  context holds no KV of its own (it reads the target's), so it has nothing to roll back.
- Close the drafter before the target context (its context points into the target's cache).

Draft length adapts between 1 and 4: one longer after a step where every draft was kept, one shorter after a
step where none was.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.gguf_file import GGUFInfo
from app.engine.mtp_file import check_assistant_file
from app.engine.mtp_native import AssistantContext, StateRow, set_target_states
from app.engine.native import NativeContext, NativeModel

__all__ = ["MAX_DRAFT", "MtpDrafter"]

log = logging.getLogger(__name__)

#: The longest draft the adaptive length reaches (the assistant's guesses degrade past a few tokens).
MAX_DRAFT = 4


class MtpDrafter:
    """Drafts with a Gemma 4 MTP assistant bound to one target context. One thread at a time, like the target."""

    name = "MTP"

    def __init__(
        self,
        model: NativeModel,
        target: NativeContext,
        *,
        n_threads: int,
        n_threads_batch: int,
        p_min: float = 0.0,
        owns_model: bool = False,
    ) -> None:
        self.model = model
        self.target = target
        self.p_min = p_min
        self._owns_model = owns_model
        self._ctx = AssistantContext(model, target, n_threads=n_threads, n_threads_batch=n_threads_batch)
        width = self._ctx.width
        self._state = StateRow(width)  # the target's hidden state at the last position in its cache
        self._chain = (StateRow(width), StateRow(width))  # the assistant's own states while drafting
        set_target_states(target, True)
        self.n_draft = 2
        self.drafted = 0
        self.accepted = 0
        self._last_drafts = 0
        self._closed = False

    @classmethod
    def load(
        cls,
        path: str | Path,
        target_gguf: GGUFInfo,
        target: NativeContext,
        *,
        n_gpu_layers: int = -1,
        n_threads: int,
        n_threads_batch: int,
        p_min: float = 0.0,
    ) -> MtpDrafter:
        """Check ``path`` against the target's header, load it and bind it to ``target``; raises ``EngineError``."""
        check_assistant_file(path, target_gguf)
        model = NativeModel(Path(path).expanduser(), n_gpu_layers=n_gpu_layers)
        try:
            return cls(
                model, target, n_threads=n_threads, n_threads_batch=n_threads_batch, p_min=p_min, owns_model=True
            )
        except BaseException:
            model.close()
            raise

    # -- the Drafter protocol -----------------------------------------------------------

    def reset(self) -> None:
        """Forget the carried state (a new prompt, or the KV cache changed under us)."""
        self._state.valid = False
        self._last_drafts = 0

    def prompt_done(self, ctx: NativeContext, tokens: Sequence[int | None], n_past: int) -> None:
        """Take the prompt's last hidden state (its last position must have had logits, as a prompt's does)."""
        del tokens, n_past  # the position comes from the target's cache itself
        self._state.load(ctx.ptr, -1)
        self._last_drafts = 0

    def draft(self, history: Sequence[int], n_max: int) -> list[int]:
        """Up to ``min(n_max, n_draft)`` tokens to follow ``history[-1]`` (the token chosen last, not yet decoded)."""
        k = min(n_max, self.n_draft)
        self._last_drafts = 0
        if k <= 0 or not history or not self._state.valid:
            return []
        pos = self.target.pos_max() + 1  # where history[-1] goes; every draft step of a Gemma 4 assistant uses it
        token = int(history[-1])
        a, b = self._chain
        state, out = self._state, a
        drafts: list[int] = []
        for _ in range(k):
            logits = self._ctx.step(token, pos, state, out)
            if logits is None:
                break
            guess = _best(logits, self._ctx.n_vocab, self.p_min)
            if guess is None:
                break
            token = guess
            drafts.append(token)
            state, out = out, (b if out is a else a)
        self._last_drafts = len(drafts)
        return drafts

    def verified(self, ctx: NativeContext, batch: Sequence[int], n_accepted: int, n_past: int) -> None:
        """After the target decoded ``batch`` (the last token, then the drafts) and kept ``n_accepted`` drafts."""
        del n_past
        n_drafted = max(0, len(batch) - 1)
        kept = max(0, min(n_accepted, n_drafted))
        # Row ``kept``: the state after the last token the target kept, which the next token pairs with.
        self._state.load(ctx.ptr, kept)
        if n_drafted:
            self.drafted += n_drafted
            self.accepted += kept
            if kept == n_drafted:
                self.n_draft = min(MAX_DRAFT, self.n_draft + 1)
            elif kept == 0:
                self.n_draft = max(1, self.n_draft - 1)

    # -- the rest -------------------------------------------------------------------------

    @property
    def acceptance(self) -> float:
        """The share of drafted tokens the target kept so far (0 before any draft)."""
        return self.accepted / self.drafted if self.drafted else 0.0

    def close(self) -> None:
        """Free the assistant's context (and model, when loaded here); the target stops keeping hidden states."""
        if self._closed:
            return
        self._closed = True
        set_target_states(self.target, False)  # the target is still open: close the drafter first
        self._ctx.close()
        if self._owns_model:
            self.model.close()


def _best(logits: Any, n_vocab: int, p_min: float) -> int | None:
    """The most likely token; None when its probability under the full softmax is below ``p_min`` (the softmax,
    over the whole vocabulary, is only computed when there is a floor to compare with)."""
    values = np.ctypeslib.as_array(logits, shape=(n_vocab,))
    token = int(values.argmax())
    if p_min <= 0.0:
        return token
    total = float(np.exp(values - values[token], dtype=np.float64).sum())
    return token if total > 0 and 1.0 / total >= p_min else None
