"""Token counts of the composer's chips: asked of the loaded model, estimated before one is loaded.

When a chip is ready and a model is loaded, ``TokenCounter`` asks the engine what its parts cost
(``EngineBridge.measure``; the answer arrives as ``mediaCost``) and shows "counting…" meanwhile. Without a
model a document's count is estimated from its text (about four characters a token) and shown as "~N";
when a model loads, every chip is counted again by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.chat.budget import estimate_tokens
from app.media import ImageInput, VideoFrames
from app.media.documents import Document
from app.ui.composer.attachment_tray import Chip

if TYPE_CHECKING:
    from app.engine import ModelInfo
    from app.ui.engine_bridge import EngineBridge

#: Tokens a picture takes before the model says (Gemma 4's default vision budget).
DEFAULT_PICTURE_TOKENS = 280


@dataclass(frozen=True)
class TokenCount:
    """A chip's cost in context tokens: measured by the model (``exact``), or estimated; None: not known."""

    tokens: int | None
    exact: bool = False
    counting: bool = False

    def label(self) -> str:
        """ "1,210 tokens", "~1,210 tokens", "counting…" or "" (nothing known)."""
        if self.counting:
            return "counting…"
        if self.tokens is None:
            return ""
        return f"{'' if self.exact else '~'}{self.tokens:,} token{'s' * (self.tokens != 1)}"


def estimate_chip(chip: Chip, picture_tokens: int = DEFAULT_PICTURE_TOKENS) -> int | None:
    """A chip's cost without a model: a document's text at ~4 characters a token, pictures at the vision
    budget; None for sound (its cost depends on the model)."""
    payload = chip.attachment.payload
    if isinstance(payload, Document):
        text = sum(len(s.text) for s in payload.sections if s.image is None)
        return estimate_tokens(text + len(payload.name) + 16) + len(payload.pictures) * picture_tokens
    if isinstance(payload, ImageInput):
        return picture_tokens
    if isinstance(payload, VideoFrames):
        return len(payload.frames) * picture_tokens
    return None


class TokenCounter(QObject):
    """The token count of each chip in the tray, by the tray's token."""

    # Signals
    counted = Signal(int)  # a chip's count changed (its tray token)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge: EngineBridge | None = None
        self._chips: dict[int, Chip] = {}
        self._counts: dict[int, TokenCount] = {}
        self._asked: dict[int, int] = {}  # engine request id → tray token

    def use_engine(self, bridge: EngineBridge) -> None:
        """Count with the model ``bridge`` loads (again whenever another is loaded)."""
        self._bridge = bridge
        bridge.mediaCost.connect(self._on_bridge_mediaCost)
        bridge.done.connect(self._on_bridge_done)
        bridge.modelLoaded.connect(self._on_bridge_modelLoaded)
        bridge.modelUnloaded.connect(self._on_bridge_modelUnloaded)

    @property
    def model(self) -> ModelInfo | None:
        """The model counting (None while none is loaded, also while one is loading)."""
        return self._bridge.model_info if self._bridge is not None else None

    # --- chips --------------------------------------------------------------------------------------------

    def add(self, token: int, chip: Chip) -> None:
        """A chip is ready (or was read again): count it."""
        self._chips[token] = chip
        self._count(token)

    def remove(self, token: int) -> None:
        self._chips.pop(token, None)
        self._counts.pop(token, None)
        self._asked = {rid: t for rid, t in self._asked.items() if t != token}

    def count(self, token: int) -> TokenCount:
        return self._counts.get(token, TokenCount(None))

    def estimate(self, token: int) -> int:
        """A chip's estimated tokens (0 when nothing can be told)."""
        chip = self._chips.get(token)
        return (estimate_chip(chip, self.picture_tokens()) or 0) if chip is not None else 0

    def total(self) -> int:
        """Every chip's tokens: measured where known, else estimated."""
        total = 0
        for token, chip in self._chips.items():
            found = self._counts.get(token)
            if found is not None and found.tokens is not None and not found.counting:
                total += found.tokens
            else:
                total += estimate_chip(chip, self.picture_tokens()) or 0
        return total

    def picture_tokens(self) -> int:
        model = self.model
        return model.vision_budget if model is not None and model.vision_budget > 0 else DEFAULT_PICTURE_TOKENS

    def _count(self, token: int) -> None:
        chip = self._chips[token]
        bridge = self._bridge
        if bridge is None or self.model is None or not chip.parts:
            self._set(token, TokenCount(estimate_chip(chip, self.picture_tokens())))
            return
        self._asked = {rid: t for rid, t in self._asked.items() if t != token}
        self._asked[bridge.measure(list(chip.parts))] = token
        self._set(token, TokenCount(None, counting=True))

    def _set(self, token: int, count: TokenCount) -> None:
        self._counts[token] = count
        self.counted.emit(token)

    # --- the engine's answers -------------------------------------------------------------------------------

    def _on_bridge_mediaCost(self, rid: int, costs: tuple[tuple[str, int], ...]) -> None:
        token = self._asked.pop(rid, None)
        if token is None or token not in self._chips:
            return
        if costs:
            self._set(token, TokenCount(sum(tokens for _id, tokens in costs), exact=True))
        else:  # the engine had nothing to say about these parts
            self._set(token, TokenCount(estimate_chip(self._chips[token], self.picture_tokens())))

    def _on_bridge_done(self, rid: int, _reason: str) -> None:
        """A measure that failed (the model cannot take this media): fall back to the estimate."""
        token = self._asked.pop(rid, None)
        if token is not None and token in self._chips:
            self._set(token, TokenCount(estimate_chip(self._chips[token], self.picture_tokens())))

    def _on_bridge_modelLoaded(self, *_args: object) -> None:
        for token in list(self._chips):
            self._count(token)

    def _on_bridge_modelUnloaded(self, *_args: object) -> None:
        self._asked.clear()
        for token in list(self._chips):
            self._count(token)
