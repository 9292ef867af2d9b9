"""How fast a model runs here: this machine measured, tokens per second estimated, corrected by real answers.

``machine`` measures the CPU's memory bandwidth and arithmetic throughput
(kept for the session and in the data folder); ``gpus`` knows GPUs'
bandwidth by name; ``traffic`` says what a token costs a model (the bytes it
streams, the parameters it multiplies); ``estimate`` turns both into tokens
per second; ``observed`` and ``record`` keep what real answers measured and
correct the estimates with it. ``load_speeds`` gathers what an estimate
needs (off the GUI thread: it may measure the machine).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from app.models.hardware import Hardware
from app.models.speed.estimate import SLOW_TOK_S, SpeedEstimate, Speeds, rate
from app.models.speed.gpus import GpuSpeed, gpu_speed
from app.models.speed.machine import CpuSpeed, machine_speed, measure_cpu
from app.models.speed.observed import Observations, load_observations
from app.models.speed.record import record_turn
from app.models.speed.traffic import TYPICAL_CTX, Traffic, traffic_of_catalog, traffic_of_gguf

log = logging.getLogger(__name__)


def load_speeds(hw: Hardware, folder: Path | None = None) -> Speeds:
    """The machine's speed (measured now if need be: about half a second), its GPUs, what was measured here."""
    return Speeds(machine_speed(folder), gpu_speed(hw), load_observations(folder))


def speeds_or_none(load: Callable[[Hardware], Speeds], hw: Hardware) -> Speeds | None:
    """``load(hw)``, or None (logged) when the machine's speed cannot be measured: estimates then say nothing."""
    try:
        return load(hw)
    except Exception as exc:  # numpy missing or broken, an odd platform: the fit verdicts still work
        log.warning("could not measure this machine's speed: %s", exc)
        return None


__all__ = [
    "SLOW_TOK_S",
    "TYPICAL_CTX",
    "CpuSpeed",
    "GpuSpeed",
    "Observations",
    "SpeedEstimate",
    "Speeds",
    "Traffic",
    "gpu_speed",
    "load_observations",
    "load_speeds",
    "machine_speed",
    "measure_cpu",
    "rate",
    "record_turn",
    "speeds_or_none",
    "traffic_of_catalog",
    "traffic_of_gguf",
]
