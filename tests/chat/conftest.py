"""Fixtures for the conversation core: a real chat store in a temporary folder, the real engine with the tiny
Gemma 4 (and its projector) loaded once per module, a picture to attach, and a helper that answers a turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.chat import AnswerRecorder, ChatOptions, ChatSession, Turn
from app.engine import Engine, EventQueue, LoadRequest, ModelLoaded, SamplingParams
from app.media import load_image
from app.media.intake import PendingAttachment
from app.store import Store

Loaded = tuple[Engine, EventQueue]

#: Short, repeatable answers.
OPTIONS = ChatOptions(max_tokens=8, sampling=SamplingParams(seed=1))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3") as opened:
        yield opened


@pytest.fixture
def chat(store: Store) -> ChatSession:
    return ChatSession(store)


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tiny_mmproj: Path) -> Iterator[Loaded]:
    events = EventQueue()
    eng = Engine(events)
    loaded = list(events.until_done(eng.load(LoadRequest(tiny_model, tiny_mmproj, n_ctx=4096)), timeout=60))
    assert any(isinstance(e, ModelLoaded) for e in loaded), loaded
    yield eng, events
    eng.close()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(path)
    return path


def picture(path: Path) -> PendingAttachment:
    """A picture file as the composer or the command line hands it over."""
    image = load_image(path)
    return PendingAttachment("image", path.name, path, None, path.stat().st_size, image, "200×150")


def answer(chat: ChatSession, engine: Loaded, turn: Turn, options: ChatOptions = OPTIONS) -> AnswerRecorder:
    """Ask the engine for ``turn`` and record the answer into the store, as the command line does."""
    eng, events = engine
    recorder = AnswerRecorder(turn.answer.id, eng.generate(chat.request_for(turn, options)))
    for _event in chat.record(recorder, events.until_done(recorder.request_id, timeout=60)):
        pass
    return recorder
