"""`gemma-desk ask --image/--audio/--video` and `gemma-desk chat`, as real subprocesses."""

from __future__ import annotations

import itertools
import subprocess
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
    assert proc.returncode == 0
    events = json_lines(proc.stdout)
    assert events[0]["type"] == "error" and "missing.png was not found" in str(events[0]["message"])
    assert events[1] == {"type": "done", "stop_reason": "error"}
    assert len(stats(events)) == 1  # "Hello" was still answered
