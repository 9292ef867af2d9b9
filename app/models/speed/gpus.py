"""GPU memory bandwidth by name: a small table of published figures, for the GPUs llama.cpp reports.

A GPU decodes at a share of its memory bandwidth, as a CPU does; we cannot
measure a GPU without a model on it, so its figure comes from the maker's
specification. Names are matched as llama.cpp's backends report them
("NVIDIA GeForce RTX 4070", "Apple M2 Pro", "AMD Radeon RX 7900 XTX"): the
longest table key found in the name wins, so "RTX 4070 Ti" is not read as
"RTX 4070". A GPU not in the table has no estimate; the UI says so rather
than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.models.hardware import GpuInfo, Hardware

#: Memory bandwidth in GB/s from the makers' specifications (the common memory configuration).
BANDWIDTH_GB_S: dict[str, float] = {
    # NVIDIA GeForce
    "RTX 5090": 1792, "RTX 5080": 960, "RTX 5070 Ti": 896, "RTX 5070": 672, "RTX 5060 Ti": 448, "RTX 5060": 448,
    "RTX 4090": 1008, "RTX 4080 SUPER": 736, "RTX 4080": 717, "RTX 4070 Ti SUPER": 672, "RTX 4070 Ti": 504,
    "RTX 4070 SUPER": 504, "RTX 4070": 504, "RTX 4060 Ti": 288, "RTX 4060": 272,
    "RTX 3090 Ti": 1008, "RTX 3090": 936, "RTX 3080 Ti": 912, "RTX 3080": 760, "RTX 3070 Ti": 608,
    "RTX 3070": 448, "RTX 3060 Ti": 448, "RTX 3060": 360, "RTX 2080 Ti": 616, "RTX 2080": 448, "RTX 2070": 448,
    "RTX 2060": 336, "GTX 1080 Ti": 484, "GTX 1660": 192,
    # NVIDIA data centre and workstation
    "H200": 4800, "H100 PCIe": 2000, "H100 NVL": 3900, "H100": 3350, "A100-SXM4-80GB": 2039,
    "A100 80GB PCIe": 1935, "A100": 1555, "L40S": 864, "L40": 864, "L4": 300, "A10G": 600, "A10": 600,
    "T4": 320, "V100": 900, "RTX 6000 Ada": 960, "RTX A6000": 768, "RTX A5000": 768, "RTX A4000": 448,
    # AMD
    "RX 7900 XTX": 960, "RX 7900 XT": 800, "RX 7900 GRE": 576, "RX 7800 XT": 624, "RX 7700 XT": 432,
    "RX 7600": 288, "RX 6950 XT": 576, "RX 6900 XT": 512, "RX 6800 XT": 512, "RX 6800": 512, "RX 6700 XT": 384,
    "RX 9070 XT": 640, "RX 9070": 640, "MI300X": 5300, "MI250X": 3277, "MI210": 1638,
    # Apple silicon (unified memory: the GPU's share of the system's bandwidth)
    "M1": 68, "M1 Pro": 200, "M1 Max": 400, "M1 Ultra": 800, "M2": 100, "M2 Pro": 200, "M2 Max": 400,
    "M2 Ultra": 800, "M3": 100, "M3 Pro": 150, "M3 Max": 400, "M3 Ultra": 819, "M4": 120, "M4 Pro": 273,
    "M4 Max": 546,
}  # fmt: skip


@dataclass(frozen=True)
class GpuSpeed:
    """The GPUs a model would be offloaded to, and their bandwidth when the table knows them."""

    name: str  # as llama.cpp reports it (several GPUs joined with " + ")
    bandwidth: float | None  # bytes/s; None: not in the table


def _key_pattern(key: str) -> re.Pattern[str]:
    # "M2" must not match "M2 Pro" (longest first sorts that) nor "RTX A2000M2" (word boundaries).
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(key).replace(r"\ ", r"[\s-]?") + r"(?![A-Za-z0-9])", re.I)


_PATTERNS = [(key, _key_pattern(key)) for key in sorted(BANDWIDTH_GB_S, key=len, reverse=True)]


def bandwidth_of(name: str) -> float | None:
    """Bytes/s of the GPU called ``name`` (the longest key of the table found in it), or None."""
    for key, pattern in _PATTERNS:
        if pattern.search(name):
            return BANDWIDTH_GB_S[key] * 1e9
    return None


def gpu_speed(hw: Hardware) -> GpuSpeed | None:
    """The GPUs llama.cpp splits a model across (the discrete ones, else all); None without a GPU.

    Layers are split across GPUs and run one after another, so a split runs at
    about the slowest GPU's bandwidth; one unknown GPU makes the whole unknown.
    """
    gpus: list[GpuInfo] = [g for g in hw.gpus if not g.integrated] or list(hw.gpus)
    if not gpus:
        return None
    figures = [bandwidth_of(g.name) for g in gpus]
    known = [f for f in figures if f is not None]
    bandwidth = min(known) if known and len(known) == len(figures) else None
    return GpuSpeed(" + ".join(g.name for g in gpus), bandwidth)
