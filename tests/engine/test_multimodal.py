"""Images and audio through the real libmtmd, and a KV cache that never re-encodes history."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.engine.attachments import audio_parts, image_part, video_parts
from app.engine.errors import ContextError, ModelFileError, RequestError
from app.engine.events import (
    AnswerDelta,
    ContextTrimmed,
    GenerateRequest,
    GenerationStats,
    LoadRequest,
    SamplingParams,
    Stats,
)
from app.engine.prompt import Message, Part
from app.engine.session import ModelSession
from app.media import ImageInput, audio_from_samples, load_image
from app.media.video import VideoFrames
from tests.fixtures.tiny_mmproj import write_tiny_mmproj


def picture(seed: int, size: tuple[int, int] = (200, 150)) -> ImageInput:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return load_image(buf.getvalue(), name=f"picture{seed}.png")


def tone(seconds: float, freq: float = 440.0) -> list[Part]:
    t = np.arange(int(16000 * seconds)) / 16000
    return audio_parts(audio_from_samples((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000))


def user(*parts: Part | str) -> Message:
    return Message("user", tuple(Part("text", p) if isinstance(p, str) else p for p in parts))


def assistant(text: str) -> Message:
    return Message.text("assistant", text)


def run(session: ModelSession, messages: list[Message], **kw: object) -> tuple[str, GenerationStats, list[object]]:
    kw.setdefault("max_tokens", 8)
    kw.setdefault("sampling", SamplingParams(seed=2))
    events = list(session.generate(GenerateRequest(messages=tuple(messages), **kw)))  # type: ignore[arg-type]
    stats = events[-1]
    assert isinstance(stats, Stats)
    return "".join(e.text for e in events if isinstance(e, AnswerDelta)), stats.stats, events


@pytest.fixture(scope="module")
def mm(tiny_model: Path, tiny_mmproj: Path) -> Iterator[ModelSession]:
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=4096))
    yield s
    s.close()


def test_load_reports_vision_and_audio(mm: ModelSession) -> None:
    assert mm.info.has_vision and mm.info.has_audio
    assert mm.info.vision_budget == 280


def test_image_and_text_go_through_mtmd(mm: ModelSession) -> None:
    mm.reset_cache()
    answer, st, _ = run(mm, [user(image_part(picture(1)), "What is in this picture?")])
    assert answer.strip()
    assert st.media_encoded == 1
    assert st.media_tokens == 80  # a 200x150 picture is upscaled to Gemma 4's minimum
    assert st.evaluated_tokens == st.prompt_tokens > 80


def test_audio_and_text_go_through_mtmd(mm: ModelSession) -> None:
    mm.reset_cache()
    answer, st, _ = run(mm, [user(*tone(3.0), "What do you hear?")])
    assert answer.strip()
    assert st.media_encoded == 1
    assert st.media_tokens == 75  # 25 tokens a second


def test_a_long_recording_is_split_into_30_second_parts(mm: ModelSession) -> None:
    parts = tone(65.0)
    durations = [p.payload.duration_s for p in parts]
    assert len(parts) == 3 and max(durations) <= 30.0 and sum(durations) == pytest.approx(65.0)
    mm.reset_cache()
    _, st, _ = run(mm, [user(*parts, "Summarise this.")])
    assert st.media_encoded == 3
    assert 1600 <= st.media_tokens <= 1650  # 65 s at 25 tokens a second


def test_follow_up_turns_never_encode_the_picture_again(mm: ModelSession) -> None:
    mm.reset_cache()
    img = image_part(picture(2))
    history = [user(img, "Describe it.")]
    a1, s1, _ = run(mm, history)
    assert s1.media_encoded == 1
    for turn, question in enumerate(["What colour?", "Any people?", "And the picture from the start?"], start=2):
        history += [assistant(a1), user(question)]
        prev_prompt = s1.prompt_tokens
        a1, s1, _ = run(mm, history)
        assert s1.media_encoded == 0, f"turn {turn} encoded the picture again"
        # Everything before the previous answer came from the cache.
        assert s1.reused_tokens >= prev_prompt - 4, turn
        assert s1.evaluated_tokens == s1.prompt_tokens - s1.reused_tokens
        assert s1.evaluated_tokens < 40


def test_regenerate_and_edit_reuse_the_prefix(mm: ModelSession) -> None:
    mm.reset_cache()
    img = image_part(picture(3))
    history = [user(img, "Describe it."), assistant("A photo."), user("Where was it taken?")]
    _, first, _ = run(mm, history)
    _, again, _ = run(mm, history)  # regenerate the last answer
    assert again.reused_tokens == first.prompt_tokens - 1
    assert again.media_encoded == 0
    edited = [*history[:2], user("Who took it?")]  # edit the last question and resend
    _, edit, _ = run(mm, edited)
    assert edit.media_encoded == 0
    assert edit.reused_tokens > 80  # the picture and the first turn stayed in the cache


def test_an_edit_before_the_picture_re_evaluates_it_without_re_encoding(mm: ModelSession) -> None:
    mm.reset_cache()
    img = image_part(picture(4))
    _, st1, _ = run(mm, [user("Hello"), assistant("Hi"), user(img, "What is it?")])
    _, st2, _ = run(mm, [user("Good morning"), assistant("Hi"), user(img, "What is it?")])
    assert st1.media_encoded == 1
    assert st2.media_encoded == 0  # the embedding came from the cache
    assert st2.evaluated_tokens > st2.media_tokens  # but the picture was decoded again after the edit


def test_reused_cache_gives_the_same_answer_as_a_fresh_start(tiny_model: Path, tiny_mmproj: Path) -> None:
    """Rewinding the sliding-window layers must not change what the model computes."""
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=2048))
    greedy = SamplingParams(temperature=0.0)
    try:
        img = image_part(picture(5))
        first = [user(img, "Tell me a long story about it.")]
        long_answer, st, _ = run(s, first, max_tokens=200, sampling=greedy)  # far past the 32-token window
        assert st.completion_tokens == 200
        follow = [*first, assistant(long_answer), user("Shorter please.")]
        reused_answer, reused, _ = run(s, follow, max_tokens=24, sampling=greedy)
        assert reused.reused_tokens > 80
        s.reset_cache()
        fresh_answer, fresh, _ = run(s, follow, max_tokens=24, sampling=greedy)
        assert fresh.reused_tokens == 0
        assert reused_answer == fresh_answer
    finally:
        s.close()


def test_vision_budget_sets_tokens_per_image(tiny_model: Path, tiny_mmproj: Path) -> None:
    big = image_part(picture(6, size=(1600, 1200)))
    costs = {}
    for budget in (70, 560):
        s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=4096, vision_budget=budget))
        try:
            [(media_id, cost)] = s.measure([big])
            assert media_id == big.media_id
            costs[budget] = cost
            _, st, _ = run(s, [user(big, "Read it.")])
            assert st.media_tokens == cost  # measure() predicts what sending costs
        finally:
            s.close()
    assert 60 <= costs[70] <= 90
    assert 500 <= costs[560] <= 700


def test_media_ids_come_from_content(mm: ModelSession) -> None:
    a, b = picture(7), picture(7)
    assert a.media_id == b.media_id != picture(8).media_id


def test_image_to_a_model_without_projector(tiny_model: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=512))
    try:
        with pytest.raises(RequestError, match="without a vision projector"):
            run(s, [user(image_part(picture(9)), "What is it?")])
    finally:
        s.close()


def test_audio_to_a_model_whose_projector_only_sees(tiny_model: Path, tmp_path: Path) -> None:
    vision_only = write_tiny_mmproj(tmp_path / "vision.gguf", audio=False)
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=vision_only, n_ctx=512))
    try:
        assert s.info.has_vision and not s.info.has_audio
        with pytest.raises(RequestError, match="E2B and E4B"):
            run(s, [user(*tone(1.0), "What is it?")])
    finally:
        s.close()


def test_projector_of_another_model(tiny_model: Path, tmp_path: Path) -> None:
    other = write_tiny_mmproj(tmp_path / "other.gguf", n_embd_text=32)
    with pytest.raises(ModelFileError, match="does not belong"):
        ModelSession.load(LoadRequest(tiny_model, mmproj_path=other))


def test_a_model_passed_as_projector(tiny_model: Path) -> None:
    with pytest.raises(ModelFileError, match="not a vision/audio projector"):
        ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_model))


def test_vision_budget_out_of_range(tiny_model: Path, tiny_mmproj: Path) -> None:
    with pytest.raises(ContextError, match="between 70 and 1120"):
        ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, vision_budget=5000))


def test_user_text_that_looks_like_a_media_marker(mm: ModelSession) -> None:
    mm.reset_cache()
    answer, st, _ = run(mm, [user(image_part(picture(10)), "Is <|image|> or <|audio|> a tag?")])
    assert st.media_encoded == 1 and answer


def test_video_frames_with_timestamps(mm: ModelSession) -> None:
    frames = tuple(picture(20 + i, size=(64, 48)) for i in range(3))
    video = VideoFrames(
        frames=frames, timestamps_s=(0.0, 1.0, 2.0), duration_s=3.0, source_name="clip.mp4", truncated=False
    )
    parts = video_parts(video)
    assert [p.text for p in parts if p.type == "text"][:2] == ["00:00 ", "\n"]
    mm.reset_cache()
    _, st, _ = run(mm, [user(*parts, "What happens?")])
    assert st.media_encoded == 3 and st.media_tokens == 3 * 80


def test_overflow_drops_the_oldest_turns_and_says_so(tiny_model: Path, tiny_mmproj: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=512))
    try:
        history: list[Message] = [user(image_part(picture(30)), "first " * 40)]
        for i in range(6):
            history += [assistant("answer " * 30), user(f"question {i} " * 10)]
        _, st, events = run(s, history, system="Be brief.")
        trimmed = [e for e in events if isinstance(e, ContextTrimmed)]
        assert len(trimmed) == 1 and trimmed[0].dropped_messages == st.dropped_messages >= 2
        assert st.dropped_messages % 2 == 0  # whole turns only
        assert st.prompt_tokens < 512
        assert "Be brief." in s.prepare(GenerateRequest(messages=tuple(history), system="Be brief.")).text
        with pytest.raises(ContextError, match="context holds 512"):
            run(s, history, overflow="stop")
    finally:
        s.close()


def test_one_message_bigger_than_the_context(tiny_model: Path, tiny_mmproj: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=256))
    try:
        with pytest.raises(ContextError, match="newest message alone"):
            run(s, [user("word " * 400)])
    finally:
        s.close()
