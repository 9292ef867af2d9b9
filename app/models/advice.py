"""The first-run advice: the best model for this machine, and the best one that hears when that one cannot.

Push-to-talk sends sound to the model, and only the catalog models whose
modalities include audio take it (Gemma 4 E2B and E4B; the 26B-A4B and 31B
have no audio encoder). When the recommended model cannot hear, the advice
names the audio-capable model that suits this machine best, so the welcome
page and ``gemma-desk models fit`` can offer it beside the pick.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.catalog import Catalog, CatalogModel
from app.models.hardware import Hardware
from app.models.speed import Speeds
from app.models.variants import VariantFit, recommend_variant


def _hears(model: CatalogModel) -> bool:
    return model.can_hear


@dataclass(frozen=True)
class Advice:
    """The recommended variant, and one that hears when the recommended one does not."""

    pick: VariantFit | None
    for_voice: VariantFit | None = None  # None: the pick hears, or no model that hears fits here
    hearing: tuple[str, ...] = ()  # the names of the catalog models that take sound ("E2B", "E4B")

    @property
    def pick_hears(self) -> bool:
        return self.pick is not None and self.pick.variant.model.can_hear

    @property
    def voice_note(self) -> str:
        """One sentence when the pick cannot hear ("" otherwise)."""
        if self.pick is None or self.pick_hears:
            return ""
        who = " or ".join(self.hearing) or "a model that takes sound"
        note = f"{self.pick.variant.model.name} cannot hear: push-to-talk needs {who}."
        if self.for_voice is None:
            return note + " None of them fits in the memory free now."
        speed = self.for_voice.speed
        pace = f", {speed.text} here" if speed is not None and speed.decode is not None else ""
        return note + f" For voice, choose {self.for_voice.variant.label}{pace}."


def advise(catalog: Catalog, hw: Hardware, *, speeds: Speeds | None = None) -> Advice:
    """The recommendation (``recommend_variant``) and, when it cannot hear, the best model that can."""
    pick = recommend_variant(catalog, hw, speeds=speeds)
    hearing = tuple(_short(m) for m in catalog if m.can_hear)
    if pick is None or pick.variant.model.can_hear:
        return Advice(pick, None, hearing)
    return Advice(pick, recommend_variant(catalog, hw, speeds=speeds, among=_hears), hearing)


def _short(model: CatalogModel) -> str:
    """ "E2B" for "Gemma 4 E2B": the model's name without the family words both share."""
    return model.name.removeprefix("Gemma 4 ").strip() or model.name
