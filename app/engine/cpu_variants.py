"""The best CPU kernels this machine runs, chosen at start: llama.cpp built once per x86/ARM level, loaded at run time.

llama.cpp is built with ``GGML_BACKEND_DL`` and ``GGML_CPU_ALL_VARIANTS`` (see pyproject.toml): its CPU backend is
not linked in but shipped as one module per instruction-set level (``libggml-cpu-haswell.so``,
``libggml-cpu-icelake.so``, …), each exporting ``ggml_backend_score()``: 0 where this CPU lacks an instruction
the module was built with, else a number that grows with the features it uses. llama.cpp's own loader
(``ggml_backend_load_all``) would pick the best by that score, searching the executable's folder and the
current folder. We pick ourselves, from llama-cpp-python's own ``lib`` folder only, for two reasons:

* No module is ever loaded from the current folder (a library planted next to a document must not run).
* The AMX guard. ggml's score for the ``sapphirerapids`` module checks only CPUID's AMX bits, and the AMX
  kernels of the llama.cpp we build on end the process with an illegal instruction on quantized weights
  (Q4_K on Gemma 3 270M: ``tilezero`` traps) even where the kernel grants the tile permission — the tile
  configuration is lost before use (llama.cpp PR #26954 describes the fault and its fix). An AMX module is
  therefore never chosen by itself: only when ``GEMMA_DESK_CPU_VARIANT`` names it and the kernel grants the
  tile data permission (Linux ``arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)``). Elsewhere the next
  best module (AVX-512 with VNNI/BF16) runs. The test suite loads every module this machine scores above 0 in
  its own process and decodes real quantized weights with it, so a module that crashes here is found by test,
  not by a user.

``GEMMA_DESK_CPU_VARIANT`` names a module to load instead (``haswell``, ``icelake``, …): for benchmarks, and
for a user whose machine misbehaves with the best one. A build with the CPU backend linked in (an older or
a custom build) has nothing to choose: it reports "built in".
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Names a CPU module to load instead of the best one (its level: ``haswell``, ``icelake``, ``x64``, …).
VARIANT_ENV = "GEMMA_DESK_CPU_VARIANT"

#: Modules whose kernels use AMX tiles: loaded only when asked for by name, and the kernel lets this process use them.
AMX_VARIANTS = frozenset({"sapphirerapids"})

#: What each x86 level adds over plain x86-64, for the self-check and About (ggml/src/CMakeLists.txt's list).
_X86_FEATURES = {
    "x64": "x86-64",
    "sse42": "SSE4.2",
    "sandybridge": "AVX",
    "ivybridge": "AVX, F16C",
    "piledriver": "AVX, FMA",
    "haswell": "AVX2, FMA",
    "skylakex": "AVX-512",
    "cannonlake": "AVX-512, VBMI",
    "cascadelake": "AVX-512, VNNI",
    "icelake": "AVX-512, VBMI, VNNI",
    "cooperlake": "AVX-512, VNNI, BF16",
    "zen4": "AVX-512, VBMI, VNNI, BF16",
    "alderlake": "AVX2, AVX-VNNI",
    "sapphirerapids": "AVX-512, VNNI, BF16, AMX",
}

#: The GPU and other accelerator modules a build may carry (``libggml-cuda.so``, …), loaded when present.
_ACCELERATORS = ("cuda", "hip", "metal", "vulkan", "sycl", "opencl", "musa", "cann", "blas", "rpc")


@dataclass(frozen=True, slots=True)
class CpuVariant:
    name: str  # "icelake", or "built in" where the CPU backend is linked into libggml
    score: int  # ggml_backend_score(); 0 for "built in"
    path: Path | None

    @property
    def label(self) -> str:
        """What the self-check and About say: "icelake (AVX-512, VBMI, VNNI)"."""
        features = _X86_FEATURES.get(self.name)
        return f"{self.name} ({features})" if features else self.name


_lock = threading.Lock()
_loaded: CpuVariant | None = None


def _suffix() -> str:
    return ".dll" if sys.platform == "win32" else ".so"


def _prefix() -> str:
    return "" if sys.platform == "win32" else "lib"


def variant_name(path: Path) -> str | None:
    """``libggml-cpu-icelake.so`` → ``icelake``; None for a file that is not a CPU module."""
    match = re.fullmatch(re.escape(_prefix()) + r"ggml-cpu-([A-Za-z0-9_.]+)" + re.escape(_suffix()), path.name)
    return match.group(1) if match else None


def variant_files(lib_dir: Path) -> dict[str, Path]:
    """The CPU modules in ``lib_dir`` by level name (regular files only)."""
    found: dict[str, Path] = {}
    if lib_dir.is_dir():
        for path in sorted(lib_dir.iterdir()):
            name = variant_name(path)
            if name is not None and path.is_file() and not path.is_symlink():
                found[name] = path
    return found


def amx_usable() -> bool:
    """Whether this process may execute AMX tile instructions (asks the kernel; False where we cannot ask)."""
    if not sys.platform.startswith("linux") or os.uname().machine not in ("x86_64", "amd64"):
        return False
    arch_prctl, req_xcomp_perm, xfeature_xtiledata = 158, 0x1023, 18
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(arch_prctl, req_xcomp_perm, xfeature_xtiledata)) == 0
    except (OSError, AttributeError):
        return False


def module_score(path: Path) -> int:
    """``ggml_backend_score()`` of one CPU module: 0 where this CPU cannot run it (or it does not load). The
    module is unloaded again: only the chosen one stays, loaded by ggml."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        log.warning("CPU module %s does not load: %s", path.name, exc)
        return 0
    try:
        score_fn = lib.ggml_backend_score
        score_fn.restype = ctypes.c_int
        score_fn.argtypes = []
        return int(score_fn())
    except AttributeError:
        log.warning("CPU module %s has no ggml_backend_score", path.name)
        return 0
    finally:
        _unload(lib)


