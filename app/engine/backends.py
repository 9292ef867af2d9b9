"""Which devices llama.cpp can run on: the backends built in, the GPUs they found, and the threads to use."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

from app.engine.native_log import init_backend


@dataclass(frozen=True, slots=True)
class BackendDevice:
    name: str  # "CPU", "CUDA0", "Metal", "Vulkan0", …
    description: str
    kind: str  # "cpu", "gpu", "igpu", "accel"
    memory_free: int
    memory_total: int


_DEV_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def _ggml_lib() -> ctypes.CDLL | None:
    try:
        from app.engine.ggml_lib import ggml

        lib = ggml()  # the registry llama.cpp itself uses (and, through it, ggml-base's device functions)
    except Exception:  # pragma: no cover - depends on the wheel's layout
        return None
    try:
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_count.argtypes = []
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_name.restype = ctypes.c_char_p
        lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_description.restype = ctypes.c_char_p
        lib.ggml_backend_dev_description.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_reg_count.restype = ctypes.c_size_t
        lib.ggml_backend_reg_count.argtypes = []
        lib.ggml_backend_reg_get.restype = ctypes.c_void_p
        lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_reg_name.restype = ctypes.c_char_p
        lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_memory.restype = None
        lib.ggml_backend_dev_memory.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_size_t),
        ]
    except AttributeError:  # pragma: no cover - an old ggml
        return None
    return lib


def backend_devices() -> list[BackendDevice]:
    """The devices llama.cpp can run on, as ggml's backend registry lists them."""
    init_backend()
    lib = _ggml_lib()
    if lib is None:
        return [BackendDevice("CPU", "CPU", "cpu", 0, 0)]
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            BackendDevice(
                name=(lib.ggml_backend_dev_name(dev) or b"?").decode(),
                description=(lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace"),
                kind=_DEV_KINDS.get(lib.ggml_backend_dev_type(dev), "other"),
                memory_free=int(free.value),
                memory_total=int(total.value),
            )
        )
    return devices


def compiled_backends() -> list[str]:
    """The backends this llama.cpp build has ("CPU", "CUDA", "Metal", "Vulkan", …), found devices or not."""
    init_backend()
    lib = _ggml_lib()
    if lib is None:
        return ["CPU"]
    names = [
        (lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)) or b"?").decode()
        for i in range(lib.ggml_backend_reg_count())
    ]
    return [{"MTL": "Metal"}.get(n, n) for n in names]


def missing_gpu_notice() -> str:
    """A GPU backend is built in but found no device (no driver, no GPU): say so, once, at load."""
    gpu = [b for b in compiled_backends() if b not in ("CPU", "BLAS", "RPC")]
    if gpu and backend_name() == "CPU":
        return f"This build runs on {gpu[0]}, but no usable {gpu[0]} GPU was found (check the driver); using the CPU."
    return ""


def backend_name(devices: list[BackendDevice] | None = None) -> str:
    """The accelerator family compiled in and found: "CUDA", "Metal", "Vulkan", … or "CPU"."""
    for dev in devices if devices is not None else backend_devices():
        if dev.kind in ("gpu", "igpu"):
            name = dev.name.rstrip("0123456789")
            return {"MTL": "Metal"}.get(name, name)
    return "CPU"


#: Overrides the default number of threads (a whole number ≥ 1), as ``OMP_NUM_THREADS`` does for other tools.
THREADS_ENV = "GEMMA_DESK_THREADS"


def default_threads() -> int:
    """Decode threads: the cores we may use, leaving one free on big machines for the UI.

    ``GEMMA_DESK_THREADS`` overrides it. The test suite sets it to 1: llama.cpp's threads meet at a spinning
    barrier after every operation, so on a 2-core machine whose cores are busy elsewhere two threads decode
    the tiny test model hundreds of times slower than one (547 s against 2.4 s for 1,500 tokens).
    """
    override = os.environ.get(THREADS_ENV, "").strip()
    if override.isdigit() and int(override) >= 1:
        return int(override)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 2
    return max(1, n - 1) if n > 8 else n
