"""Pictures and clips at the edges of what llama.cpp takes: answered or refused with a reason, never an abort.

The dangerous cases run in a child process, so that a llama.cpp assertion shows up as a failed test
(with the assertion's text) instead of ending the test run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.engine.attachments import image_part
from app.engine.errors import RequestError
from app.engine.events import GenerateRequest, LoadRequest, SamplingParams, Stats
from app.engine.gguf_file import read_gguf_info
from app.engine.media_guard import MIN_CLIP_SAMPLES, VisionGeometry
from app.engine.prompt import Message, Part
from app.engine.session import ModelSession
from app.media import image_from_array
from app.media.audio import AudioClip

CHILD_TIMEOUT = 240


def run_child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "GGML_NO_BACKTRACE": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_the_hazard_is_real_without_the_guard(tiny_model: Path, tiny_mmproj_small_table: Path, cli_env: dict) -> None:
    """Straight into libmtmd, a 3072×1 picture overruns the position table and llama.cpp aborts the process."""
    code = f"""
        import ctypes, numpy as np
        from llama_cpp import mtmd_cpp as M
        from app.engine.events import LoadRequest
        from app.engine.session import ModelSession
        s, _ = ModelSession.load(LoadRequest({str(tiny_model)!r}, mmproj_path={str(tiny_mmproj_small_table)!r}))
        p = s.projector
        pixels = np.full((1, 3072, 3), 200, np.uint8)
        bmp = M.mtmd_bitmap_init(3072, 1, pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        text = M.mtmd_input_text(p._marker, len(p._marker), False, True)
        chunks = M.mtmd_input_chunks_init()
        arr = (M.mtmd_bitmap_p_ctypes * 1)(bmp)
        assert M.mtmd_tokenize(p.ptr, chunks, ctypes.byref(text), arr, 1) == 0
        for i in range(M.mtmd_input_chunks_size(chunks)):
            c = M.mtmd_input_chunks_get(chunks, i)
            if M.mtmd_input_chunk_get_type(c) == 1:
                M.mtmd_encode_chunk(p.ptr, c)
        print("survived")
    """
    result = run_child(code, cli_env)
    assert result.returncode == -signal.SIGABRT, result.stdout + result.stderr[-2000:]
    assert "GGML_ASSERT(i01 >= 0 && i01 < ne01)" in result.stderr


@pytest.mark.parametrize("table", ["standard", "small"])
def test_extreme_pictures_are_answered(
    table: str, tiny_model: Path, tiny_mmproj: Path, tiny_mmproj_small_table: Path, tmp_path: Path, cli_env: dict
) -> None:
    projector = tiny_mmproj if table == "standard" else tiny_mmproj_small_table
    huge = tmp_path / "49999999x1.png"
    Image.new("L", (49_999_999, 1), 90).save(huge, optimize=False)
    code = f"""
        import numpy as np
        from app.engine.attachments import image_part
        from app.engine.events import GenerateRequest, LoadRequest, SamplingParams
        from app.engine.prompt import Message, Part
        from app.engine.session import ModelSession
        from app.media import image_from_array, load_image
        pictures = [image_from_array(np.full((h, w, 3), 120, np.uint8), name=f"{{w}}x{{h}}.png")
                    for w, h in [(3072, 1), (1, 3072), (3072, 2), (2, 3072), (1, 1), (3072, 47), (2000, 2)]]
        pictures.append(load_image({str(huge)!r}))
        for budget in (70, 280, 1120):
            s, _ = ModelSession.load(LoadRequest({str(tiny_model)!r}, mmproj_path={str(projector)!r},
                                                 n_ctx=4096, vision_budget=budget))
            for picture in pictures:
                message = Message("user", (image_part(picture), Part("text", "What is this?")))
                request = GenerateRequest(messages=(message,), max_tokens=2, sampling=SamplingParams(seed=1))
                stats = list(s.generate(request))[-1].stats
                assert stats.media_tokens > 0 and stats.completion_tokens >= 1, stats
                print("ok", budget, picture.width, picture.height, stats.media_tokens, flush=True)
            s.close()
    """
    result = run_child(code, cli_env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.count("ok ") == 3 * 8


def test_geometry_matches_libmtmd(tiny_model: Path, tiny_mmproj: Path) -> None:
    """Our copy of libmtmd's resize arithmetic gives the token counts libmtmd really gives."""
    info = read_gguf_info(tiny_mmproj)
    sizes = [(200, 150), (3072, 1), (1, 3072), (3072, 3071), (1000, 20), (640, 480), (47, 47), (4000 // 3, 3000 // 3)]
    for budget in (70, 280, 1120):
        s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=4096, vision_budget=budget))
        try:
            geometry = VisionGeometry.from_gguf(info, min(70, budget), budget)
            assert geometry is not None and geometry.table_rows == 3360 and geometry.cell == 48
            for w, h in sizes:
                picture = image_from_array(np.full((h, w, 3), 7, np.uint8))
                (cost,) = s.measure([image_part(picture)])
                rw, rh = geometry.resized(w, h)
                assert cost[1] == (rw // 48) * (rh // 48), (budget, w, h)
        finally:
            s.close()


def test_a_small_table_pads_a_strip_instead(tiny_mmproj_small_table: Path) -> None:
    geometry = VisionGeometry.from_gguf(read_gguf_info(tiny_mmproj_small_table), 70, 280)
    assert geometry is not None and geometry.table_rows == 600
    assert not geometry.fits(3072, 1) and not geometry.fits(1, 3072)
    assert geometry.fits(640, 480)


@pytest.fixture(scope="module")
def mm(tiny_model: Path, tiny_mmproj: Path) -> Iterator[ModelSession]:
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=4096))
    yield s
    s.close()


