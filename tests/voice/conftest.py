"""Fixtures for the voice tests: espeak-ng phrases (skipped where espeak-ng is missing)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.media.virtual_mic import NoVirtualMic
from tests.voice.speech import spoken


@pytest.fixture(scope="session")
def phrases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """A question, a short reply, an answer the app speaks (its echo), and a user cutting in."""
    folder = tmp_path_factory.mktemp("voice")
    texts = {
        "question": "What is the capital of France?",
        "reply": "Thank you, that is all.",
        "answer": "The capital of France is Paris. It is known for the Eiffel Tower, its museums and its cafes, "
        "and about two million people live there.",
        "interrupt": "Hold on, I have another question.",
        "reading": "Once upon a time there was a little village at the edge of a great forest, "
        "where the people baked bread every morning.",
    }
    try:
        return {name: spoken(folder / f"{name}.wav", text) for name, text in texts.items()}
    except NoVirtualMic as exc:
        pytest.skip(str(exc))
