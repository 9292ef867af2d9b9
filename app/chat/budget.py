"""What the next message costs against the loaded model's context, before it is sent.

``ContextBudget`` adds up the conversation so far (what the last answer left in the context, from its stored
stats), the attachments' token counts and an estimate of the draft, and judges it against ``n_ctx``: hidden
while small, shown past half the context, a warning near the limit, ``overflow`` when the oldest turns will be
left out (the engine's own answer reserve decides), and ``blocked`` when the newest message alone cannot fit.
Qt-free: the window's context meter shows it; the command line or a server may judge with it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.engine.planner import answer_reserve
from app.store import Message as StoredMessage

#: Characters per token, for text not yet counted by the model (drafts, documents before a model is loaded).
CHARS_PER_TOKEN = 4
#: The meter shows from this share of the context on…
SHOW_FROM = 0.5
#: …and warns from this share.
WARN_FROM = 0.85
#: Positions the chat template adds around a message (turn markers, the model's turn start).
TURN_OVERHEAD = 16

State = Literal["hidden", "shown", "warning", "overflow", "blocked"]


def estimate_tokens(chars: int) -> int:
    """Tokens a text of ``chars`` characters takes, roughly (rounded up)."""
    return -(-max(0, chars) // CHARS_PER_TOKEN)


def answer_room(n_ctx: int) -> int:
    """Positions kept free for the answer when judging whether a message fits: the engine's own reserve, so
    the meter warns exactly when the engine would leave older turns out."""
    return answer_reserve(n_ctx)


def history_tokens(path: Sequence[StoredMessage]) -> int:
    """What the conversation so far takes in the context: the last answer's ``context_used``, plus an estimate
    of anything after it (or of everything, when no answer says)."""
    used, after = 0, 0
    for message in path:
        stats = message.stats or {}
        context_used = stats.get("context_used")
        if message.role == "assistant" and isinstance(context_used, int) and context_used > 0:
            used, after = context_used, 0
        else:
            after += estimate_tokens(len(message.content)) + TURN_OVERHEAD  # earlier thoughts are not re-sent
    return used + after


def format_context(n_ctx: int) -> str:
    """ "48K" for 49,152 tokens, "12,288" when not a whole number of K."""
    return f"{n_ctx // 1024}K" if n_ctx % 1024 == 0 else f"{n_ctx:,}"


@dataclass(frozen=True)
class ContextBudget:
    """The next request's cost in context positions, against the loaded context ``n_ctx`` (0: no model)."""

    history: int  # the conversation so far (what the last answer left in the context)
    attachments: int  # the attachments' token counts (measured, or estimated while counting)
    draft: int  # the draft text, estimated
    n_ctx: int

    @property
    def newest(self) -> int:
        """The message being written, with its turn markers."""
        return self.attachments + self.draft + TURN_OVERHEAD

    @property
    def total(self) -> int:
        return self.history + self.newest

    @property
    def state(self) -> State:
        if self.n_ctx <= 0:
            return "hidden"
        if self.newest + answer_room(self.n_ctx) > self.n_ctx:
            return "blocked"
        if self.total + answer_room(self.n_ctx) > self.n_ctx:
            return "overflow"  # it is sent, but the oldest messages are left out
        if self.total >= WARN_FROM * self.n_ctx:
            return "warning"
        return "shown" if self.total >= SHOW_FROM * self.n_ctx else "hidden"

    def text(self) -> str:
        """ "38,200 of 12,288 tokens" """
        return f"{self.total:,} of {self.n_ctx:,} tokens"

    def blocker(self) -> str | None:
        """Why this message cannot be sent (Send's tooltip), or None."""
        if self.state != "blocked":
            return None
        return (
            f"This message is about {self.newest:,} tokens, more than the model's context of {self.n_ctx:,} "
            f"holds with room for an answer: pick pages, remove an attachment or load a larger context"
        )

    def needed(self) -> int:
        """The context the whole conversation and this message need, with room for an answer."""
        return self.total + answer_room(max(self.n_ctx, self.total))
