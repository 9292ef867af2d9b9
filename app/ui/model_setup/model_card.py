"""A card on the welcome page: what one model can do (sees, hears, thinks), its download size and its speed here."""

from __future__ import annotations

import re
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from app.models.variants import VariantFit
from app.units import format_gb, format_size


def abilities(fit: VariantFit) -> list[str]:
    """What the model does, in the words a card shows ("Sees pictures", "Hears", "Thinks step by step")."""
    model = fit.variant.model
    words = ["Writes and chats"]
    if model.can_see:
        words.append("Sees pictures")
    if model.can_hear:
        words.append("Hears")
    if model.family.startswith("gemma4"):  # every Gemma 4 can think before answering (``enable_thinking``)
        words.append("Thinks step by step")
    return words


def facts(fit: VariantFit) -> list[str]:
    """Size, memory and speed here ("3.2 GB download", "needs about 5 GB", "about 14 tok/s here")."""
    v = fit.variant
    out = [f"{format_size(v.download_size)} download"] if v.download_size else []
    out.append(f"needs about {format_gb(fit.fit.estimate_need)}")
    speed = fit.speed
    if speed is not None and speed.decode is not None:
        out.append(f"{speed.text} here")
    return [re.sub(r"(\d) (GB|MB|tok/s)", "\\1\u00a0\\2", part) for part in out]  # a figure stays with its unit


class ModelCard(QFrame):
    """One model's card: a role ("Recommended"), its name, what it can do and how big and fast it is here."""

    def __init__(self, fit: VariantFit, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelCard")
        self.fit = fit
        self.role = QLabel(role, self)
        self.role.setObjectName("ModelCardRole")
        self.name = QLabel(f"<b>{escape(fit.variant.label)}</b>", self)
        self.name.setTextFormat(Qt.TextFormat.RichText)
        self.abilities = QLabel("  ".join(f"✓ {word}" for word in abilities(fit)), self)
        self.abilities.setWordWrap(True)
        self.facts = QLabel(" · ".join(facts(fit)), self)
        self.facts.setWordWrap(True)
        self.facts.setObjectName("ModelCardFacts")
        if fit.speed is not None:
            self.facts.setToolTip(fit.speed.detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        for label in (self.role, self.name, self.abilities, self.facts):
            layout.addWidget(label)
        self.setAccessibleName(f"{role}: {fit.variant.label}. {', '.join(abilities(fit))}. {self.facts.text()}")

    def text(self) -> str:
        """Everything the card says, as plain text."""
        return f"{self.role.text()} {self.fit.variant.label} {self.abilities.text()} {self.facts.text()}"
