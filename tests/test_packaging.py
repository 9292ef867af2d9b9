"""The installer files are consistent: what each platform needs is there, and what they point at exists.

The bundles themselves are built and run by ``tests/test_frozen_bundle.py`` (Linux, here) and by the hosted
CI workflow (Windows, macOS); this checks the files that drive those builds.
"""

from __future__ import annotations

import fnmatch
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app.media.documents.reader import DOCUMENT_NAMES, DOCUMENT_SUFFIXES
from app.media.intake import AUDIO_SUFFIXES, IMAGE_SUFFIXES, MODEL_SUFFIX, VIDEO_SUFFIXES

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
MIME_DB = Path("/usr/share/mime")
#: Suffixes the app reads that the desktop's MIME database gives another meaning; not claimed in the entry.
NOT_DECLARED = {
    ".ts": "an MPEG transport stream video to the desktop (the app reads TypeScript)",
    ".svg": "a picture to the desktop, left to image viewers (the app reads its XML as text)",
}


def accepted_suffixes() -> set[str]:
    """Every suffix the composer takes: pictures, recordings, videos, documents, and models to load."""
    return {*IMAGE_SUFFIXES, *AUDIO_SUFFIXES, *VIDEO_SUFFIXES, *DOCUMENT_SUFFIXES, MODEL_SUFFIX}


def desktop_entry() -> dict[str, str]:
    lines = (PACKAGING / "linux" / "gemma-desk.desktop").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def mime_globs(path: Path) -> list[tuple[str, str]]:
    """(type, pattern) pairs of a shared-mime-info ``globs2`` file (weight:type:pattern[:flags])."""
    rows = [line.split(":") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [(row[1], row[2]) for row in rows]


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
    entry = desktop_entry()
    assert entry["Exec"] == "gemma-desk %F" and entry["TryExec"] == "gemma-desk"  # files, as separate arguments


def test_the_linux_desktop_entry_declares_a_type_for_every_kind_of_file_the_app_reads() -> None:
    """Each suffix and name the app takes maps, in the desktop's own MIME database, to a type the entry lists
    ("Open with Gemma Desk"); and each type listed is one the app reads, so nothing offered is then refused."""
    if not (MIME_DB / "globs2").exists():
        pytest.skip(f"no shared MIME database at {MIME_DB} (apt install shared-mime-info)")
    declared = set(desktop_entry()["MimeType"].rstrip(";").split(";"))
    globs = mime_globs(MIME_DB / "globs2")
    samples = [f"x{suffix}" for suffix in accepted_suffixes()] + sorted(DOCUMENT_NAMES)
    missing = {}
    for sample in samples:
        types = {mime for mime, pattern in globs if fnmatch.fnmatchcase(sample, pattern)}
        if types and not types & declared and Path(sample).suffix not in NOT_DECLARED:
            missing[sample] = sorted(types)
    assert missing == {}, "add these types to MimeType= in gemma-desk.desktop"
    known = {mime for mime, _ in globs}
    offered_but_refused = {
        mime
        for mime in declared - {"application/x-gguf"}  # ours: packaging/linux/io.gemmadesk.GemmaDesk.mime.xml
        if not any(fnmatch.fnmatchcase(sample, pattern) for m, pattern in globs if m == mime for sample in samples)
    }
    assert offered_but_refused == set(), f"not read by the app, or unknown here: {offered_but_refused & known}"


@pytest.mark.skipif(
    shutil.which("update-mime-database") is None, reason="no update-mime-database (apt install shared-mime-info)"
)
def test_the_gguf_type_is_one_the_desktop_database_takes(tmp_path: Path) -> None:
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(PACKAGING / "linux" / "io.gemmadesk.GemmaDesk.mime.xml", packages / "gemma-desk.xml")
    proc = subprocess.run(["update-mime-database", str(tmp_path / "mime")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ("application/x-gguf", "*.gguf") in mime_globs(tmp_path / "mime" / "globs2")
    assert b"application/x-gguf]\n>0=\x00\x04GGUF" in (tmp_path / "mime" / "magic").read_bytes()  # by content too
    # Every Linux package installs it: the .tar.gz (install.sh registers it) and the Flatpak.
    assert "io.gemmadesk.GemmaDesk.mime.xml" in (REPO / "packaging" / "build-linux.sh").read_text()
    assert "update-mime-database" in (PACKAGING / "linux" / "install.sh").read_text()
    manifest = (PACKAGING / "linux" / "io.gemmadesk.GemmaDesk.yml").read_text()
    assert "/app/share/mime/packages/io.gemmadesk.GemmaDesk.xml" in manifest


def test_the_windows_installer_offers_open_with_for_every_kind_of_file_and_takes_it_back() -> None:
    iss = (PACKAGING / "windows" / "gemma-desk.iss").read_text()
    assert "ChangesAssociations=yes" in iss
    registry = [line for line in iss[iss.index("[Registry]") :].splitlines() if line.startswith("Root: HKA")]
    open_with = {}
    for line in registry:
        if found := re.search(r'Subkey: "Software\\Classes\\(\.[^\\"]+)\\OpenWithProgids"', line):
            open_with[found.group(1)] = line
    assert set(open_with) == accepted_suffixes()
    assert all("uninsdeletevalue" in line for line in open_with.values())  # only our value goes on uninstall
    for progid in ("GemmaDesk.File", "GemmaDesk.Model", "Applications\\gemma-desk.exe"):
        own = [line for line in registry if f'Classes\\{progid}"' in line]
        assert own and all("uninsdeletekey" in line for line in own), progid
        command = [line for line in registry if f"Classes\\{progid}\\shell\\open\\command" in line]
        assert command and '""{app}\\gemma-desk.exe"" ""%1""' in command[0], progid
    assert not [line for line in registry if re.search(r'Classes\\\.[^\\"]+"; ValueType', line)]  # no defaults taken


def test_the_macos_bundle_declares_the_document_types_it_opens() -> None:
    spec = (PACKAGING / "gemma-desk.spec").read_text()
    assert '"macos" / "document-types.plist"' in spec and "**document_types" in spec
    plist = plistlib.loads((PACKAGING / "macos" / "document-types.plist").read_bytes())
    kinds = {kind["CFBundleTypeName"]: kind for kind in plist["CFBundleDocumentTypes"]}
    for name, uti in (
        ("Picture", "public.png"),
        ("Recording", "public.mp3"),
        ("Video", "public.mpeg-4"),
        ("Document", "com.adobe.pdf"),
        ("Text or source code", "public.source-code"),
        ("Gemma model", "org.ggml.gguf"),
    ):
        assert uti in kinds[name]["LSItemContentTypes"], name
    ranks = {name: kind["LSHandlerRank"] for name, kind in kinds.items()}
    assert ranks.pop("Gemma model") == "Default" and set(ranks.values()) == {"Alternate"}  # never a default viewer
    by_extension = next(kind for kind in kinds.values() if "CFBundleTypeExtensions" in kind)
    assert {f".{e}" for e in by_extension["CFBundleTypeExtensions"]} == accepted_suffixes() - {MODEL_SUFFIX}
    (gguf,) = plist["UTImportedTypeDeclarations"]
    assert gguf["UTTypeIdentifier"] == "org.ggml.gguf"
    assert gguf["UTTypeTagSpecification"]["public.filename-extension"] == ["gguf"]
    assert "CFBundleDocumentTypes" in (PACKAGING / "macos" / "build-macos.sh").read_text()


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
