"""`gemma-desk ask --image/--audio/--video` and `gemma-desk chat`, as real subprocesses."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests.fixtures.tiny_mmproj import write_tiny_mmproj
from tests.test_cli import assert_one_line_error, json_lines, run_cli


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(path)
    return path


def stereo_48k(path: Path, seconds: float = 2.0) -> Path:
    t = np.arange(int(48000 * seconds)) / 48000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(path, np.stack([tone, tone], axis=1), 48000)
    return path


def stats(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == "stats"]


def test_ask_about_a_picture(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, photo: Path
) -> None:
    proc = run_cli(
        python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj),
        "--image", str(photo), "--json", "--max-tokens", "6", "What is this?",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [st] = stats(json_lines(proc.stdout))
    assert st["media_encoded"] == 1 and st["media_tokens"] == 80
    assert proc.stderr == ""


def test_ask_with_a_stereo_48k_recording_and_no_text(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    wav = stereo_48k(tmp_path / "question.wav")
    proc = run_cli(
        python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj),
        "--audio", str(wav), "--json", "--max-tokens", "4",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [st] = stats(json_lines(proc.stdout))
    assert st["media_tokens"] == 50  # 2 s at 25 tokens a second: resampled, not refused


def test_vision_budget_option(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    big = tmp_path / "screenshot.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)).save(big)
    tokens = []
    for budget in ("70", "560"):
        proc = run_cli(
            python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--image", str(big),
            "--vision-budget", budget, "--json", "--max-tokens", "2", "Read it",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        tokens.append(stats(json_lines(proc.stdout))[0]["media_tokens"])
    assert tokens[0] < 100 < 500 < tokens[1]


def test_picture_that_is_really_text(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("just some notes, not a picture")
    proc = run_cli(
        python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--image", str(fake), "hi"
    )
    assert_one_line_error(proc, 1, "photo.jpg is not an image")


def test_picture_without_a_projector(python: str, cli_env: dict[str, str], tiny_model: Path, photo: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--image", str(photo), "What is it?")
    assert_one_line_error(proc, 1, "without a vision projector")


def test_projector_of_another_model(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path, photo: Path
) -> None:
    other = write_tiny_mmproj(tmp_path / "mmproj-other.gguf", n_embd_text=32)
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(other), "--image", str(photo), "hi")
    assert_one_line_error(proc, 1, "does not belong")


def test_ten_minute_recording_is_refused(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    wav = tmp_path / "talk.wav"
    sf.write(wav, np.zeros(8000 * 600, dtype=np.int16), 8000)
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--audio", str(wav))
    assert_one_line_error(proc, 1, "talk.wav is 10:00 long", "5:00")


def test_mp3_that_is_a_web_page(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "song.mp3"
    fake.write_text("<!DOCTYPE html><html><body>Not found</body></html>")
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--audio", str(fake))
    assert_one_line_error(proc, 1, "song.mp3 is not an audio file")


def test_chat_keeps_the_conversation_and_the_cache(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, photo: Path, tmp_path: Path
) -> None:
    wav = stereo_48k(tmp_path / "q.wav", seconds=1.0)
    turns = f"/image {photo} What is in the picture?\nWhat colour is it?\n/audio {wav} And this?\n\nThanks!\n"
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--json",
         "--max-tokens", "6", "--seed", "1"],
        input=turns, capture_output=True, text=True, env=cli_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    per_turn = stats(events)
    assert len(per_turn) == 4  # the blank line is not a turn
    assert [e["stop_reason"] for e in events if e["type"] == "done"] == ["max_tokens"] * 4
    first, second, third, fourth = per_turn
    assert first["media_encoded"] == 1 and first["reused_tokens"] == 0
    assert second["media_encoded"] == 0 and second["reused_tokens"] > 80  # the picture stayed in the cache
    assert third["media_encoded"] == 1 and third["media_tokens"] == 80 + 25
    assert fourth["media_encoded"] == 0
    assert fourth["prompt_tokens"] > third["prompt_tokens"] > second["prompt_tokens"] > first["prompt_tokens"]
    for before, st in itertools.pairwise(per_turn):
        new_media = int(st["media_tokens"]) - int(before["media_tokens"])  # type: ignore[call-overload]
        assert st["evaluated_tokens"] == st["prompt_tokens"] - st["reused_tokens"]  # type: ignore[operator]
        assert int(st["evaluated_tokens"]) - new_media < 40  # type: ignore[call-overload]


def test_chat_turn_with_a_bad_attachment_is_skipped_not_fatal(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    turns = f"/image {tmp_path / 'missing.png'} What is it?\nHello\n"
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--json",
         "--max-tokens", "3"],
        input=turns, capture_output=True, text=True, env=cli_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1  # the conversation went on, but not every turn was answered
    events = json_lines(proc.stdout)
    assert events[0]["type"] == "error" and "missing.png was not found" in str(events[0]["message"])
    assert events[1] == {"type": "done", "stop_reason": "error"}
    assert len(stats(events)) == 1  # "Hello" was still answered


# --- files that are not regular files, odd names, odd input, Ctrl-C ----------------------------------------

HINT = "attach a picture, sound, video or document file."


def chat(
    python: str, env: dict[str, str], model: Path, mmproj: Path, turns: bytes
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [python, "-m", "app", "chat", "-m", str(model), "--mmproj", str(mmproj), "--json", "--max-tokens", "3"],
        input=turns, capture_output=True, env=env, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("special", ["fifo", "device", "socket", "folder"])
def test_ask_refuses_an_attachment_that_is_not_a_regular_file_at_once(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, special: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="gd-") as folder:  # short: a socket path must fit in ~100 bytes
        path = Path(folder) / special
        server = None
        if special == "fifo":
            if not hasattr(os, "mkfifo"):
                pytest.skip("named pipes need a POSIX system (no os.mkfifo)")
            os.mkfifo(path)
            expected = f"fifo is not a regular file (a named pipe); {HINT}"
        elif special == "device":
            if not Path("/dev/zero").exists():
                pytest.skip("no character device /dev/zero on this system")
            path, expected = Path("/dev/zero"), f"zero is not a regular file (a device); {HINT}"
        elif special == "socket":
            if not hasattr(socket, "AF_UNIX"):
                pytest.skip("unix sockets are not available (no AF_UNIX)")
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(path))
            expected = f"socket is not a regular file (a socket); {HINT}"
        else:
            path.mkdir()
            expected = f"folder is a folder, not a file; {HINT}"
        try:
            started = time.monotonic()
            proc = run_cli(
                python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--image", str(path), "hi",
                timeout=30,
            )  # fmt: skip
        finally:
            if server is not None:
                server.close()
    assert_one_line_error(proc, 1, expected)
    assert time.monotonic() - started < 20  # it used to wait in open() for a writer that never came


def test_chat_skips_a_turn_with_a_named_pipe_and_goes_on(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system (no os.mkfifo)")
    pipe = tmp_path / "camera.jpg"
    os.mkfifo(pipe)
    proc = chat(python, cli_env, tiny_model, tiny_mmproj, f"/image {pipe} what is this?\nHello\n".encode())
    assert proc.returncode == 1
    events = json_lines(proc.stdout.decode())
    assert events[0] == {"type": "error", "message": f"camera.jpg is not a regular file (a named pipe); {HINT}"}
    assert events[1] == {"type": "done", "stop_reason": "error"}
    assert len(stats(events)) == 1 and events[-1]["stop_reason"] == "max_tokens"


def test_a_file_named_without_an_extension_is_named_as_given(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--image", str(passwd))
    assert_one_line_error(proc, 1, "gemma-desk: passwd is not an image (it looks like text).")


def test_chat_line_that_is_not_utf8_is_answered_with_a_notice(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path, photo: Path
) -> None:
    # A Latin-1 line, and a picture whose file name is not UTF-8 either (Linux names are bytes).
    odd_name = os.fsencode(tmp_path) + b"/caf\xe9.png"
    os.rename(photo, odd_name)
    turns = b"Un caf\xe9 au lait?\n/image " + odd_name + b" Et \xe7a?\n/image " + odd_name + b"x missing\n"
    proc = chat(python, cli_env, tiny_model, tiny_mmproj, turns)
    stderr = proc.stderr.decode()
    assert "Internal error" not in stderr and "Traceback" not in stderr
    assert stderr.splitlines()[:2] == [
        "gemma-desk: notice: line 1 is not valid UTF-8 text; its invalid bytes were replaced with \ufffd.",
        "gemma-desk: notice: line 2 is not valid UTF-8 text; its invalid bytes were replaced with \ufffd.",
    ]
    events = json_lines(proc.stdout.decode())  # valid UTF-8 JSON, even with the odd file name in a message
    first, second = stats(events)
    assert first["media_encoded"] == 0 and second["media_encoded"] == 1  # the picture was found by its exact bytes
    assert {"type": "error", "message": "caf\ufffd.pngx was not found (it may have been moved or deleted)."} in events
    assert proc.returncode == 1  # the third turn was skipped


def test_ask_prompt_that_is_not_utf8(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = subprocess.run(
        [python, "-m", "app", "ask", "-m", str(tiny_model), "--json", "--max-tokens", "2", b"caf\xe9?"],
        capture_output=True, env=cli_env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode() == (
        "gemma-desk: notice: the prompt is not valid UTF-8 text; its invalid bytes were replaced with \ufffd.\n"
    )
    assert json_lines(proc.stdout.decode())[-1] == {"type": "done", "stop_reason": "max_tokens"}


def _ignored_signals(pid: int) -> str:
    """The ``SigIgn`` mask of a process, as ``/proc`` shows it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return line.split()[1]
    return "?"


