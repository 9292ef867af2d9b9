"""Model downloads against a real HTTP server on 127.0.0.1: resume, verify, faults, locks, pause and cancel."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.models.download import (
    SPACE_MARGIN,
    Control,
    DownloadCancelled,
    DownloadError,
    DownloadOptions,
    DownloadPaused,
    DownloadSpec,
    Progress,
    check_free_space,
    discard_partial,
    download,
    download_many,
    free_space_needed,
    hf_url,
    part_path,
    retry,
    verify_file,
)
from tests.models.http_fixture import FileServer

REPO = Path(__file__).resolve().parents[2]
DATA = b"GGUF" + os.urandom((1 << 20) - 4)  # 1 MiB "model"
SHA = hashlib.sha256(DATA).hexdigest()
PROJ = b"GGUF" + os.urandom(300_000)
CHUNK = 16384
Usage = namedtuple("Usage", "total used free")

CHILD = """
import sys
from pathlib import Path
from app.models.download import DownloadError, DownloadOptions, DownloadSpec, download
url, dest, size, sha, limit = sys.argv[1:]
if int(limit):
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
try:
    download(DownloadSpec(url, Path(dest), int(size), sha), options=DownloadOptions(chunk=16384, retries=0))
except DownloadError as exc:
    print(exc)
    sys.exit(3)
"""


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer().start()
    srv.files = {"model.gguf": DATA, "mmproj.gguf": PROJ}
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "RETRY_BASE_S", 0.01)


def spec(server: FileServer, tmp_path: Path, name: str = "model.gguf", **kw: object) -> DownloadSpec:
    values: dict[str, object] = {"size": len(DATA), "sha256": SHA} | kw
    return DownloadSpec(server.url(name), tmp_path / "models" / name, **values)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def part_size(s: DownloadSpec) -> int:
    part = part_path(s.dest)
    return part.stat().st_size if part.exists() else 0


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL the child (no cleanup runs in it), reap it and close our end of its output."""
    child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def start_child(s: DownloadSpec, limit: int = 0) -> subprocess.Popen[str]:
    args = [s.url, str(s.dest), str(s.size), s.sha256 or "", str(limit)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=REPO, env=env, text=True, stdout=subprocess.PIPE)


# ---------------------------------------------------------------------------------------------- the happy path


def test_downloads_verifies_and_reports_throttled_monotone_progress(server: FileServer, tmp_path: Path) -> None:
    server.slow_s = 0.01  # ~0.65 s for the file
    events: list[Progress] = []
    start = time.monotonic()
    path = download(spec(server, tmp_path), progress=events.append, options=DownloadOptions(chunk=CHUNK))
    elapsed = time.monotonic() - start
    assert path.read_bytes() == DATA and not part_path(path).exists() and not Path(f"{part_path(path)}.lock").exists()
    assert events[0].state == "connecting" and events[-1].state == "done" and events[-1].verified is True
    moving = [e for e in events if e.state == "downloading"]
    assert [e.done for e in events] == sorted(e.done for e in events) and events[-1].done == len(DATA)
    assert all(e.total == len(DATA) for e in events)
    assert 3 <= len(moving) <= elapsed * 10 + 2  # at most ~10 a second
    etas = [e.eta_s for e in moving if e.eta_s is not None]
    assert etas and etas[-1] < etas[0] and all(e.speed_bps > 0 for e in moving[1:])


def test_without_a_checksum_only_the_size_is_checked(server: FileServer, tmp_path: Path) -> None:
    events: list[Progress] = []
    download(spec(server, tmp_path, sha256=None), progress=events.append)
    assert events[-1].state == "done" and events[-1].verified is False


def test_an_existing_file_is_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    download(s)
    assert download(s) == s.dest and len(server.seen) == 1


# ---------------------------------------------------------------------------------------------- faults


def test_connection_dropping_half_way_resumes_with_range(server: FileServer, tmp_path: Path) -> None:
    server.drop_after = len(DATA) // 2
    path = download(spec(server, tmp_path), options=DownloadOptions(chunk=CHUNK))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert server.ranges() == [None, f"bytes={len(DATA) // 2}-"]


def test_connection_dropping_every_time_still_finishes(server: FileServer, tmp_path: Path) -> None:
    server.drop_after, server.drops = 300_000, None
    assert download(spec(server, tmp_path), options=DownloadOptions(retries=1, chunk=CHUNK)).read_bytes() == DATA
    assert server.ranges() == [None, "bytes=300000-", "bytes=600000-", "bytes=900000-"]


