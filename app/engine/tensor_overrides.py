"""The native side of mixture-of-experts offload: llama.cpp's tensor buffer-type overrides, built with ctypes.

``llama_model_params.tensor_buft_overrides`` is a C array of ``{const char * pattern; ggml_backend_buffer_type_t
buft}`` ended by a NULL pattern (``include/llama.h``); llama.cpp reads it while loading and keeps no copy of the
strings, so ``TensorOverrides`` owns the array and its pattern bytes for as long as the model that used it.

The CPU buffer type comes from ggml's device registry (``ggml_backend_dev_by_type(CPU)`` then
``ggml_backend_dev_buffer_type``), never from a symbol of libggml-cpu: with ``GGML_BACKEND_DL`` the CPU backend
is a module loaded at start-up, and the registry is how its buffer type is found.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Sequence

from app.engine.errors import ModelLoadError
from app.engine.moe_offload import expert_pattern

log = logging.getLogger(__name__)

_DEVICE_TYPE_CPU = 0  # enum ggml_backend_dev_type: CPU, GPU, IGPU, ACCEL


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
        self.patterns = tuple(patterns)

    @property
    def address(self) -> int:
        """What ``llama_model_params.tensor_buft_overrides`` takes."""
        return ctypes.addressof(self._array)


@functools.cache
def _ggml_symbols() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    """(libggml: the device registry, libggml-base: devices and buffer types), the copies llama.cpp runs on."""
    from app.engine.ggml_lib import ggml, ggml_base

    reg, base = ggml(), ggml_base()
    reg.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    reg.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    base.ggml_backend_dev_buffer_type.restype = ctypes.c_void_p
    base.ggml_backend_dev_buffer_type.argtypes = [ctypes.c_void_p]
    base.ggml_backend_buft_name.restype = ctypes.c_char_p
    base.ggml_backend_buft_name.argtypes = [ctypes.c_void_p]
    return reg, base


def cpu_buffer_type() -> tuple[int, str]:
    """The CPU device's buffer type (address, name) from ggml's registry; the backend must be initialised."""
    try:
        reg, base = _ggml_symbols()
    except (ImportError, AttributeError) as exc:  # pragma: no cover - depends on the wheel's layout
        raise ModelLoadError(f"This llama.cpp build cannot keep experts on the CPU ({exc}).") from None
    dev = reg.ggml_backend_dev_by_type(_DEVICE_TYPE_CPU)
    buft = base.ggml_backend_dev_buffer_type(dev) if dev else None
    if not buft:
        raise ModelLoadError("llama.cpp has no CPU device loaded, so experts cannot be kept on the CPU.")
    name = base.ggml_backend_buft_name(buft) or b"CPU"
    return int(buft), name.decode("utf-8", "replace")


def cpu_expert_overrides(n_layers: int) -> TensorOverrides | None:
    """Overrides that keep the experts of layers ``0 … n_layers-1`` in CPU memory (None for 0)."""
    if n_layers <= 0:
        return None
    buft, name = cpu_buffer_type()
    log.debug("keeping the experts of %d layers in %s memory", n_layers, name)
    return TensorOverrides([expert_pattern(il) for il in range(n_layers)], buft)
