"""The native side of mixture-of-experts offload: llama.cpp's tensor buffer-type overrides, built with ctypes.

``llama_model_params.tensor_buft_overrides`` is a C array of ``{const char * pattern; ggml_backend_buffer_type_t
buft}`` ended by a NULL pattern (``include/llama.h``); llama.cpp reads it while loading and keeps no copy of the
strings, so ``TensorOverrides`` owns the array and its pattern bytes for as long as the model that used it.

The CPU buffer type is ggml-base's ``ggml_backend_cpu_buffer_type()`` — what the CPU device reports as its own,
and the very pointer llama.cpp's loader compares against to keep the repacked CPU kernels for those tensors —
taken from the copy of ggml-base llama.cpp runs on (``app.engine.ggml_lib``).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence

from app.engine.errors import ModelLoadError
from app.engine.moe_offload import expert_pattern

log = logging.getLogger(__name__)


class _Override(ctypes.Structure):
    """``struct llama_model_tensor_buft_override`` (llama-cpp-python declares the field as a bare pointer)."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


class TensorOverrides:
    """A NULL-terminated override array and the pattern strings it points at (keep it as long as the model)."""

    def __init__(self, patterns: Sequence[str], buft: int) -> None:
        self._patterns = [p.encode("ascii") for p in patterns]
        self._array = (_Override * (len(self._patterns) + 1))()
        for slot, pattern in zip(self._array, self._patterns, strict=False):
            slot.pattern = pattern
            slot.buft = buft

    @property
    def address(self) -> int:
        """What ``llama_model_params.tensor_buft_overrides`` takes."""
        return ctypes.addressof(self._array)


def cpu_buffer_type() -> int:
    """ggml's host (CPU) buffer type, as an address for ``llama_model_tensor_buft_override.buft``."""
    from app.engine.ggml_lib import ggml_base

    try:
        fn = ggml_base().ggml_backend_cpu_buffer_type
    except AttributeError as exc:  # pragma: no cover - depends on the wheel's layout
        raise ModelLoadError(f"This llama.cpp build cannot keep experts on the CPU ({exc}).") from None
    fn.restype = ctypes.c_void_p
    fn.argtypes = []
    buft = fn()
    if not buft:  # pragma: no cover - ggml returns a static object
        raise ModelLoadError("llama.cpp has no CPU buffer type, so experts cannot be kept on the CPU.")
    return int(buft)


def cpu_expert_overrides(n_layers: int) -> TensorOverrides | None:
    """Overrides that keep the experts of layers ``0 … n_layers-1`` in CPU memory (None for 0)."""
    if n_layers <= 0:
        return None
    log.debug("keeping the experts of %d layers in CPU memory", n_layers)
    return TensorOverrides([expert_pattern(il) for il in range(n_layers)], cpu_buffer_type())
