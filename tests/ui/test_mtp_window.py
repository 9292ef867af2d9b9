"""The window drafts with Gemma 4's MTP assistant when one sits beside the model (and not with Quick drafts off)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure, send, stored_path, wait_idle

pytestmark = pytest.mark.gui


@pytest.fixture
def model_with_assistant(tiny_model: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / "tiny-gemma4.gguf"
    model.symlink_to(tiny_model)
    write_tiny_gemma4_assistant(folder / "tiny-gemma4-assistant.gguf")
    return model


@pytest.mark.parametrize(("mode", "drafter"), [("auto", "MTP"), ("off", "")])
def test_the_assistant_beside_the_model_drafts_in_the_window(
    qtbot: QtBot, open_window: WindowFactory, model_with_assistant: Path, mode: str, drafter: str
) -> None:
    configure(max_tokens=48, temperature=0.0, speculative=mode)
    window = open_window(model_with_assistant)
    send(qtbot, window, "Tell me about the sea")
    qtbot.waitUntil(lambda: window.controller.conversation is not None, timeout=10_000)
    qtbot.waitUntil(lambda: len(stored_path(window)) > 1 and stored_path(window)[1].stats is not None, timeout=30_000)
    wait_idle(qtbot, window)
    stats = stored_path(window)[1].stats
    assert stats is not None and stats["completion_tokens"] == 48
    assert stats["drafter"] == drafter and (stats["draft_tokens"] > 0) == bool(drafter)
