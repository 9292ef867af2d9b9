"""Mixture-of-experts offload through the real llama.cpp: the experts of the first N layers stay on the CPU.

The tiny Gemma 4 mixture of experts (``tiny_moe_model``: 4 layers, 4 experts each) is loaded with
``cpu_moe_layers``. There is no GPU here, but llama.cpp still applies the override and says so per tensor in its
log; the answer must not change, and a bad N is refused before llama.cpp sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.engine.errors import RequestError
from app.engine.events import AnswerDelta, GenerateRequest, LoadRequest, SamplingParams
from app.engine.gguf_file import read_gguf_info
from app.engine.moe_offload import expert_layer, expert_layers, expert_pattern
from app.engine.prompt import Message
from app.engine.session import ModelSession

_OVERRIDDEN = re.compile(r"tensor (blk\.\d+\.\S+) \(.*\) buffer type overridden to (\S+)")


def overridden(session: ModelSession) -> dict[str, str]:
    """Tensor → buffer type, from the lines llama.cpp logs for each override it applied."""
    return {m.group(1): m.group(2) for line in session.model.load_log if (m := _OVERRIDDEN.search(line))}


Loader = Callable[..., ModelSession]


@pytest.fixture
def load(tiny_moe_model: Path) -> Iterator[Loader]:
    """Load the tiny mixture of experts (or ``model``) with N layers' experts on the CPU; closed after the test."""
    sessions: list[ModelSession] = []

    def _load(n: int, model: Path = tiny_moe_model) -> ModelSession:
        session, _notice = ModelSession.load(LoadRequest(model, n_ctx=512, n_threads=1, cpu_moe_layers=n))
        sessions.append(session)
        return session

    yield _load
    for s in sessions:
        s.close()


def greedy_answer(session: ModelSession) -> str:
    request = GenerateRequest(
        messages=(Message.text("user", "Tell me about the weather"),),
        max_tokens=16,
        sampling=SamplingParams(temperature=0.0, seed=1),
    )
    return "".join(e.text for e in session.generate(request) if isinstance(e, AnswerDelta))


def test_the_fixture_is_a_mixture_of_experts_as_llama_cpp_reads_it(tiny_moe_model: Path, load: Loader) -> None:
    info = read_gguf_info(tiny_moe_model)
    assert expert_layers(info) == {0, 1, 2, 3}
    experts = sorted(t.name for t in info.tensors if expert_layer(t.name) == 0)
    assert experts == ["blk.0.ffn_down_exps.scale", "blk.0.ffn_down_exps.weight", "blk.0.ffn_gate_up_exps.weight"]
    log = "\n".join(load(0).model.load_log)
    assert re.search(r"n_expert += 4\b", log) and re.search(r"n_expert_used += 2\b", log)


def test_experts_of_the_first_layers_go_to_the_cpu_and_the_answer_stays(load: Loader) -> None:
    whole = load(0)
    assert overridden(whole) == {}
    split = load(2)
    placed = overridden(split)
    assert set(placed.values()) == {"CPU"}
    assert sorted(placed) == [
        "blk.0.ffn_down_exps.scale",
        "blk.0.ffn_down_exps.weight",
        "blk.0.ffn_gate_up_exps.weight",
        "blk.1.ffn_down_exps.scale",
        "blk.1.ffn_down_exps.weight",
        "blk.1.ffn_gate_up_exps.weight",
    ]  # layers 0 and 1 only: "blk\.1\." never matches blk.10 or blk.12
    every = overridden(load(4))
    assert {expert_layer(name) for name in every} == {0, 1, 2, 3}
    first = greedy_answer(whole)
    assert first and greedy_answer(split) == first  # the same weights wherever they sit


def test_a_bad_number_of_cpu_expert_layers_is_refused_with_a_reason(tiny_model: Path, load: Loader) -> None:
    with pytest.raises(
        RequestError, match=r"has 4 layers; the experts of 5 layers cannot stay on the CPU \(use 0 … 4\)"
    ):
        load(5)
    with pytest.raises(RequestError, match=r"must be 0 or more; -1 was asked"):
        load(-1)
    with pytest.raises(RequestError, match=r"is not a mixture-of-experts model"):
        load(1, tiny_model)


def test_patterns_name_one_layer_each() -> None:
    pattern = re.compile(expert_pattern(1))
    assert pattern.search("blk.1.ffn_gate_up_exps.weight") and pattern.search("blk.1.ffn_down_exps.scale")
    assert pattern.search("blk.1.ffn_up_chexps.weight")  # llama.cpp's pattern also names chunked experts
    assert not pattern.search("blk.10.ffn_down_exps.weight") and not pattern.search("blk.1.ffn_down.weight")
    assert not pattern.search("blk.1.ffn_gate_inp.weight")  # the router stays with the layer
