"""What this machine has to run a model with: memory, CPU threads, GPUs, disk space.

``probe_hardware()`` reads everything with the standard library (no psutil):

* RAM: Linux ``/proc/meminfo`` (``MemTotal``, ``MemAvailable``), lowered to the
  process's cgroup memory limit when there is one (containers: cgroup v2
  ``memory.max`` or v1 ``memory.limit_in_bytes``, walking up the hierarchy);
  macOS ``sysctl hw.memsize`` and ``vm_stat``; Windows ``GlobalMemoryStatusEx``.
* CPU: the threads this process may run on (``os.sched_getaffinity`` where it
  exists) and the physical cores among them.
* GPUs: the devices llama.cpp's own backend registry reports (so only the
  backends compiled into this build), with their memory as the backend sees it.
* Disk: free space in the models folder, or its nearest existing parent.

The parsers are plain functions of text so they are tested on every platform.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.paths import models_dir

if TYPE_CHECKING:
    from app.engine.backends import BackendDevice

#: ggml device names → the backend family users know ("MTL0" → "Metal", "CUDA1" → "CUDA").
_FAMILY_NAMES = {"MTL": "Metal", "VULKAN": "Vulkan", "ROCM": "ROCm", "HIP": "ROCm", "SYCL": "SYCL"}


@dataclass(frozen=True)
class GpuInfo:
    """A GPU llama.cpp can offload to."""

    name: str  # "NVIDIA GeForce RTX 4070", "Apple M2 Pro", …
    backend: str  # "CUDA", "Metal", "Vulkan", …
    memory_total: int  # bytes, as the backend reports them
    memory_free: int
    integrated: bool = False  # shares the system RAM (Apple Silicon, most laptop iGPUs)


@dataclass(frozen=True)
class Hardware:
    """A snapshot of the resources available to a model on this machine."""

    ram_total: int  # bytes this process may use at most (physical RAM, or the cgroup limit if lower)
    ram_available: int  # bytes that can be allocated now without swapping
    cpu_threads: int  # logical CPUs this process may run on
    physical_cores: int | None  # None where it cannot be told
    backends: tuple[str, ...]  # ("CPU",) or ("CPU", "CUDA"), …: compiled in and with a device found
    gpus: tuple[GpuInfo, ...]
    disk_free: int  # bytes free in the models folder (or its nearest existing parent)
    os: str  # "Linux", "Darwin", "Windows"
    arch: str  # "x86_64", "arm64", "AMD64", …
    unified_memory: bool  # Apple Silicon: the GPU works in system RAM

    @property
    def gpu_memory_free(self) -> int:
        """Free memory on the GPUs llama.cpp would split a model across (discrete ones; all if none is)."""
        discrete = [g for g in self.gpus if not g.integrated]
        return sum(g.memory_free for g in (discrete or list(self.gpus)))

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)


# -- Linux: /proc/meminfo and cgroups -------------------------------------------------


def parse_meminfo(text: str) -> tuple[int, int]:
    """(total, available) bytes from ``/proc/meminfo`` text.

    ``MemAvailable`` exists since Linux 3.14; before it, free + buffers + page cache
    is the usual stand-in.
    """
    values: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^([\w()]+):\s+(\d+)\s*(kB)?\s*$", line)
        if match:
            values[match.group(1)] = int(match.group(2)) * (1024 if match.group(3) else 1)
    total = values.get("MemTotal", 0)
    available = values.get("MemAvailable")
    if available is None:
        available = values.get("MemFree", 0) + values.get("Buffers", 0) + values.get("Cached", 0)
    return total, min(available, total) if total else available


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """The memory cgroup paths from ``/proc/self/cgroup``: {"v2": path} and/or {"v1": path}."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            found["v2"] = path
        elif "memory" in controllers.split(","):
            found["v1"] = path
    return found


def parse_cgroup_limit(text: str) -> int | None:
    """A cgroup memory limit file's value in bytes; None for "max" (v2) or no number."""
    value = text.strip()
    if not value or value == "max":
        return None
    try:
        limit = int(value)
    except ValueError:
        return None
    # cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number.
    return None if limit <= 0 or limit >= 1 << 62 else limit


