"""What the window offers when a message does not fit the context: never a silent cut.

While the composer's budget is over the loaded context, ``ContextOffers`` fills the composer's overflow bar:
reload the model with a context that holds the conversation (when the model's trained length and the memory
estimate ``app.models.load_plan`` allow it; the model reloads, which it says), pick the pages of a long
document, or, when even the model's largest context cannot hold it, a one-line refusal naming the document.
The memory estimate reads the model's headers and the machine, so it runs in the background.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject

from app.chat.budget import ContextBudget, answer_room, format_context
from app.engine import ModelInfo
from app.models.fit import context_steps
from app.models.hardware import Hardware
from app.models.load_plan import MIN_CTX, LoadPlan, plan_load
from app.settings import Settings
from app.ui.tasks import run_in_background

if TYPE_CHECKING:
    from app.ui.composer.composer import Composer
    from app.ui.engine_bridge import EngineBridge

log = logging.getLogger(__name__)

Offer = tuple[str, str, Callable[[], None]]  # label, tooltip, action


def context_for(need: int, largest: int) -> int:
    """The smallest "round" context (4K, 6K, 8K, 12K, …, 48K, …) that holds ``need``, at most ``largest``."""
    steps = sorted(context_steps(largest, min(MIN_CTX, largest)))
    return next((n for n in steps if n >= need), largest)


@dataclass(frozen=True)
class _Reload:
    """The memory estimate's answer for one model and context: the context to reload with, or why none."""

    n_ctx: int
    problem: str  # "" when it fits


class ContextOffers(QObject):
    """Fills the composer's overflow bar while its message does not fit the loaded context."""

    def __init__(
        self,
        composer: Composer,
        bridge: EngineBridge,
        settings: Settings,
        *,
        probe: Callable[[Path], Hardware],
        models_folder: Callable[[], Path],
        reload: Callable[[], None],
    ) -> None:
        super().__init__(composer)
        self.composer = composer
        self.bridge = bridge
        self.settings = settings
        self.probe = probe  # looks at this machine (its memory), given the models folder; runs in the background
        self.models_folder = models_folder
        self.reload = reload
        self._plans: dict[tuple[Path, int], _Reload] = {}  # memory estimates made, by model and context
        self._asking: set[tuple[Path, int]] = set()
        self.reloading_to = 0  # the context a reload asked for (0: none asked)
        composer.budgetChanged.connect(self._on_composer_budgetChanged)

    def _on_composer_budgetChanged(self, budget: ContextBudget) -> None:
        self.update(budget)

    def update(self, budget: ContextBudget) -> None:
        """Show what to offer for ``budget`` (or hide the bar when the message fits)."""
        bar = self.composer.overflow_bar
        info = self.bridge.model_info  # None while a model loads
        if info is None or budget.state not in ("blocked", "overflow"):
            bar.hide()
            return
        largest = max(info.n_ctx_train, info.n_ctx)
        pick = self._pick_offer()
        offers = [pick] if pick else []
        if refusal := self._refusal(budget, info, largest):
            bar.show_offers(refusal, offers, key=("refused", info.path))
            return
        said = _what_happens(budget)
        target = context_for(budget.needed(), largest)
        key = (budget.state, info.path, info.n_ctx, target)
        if target <= info.n_ctx:  # the model's largest context is loaded already: older messages go
            bar.show_offers(said, offers, key=key)
            return
        plan = self._plan(info, target)
        if plan is None:
            bar.show_offers(said + " Checking whether a larger context fits in memory…", offers, key=key)
        elif plan.problem or plan.n_ctx < budget.newest + answer_room(plan.n_ctx):
            bar.show_offers(f"{said} {plan.problem or 'A larger context does not fit in memory.'}", offers, key=key)
        else:
            size = format_context(plan.n_ctx)
            reload: Offer = (
                f"Reload with a {size} context",
                f"The model reloads with a {plan.n_ctx:,}-token context (Settings → Context size); "
                "your message stays here.",
                partial(self.reload_with, plan.n_ctx),
            )
            bar.show_offers(f"{said} A {size} context holds it: the model reloads.", [reload, *offers], key=key)

    def _refusal(self, budget: ContextBudget, info: ModelInfo, largest: int) -> str:
        """The one-line refusal when even the model's largest context cannot hold the message, else ""."""
        for name, tokens in self.composer.documents.document_tokens():
            if tokens + answer_room(largest) > largest:
                return (
                    f"{name} is {tokens:,} tokens; {info.name} holds at most {largest:,} even at its largest context."
                )
        if budget.newest + answer_room(largest) > largest:
            return (
                f"This message is {budget.newest:,} tokens; {info.name} holds at most {largest:,} even at its "
                "largest context."
            )
        return ""

    def _pick_offer(self) -> Offer | None:
        token = self.composer.documents.largest_multi_page()
        if token is None:
            return None
        return ("Pick pages…", "Choose which pages of the document to send", lambda: self.composer.choose_pages(token))

    # --- the memory estimate, in the background --------------------------------------------------------------

    def _plan(self, info: ModelInfo, target: int) -> _Reload | None:
        """The estimate for reloading ``info`` at ``target`` (None while it is being made)."""
        key = (Path(info.path), target)
        if key in self._plans:
            return self._plans[key]
        if key not in self._asking:
            self._asking.add(key)
            gpu_layers = self.settings.get_int("gpu_layers")
            budget = info.vision_budget or self.settings.get_int("vision_budget")
            probe, folder = self.probe, self.models_folder()

            def work() -> _Reload:
                plan: LoadPlan = plan_load(
                    key[0], info.mmproj_path, target, probe(folder), gpu_layers=gpu_layers, vision_budget=budget
                )
                if plan.too_big:
                    return _Reload(plan.n_ctx, f"A {format_context(target)} context does not fit: {plan.fit.message}.")
                return _Reload(plan.n_ctx, "")

            def failed(error: BaseException) -> None:
                log.info("no memory estimate for %s: %s", key[0].name, error)
                self._answered(key, _Reload(0, f"Whether a larger context fits could not be told ({error})."))

            run_in_background(work, lambda result: self._answered(key, result), failed)
        return None

    def _answered(self, key: tuple[Path, int], result: _Reload) -> None:
        if not shiboken6.isValid(self):
            return
        self._asking.discard(key)
        self._plans[key] = result
        self.update(self.composer.budget())

    # --- the reload ---------------------------------------------------------------------------------------

    def reload_with(self, n_ctx: int) -> None:
        """Reload the model through the usual load path with a context of ``n_ctx`` (kept in the settings)."""
        self.reloading_to = n_ctx
        self.settings.update({"context_size": n_ctx})
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save the context size: %s", exc)
        self.composer.overflow_bar.show_offers(f"Reloading the model with a {format_context(n_ctx)} context…")
        self.reload()


def _what_happens(budget: ContextBudget) -> str:
    if budget.state == "blocked":
        return f"This message is about {budget.newest:,} tokens; the loaded context holds {budget.n_ctx:,}."
    return (
        f"This chat is about {budget.total:,} tokens, more than the loaded context of {budget.n_ctx:,}: "
        "the oldest messages will be left out of what the model sees."
    )