def test_gives_up_after_retries_without_progress(server: FileServer, tmp_path: Path) -> None:
    server.status = 503
    with pytest.raises(
        DownloadError, match=r"Could not download model\.gguf: the server is busy or failing \(HTTP 503"
    ):
        download(spec(server, tmp_path), options=DownloadOptions(retries=2))
    assert len(server.seen) == 3


def test_server_ignoring_range_restarts_from_zero(server: FileServer, tmp_path: Path) -> None:
    server.drop_after, server.ignore_range = len(DATA) // 2, True
    assert download(spec(server, tmp_path), options=DownloadOptions(chunk=CHUNK)).read_bytes() == DATA
    assert server.ranges() == [None, f"bytes={len(DATA) // 2}-"]


def test_server_resuming_at_the_wrong_place_restarts_from_zero(server: FileServer, tmp_path: Path) -> None:
    server.drop_after, server.range_from_zero = len(DATA) // 2, True
    assert download(spec(server, tmp_path), options=DownloadOptions(chunk=CHUNK)).read_bytes() == DATA
    assert server.ranges() == [None, f"bytes={len(DATA) // 2}-", None]


def test_complete_part_answered_416_is_verified_and_kept(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    s.dest.parent.mkdir(parents=True)
    part_path(s.dest).write_bytes(DATA)  # killed between the last byte and the rename
    assert download(s).read_bytes() == DATA and server.ranges() == [f"bytes={len(DATA)}-"]


def test_wrong_checksum_deletes_the_file(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path, sha256="0" * 64)
    with pytest.raises(
        DownloadError, match=re.escape("model.gguf is damaged: its checksum does not match the catalog; it was")
    ):
        download(s)
    assert not s.dest.exists() and not part_path(s.dest).exists()


def test_catalog_size_mismatch_keeps_nothing(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path, size=len(DATA) + 1)
    with pytest.raises(DownloadError, match=re.escape("catalog says 1.0 MB: the catalog may be out of date")):
        download(s)
    assert not part_path(s.dest).exists()


def test_not_found(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"gone.gguf was not found at http://127.0.0.1:\d+/files/gone.gguf \(the"):
        download(spec(server, tmp_path, "gone.gguf"))


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("token", [None, "hf_secret"])
def test_gated_model_says_a_token_may_be_needed(
    server: FileServer, tmp_path: Path, status: int, token: str | None
) -> None:
    server.status = status
    with pytest.raises(DownloadError, match=rf"HTTP {status}\): the model may be gated") as err:
        download(spec(server, tmp_path), options=DownloadOptions(token=token))
    assert "Settings → Hugging Face token" in str(err.value) and "hf_secret" not in str(err.value)
    assert len(server.seen) == 1  # not retried


@pytest.mark.parametrize("switch", ["html", "html_as_binary"])
def test_html_page_instead_of_gguf(server: FileServer, tmp_path: Path, switch: str) -> None:
    setattr(server, switch, True)
    s = spec(server, tmp_path, size=None, sha256=None)
    with pytest.raises(
        DownloadError, match=re.escape("The server sent a web page instead of the model file model.gguf")
    ):
        download(s)
    assert not part_path(s.dest).exists() and not s.dest.exists()


# ---------------------------------------------------------------------------------------------- disk space


def test_free_space_is_checked_before_any_request(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**12, 10**12 - 500_000, 500_000))
    s = spec(server, tmp_path)
    needed = len(DATA) + SPACE_MARGIN
    assert free_space_needed([s]) == needed
    msg = f"Not enough free space in {s.dest.parent}: need {needed / 1e6:.1f} MB, 500.0 KB free."
    with pytest.raises(DownloadError, match=re.escape(msg)):
        download(s)
    assert server.seen == []
    with pytest.raises(DownloadError, match=re.escape("need 5.1 GB, 2.3 GB free")):
        monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**12, 0, 2_300_000_000))
        check_free_space(tmp_path / "not" / "yet", 5_100_000_000)


def test_many_files_need_room_for_all_of_them(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = [spec(server, tmp_path), spec(server, tmp_path, "mmproj.gguf", size=len(PROJ), sha256=None)]
    free = SPACE_MARGIN + len(DATA) + 1  # room for either alone, not for both
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**12, 0, free))
    with pytest.raises(DownloadError, match="Not enough free space"):
        download_many(specs)
    assert server.seen == []