def _interrupt_while_reading(proc: subprocess.Popen[str], path: Path) -> float:
    """Send Ctrl-C once ``proc`` has ``path`` open (it is decoding it); return when that was (monotonic)."""
    fds = Path(f"/proc/{proc.pid}/fd")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                proc.send_signal(signal.SIGINT)
                return time.monotonic()
        except OSError:  # an fd closed while we looked
            pass
        time.sleep(0.002)
    proc.kill()
    pytest.fail(f"the CLI never opened {path.name}")


@pytest.fixture(scope="module")
def slow_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 7070 × 7070 16-bit scan: small on disk, seconds to decode, so Ctrl-C can land in the middle."""
    side = 7070
    ramp = (np.arange(side, dtype=np.uint32) * 65535 // (side - 1)).astype(np.uint16)
    path = tmp_path_factory.mktemp("scan") / "scan16.png"
    Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp, (side, side)))).save(path)
    return path


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_ctrl_c_while_an_attachment_is_read_exits_130_with_one_line(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, slow_scan: Path, command: str
) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("the test sees which file the CLI is reading through /proc (no /proc)")
    args = [python, "-m", "app", command, "-m", str(tiny_model), "--mmproj", str(tiny_mmproj), "--max-tokens", "2"]
    if command == "ask":
        args += ["--image", str(slow_scan), "What is it?"]
    stdin = subprocess.PIPE if command == "chat" else subprocess.DEVNULL
    proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env)
    if proc.stdin is not None:
        proc.stdin.write(f"Hello\n/image {slow_scan} What is it?\n")
        proc.stdin.flush()  # kept open: the chat waits for more
    # A SIGINT ignored from the start (inherited) would be lost while decoding: say so if it fails.
    ignored = f"CLI {_ignored_signals(proc.pid)}, pytest {_ignored_signals(os.getpid())}"
    sent = _interrupt_while_reading(proc, slow_scan)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, f"{err} (SigIgn masks: {ignored})"
    assert time.monotonic() - sent < 2.0  # it did not finish decoding first (that takes seconds)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = err.splitlines()
    assert lines[-1] == "gemma-desk: interrupted."
    assert all(line.startswith("[") for line in lines[:-1])  # before it, only the first chat turn's summary
