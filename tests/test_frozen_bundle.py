"""The installed app: the frozen bundle (PyInstaller) checks itself, opens its window, and answers.

Runs when ``build/dist/gemma-desk`` exists: ``bash packaging/build-linux.sh`` makes it (``.ci/run`` does, before
the tests). Skipped otherwise, saying how to build it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "build" / "dist" / "gemma-desk"
EXE = BUNDLE / ("gemma-desk.exe" if sys.platform == "win32" else "gemma-desk")

pytestmark = pytest.mark.skipif(
    not EXE.exists(), reason="no frozen bundle: build it with `bash packaging/build-linux.sh` (CI does)"
)


def frozen(*args: str, home: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"GEMMA_DESK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    # Its own session: a run that hangs is killed with its helpers (QtWebEngineProcess would keep the pipes open
    # and the wait for them would never end).
    with subprocess.Popen(
        [str(EXE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=home,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"the bundle did not finish in {timeout:.0f} s\n{out[-3000:]}\n{err[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_the_bundle_carries_its_libraries_and_data() -> None:
    internal = BUNDLE / "_internal"
    libs = {p.name.split(".")[0] for p in (internal / "llama_cpp" / "lib").iterdir()}
    assert {"libllama", "libggml", "libggml-base", "libmtmd"} <= libs
    # Every CPU module the build made travels with the bundle (the best is chosen on the user's machine).
    from app.engine.cpu_variants import llama_lib_dir

    built = {p.name.split(".")[0] for p in llama_lib_dir().glob("libggml-cpu-*")}
    assert built <= libs, built - libs
    assert (internal / "models.toml").is_file() and (internal / "resources" / "icons" / "gemma-desk-256.png").is_file()
    assert any((internal / "PySide6" / "Qt" / "libexec").glob("QtWebEngineProcess*"))


def test_the_bundle_carries_the_icon_font_only() -> None:
    fonts = BUNDLE / "_internal" / "qtawesome" / "fonts"  # packaging/pyinstaller-hooks/hook-qtawesome.py
    assert {p.name for p in fonts.iterdir()} == {
        "materialdesignicons6-webfont-6.9.96.ttf",
        "materialdesignicons6-webfont-charmap-6.9.96.json",
    }


def test_the_bundle_carries_the_document_readers() -> None:
    """PDFium's library and version files (pypdfium2 reads them on import), the Word and PowerPoint templates
    (python-docx and python-pptx open them to make parts a file lacks), openpyxl's data."""
    internal = BUNDLE / "_internal"
    assert any((internal / "pypdfium2_raw").glob("*pdfium*")), "PDFium's native library is missing"
    assert (internal / "pypdfium2_raw" / "version.json").is_file() and (
        internal / "pypdfium2" / "version.json"
    ).is_file()
    assert (internal / "docx" / "templates" / "default.docx").is_file()
    assert (internal / "pptx" / "templates" / "default.pptx").is_file()


def test_the_bundle_carries_the_math_font() -> None:
    """ziamath draws formulas with its own STIX Two Math font and latex2mathml reads its symbol table."""
    internal = BUNDLE / "_internal"
    assert (internal / "ziamath" / "fonts" / "STIXTwoMath-Regular.ttf").is_file()
    assert (internal / "latex2mathml" / "unimathsymbols.txt").is_file()


def test_the_frozen_app_checks_itself(tmp_path: Path) -> None:
    proc = frozen("--self-check", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    facts = proc.stdout
    assert "(installed bundle)" in facts and "built with CPU" in facts and "platform offscreen" in facts
    from app.engine.cpu_variants import llama_lib_dir

    if any(llama_lib_dir().glob("libggml-cpu-*")):  # a build with one module per CPU level: one was chosen
        kernels = next(line for line in facts.splitlines() if line.startswith("CPU kernels:"))
        assert "unknown" not in kernels and "built in" not in kernels, kernels
    assert "Qt WebEngine:      available" in facts and "PortAudio:" in facts and "Cameras:" in facts
    if shutil.which("speech-dispatcher"):  # the bundle carries Qt TextToSpeech and its speechd plugin
        assert "Speech:            speechd," in facts, facts
    else:
        assert "Speech:            not available" in facts
    assert f"Data folder:       {tmp_path}" in facts


def test_the_frozen_app_opens_its_window_and_answers(tmp_path: Path, tiny_model: Path) -> None:
    proc = frozen("--self-check", "--check-model", str(tiny_model), home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Window:            first paint" in proc.stdout
    assert "Model:             Tiny Gemma 4 (test) on CPU" in proc.stdout
    assert "Answer:" in proc.stdout and "Answer:            none" not in proc.stdout
    assert "Preview:           renders in the sandbox" in proc.stdout


def test_the_frozen_cli_answers_and_reads_the_catalog(tmp_path: Path, tiny_model: Path) -> None:
    proc = frozen("ask", "-m", str(tiny_model), "--max-tokens", "4", "--seed", "1", "--json", "Hello", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["type"] == "done" and any(e["type"] == "stats" for e in events)
    listed = frozen("models", "list", "--json", home=tmp_path)
    assert listed.returncode == 0 and '"model": "gemma-4-e4b-it"' in listed.stdout