def test_many_files_with_one_aggregated_progress(server: FileServer, tmp_path: Path) -> None:
    specs = [spec(server, tmp_path), spec(server, tmp_path, "mmproj.gguf", size=len(PROJ), sha256=None)]
    events: list[Progress] = []
    paths = download_many(specs, progress=events.append)
    assert [p.read_bytes() for p in paths] == [DATA, PROJ]
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert {e.total for e in events} == {len(DATA) + len(PROJ)} and events[-1].done == len(DATA) + len(PROJ)
    assert [e.state for e in events].count("done") == 1 and events[-1].verified is False  # the mmproj had no hash
    assert {e.label for e in events} == {"model.gguf", "mmproj.gguf"}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_while_writing_keeps_the_part(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    s.dest.parent.mkdir(parents=True)
    part_path(s.dest).symlink_to("/dev/full")  # every write fails with the kernel's own ENOSPC
    with pytest.raises(DownloadError, match=r"Not enough free space in .* to finish model.gguf \(No space left"):
        download(s)
    assert part_path(s.dest).is_symlink() and not s.dest.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_file_too_large_for_the_file_system_then_resume(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    child = start_child(s, limit=300_000)  # writes past the limit fail with EFBIG, as on a FAT32 drive
    out, _ = child.communicate(timeout=10)
    assert child.returncode == 3 and "too large for the file system" in out and "was kept" in out
    assert part_size(s) == 300_000
    assert download(s).read_bytes() == DATA and server.ranges()[-1] == "bytes=300000-"


# ---------------------------------------------------------------------------------------------- two at once, killed


def test_same_file_twice_from_two_threads(server: FileServer, tmp_path: Path) -> None:
    server.slow_s = 0.01
    s, control, started = spec(server, tmp_path), Control(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            download(s, control=control, progress=lambda p: started.set(), options=DownloadOptions(chunk=CHUNK))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(5)
    with pytest.raises(DownloadError, match=r"^model.gguf is already being downloaded\. Wait"):
        download(s)
    with pytest.raises(DownloadError, match="already being downloaded"):
        discard_partial(s)
    control.pause()
    thread.join(5)
    assert len(errors) == 1 and isinstance(errors[0], DownloadPaused)
    server.slow_s = 0
    assert download(s).read_bytes() == DATA  # the lock went with the first download


def test_same_file_twice_from_two_processes(server: FileServer, tmp_path: Path) -> None:
    server.slow_s = 0.01
    s = spec(server, tmp_path)
    child = start_child(s)
    try:
        wait_for(lambda: part_size(s) > 0)
        with pytest.raises(DownloadError, match=rf"already being downloaded \(by process {child.pid}\)"):
            download(s)
    finally:
        kill(child)


def test_killed_mid_download_resumes_from_the_part(server: FileServer, tmp_path: Path) -> None:
    server.slow_s = 0.01
    s = spec(server, tmp_path)
    child = start_child(s)
    wait_for(lambda: part_size(s) >= 100_000)
    kill(child)  # SIGKILL: no cleanup runs
    kept = part_size(s)
    assert 0 < kept < len(DATA) and Path(f"{part_path(s.dest)}.lock").exists()  # left behind, and harmless
    server.slow_s = 0
    assert download(s).read_bytes() == DATA
    assert server.ranges()[-1] == f"bytes={kept}-"


def test_a_lock_file_left_by_a_dead_process_does_not_block(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    s.dest.parent.mkdir(parents=True)
    Path(f"{part_path(s.dest)}.lock").write_text("999999999")
    assert download(s).read_bytes() == DATA


# ---------------------------------------------------------------------------------------------- pause, cancel


def test_pause_keeps_the_part_and_a_later_call_resumes(server: FileServer, tmp_path: Path) -> None:
    s, control = spec(server, tmp_path), Control()
    events: list[Progress] = []

    def pause_at_first_bytes(p: Progress) -> None:
        events.append(p)
        if p.state == "downloading":
            control.pause()

    with pytest.raises(DownloadPaused, match=r"^The download was paused\.$"):
        download(s, control=control, progress=pause_at_first_bytes, options=DownloadOptions(chunk=CHUNK))
    kept = part_size(s)
    assert 0 < kept <= 2 * CHUNK and events[-1].state == "paused" and events[-1].done == kept
    control.resume()
    assert download(s, control=control, options=DownloadOptions(chunk=CHUNK)).read_bytes() == DATA
    assert server.ranges()[-1] == f"bytes={kept}-"


def test_cancel_deletes_the_part(server: FileServer, tmp_path: Path) -> None:
    s, control = spec(server, tmp_path), Control()
    events: list[Progress] = []

    def cancel_at_first_bytes(p: Progress) -> None:
        events.append(p)
        if p.state == "downloading":
            control.cancel()

    with pytest.raises(DownloadCancelled, match=r"^The download was cancelled\.$"):
        download(s, control=control, progress=cancel_at_first_bytes, options=DownloadOptions(chunk=CHUNK))
    assert events[-1].state == "cancelled" and not part_path(s.dest).exists() and not s.dest.exists()
    assert not Path(f"{part_path(s.dest)}.lock").exists()


def test_cancel_interrupts_a_stalled_server_at_once(server: FileServer, tmp_path: Path) -> None:
    server.slow_s = 30  # the body never comes
    control = Control()
    threading.Timer(0.2, control.cancel).start()
    start = time.monotonic()
    with pytest.raises(DownloadCancelled, match=r"^The download was cancelled\.$"):
        download(spec(server, tmp_path), control=control, options=DownloadOptions(timeout_s=20))
    assert time.monotonic() - start < 2


def test_discard_partial_removes_a_paused_download(server: FileServer, tmp_path: Path) -> None:
    s = spec(server, tmp_path)
    s.dest.parent.mkdir(parents=True)
    part_path(s.dest).write_bytes(DATA[:1000])
    discard_partial(s)
    assert not part_path(s.dest).exists()


# ---------------------------------------------------------------------------------------------- redirects, proxy, URLs


@pytest.mark.parametrize("other_port", [False, True], ids=["localhost-same-port", "127.0.0.1-other-port"])
def test_redirect_to_another_host_does_not_forward_the_token(
    server: FileServer, tmp_path: Path, other_port: bool
) -> None:
    cdn = FileServer().start() if other_port else server
    cdn.files = server.files
    server.redirect_to = f"http://127.0.0.1:{cdn.port}" if other_port else f"http://localhost:{server.port}"
    try:
        s = DownloadSpec(server.url("model.gguf", route="redirect"), tmp_path / "m.gguf", len(DATA), SHA)
        assert download(s, options=DownloadOptions(token="hf_secret")).read_bytes() == DATA
        assert server.seen[0].authorization == "Bearer hf_secret"
        assert cdn.seen[-1].target == "/files/model.gguf" and cdn.seen[-1].authorization is None
    finally:
        if other_port:
            cdn.stop()


def test_redirect_on_the_same_origin_keeps_the_token(server: FileServer, tmp_path: Path) -> None:
    s = DownloadSpec(server.url("model.gguf", route="relative"), tmp_path / "m.gguf", len(DATA), SHA)
    download(s, options=DownloadOptions(token=" hf_secret\n"))  # as pasted
    assert [x.authorization for x in server.seen] == ["Bearer hf_secret"] * 2


def test_uses_the_http_proxy_from_the_environment(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    s = DownloadSpec("http://models.invalid/files/model.gguf", tmp_path / "m.gguf", len(DATA), SHA)
    assert download(s).read_bytes() == DATA
    assert server.seen[0].target == "http://models.invalid/files/model.gguf"


def test_hf_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hf_url("google/gemma-4-E2B-it-GGUF", "q4/gemma 4.gguf") == (
        "https://huggingface.co/google/gemma-4-E2B-it-GGUF/resolve/main/q4/gemma%204.gguf"
    )
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example/")
    assert hf_url("a/b", "f.gguf", revision="refs/pr/1") == "https://hf-mirror.example/a/b/resolve/refs%2Fpr%2F1/f.gguf"
    assert hf_url("a/b", "f.gguf", endpoint="http://127.0.0.1:9") == "http://127.0.0.1:9/a/b/resolve/main/f.gguf"


# ---------------------------------------------------------------------------------------------- verify_file


def test_verify_file(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(DATA)
    events: list[Progress] = []
    assert verify_file(path, SHA, len(DATA), progress=events.append) is True
    assert events[-1].state == "done" and events[-1].verified is True
    assert verify_file(path, None, len(DATA)) is False
    with pytest.raises(
        DownloadError, match=re.escape("is damaged: its checksum does not match the catalog. Download it again")
    ):
        verify_file(path, "0" * 64, None)
    with pytest.raises(DownloadError, match=re.escape("is damaged: it is 1.0 MB instead of 2.0 MB")):
        verify_file(path, SHA, 2_000_000)
    assert path.read_bytes() == DATA  # the user's file is never deleted by a check
