"""Files from the desktop: ``gemma-desk FILE…`` opens the window with them attached, a later launch hands its files
to the window already open (one window per user, over a local socket), and macOS's file-open events attach too.

The launches are real processes (``python -m app``) with their own data and runtime folders; what the window did
is read from its log (``attached N file(s) from …``, ``the composer holds N attachment(s): …``) and, on Xvfb, from
the X server's list of windows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QFileOpenEvent, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.__main__ import COMMANDS, window_files
from app.cli.main import build_parser
from app.ui import confirm
from app.ui.shell.open_files import DeskApplication, FileOpener
from app.ui.shell.single_instance import HAND_OFF_TIMEOUT_S, IDLE_TIMEOUT_S, MAX_CONNECTIONS
from tests.media.documents.sample_files import write_pdf
from tests.ui.conftest import Launch, xvfb_display

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]
START_S = 120  # a window starting on a busy 2-core machine


def png(path: Path, color: str) -> Path:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    assert image.save(str(path))
    return path


class Desk:
    """Launches of ``gemma-desk`` by one user (one data folder, one runtime folder), and that user's log."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        # A short runtime folder: a Unix socket's path must fit in about 100 bytes.
        self.run_dir = Path(tempfile.mkdtemp(prefix="gd-run-", dir="/tmp"))
        self.env = {**env, "GEMMA_DESK_HOME": str(self.home), "XDG_RUNTIME_DIR": str(self.run_dir)}
        self.env.setdefault("QT_QPA_PLATFORM", "offscreen")
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """A launch that opens a window (its output goes to a file: a full pipe would stall it)."""
        err = open(self.tmp / f"stderr-{len(self.procs)}.txt", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=self.tmp,
            env={**self.env, **(env or {})},
            stdout=err,
            stderr=err,
        )
        err.close()
        self.procs.append(proc)
        return proc

    def run(self, *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
        """A launch expected to finish (hand its files over, or refuse its arguments), and how long it took."""
        t0 = time.monotonic()
        done = subprocess.run(
            [sys.executable, *args], cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        return done, time.monotonic() - t0

    def log(self) -> str:
        path = self.home / "logs" / "gemma-desk.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def wait_for(self, text: str, since: int = 0, proc: subprocess.Popen[bytes] | None = None) -> str:
        """The log from ``since`` to the end of the first line that holds ``text``; fails early if ``proc`` ended."""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            log = self.log()[since:]
            if text in log:
                return log[: log.find("\n", log.index(text)) % (len(log) + 1)]
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"the window ended ({proc.returncode}) before logging {text!r}:\n{self.stderr(proc)}")
            time.sleep(0.1)
        pytest.fail(f"no {text!r} in the log within {START_S} s:\n{self.log()[since:]}")

    def stderr(self, proc: subprocess.Popen[bytes]) -> str:
        return (self.tmp / f"stderr-{self.procs.index(proc)}.txt").read_text(errors="replace")

    def socket_path(self) -> Path:
        found = [p for p in self.run_dir.iterdir() if p.name.startswith("gemma-desk-")]
        assert len(found) == 1, found
        return found[0]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.run_dir, ignore_errors=True)


@pytest.fixture
def desk(tmp_path: Path, cli_env: dict[str, str]) -> Iterator[Desk]:
    d = Desk(tmp_path, cli_env)
    yield d
    d.close()


@pytest.fixture
def x_display() -> Iterator[str]:
    """A fresh Xvfb display, so that the window is a real X window others can see."""
    with xvfb_display(("xwininfo", "x11-utils")) as display:
        yield display


def app_windows(display: str) -> list[str]:
    """The X windows of class "Gemma Desk" (the main window; Qt's helper windows have no class)."""
    env = {**os.environ, "DISPLAY": display}
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True, timeout=10).stdout
    return [line.strip() for line in tree.splitlines() if re.search(r'\(".*" "Gemma Desk"\)', line)]


# --- the arguments -------------------------------------------------------------------------------------------