def parse_memory_stat(text: str) -> dict[str, int]:
    """``memory.stat`` as a dict (bytes)."""
    stats: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            stats[key] = int(value)
    return stats


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def cgroup_memory(proc_cgroup: str, sys_root: Path = Path("/sys/fs/cgroup")) -> tuple[int, int] | None:
    """(limit, usage without reclaimable file cache) of the tightest memory cgroup, or None.

    Walks from the process's own cgroup up to the root of the mounted hierarchy
    (inside a container the mount is often already the container's own cgroup,
    so the path from ``/proc/self/cgroup`` may not exist under it: its ancestors
    and the mount root are tried too).
    """
    paths = parse_proc_cgroup(proc_cgroup)
    layouts = []
    if "v2" in paths:
        layouts.append((sys_root, paths["v2"], "memory.max", "memory.current", "inactive_file"))
    if "v1" in paths:
        layouts.append(
            (sys_root / "memory", paths["v1"], "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        )
    best: tuple[int, int] | None = None
    for root, rel, limit_name, usage_name, inactive_key in layouts:
        parts = [p for p in rel.split("/") if p]
        for depth in range(len(parts), -1, -1):
            folder = root.joinpath(*parts[:depth])
            limit_text = _read(folder / limit_name)
            if limit_text is None:
                continue
            limit = parse_cgroup_limit(limit_text)
            if limit is None:
                continue
            usage = parse_cgroup_limit(_read(folder / usage_name) or "") or 0
            stat = parse_memory_stat(_read(folder / "memory.stat") or "")
            usage = max(0, usage - stat.get(inactive_key, 0))
            if best is None or limit - usage < best[0] - best[1]:
                best = (limit, usage)
    return best


def _linux_memory() -> tuple[int, int]:
    total, available = parse_meminfo(_read(Path("/proc/meminfo")) or "")
    limits = cgroup_memory(_read(Path("/proc/self/cgroup")) or "")
    if limits is not None:
        limit, usage = limits
        if limit < total:
            total = limit
        available = min(available, max(0, limit - usage))
    return total, available


# -- macOS: sysctl and vm_stat ---------------------------------------------------------


def parse_vm_stat(text: str) -> int:
    """Bytes available now from ``vm_stat`` output: free + speculative + inactive pages.

    (Inactive pages are clean or compressible and handed out before swapping;
    this is what Activity Monitor's "available" roughly counts.)
    """
    page = 4096
    match = re.search(r"page size of (\d+) bytes", text)
    if match:
        page = int(match.group(1))
    pages: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r'^"?([^:"]+)"?:\s+(\d+)\.?\s*$', line.strip())
        if m:
            pages[m.group(1).strip()] = int(m.group(2))
    counted = ("Pages free", "Pages speculative", "Pages inactive")
    return sum(pages.get(key, 0) for key in counted) * page


def _run(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _sysctl_int(name: str) -> int | None:
    out = _run("sysctl", "-n", name).strip()
    return int(out) if out.isdigit() else None


def _macos_memory() -> tuple[int, int]:
    total = _sysctl_int("hw.memsize") or 0
    available = parse_vm_stat(_run("vm_stat"))
    return total, min(available, total) if total else available


# -- Windows: GlobalMemoryStatusEx ------------------------------------------------------


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", ctypes.c_uint32),
        ("dwMemoryLoad", ctypes.c_uint32),
        ("ullTotalPhys", ctypes.c_uint64),
        ("ullAvailPhys", ctypes.c_uint64),
        ("ullTotalPageFile", ctypes.c_uint64),
        ("ullAvailPageFile", ctypes.c_uint64),
        ("ullTotalVirtual", ctypes.c_uint64),
        ("ullAvailVirtual", ctypes.c_uint64),
        ("ullAvailExtendedVirtual", ctypes.c_uint64),
    ]


def _windows_memory() -> tuple[int, int]:
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    kernel32 = getattr(ctypes, "windll", None)
    if kernel32 is None or not kernel32.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return 0, 0
    return int(status.ullTotalPhys), int(status.ullAvailPhys)


def memory() -> tuple[int, int]:
    """(total, available) RAM in bytes for this process on this platform; (0, 0) if unknown."""
    try:
        if sys.platform.startswith("linux"):
            return _linux_memory()
        if sys.platform == "darwin":
            return _macos_memory()
        if sys.platform == "win32":
            return _windows_memory()
    except (OSError, ValueError):
        pass
    return 0, 0


# -- CPU ---------------------------------------------------------------------------------


def cpu_threads() -> int:
    """Logical CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_cpuinfo_cores(text: str, allowed: set[int] | None = None) -> int | None:
    """Distinct (physical id, core id) pairs in ``/proc/cpuinfo`` (among ``allowed`` processors)."""
    cores: set[tuple[str, str]] = set()
    block: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if "core id" in block and (allowed is None or int(block.get("processor", "-1")) in allowed):
                cores.add((block.get("physical id", "0"), block["core id"]))
            block = {}
            continue
        key, _, value = line.partition(":")
        block[key.strip()] = value.strip()
    return len(cores) or None


def _linux_physical_cores() -> int | None:
    try:
        allowed: set[int] | None = set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = None
    cores: set[tuple[str, str]] = set()
    base = Path("/sys/devices/system/cpu")
    for cpu in allowed if allowed is not None else ():
        package = _read(base / f"cpu{cpu}" / "topology" / "physical_package_id")
        core = _read(base / f"cpu{cpu}" / "topology" / "core_id")
        if package is None or core is None:
            cores.clear()
            break
        cores.add((package.strip(), core.strip()))
    if cores:
        return len(cores)
    return parse_cpuinfo_cores(_read(Path("/proc/cpuinfo")) or "", allowed)


def physical_cores() -> int | None:
    """Physical cores among the CPUs this process may use (None where the OS does not say)."""
    try:
        if sys.platform.startswith("linux"):
            return _linux_physical_cores()
        if sys.platform == "darwin":
            return _sysctl_int("hw.physicalcpu")
    except (OSError, ValueError):
        pass
    return None


# -- GPUs and disk ---------------------------------------------------------------------------


def backend_family(device_name: str) -> str:
    """ "CUDA0" → "CUDA", "MTL0" → "Metal", "Vulkan1" → "Vulkan"."""
    base = device_name.rstrip("0123456789") or device_name
    return _FAMILY_NAMES.get(base.upper(), base)


def gpus_from_devices(devices: Sequence[BackendDevice]) -> tuple[GpuInfo, ...]:
    return tuple(
        GpuInfo(
            name=dev.description or dev.name,
            backend=backend_family(dev.name),
            memory_total=dev.memory_total,
            memory_free=dev.memory_free,
            integrated=dev.kind == "igpu",
        )
        for dev in devices
        if dev.kind in ("gpu", "igpu")
    )


def disk_free(folder: Path) -> int:
    """Free bytes where ``folder`` is, or would be created (its nearest existing parent)."""
    path = folder.expanduser().absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def _is_apple_silicon() -> bool:
    return sys.platform == "darwin" and platform.machine() == "arm64"


def probe_hardware(
    models_folder: Path | None = None,
    *,
    devices: Sequence[BackendDevice] | None = None,
) -> Hardware:
    """Look at this machine now. ``devices`` defaults to llama.cpp's backend registry."""
    if models_folder is None:
        models_folder = models_dir()
    if devices is None:
        from app.engine.backends import backend_devices  # loads llama.cpp: only when the GPUs are asked for

        devices = backend_devices()
    devs = list(devices)
    gpus = gpus_from_devices(devs)
    apple = _is_apple_silicon()
    if apple:
        gpus = tuple(GpuInfo(g.name, g.backend, g.memory_total, g.memory_free, True) for g in gpus)
    backends = ("CPU", *dict.fromkeys(g.backend for g in gpus))
    total, available = memory()
    return Hardware(
        ram_total=total,
        ram_available=available,
        cpu_threads=cpu_threads(),
        physical_cores=physical_cores(),
        backends=backends,
        gpus=gpus,
        disk_free=disk_free(models_folder),
        os=platform.system(),
        arch=platform.machine(),
        unified_memory=apple,
    )