def _unload(lib: ctypes.CDLL) -> None:
    """Drop this handle on a library (the loader unmaps it once no other handle holds it)."""
    import _ctypes

    close = getattr(_ctypes, "FreeLibrary" if sys.platform == "win32" else "dlclose")
    close(lib._handle)


def choose(scores: dict[str, int], *, amx_ok: bool, wanted: str = "") -> str | None:
    """The module to load: ``wanted`` if it runs here, else the best score above 0. An AMX module runs only when
    ``wanted`` names it and ``amx_ok`` (the kernel grants the tile permission); never by score alone."""
    runnable = {name: s for name, s in scores.items() if s > 0 and name not in AMX_VARIANTS}
    if wanted:
        if wanted in runnable or (wanted in AMX_VARIANTS and amx_ok and scores.get(wanted, 0) > 0):
            return wanted
        log.warning("%s=%s cannot run on this machine (or does not exist); using the best one", VARIANT_ENV, wanted)
    return max(runnable, key=lambda name: (runnable[name], name)) if runnable else None


def llama_lib_dir() -> Path:
    """llama-cpp-python's folder of native libraries (in a frozen bundle too: it is found from the package)."""
    import llama_cpp

    return Path(llama_cpp.__file__).resolve().parent / "lib"


def _ggml() -> ctypes.CDLL:
    from app.engine.ggml_lib import ggml

    lib = ggml()  # the copy of ggml llama.cpp runs on: a module loaded into another copy would be invisible
    lib.ggml_backend_load.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_count.argtypes = []
    return lib


def _path_bytes(path: Path) -> bytes:
    return os.fsencode(path) if sys.platform != "win32" else str(path).encode("utf-8")


def load_backends(lib_dir: Path | None = None) -> CpuVariant:
    """Load the best CPU module (and any accelerator modules) once, before llama.cpp is initialised.

    Safe to call again: the first call's choice stands. Raises ``RuntimeError`` when a build made of modules
    has none this CPU can run."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        ggml = _ggml()
        folder = lib_dir or llama_lib_dir()
        files = variant_files(folder)
        if not files:
            _loaded = CpuVariant("built in", 0, None)
            return _loaded
        for name in _ACCELERATORS:
            path = folder / f"{_prefix()}ggml-{name}{_suffix()}"
            if path.is_file() and not ggml.ggml_backend_load(_path_bytes(path)):
                log.warning("The %s backend did not load (no driver or device?): using the others", name)
        scores = {name: module_score(path) for name, path in files.items()}
        chosen = choose(scores, amx_ok=amx_usable(), wanted=os.environ.get(VARIANT_ENV, "").strip())
        if chosen is None:
            raise RuntimeError(
                "None of llama.cpp's CPU modules runs on this processor "
                f"(tried {', '.join(sorted(files))}): it may be older than x86-64 or ARMv8.0."
            )
        if not ggml.ggml_backend_load(_path_bytes(files[chosen])):
            raise RuntimeError(f"llama.cpp's CPU module {files[chosen].name} did not load.")
        log.info("CPU kernels: %s (scores %s)", chosen, scores)
        _loaded = CpuVariant(chosen, scores[chosen], files[chosen])
        return _loaded


def loaded_variant() -> CpuVariant | None:
    """The CPU module in use, once ``load_backends`` ran."""
    return _loaded
