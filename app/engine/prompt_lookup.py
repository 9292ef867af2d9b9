"""Prompt lookup drafts: guess the next tokens from the conversation's own earlier tokens.

When the answer's last few tokens already occurred earlier (in the prompt, or earlier in the answer), what
followed them then is a good guess now: an edited copy of a code block, a quoted passage, a list that repeats
its shape. ``NgramIndex`` maps every n-gram (n = 1…``n_max``) to where it was last followed by a token; it
grows by a few dictionary writes per token, so a lookup never rescans the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.engine.native import NativeContext

#: Token ids are int32: an n-gram's key packs its tokens 32 bits apart.
_SHIFT = 32


class NgramIndex:
    """The tokens so far, and for each n-gram the position of the token that followed its latest occurrence."""

    def __init__(self, n_max: int = 3) -> None:
        if n_max < 1:
            raise ValueError("n-grams are at least one token long")
        self.n_max = n_max
        self.tokens: list[int] = []
        # _follows[n - 1][key of an n-gram] = index in tokens of the token after its latest occurrence
        self._follows: list[dict[int, int]] = [{} for _ in range(n_max)]

    def __len__(self) -> int:
        return len(self.tokens)

    def clear(self) -> None:
        self.tokens.clear()
        for follows in self._follows:
            follows.clear()

    def extend(self, new: Sequence[int]) -> None:
        """Append tokens; each one becomes the follower of the n-grams that end just before it."""
        tokens, follows, n_max = self.tokens, self._follows, self.n_max
        for token in new:
            p = len(tokens)
            key = 0
            for n in range(1, min(n_max, p) + 1):
                key |= tokens[p - n] << (_SHIFT * (n - 1))
                follows[n - 1][key] = p
            tokens.append(token)

    def follower(self, n_min: int = 1) -> tuple[int, int] | None:
        """(where the continuation starts, n) for the longest n-gram, n ≥ ``n_min``, that ends the tokens and
        occurred before; None if none did. The latest earlier occurrence wins."""
        tokens = self.tokens
        p = len(tokens)
        keys: list[int] = []
        key = 0
        for n in range(1, min(self.n_max, p) + 1):
            key |= tokens[p - n] << (_SHIFT * (n - 1))
            keys.append(key)
        for n in range(len(keys), n_min - 1, -1):
            found = self._follows[n - 1].get(keys[n - 1])
            if found is not None:
                return found, n
        return None

    def continuation(self, n_max: int, n_min: int = 1) -> list[int]:
        """Up to ``n_max`` tokens that followed the latest earlier occurrence of the longest matching suffix."""
        hit = self.follower(n_min)
        if hit is None or n_max <= 0:
            return []
        start = hit[0]
        return self.tokens[start : start + n_max]


class PromptLookup:
    """A ``Drafter`` that proposes what followed the answer's last tokens earlier in the conversation."""

    name = "prompt lookup"

    def __init__(self, n_max: int = 4, n_min: int = 3) -> None:
        self.index = NgramIndex(n_max)
        self.n_min = max(1, min(n_min, n_max))

    def reset(self) -> None:
        self.index.clear()

    def prompt_done(self, ctx: NativeContext, tokens: Sequence[int | None], n_past: int) -> None:
        # ``draft`` reads the conversation from its history; a new prompt starts a new index.
        self.index.clear()

    def draft(self, history: Sequence[int], n_max: int) -> list[int]:
        index = self.index
        have = len(index)
        if len(history) < have or (have and history[have - 1] != index.tokens[-1]):
            index.clear()  # not the conversation indexed so far
            have = 0
        if len(history) > have:
            index.extend(history[have:])
        return index.continuation(n_max, self.n_min)

    def verified(self, ctx: NativeContext, batch: Sequence[int], n_accepted: int, n_past: int) -> None:
        pass  # the accepted tokens arrive with the next history