def test_only_files_open_the_window_and_everything_else_is_the_command_line(tmp_path: Path) -> None:
    picture, named_ask = png(tmp_path / "red.png", "red"), tmp_path / "ask"
    named_ask.write_text("a file called ask")
    assert window_files([]) == []
    assert window_files([str(picture)]) == [picture]
    assert window_files([str(picture), str(tmp_path)]) == [picture, tmp_path]
    assert window_files(["ask", "--model", "m.gguf", "hi"]) is None
    assert window_files([str(picture), "--json"]) is None  # a flag: the command line's
    assert window_files([str(tmp_path / "missing.png")]) is None  # a typo: the command line's usage error
    assert window_files(["--", "ask", "-odd.png"]) == [Path("ask"), Path("-odd.png")]
    assert set(COMMANDS) == set(build_parser().commands)  # the two lists of commands agree


def test_a_mistyped_command_or_a_missing_file_is_refused_in_one_line(desk: Desk) -> None:
    png(desk.tmp / "red.png", "red")
    done, _ = desk.run("-m", "app", "aks")
    assert done.returncode == 2
    assert done.stderr == (
        "gemma-desk: 'aks' is neither a command (ask, chat, models, serve) nor a file (see 'gemma-desk --help')\n"
    )
    done, _ = desk.run("-m", "app", "red.png", "ask")
    assert done.returncode == 2 and "give files to open in the window, or a command" in done.stderr
    done, _ = desk.run("-m", "app", "--", "red.png", "gone.png")
    assert (done.returncode, done.stderr) == (2, "gemma-desk: gone.png: no such file\n")
    assert not desk.log()  # no window was started


# --- launches ------------------------------------------------------------------------------------------------