def clip(samples: np.ndarray) -> Part:
    audio = AudioClip(samples=samples.astype(np.float32), media_id=f"clip{len(samples)}", start_s=0.0, source_name="")
    return Part("audio", media_id=audio.media_id, payload=audio)


def ask(part: Part) -> GenerateRequest:
    return GenerateRequest(
        messages=(Message("user", (part, Part("text", "hi"))),), max_tokens=2, sampling=SamplingParams(seed=1)
    )


@pytest.mark.parametrize("n", [0, 1, 2, MIN_CLIP_SAMPLES - 1])
def test_a_clip_too_short_to_hear_is_refused(mm: ModelSession, n: int) -> None:
    """One sample used to abort llama.cpp (``buf.size() > sizeof(float)``)."""
    with pytest.raises(RequestError, match=r"The recording is too short to hear \(0\.\d\d s\)"):
        list(mm.generate(ask(clip(np.zeros(n)))))


def test_a_clip_longer_than_a_part_is_refused(mm: ModelSession) -> None:
    with pytest.raises(RequestError, match=r"is 31 s long in one part; the model hears at most 30 s at once"):
        list(mm.generate(ask(clip(np.zeros(31 * 16000)))))


def test_a_clip_with_nan_samples_is_heard_as_silence(mm: ModelSession) -> None:
    samples = np.full(16000, np.nan)
    events = list(mm.generate(ask(clip(samples))))
    assert isinstance(events[-1], Stats) and events[-1].stats.media_tokens == 25


@pytest.mark.parametrize(
    ("sampling", "max_tokens", "message"),
    [
        (SamplingParams(temperature=float("nan")), None, "The temperature must be a number, not nan"),
        (SamplingParams(top_p=float("inf")), None, "The top-p must be a number, not inf"),
        (SamplingParams(top_p=2.0), None, "Top-p must be above 0 and at most 1; 2.0"),
        (SamplingParams(top_p=0.0), None, "Top-p must be above 0 and at most 1; 0.0"),
        (SamplingParams(min_p=-0.1), None, "Min-p must be between 0 and 1"),
        (SamplingParams(top_k=-1), None, "Top-k must be 0 \\(off\\) or more; -1"),
        (SamplingParams(repeat_penalty=0.0), None, "The repeat penalty must be above 0"),
        (SamplingParams(seed=-1), None, "The seed must be between 0 and 4294967295; -1"),
        (SamplingParams(seed=2**40), None, "The seed must be between 0 and 4294967295"),
        (SamplingParams(), 0, "At least one token must be asked for; 0 was"),
    ],
)
def test_sampling_settings_llama_cpp_cannot_use_are_refused(
    mm: ModelSession, sampling: SamplingParams, max_tokens: int | None, message: str
) -> None:
    request = GenerateRequest(messages=(Message.text("user", "hi"),), sampling=sampling, max_tokens=max_tokens)
    with pytest.raises(RequestError, match=message):
        list(mm.generate(request))
