"""Speeds measured here, kept per model file, and the correction they imply for every estimate.

Each real answer the engine writes gives a sample: tokens per second
writing (decode) and reading the prompt (prefill), next to what the
estimate said for the same context. ``decode-speeds.json`` in the data
folder keeps the last ``KEEP_SAMPLES`` per model file and placement (CPU or
GPU), for the ``KEEP_MODELS`` files used last. A model file shows its own
median ("measured"); every other estimate of that placement is scaled by the
median ratio measured ÷ estimated of the files measured, clamped to
``RATIO_MIN`` … ``RATIO_MAX`` so one odd run cannot make nonsense of the
list.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.paths import data_dir, write_json_atomically

log = logging.getLogger(__name__)

FILE_NAME = "decode-speeds.json"
VERSION = 1
KEEP_SAMPLES = 5
KEEP_MODELS = 16
RATIO_MIN, RATIO_MAX = 1 / 3, 3.0
MIN_DECODE_TOKENS = 16  # fewer: too short to time
MIN_PREFILL_TOKENS = 64

_lock = threading.Lock()  # one read-modify-write of the file at a time


def placement_kind(where: str) -> str:
    """ "cpu", or "gpu" for a model wholly or partly on a GPU (corrections do not cross the two)."""
    return "cpu" if where == "cpu" else "gpu"


@dataclass(frozen=True)
class Sample:
    """One answer: what it measured and what the estimate said for the same context (0: no estimate)."""

    at: float
    n_ctx: int
    decode: float
    decode_estimate: float
    prefill: float = 0.0  # 0: the prompt was too short to time
    prefill_estimate: float = 0.0


@dataclass(frozen=True)
class Observation:
    """A model file's samples on one placement."""

    file: str
    kind: str
    samples: tuple[Sample, ...]

    @property
    def decode(self) -> float:
        return statistics.median(s.decode for s in self.samples)

    @property
    def prefill(self) -> float | None:
        timed = [s.prefill for s in self.samples if s.prefill > 0]
        return statistics.median(timed) if timed else None

    def ratio(self, what: str = "decode") -> float | None:
        """Median measured ÷ estimated (unclamped), None without an estimate to compare with."""
        if what == "decode":
            pairs = [(s.decode, s.decode_estimate) for s in self.samples]
        else:
            pairs = [(s.prefill, s.prefill_estimate) for s in self.samples]
        ratios = [m / e for m, e in pairs if m > 0 and e > 0]
        return statistics.median(ratios) if ratios else None


@dataclass(frozen=True)
class Observations:
    """Every model file measured here, the most recently used first."""

    items: tuple[Observation, ...] = ()

    def find(self, file: str, kind: str) -> Observation | None:
        return next((o for o in self.items if o.file == file and o.kind == kind), None)

    def measured(self, file: str, kind: str) -> float | None:
        """The decode tok/s ``file`` measured on this placement, or None."""
        found = self.find(file, kind)
        return found.decode if found is not None else None

    def ratio(self, kind: str, what: str = "decode") -> float | None:
        """How far off the estimates were here on this placement (clamped), None when nothing was measured."""
        ratios = [r for o in self.items if o.kind == kind and (r := o.ratio(what)) is not None]
        if not ratios:
            return None
        return min(RATIO_MAX, max(RATIO_MIN, statistics.median(ratios)))


def _parse(data: Any) -> Observations:
    items: list[Observation] = []
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("models"), list):
        return Observations()
    for entry in data["models"]:
        try:
            samples = tuple(
                Sample(
                    at=float(s["at"]),
                    n_ctx=int(s["n_ctx"]),
                    decode=float(s["decode"]),
                    decode_estimate=float(s.get("decode_estimate", 0.0)),
                    prefill=float(s.get("prefill", 0.0)),
                    prefill_estimate=float(s.get("prefill_estimate", 0.0)),
                )
                for s in entry["samples"][-KEEP_SAMPLES:]
                if 0 < float(s["decode"]) < math.inf
            )
            if samples and entry["kind"] in ("cpu", "gpu"):
                items.append(Observation(str(entry["file"]), entry["kind"], samples))
        except (KeyError, TypeError, ValueError, ArithmeticError):  # inf or NaN where a count belongs
            continue  # one damaged entry does not cost the others
    return Observations(tuple(items[:KEEP_MODELS]))


def load_observations(folder: Path | None = None) -> Observations:
    """What was measured here (empty when nothing was, or the file is damaged); ``folder``: the data folder."""
    try:
        text = ((folder or data_dir()) / FILE_NAME).read_text(encoding="utf-8")
        return _parse(json.loads(text))
    except (OSError, ValueError, ArithmeticError):
        return Observations()


def _dump(observations: Observations) -> dict[str, Any]:
    models = [{"file": o.file, "kind": o.kind, "samples": [asdict(s) for s in o.samples]} for o in observations.items]
    return {"version": VERSION, "models": models}


def add_sample(file: str, kind: str, sample: Sample, folder: Path | None = None) -> Observations:
    """Keep ``sample`` for ``file`` (moved to the front) and return everything kept; a write error is logged."""
    target = (folder or data_dir()) / FILE_NAME
    with _lock:
        current = load_observations(folder)
        old = current.find(file, kind)
        samples = ((*old.samples, sample) if old else (sample,))[-KEEP_SAMPLES:]
        rest = tuple(o for o in current.items if o is not old)
        updated = Observations(((Observation(file, kind, samples)), *rest)[:KEEP_MODELS])
        try:
            write_json_atomically(target, _dump(updated))
        except OSError as exc:
            log.info("could not keep the measured speed in %s: %s", target, exc)
        return updated
