"""Only regular files are opened as attachments: pipes, devices, sockets and folders are refused at once, by name."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.media import MediaError, load_audio, load_image, load_video
from app.media.errors import open_source

LOADERS: dict[str, Callable[[Path], object]] = {"image": load_image, "audio": load_audio, "video": load_video}
HINT = "attach a picture, sound, video or document file."


def refusal(load: Callable[[Path], object], path: Path, *, deadline: float = 10.0) -> str:
    """The MediaError text ``load(path)`` gives, run on a thread so that a hang fails the test instead of freezing it.

    Should the loader block opening a pipe, the pipe is opened for writing (which lets the reader's open return).
    """
    outcome: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: outcome.append(_call(load, path)), daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        with contextlib.suppress(OSError):  # unblock a reader stuck in open(), so the thread ends
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail(f"loading {path.name} was still blocked after {deadline:.0f} s")
    [result] = outcome
    assert isinstance(result, MediaError), f"expected a MediaError, got {result!r}"
    return str(result)


def _call(load: Callable[[Path], object], path: Path) -> BaseException | object:
    try:
        return load(path)
    except BaseException as error:  # handed to the test thread
        return error


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket's path must fit in about 100 bytes."""
    with tempfile.TemporaryDirectory(prefix="gd-") as folder:
        yield Path(folder)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system (no os.mkfifo)")
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(fifo: Path, kind: str) -> None:
    assert refusal(LOADERS[kind], fifo) == f"fifo is not a regular file (a named pipe); {HINT}"


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_named_pipe_with_a_media_name_is_refused_too(tmp_path: Path, kind: str) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system (no os.mkfifo)")
    path = tmp_path / {"image": "photo.png", "audio": "voice.wav", "video": "clip.mp4"}[kind]
    os.mkfifo(path)
    assert refusal(LOADERS[kind], path) == f"{path.name} is not a regular file (a named pipe); {HINT}"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
@pytest.mark.parametrize("kind", list(LOADERS))
def test_character_devices_are_not_regular_files(device: str, kind: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} is not on this system (no character device)")
    name = Path(device).name
    # Not "empty (0 bytes)", and never read: /dev/zero and /dev/urandom never end.
    assert refusal(LOADERS[kind], Path(device)) == f"{name} is not a regular file (a device); {HINT}"


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_unix_socket_is_refused(short_dir: Path, kind: str) -> None:
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("unix sockets are not available (no AF_UNIX)")
    path = short_dir / "agent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert refusal(LOADERS[kind], path) == f"agent.sock is not a regular file (a socket); {HINT}"


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_folder_is_refused(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "holiday photos"
    folder.mkdir()
    assert refusal(LOADERS[kind], folder) == f"holiday photos is a folder, not a file; {HINT}"


def test_a_link_to_a_pipe_is_judged_by_what_it_points_to(fifo: Path, tmp_path: Path) -> None:
    link = tmp_path / "picture.png"
    link.symlink_to(fifo)
    assert refusal(load_image, link) == f"picture.png is not a regular file (a named pipe); {HINT}"


def test_a_regular_file_opens_blocking_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00" * 10_000)
    stream, label = open_source(path, "")
    with stream:
        assert label == "data.bin"
        assert os.get_blocking(stream.fileno())  # O_NONBLOCK was only for the open itself
        assert len(stream.read()) == 10_000


def test_messages_name_the_file_as_the_user_gave_it(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"  # a bare name used to read "The passwd is not an image"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    with pytest.raises(MediaError, match=r"^passwd is not an image \(it looks like text\)\.$"):
        load_image(passwd)
    with pytest.raises(MediaError, match=r"^passwd is not an audio file \(it looks like text\)\.$"):
        load_audio(passwd)
    with pytest.raises(MediaError, match=r"^passwd is not a video \(it looks like text\)\.$"):
        load_video(passwd)
    with pytest.raises(MediaError, match=r"^Makefile was not found"):
        load_image(tmp_path / "Makefile")
    with pytest.raises(MediaError, match=r"^scan is not an image \(it looks like text\)\.$"):
        load_image(b"just words, not pixels\n" * 10, name="scan")
    with pytest.raises(MediaError, match=r"^The file is not an image \(it looks like text\)\.$"):
        load_image(b"just words, not pixels\n" * 10)
