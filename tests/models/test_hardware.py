"""Probing the machine: RAM (with cgroup limits), CPU, GPUs from llama.cpp's registry, disk."""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from pathlib import Path

import pytest

from app.engine.backends import BackendDevice
from app.models import hardware
from app.models.hardware import (
    backend_family,
    cgroup_memory,
    disk_free,
    gpus_from_devices,
    parse_cgroup_limit,
    parse_cpuinfo_cores,
    parse_meminfo,
    parse_proc_cgroup,
    parse_vm_stat,
    probe_hardware,
)

GIB = 1 << 30

MEMINFO = """\
MemTotal:       16303412 kB
MemFree:         1203400 kB
MemAvailable:    9876540 kB
Buffers:          402312 kB
Cached:          7012344 kB
SwapCached:            0 kB
Active(anon):    3123456 kB
HugePages_Total:       0
"""

VM_STAT = """\
Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                               12345.
Pages active:                            400000.
Pages inactive:                          300000.
Pages speculative:                         5000.
Pages throttled:                              0.
Pages wired down:                        150000.
Pages purgeable:                          20000.
"Translation faults":                 123456789.
Pages copy-on-write:                    1234567.
Pages stored in compressor:              200000.
Pages occupied by compressor:             80000.
"""

CPUINFO = """\
processor\t: 0
physical id\t: 0
core id\t\t: 0

processor\t: 1
physical id\t: 0
core id\t\t: 0

processor\t: 2
physical id\t: 0
core id\t\t: 1

processor\t: 3
physical id\t: 0
core id\t\t: 1
"""


def test_probe_here_is_plausible(tmp_path: Path) -> None:
    hw = probe_hardware(tmp_path)
    assert hw.ram_total > hw.ram_available > 0
    assert hw.cpu_threads >= 1
    assert hw.physical_cores is None or 1 <= hw.physical_cores <= hw.cpu_threads
    assert hw.backends[0] == "CPU"
    assert set(g.backend for g in hw.gpus) <= set(hw.backends)
    assert hw.disk_free > 0
    assert hw.os and hw.arch
    if sys.platform.startswith("linux"):
        assert hw.cpu_threads == len(os.sched_getaffinity(0))
        assert not hw.unified_memory


def test_probe_default_folder_is_the_models_folder() -> None:
    assert probe_hardware().disk_free > 0  # GEMMA_DESK_HOME points at a private folder in tests


def test_meminfo() -> None:
    assert parse_meminfo(MEMINFO) == (16303412 * 1024, 9876540 * 1024)


def test_meminfo_without_memavailable_uses_free_buffers_and_cache() -> None:
    old_kernel = "\n".join(line for line in MEMINFO.splitlines() if not line.startswith("MemAvailable"))
    assert parse_meminfo(old_kernel) == (16303412 * 1024, (1203400 + 402312 + 7012344) * 1024)


def test_vm_stat() -> None:
    assert parse_vm_stat(VM_STAT) == (12345 + 5000 + 300000) * 16384
    assert parse_vm_stat(VM_STAT.replace("16384", "4096")) == (12345 + 5000 + 300000) * 4096


def test_cpuinfo_counts_cores_not_threads() -> None:
    assert parse_cpuinfo_cores(CPUINFO) == 2
    assert parse_cpuinfo_cores(CPUINFO, allowed={0, 1}) == 1
    assert parse_cpuinfo_cores("processor\t: 0\nmodel name\t: ARMv8\n") is None


def test_proc_cgroup_lines() -> None:
    assert parse_proc_cgroup("0::/user.slice/app.scope\n") == {"v2": "/user.slice/app.scope"}
    v1 = "12:pids:/\n4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
    assert parse_proc_cgroup(v1) == {"v1": "/docker/abc"}


