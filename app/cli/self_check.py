"""``gemma-desk --self-check``: what this machine and this build offer the app, one fact per line.

It reports:
- the version, and whether it runs frozen (an installed bundle);
- llama.cpp's backends (compiled in, and the devices found);
- Qt, its platform, and whether Qt WebEngine (the preview) can start;
- the sound library, microphones and cameras;
- the data folders.

It exits 0 whatever it finds (a missing microphone is a fact, not a failure), so it can go in installers,
bug reports and CI.

With ``--model PATH`` it also opens the real window (offscreen when there is no display), loads the model,
asks it one prompt through the window, renders a page in the preview's sandbox, and prints the timings. That
check exits 1 if any of it fails.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import platform
import sys
import time
from pathlib import Path
from typing import TextIO

from app import __version__

#: The window check takes seconds (under 30 on a loaded 2-core machine); after this long it is stuck.
STALL_DUMP_S = 120


def _say(out: TextIO, label: str, value: str) -> None:
    out.write(f"{label + ':':<18} {value}\n")
    out.flush()


def _headless() -> bool:
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def _llama_facts(out: TextIO) -> None:
    try:
        import llama_cpp

        from app.engine.backends import backend_devices, backend_name, compiled_backends, missing_gpu_notice
        from app.engine.cpu_variants import loaded_variant

        gpus = [d for d in backend_devices() if d.kind in ("gpu", "igpu")]
        _say(out, "llama.cpp", f"llama-cpp-python {llama_cpp.__version__}; built with {', '.join(compiled_backends())}")
        _say(out, "Backend", backend_name() + (f" — {missing_gpu_notice()}" if missing_gpu_notice() else ""))
        variant = loaded_variant()
        _say(out, "CPU kernels", variant.label if variant else "unknown")
        for dev in gpus:
            _say(
                out,
                "GPU",
                f"{dev.description or dev.name} ({dev.memory_free / 1e9:.1f} of {dev.memory_total / 1e9:.1f} GB free)",
            )
    except Exception as exc:  # a broken build is exactly what this should report
        _say(out, "llama.cpp", f"does not load — {exc}")


def _qt_facts(out: TextIO) -> None:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, Qt, qVersion
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    if _headless():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    if QCoreApplication.instance() is None:
        QApplication(sys.argv[:1])
    _say(out, "Qt", f"{qVersion()} (PySide6 {pyside_version}), platform {QGuiApplication.platformName()}")
    try:
        import PySide6.QtWebEngineCore  # noqa: F401

        helper = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibraryExecutablesPath))
        names = ("QtWebEngineProcess", "QtWebEngineProcess.exe")
        found = any((helper / n).exists() for n in names)
        if not found and sys.platform == "darwin":
            found = any(helper.parent.glob("**/QtWebEngineProcess"))
        _say(out, "Qt WebEngine", "available (page previews)" if found else "its helper process is missing")
    except ImportError as exc:
        _say(out, "Qt WebEngine", f"not available — {exc}")


def _device_facts(out: TextIO) -> None:
    from app.media.camera import list_cameras
    from app.media.recorder import mic_status

    status = mic_status()
    _say(out, "PortAudio", status.portaudio or f"not available — {status.problem}")
    if status.devices:
        for device in status.devices:
            mark = " (default)" if device.is_default else ""
            _say(
                out,
                "Microphone",
                f"{device.name}{mark}, {device.channels} channel(s), {device.sample_rate / 1000:g} kHz",
            )
    elif status.portaudio:
        _say(out, "Microphone", "none found")
    cameras = list_cameras()
    _say(out, "Cameras", ", ".join(c.label for c in cameras) if cameras else "none that open")


def _speech_facts(out: TextIO) -> None:
    """The voice that reads answers aloud (opening the engine lists its voices: a few seconds with speechd)."""
    from app.speech import speech_status

    status = speech_status()
    if status.problem:
        _say(out, "Speech", f"not available — {status.problem}")
    else:
        _say(out, "Speech", f"{status.engine}, {len(status.voices)} voices (answers read aloud)")


def _folder_facts(out: TextIO) -> None:
    from app.paths import config_dir, data_dir, log_dir, models_dir
    from app.settings import Settings

    _say(out, "Data folder", str(data_dir()))
    _say(out, "Models folder", str(models_dir(Settings.load().get_str("models_folder"))))
    _say(out, "Settings folder", str(config_dir()))
    _say(out, "Log folder", str(log_dir()))


def run(out: TextIO = sys.stdout, *, model: Path | None = None, prompt: str = "Hello!") -> int:
    started = time.time()
    from app.applog import setup_logging
    from app.ui import allow_webengine_as_root, window_check

    setup_logging()  # llama.cpp's and Qt's chatter goes to the log file, not between these lines
    allow_webengine_as_root()
    frozen = getattr(sys, "frozen", False)
    _say(out, "Gemma Desk", f"{__version__}{' (installed bundle)' if frozen else ''}")
    _say(out, "Python", f"{platform.python_version()} on {platform.system()} {platform.release()} {platform.machine()}")
    _llama_facts(out)
    _qt_facts(out)
    _device_facts(out)
    _speech_facts(out)
    _folder_facts(out)
    if model is None:
        return 0
    # A check that stalls prints where every thread is (Python frames, read without the GIL) to stderr, so a hang on
    # a machine nobody can log into says where it hung; it keeps running, for the caller's own time limit.
    with contextlib.suppress(RuntimeError, OSError, ValueError):  # no real stderr (a Windows GUI build, captured)
        faulthandler.dump_traceback_later(STALL_DUMP_S, exit=False)
    try:
        return window_check(lambda label, value: _say(out, label, value), model, prompt, started)
    finally:
        faulthandler.cancel_dump_traceback_later()