def test_a_pdf_opens_the_window_with_it_and_a_later_launch_hands_its_picture_over(desk: Desk, x_display: str) -> None:
    write_pdf(desk.tmp / "notes.pdf", ["Minutes of the harbour meeting.", "Budget: 40 ships."])
    png(desk.tmp / "blue.png", "blue")
    desk.env.update(DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    first = desk.start("notes.pdf")
    shown = desk.wait_for("the composer holds 1 attachment(s): notes.pdf", proc=first)
    assert "attached 1 file(s) from the command line" in shown
    assert len(app_windows(x_display)) == 1

    mark = len(desk.log())
    done, took = desk.run("-X", "importtime", "-m", "app", str(desk.tmp / "blue.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PySide6.QtNetwork" in done.stderr and "PySide6.QtWidgets" not in done.stderr  # no widgets loaded
    assert took < 30, f"the handing over took {took:.1f} s"
    log = desk.wait_for("the composer holds 2 attachment(s): notes.pdf, blue.png", since=mark, proc=first)
    assert "attached 1 file(s) from a later launch" in log and "handed 1 file(s) to the running Gemma Desk" in log
    assert len(app_windows(x_display)) == 1  # the later launch made no window of its own
    print(f"\nhanding a picture to the running window: {took:.2f} s for the whole second process")

    mark = len(desk.log())
    done, _ = desk.run("-m", "app")  # no files: the running window comes to the front
    assert done.returncode == 0
    desk.wait_for("came to the front for a later launch", since=mark, proc=first)
    assert first.poll() is None and len(app_windows(x_display)) == 1


def test_two_launches_at_once_make_one_window_with_both_pictures(desk: Desk) -> None:
    """As Windows does for several files opened together: one process each, started at the same moment."""
    png(desk.tmp / "red.png", "red")
    png(desk.tmp / "blue.png", "blue")
    launches = [desk.start("red.png"), desk.start("blue.png")]
    deadline = time.monotonic() + START_S
    while all(p.poll() is None for p in launches) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(p.poll() is not None for p in launches), "neither launch handed its picture to the other"
    (ended,) = [p for p in launches if p.poll() is not None]
    (window,) = [p for p in launches if p is not ended]
    assert ended.returncode == 0, desk.stderr(ended)
    line = desk.wait_for("the composer holds 2 attachment(s): ", proc=window).splitlines()[-1]
    assert sorted(line.rsplit(": ", 1)[1].split(", ")) == ["blue.png", "red.png"]
    assert "opening a window of its own" not in desk.log() and window.poll() is None


def test_a_socket_left_by_a_killed_window_does_not_stop_the_next(desk: Desk) -> None:
    png(desk.tmp / "red.png", "red")
    png(desk.tmp / "blue.png", "blue")
    crashed = desk.start()
    desk.wait_for("listening for later launches", proc=crashed)
    stale = desk.socket_path()
    crashed.kill()
    crashed.wait()
    assert stale.exists() and (desk.home / "instance.lock").exists()  # what a crash leaves behind

    mark = len(desk.log())
    second = desk.start("red.png")
    desk.wait_for("the composer holds 1 attachment(s): red.png", since=mark, proc=second)
    assert "listening for later launches" in desk.log()[mark:]
    mark = len(desk.log())
    done, _ = desk.run("-m", "app", "blue.png")
    assert done.returncode == 0
    desk.wait_for("the composer holds 2 attachment(s): red.png, blue.png", since=mark, proc=second)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="no SIGSTOP to freeze a window (not POSIX)")
def test_a_window_that_does_not_answer_is_waited_for_two_seconds_only(desk: Desk) -> None:
    png(desk.tmp / "blue.png", "blue")
    hung = desk.start()
    desk.wait_for("listening for later launches", proc=hung)  # shown, its chats open: no lock held on them
    hung.send_signal(signal.SIGSTOP)
    try:
        mark = len(desk.log())
        t0 = time.monotonic()
        second = desk.start("blue.png")
        log = desk.wait_for("did not answer within 2 s", since=mark, proc=second)
        assert "opening a window of its own" in log
        waited = time.monotonic() - t0
        assert waited >= HAND_OFF_TIMEOUT_S
        assert waited < HAND_OFF_TIMEOUT_S + 25, f"the launch waited {waited:.1f} s (its own start-up included)"
        desk.wait_for("the composer holds 1 attachment(s): blue.png", since=mark, proc=second)
    finally:
        hung.send_signal(signal.SIGCONT)
    # The frozen window wakes up to the message the launch gave up on: it leaves the file to the new window.
    late = desk.wait_for("not attaching here", since=mark, proc=hung)
    assert "attached 1 file(s) from a later launch" not in late


# --- a hostile neighbour on the socket ---------------------------------------------------------------------------


def exchange(path: Path, data: bytes, timeout: float = 30) -> dict[str, object] | None:
    """Send raw bytes to the window's socket; its answer (None if it hung up without one)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it stopped reading: the answer is there
            sock.sendall(data)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    if len(answer) < 4:
        return None
    (size,) = struct.unpack(">I", answer[:4])
    result: dict[str, object] = json.loads(answer[4 : 4 + size])
    return result


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets (Windows uses named pipes)")
def test_garbage_on_the_socket_is_refused_and_the_window_keeps_working(desk: Desk) -> None:
    png(desk.tmp / "blue.png", "blue")
    window = desk.start()
    desk.wait_for("listening for later launches", proc=window)
    path = desk.socket_path()
    far = time.monotonic() + 600

    def refused(data: bytes) -> str:
        answer = exchange(path, data)
        assert answer is not None and answer["ok"] is False, answer
        return str(answer["error"])

    garbage = b"\xff\xfe\xfd\xfcGET / HTTP/1.1\r\n\r\n"
    assert refused(garbage).startswith("the message is too large (4,294,901,244 bytes")
    assert refused(frame(b"x" * 300_000)).startswith("the message is too large (300,000 bytes; at most 262,144)")
    assert refused(frame(b"\xff\xfe not text")) == "the message is not UTF-8 text"
    assert refused(frame(b"{not json")) == "the message is not JSON"
    assert refused(frame(b'["/etc/passwd"]')) == "expected an object, got list"
    assert refused(frame(json.dumps({"files": [1, 2], "until": far}).encode())) == "every path must be a string"
    assert refused(frame(json.dumps({"files": ["/x"] * 65, "until": far}).encode())).startswith("too many paths")
    assert refused(frame(json.dumps({"files": []}).encode())) == "expected a number in 'until'"
    too_late = json.dumps({"files": [str(desk.tmp / "blue.png")], "until": time.monotonic() - 1}).encode()
    assert refused(frame(too_late)) == "too late: the launch stopped waiting"

    # Paths that are not absolute, or name nothing, or cannot be a file name, are not attached.
    mark = len(desk.log())
    bad = {"files": ["blue.png", str(desk.tmp / "gone.png"), "/tmp/\ud800.png", "/etc/\x00"], "until": far}
    assert exchange(path, frame(json.dumps(bad).encode())) == {"ok": True, "accepted": 0}
    log = desk.wait_for("'/etc/\\x00' holds a NUL character", since=mark, proc=window)
    assert "'blue.png' is not an absolute path" in log and "gone.png' does not exist" in log
    assert "'/tmp/\\ud800.png' does not exist" in log  # a lone surrogate: no file can have that name

    # Silent connections are closed after a while, and no more than MAX_CONNECTIONS are held at once.
    idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_CONNECTIONS + 1)]
    closed_after: list[float] = []
    try:
        for sock in idle:
            sock.connect(str(path))
        t0 = time.monotonic()
        open_ones = list(idle)
        while open_ones and time.monotonic() - t0 < IDLE_TIMEOUT_S + 60:
            for sock in select.select(open_ones, [], [], 0.5)[0]:
                assert sock.recv(16) == b""  # closed without a word
                open_ones.remove(sock)
                closed_after.append(time.monotonic() - t0)
    finally:
        for sock in idle:
            sock.close()
    assert len(closed_after) == len(idle), "some silent connections were never closed"
    assert min(closed_after) < IDLE_TIMEOUT_S - 1  # one too many: closed at once
    assert max(closed_after) >= IDLE_TIMEOUT_S - 1  # the others: after a while
    assert f"refused a connection: {MAX_CONNECTIONS} are open already" in desk.log()

    # After all that, a real launch still hands its picture over.
    mark = len(desk.log())
    done, _ = desk.run("-m", "app", "blue.png")
    assert done.returncode == 0, done.stderr
    desk.wait_for("the composer holds 1 attachment(s): blue.png", since=mark, proc=window)
    assert "Traceback" not in desk.log() and window.poll() is None


# --- macOS: files opened from the Finder or dropped on the Dock icon -------------------------------------------


def test_file_open_events_attach_once_the_window_is_shown(
    launch: Launch, qtbot: QtBot, tmp_path: Path, tiny_model: Path, answer: Callable[[confirm.Answer], None]
) -> None:
    app = QApplication.instance()
    assert isinstance(app, DeskApplication)
    opener = FileOpener()
    opener.listen_to(app)
    red, blue = png(tmp_path / "red.png", "red"), png(tmp_path / "blue.png", "blue")
    QApplication.sendEvent(app, QFileOpenEvent(str(red)))  # before the window exists: held
    window = launch()
    assert window.composer.attachments() == []
    opener.set_window(window)
    qtbot.waitUntil(lambda: [a.name for a in window.composer.attachments()] == ["red.png"], timeout=20_000)

    QApplication.sendEvent(app, QFileOpenEvent(QUrl.fromLocalFile(str(blue))))  # a drop on the Dock icon
    qtbot.waitUntil(lambda: [a.name for a in window.composer.attachments()] == ["red.png", "blue.png"], timeout=20_000)

    asked: list[str] = []

    def yes(_title: str, text: str) -> bool:
        asked.append(text)
        return True

    answer(yes)
    QApplication.sendEvent(app, QFileOpenEvent(str(tiny_model)))  # a model: offered, then loaded
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=60_000)
    assert asked == [f"Load {tiny_model.name}? The current model is unloaded first."]
    assert [a.name for a in window.composer.attachments()] == ["red.png", "blue.png"]
    opener.deleteLater()
