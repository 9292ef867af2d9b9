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

import os
import platform
import sys
import time
from pathlib import Path
from typing import TextIO

from app import __version__


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

        from app.engine.native import backend_devices, backend_name, compiled_backends, missing_gpu_notice

        gpus = [d for d in backend_devices() if d.kind in ("gpu", "igpu")]
        _say(out, "llama.cpp", f"llama-cpp-python {llama_cpp.__version__}; built with {', '.join(compiled_backends())}")
        _say(out, "Backend", backend_name() + (f" — {missing_gpu_notice()}" if missing_gpu_notice() else ""))
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
    from app.ui.app import allow_webengine_as_root

    setup_logging()  # llama.cpp's and Qt's chatter goes to the log file, not between these lines
    allow_webengine_as_root()
    frozen = getattr(sys, "frozen", False)
    _say(out, "Gemma Desk", f"{__version__}{' (installed bundle)' if frozen else ''}")
    _say(out, "Python", f"{platform.python_version()} on {platform.system()} {platform.release()} {platform.machine()}")
    _llama_facts(out)
    _qt_facts(out)
    _device_facts(out)
    _folder_facts(out)
    if model is None:
        return 0
    return _window_check(out, model, prompt, started)


def _window_check(out: TextIO, model: Path, prompt: str, started: float) -> int:
    """The real window: first paint, a model load, one answer, and a sandboxed page. 1 if any fails."""
    import shiboken6
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.ui.app import create_window

    app = QApplication.instance()  # made by _qt_facts
    painted: list[float] = []

    class FirstPaint(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.time())
            return False

    def wait(condition: object, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                return False
            app.processEvents()  # type: ignore[union-attr]
            time.sleep(0.005)
        return True

    window = create_window(app)  # type: ignore[arg-type]
    window.settings.set("max_tokens", 32)  # for this check only (not saved)
    watcher = FirstPaint(window)
    window.installEventFilter(watcher)
    window.show()
    ok = wait(lambda: bool(painted), 20)
    _say(out, "Window", f"first paint {painted[0] - started:.2f} s after start" if ok else "did not paint")
    window.load_model(model)
    loaded = wait(lambda: window.bridge.model_info is not None, 120)
    failed = False
    if not loaded:
        _say(out, "Model", f"did not load — {window.notice_bar.label.text()}")
        failed = True
    else:
        info = window.bridge.model_info
        assert info is not None
        _say(out, "Model", f"{info.name} on {info.backend}, {info.n_ctx:,} tokens of context")
        t0 = time.monotonic()
        window.controller.send(prompt, [])
        answered = wait(lambda: len(window.chat.messages) == 2 and not window.controller.generating, 120)
        text = window.chat.messages[1].text() if len(window.chat.messages) == 2 else ""
        if answered and text.strip():
            _say(out, "Answer", f"{len(text)} characters in {time.monotonic() - t0:.2f} s")
        else:
            _say(out, "Answer", "none")
            failed = True
    from app.ui.preview_pane import PreviewPane

    pane = PreviewPane()
    pane.show_html("<!DOCTYPE html><html><body><h1>Sandbox check</h1></body></html>")
    rendered: list[bool] = []
    pane.page.loadFinished.connect(rendered.append)
    shown = wait(lambda: bool(rendered), 30) and rendered[0]
    _say(out, "Preview", "renders in the sandbox" if shown else "did not render")
    failed |= not shown
    pane.close()
    shiboken6.delete(pane)  # the page goes before its profile
    window.close()
    window.store.close()
    app.processEvents()  # type: ignore[union-attr]
    return 1 if failed else 0
