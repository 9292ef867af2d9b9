"""Shared fixtures: a private data folder, and the tiny Gemma 4 models built once and cached."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from tests.models.http_fixture import FileServer

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "test-models"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One engine thread for the tiny test models: two threads meet at llama.cpp's spinning barrier after every
# operation, and on a 2-core machine busy with other work that makes decoding hundreds of times slower.
os.environ.setdefault("GEMMA_DESK_THREADS", "1")
# A shell script that starts the suite in the background (``… &``) starts it with SIGINT ignored, and every
# child would inherit that: the CLI tests that press Ctrl-C would lose it while Python leaves it ignored.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium's own sandbox refuses root (CI)


def pytest_configure(config: pytest.Config) -> None:
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # before any QApplication


def _cached(name: str, source: Path, build: object, **kwargs: object) -> Path:
    """Build a fixture file once per version of its generator; later sessions reuse it."""
    digest = hashlib.sha256(source.read_bytes() + repr(sorted(kwargs.items())).encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{digest}.gguf"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        build(tmp, **kwargs)  # type: ignore[operator]
        tmp.replace(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Nothing a test does lands in the real user's data folder."""
    home = tmp_path_factory.mktemp("gemma-desk-home")
    old = os.environ.get("GEMMA_DESK_HOME")
    os.environ["GEMMA_DESK_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("GEMMA_DESK_HOME", None)
    else:
        os.environ["GEMMA_DESK_HOME"] = old


@pytest.fixture
def server() -> Iterator[FileServer]:
    """A real HTTP file server on 127.0.0.1 (``tests/models/http_fixture.py``), stopped after the test."""
    srv = FileServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def virtual_mic() -> None:
    """A real microphone: PulseAudio's null sink ``vmic`` as the default source (``tests/media/virtual_mic.py``)."""
    from tests.media.virtual_mic import NoVirtualMic, ensure_virtual_mic

    try:
        ensure_virtual_mic()
    except NoVirtualMic as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def qapp_cls() -> type[QApplication]:
    """The app's own application class (it hears the desktop's file-open events), for every test that needs a
    Qt application: the first one made is the one the whole session keeps (the speech tests make it first)."""
    from app.ui.shell.open_files import DeskApplication

    return DeskApplication


@pytest.fixture(scope="session")
def virtual_speaker(virtual_mic: None) -> None:
    """The virtual microphone, and the virtual speaker ``vspk`` (the default output) whose sound leaks into it."""
    from tests.media.virtual_mic import NoVirtualMic, ensure_virtual_speaker

    try:
        ensure_virtual_speaker()
    except NoVirtualMic as exc:
        pytest.skip(str(exc))


@pytest.fixture
def text_only_model(tiny_model: Path, tmp_path: Path) -> Path:
    """The tiny Gemma 4 alone in a folder: no projector beside it, so it can neither see nor hear."""
    alone = tmp_path / "text-only" / "tiny.gguf"
    alone.parent.mkdir()
    alone.write_bytes(tiny_model.read_bytes())
    return alone


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 3 s of spoken English (espeak-ng, 22 kHz mono WAV)."""
    from tests.media.virtual_mic import NoVirtualMic, speech_wav

    try:
        return speech_wav(tmp_path_factory.mktemp("speech") / "question.wav", "What is the capital of France?")
    except NoVirtualMic as exc:
        pytest.skip(str(exc))


def build_tiny_model() -> Path:
    """The tiny Gemma 4, built once and cached (also for scripts: ``packaging/build-linux.sh``)."""
    from tests.fixtures import tiny_gemma4

    return _cached("tiny-gemma4", Path(tiny_gemma4.__file__), tiny_gemma4.write_tiny_gemma4)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """A ~1 MB random-weight Gemma 4 GGUF with the Gemma 4 chat template."""
    return build_tiny_model()


@pytest.fixture(scope="session")
def tiny_base_model() -> Path:
    """The tiny Gemma 4 without a chat template (like a base model)."""
    from tests.fixtures import tiny_gemma4

    return _cached("tiny-gemma4-base", Path(tiny_gemma4.__file__), tiny_gemma4.write_tiny_gemma4, chat_template=None)


@pytest.fixture(scope="session")
def tiny_moe_model() -> Path:
    """The tiny Gemma 4 as a mixture of experts (26B-A4B layout: 4 experts per layer, 2 used, a shared FFN)."""
    from tests.fixtures import tiny_gemma4

    return _cached("tiny-gemma4-moe", Path(tiny_gemma4.__file__), tiny_gemma4.write_tiny_gemma4, n_expert=4)


@pytest.fixture(scope="session")
def tiny_llama() -> Path:
    """A ~0.3 MB random-weight Llama-architecture chat model (ChatML template): a non-Gemma GGUF."""
    from tests.fixtures import tiny_llama

    return _cached("tiny-llama", Path(tiny_llama.__file__), tiny_llama.write_tiny_llama)


@pytest.fixture(scope="session")
def tiny_mmproj() -> Path:
    """A tiny vision + audio projector that belongs to ``tiny_model``."""
    from tests.fixtures import tiny_mmproj

    return _cached("tiny-mmproj", Path(tiny_mmproj.__file__), tiny_mmproj.write_tiny_mmproj)


@pytest.fixture(scope="session")
def tiny_mmproj_small_table() -> Path:
    """``tiny_mmproj`` with 600-row position tables: a 3072×1 picture would overrun them (llama.cpp aborts)."""
    from tests.fixtures import tiny_mmproj

    return _cached("tiny-mmproj-600", Path(tiny_mmproj.__file__), tiny_mmproj.write_tiny_mmproj, vision_positions=600)


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    """Environment for running ``python -m app`` in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
