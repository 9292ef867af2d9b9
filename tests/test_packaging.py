"""The installer files are consistent: what each platform needs is there, and what they point at exists.

The bundles themselves are built and run by ``tests/test_frozen_bundle.py`` (Linux, here) and by the hosted
CI workflow (Windows, macOS); this checks the files that drive those builds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"


def test_the_macos_bundle_declares_microphone_and_camera_use() -> None:
    spec = (PACKAGING / "gemma-desk.spec").read_text()
    for key in ("NSMicrophoneUsageDescription", "NSCameraUsageDescription", "bundle_identifier"):
        assert key in spec
    entitlements = (PACKAGING / "macos" / "entitlements.plist").read_text()
    assert (
        "com.apple.security.device.audio-input" in entitlements and "com.apple.security.device.camera" in entitlements
    )
    script = (PACKAGING / "macos" / "build-macos.sh").read_text()
    assert "-DGGML_METAL=on" in script and "notarytool submit" in script and "hdiutil create" in script


def test_the_windows_installer_has_a_start_menu_entry_and_an_uninstaller() -> None:
    iss = (PACKAGING / "windows" / "gemma-desk.iss").read_text()
    assert "[Icons]" in iss and "{group}\\Gemma Desk" in iss and "{uninstallexe}" in iss
    for relative in ("..\\..\\resources\\icons\\gemma-desk.ico", "..\\LICENSE.txt"):
        assert relative in iss
        assert (PACKAGING / "windows" / Path(relative.replace("\\", "/"))).resolve().exists()
    assert "-DGGML_CUDA=on" in (PACKAGING / "windows" / "build-windows.ps1").read_text()


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None, reason="no desktop-file-validate (apt install desktop-file-utils)"
)
def test_the_linux_desktop_entry_is_valid() -> None:
    proc = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / "linux" / "gemma-desk.desktop")], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="no appstreamcli (apt install appstream)")
def test_the_flatpak_metadata_is_valid() -> None:
    proc = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(PACKAGING / "linux" / "io.gemmadesk.GemmaDesk.metainfo.xml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = yaml.safe_load((PACKAGING / "linux" / "io.gemmadesk.GemmaDesk.yml").read_text())
    assert manifest["app-id"] == "io.gemmadesk.GemmaDesk" and "--socket=pulseaudio" in manifest["finish-args"]


def test_the_hosted_ci_builds_every_target_with_the_scripts_here() -> None:
    workflow = yaml.safe_load((PACKAGING / "ci" / "installers.yml").read_text())
    matrix = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
    assert {(m["os"].split("-")[0], m["variant"]) for m in matrix} == {
        ("ubuntu", "cpu"), ("ubuntu", "cuda"), ("windows", "cpu"), ("windows", "cuda"), ("macos", "metal"),
    }  # fmt: skip
    runs = " ".join(str(step.get("run", "")) for step in workflow["jobs"]["build"]["steps"])
    for script in (
        "packaging/build-linux.sh",
        "packaging\\windows\\build-windows.ps1",
        "packaging/macos/build-macos.sh",
    ):
        assert script in runs
        assert (REPO / script.replace("\\", "/")).exists()