def test_cgroup_limit_values() -> None:
    assert parse_cgroup_limit("max\n") is None
    assert parse_cgroup_limit("9223372036854771712\n") is None  # v1's "unlimited"
    assert parse_cgroup_limit("4294967296\n") == 4 * GIB
    assert parse_cgroup_limit("") is None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_limit_minus_usage_without_file_cache(tmp_path: Path) -> None:
    group = tmp_path / "user.slice" / "app.scope"
    _write(group / "memory.max", f"{4 * GIB}\n")
    _write(group / "memory.current", f"{3 * GIB}\n")
    _write(group / "memory.stat", f"anon {GIB}\ninactive_file {2 * GIB}\nactive_file 1000\n")
    _write(tmp_path / "memory.max", "max\n")  # the root: unlimited
    assert cgroup_memory("0::/user.slice/app.scope\n", tmp_path) == (4 * GIB, GIB)


def test_cgroup_v2_inherits_a_parents_tighter_limit(tmp_path: Path) -> None:
    _write(tmp_path / "outer" / "memory.max", f"{2 * GIB}\n")
    _write(tmp_path / "outer" / "memory.current", "0\n")
    _write(tmp_path / "outer" / "inner" / "memory.max", "max\n")
    assert cgroup_memory("0::/outer/inner\n", tmp_path) == (2 * GIB, 0)


def test_cgroup_v1_in_a_container_whose_mount_is_its_own_group(tmp_path: Path) -> None:
    # /proc/self/cgroup names the host's path, but the container sees its group at the mount root.
    mem = tmp_path / "memory"
    _write(mem / "memory.limit_in_bytes", f"{8 * GIB}\n")
    _write(mem / "memory.usage_in_bytes", f"{3 * GIB}\n")
    _write(mem / "memory.stat", f"cache {GIB}\ntotal_inactive_file {GIB}\n")
    assert cgroup_memory("4:memory:/docker/0123abcd\n", tmp_path) == (8 * GIB, 2 * GIB)


def test_no_cgroup_limit(tmp_path: Path) -> None:
    _write(tmp_path / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    assert cgroup_memory("4:memory:/\n", tmp_path) is None
    assert cgroup_memory("", tmp_path) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/meminfo")
def test_linux_memory_respects_a_lower_cgroup_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "cgroup_memory", lambda text: (2 * GIB, GIB // 2))
    total, available = hardware._linux_memory()
    assert total == 2 * GIB
    assert available <= GIB + GIB // 2


def test_windows_struct_matches_memorystatusex() -> None:
    assert ctypes.sizeof(hardware._MemoryStatusEx) == 64


def test_gpus_from_llama_cpp_devices() -> None:
    devices = [
        BackendDevice("CPU", "AMD Ryzen 9", "cpu", 0, 0),
        BackendDevice("CUDA0", "NVIDIA GeForce RTX 4070", "gpu", 10 * GIB, 12 * GIB),
        BackendDevice("Vulkan0", "AMD Radeon 780M", "igpu", GIB, 2 * GIB),
        BackendDevice("BLAS", "OpenBLAS", "accel", 0, 0),
    ]
    gpus = gpus_from_devices(devices)
    assert [(g.name, g.backend, g.memory_free, g.integrated) for g in gpus] == [
        ("NVIDIA GeForce RTX 4070", "CUDA", 10 * GIB, False),
        ("AMD Radeon 780M", "Vulkan", GIB, True),
    ]
    assert [backend_family(n) for n in ("MTL0", "CUDA1", "Vulkan0", "SYCL0")] == ["Metal", "CUDA", "Vulkan", "SYCL"]


def test_probe_with_a_gpu(tmp_path: Path) -> None:
    devices = [BackendDevice("CPU", "cpu", "cpu", 0, 0), BackendDevice("CUDA0", "RTX", "gpu", 7 * GIB, 8 * GIB)]
    hw = probe_hardware(tmp_path, devices=devices)
    assert hw.backends == ("CPU", "CUDA")
    assert hw.gpu_memory_free == 7 * GIB
    assert hw.has_gpu


def test_missing_models_folder_uses_its_nearest_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Path] = []
    real = shutil.disk_usage

    def spy(path: Path) -> object:
        asked.append(Path(path))
        return real(path)

    monkeypatch.setattr(shutil, "disk_usage", spy)
    assert disk_free(tmp_path / "not" / "there" / "models") > 0
    assert asked == [tmp_path]
    assert probe_hardware(tmp_path / "missing", devices=[]).disk_free > 0
    assert asked[-1] == tmp_path
