"""Thin, owned wrappers over llama.cpp's C API (through llama-cpp-python's ctypes): model, context, sampler.

We drive llama.cpp directly rather than through ``llama_cpp.Llama``: the
engine needs load progress and cancellation, exact control of the KV cache
(prefix reuse, media chunks) and a token loop with no per-token copies of the
logits. Every object here is owned by one thread (the engine worker) and is
freed explicitly with ``close()``, never left to ``__del__`` at exit.

The backend's start-up and log live in ``app.engine.native_log``, the devices in ``app.engine.backends``.
"""

from __future__ import annotations

import ctypes
import logging
import re
from collections.abc import Callable
from pathlib import Path

import llama_cpp as C

from app.engine.errors import ModelLoadError, RequestError
from app.engine.native_log import capture_native_log, init_backend
from app.engine.tensor_overrides import cpu_expert_overrides

__all__ = ["NativeContext", "NativeModel", "Sampler"]

log = logging.getLogger("gemma_desk.llama")

# -- model ------------------------------------------------------------------------

#: Token attributes llama.cpp matches in text only with ``parse_special`` (user-defined tokens it always matches).
_CONTROL_ATTRS = C.LLAMA_TOKEN_ATTR_CONTROL | C.LLAMA_TOKEN_ATTR_UNKNOWN
#: A user-defined token shaped like a marker: ``<|x>``, ``<x|>``, ``<|x|>`` (HTML tags such as ``<td>`` are text).
_MARKER_SHAPE = re.compile(r"^<(\|[^<>]*|[^<>]*\|)>$")


class NativeModel:
    """A loaded llama.cpp model and its vocabulary."""

    def __init__(
        self,
        path: Path,
        *,
        n_gpu_layers: int = -1,
        cpu_moe_layers: int = 0,
        progress: Callable[[float], bool] | None = None,
    ) -> None:
        init_backend()
        params = C.llama_model_default_params()
        params.n_gpu_layers = n_gpu_layers if n_gpu_layers >= 0 else 0x7FFFFFFF
        # The experts of the first ``cpu_moe_layers`` layers stay in RAM (llama.cpp's --n-cpu-moe). llama.cpp
        # reads the patterns through pointers into ctypes memory: the array is kept as long as the model.
        self._overrides = cpu_expert_overrides(cpu_moe_layers)
        if self._overrides is not None:
            params.tensor_buft_overrides = self._overrides.address

        def _progress(fraction: float, _user: ctypes.c_void_p) -> bool:
            if progress is None:
                return True
            try:
                return bool(progress(float(fraction)))
            except Exception:  # never let an exception cross into C
                log.exception("load progress callback failed")
                return True

        self._progress_cb = C.llama_progress_callback(_progress)
        params.progress_callback = self._progress_cb
        self.cancelled = False
        with capture_native_log() as lines:
            ptr = C.llama_model_load_from_file(str(path).encode("utf-8"), params)
        self.load_log = lines
        if not ptr:
            raise ModelLoadError(_explain_load_failure(path, lines))
        self.ptr = ptr
        self.vocab = C.llama_model_get_vocab(ptr)
        self.n_vocab = int(C.llama_vocab_n_tokens(self.vocab))
        self.gpu_layers = _offloaded_layers(lines)
        self._piece_buf = ctypes.create_string_buffer(256)
        self._facts: dict[int, tuple[bytes, bool, bool]] = {}
        self._structural: dict[int, str] | None = None
        self._literal_hazards: tuple[str, ...] = ()
        self._closed = False

    # metadata
    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(4096)
        n = C.llama_model_meta_val_str(self.ptr, key.encode(), buf, ctypes.sizeof(buf))
        if n < 0:
            return None
        if n >= ctypes.sizeof(buf):
            buf = ctypes.create_string_buffer(n + 1)
            C.llama_model_meta_val_str(self.ptr, key.encode(), buf, ctypes.sizeof(buf))
        return buf.value.decode("utf-8", errors="replace")

    def chat_template(self) -> str | None:
        raw = C.llama_model_chat_template(self.ptr, None)
        return raw.decode("utf-8", errors="replace") if raw else None

    @property
    def n_ctx_train(self) -> int:
        return int(C.llama_model_n_ctx_train(self.ptr))

    @property
    def n_embd(self) -> int:
        return int(C.llama_model_n_embd(self.ptr))

    @property
    def n_layer(self) -> int:
        return int(C.llama_model_n_layer(self.ptr))

    @property
    def n_params(self) -> int:
        return int(C.llama_model_n_params(self.ptr))

    @property
    def size_bytes(self) -> int:
        return int(C.llama_model_size(self.ptr))

    def description(self) -> str:
        buf = ctypes.create_string_buffer(256)
        C.llama_model_desc(self.ptr, buf, ctypes.sizeof(buf))
        return buf.value.decode("utf-8", errors="replace")

    # vocabulary
    @property
    def bos(self) -> int:
        return int(C.llama_vocab_bos(self.vocab))

    @property
    def eos(self) -> int:
        return int(C.llama_vocab_eos(self.vocab))

    @property
    def add_bos(self) -> bool:
        return bool(C.llama_vocab_get_add_bos(self.vocab))

    def token_text(self, token: int) -> str:
        raw = C.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", errors="replace") if raw else ""

    def is_eog(self, token: int) -> bool:
        return bool(C.llama_vocab_is_eog(self.vocab, token))

    def is_control(self, token: int) -> bool:
        return bool(C.llama_vocab_is_control(self.vocab, token))

    def is_structural(self, token: int) -> bool:
        """A token that only the chat template may write (see ``structural_tokens``)."""
        return token in self.structural_tokens()

    def structural_tokens(self) -> dict[int, str]:
        """Every token that marks prompt structure, by id, with its text (read once: a whole-vocabulary walk).

        Control and unknown tokens, the end-of-generation tokens, and the user-defined tokens shaped like
        markers (``<|channel>``, ``<tool_call|>``, ``<|"|>``): Gemma 4 ships those as user-defined, and
        llama.cpp makes user-defined tokens from text even with special-token parsing off.
        """
        if self._structural is None:
            found: dict[int, str] = {}
            for token in range(self.n_vocab):
                attr = int(C.llama_vocab_get_attr(self.vocab, token))
                if attr & _CONTROL_ATTRS or C.llama_vocab_is_eog(self.vocab, token):
                    found[token] = self.token_text(token)
                elif attr & C.LLAMA_TOKEN_ATTR_USER_DEFINED:
                    text = self.token_text(token)
                    if _MARKER_SHAPE.match(text):
                        found[token] = text
            self._structural = found
            self._literal_hazards = tuple(
                sorted(
                    {
                        text
                        for token, text in found.items()
                        if len(text) > 1
                        and int(C.llama_vocab_get_attr(self.vocab, token)) & C.LLAMA_TOKEN_ATTR_USER_DEFINED
                    }
                )
            )
        return self._structural

    def structural_texts(self) -> tuple[str, ...]:
        return tuple(sorted({t for t in self.structural_tokens().values() if t}))

    def literal_hazards(self) -> tuple[str, ...]:
        """Texts of structural tokens that llama.cpp would make even from plain text (user-defined ones)."""
        self.structural_tokens()
        return self._literal_hazards

    def tokenize(self, text: str, *, add_special: bool, parse_special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        n_max = len(data) + 8
        arr = (C.llama_token * n_max)()
        n = C.llama_tokenize(self.vocab, data, len(data), arr, n_max, add_special, parse_special)
        if n < 0:
            n_max = -n
            arr = (C.llama_token * n_max)()
            n = C.llama_tokenize(self.vocab, data, len(data), arr, n_max, add_special, parse_special)
        return list(arr[:n])

    def count_tokens(self, text: str, *, parse_special: bool = False) -> int:
        """How many tokens ``text`` makes, without building their list (a 300-page document's 320K ids as Python
        ints would hold the GIL for tens of milliseconds). llama.cpp answers a zero-room call with -count."""
        data = text.encode("utf-8", "replace")
        if not data:
            return 0
        n = int(C.llama_tokenize(self.vocab, data, len(data), None, 0, False, parse_special))
        return -n if n < 0 else n

    def piece(self, token: int, *, special: bool = True) -> bytes:
        """The bytes of one token (special tokens rendered when ``special``)."""
        buf = self._piece_buf
        n = C.llama_token_to_piece(self.vocab, token, buf, 256, 0, special)
        if n < 0:
            big = ctypes.create_string_buffer(-n)
            n = C.llama_token_to_piece(self.vocab, token, big, -n, 0, special)
            return big.raw[:n]
        return buf.raw[:n]

    def token_facts(self, token: int) -> tuple[bytes, bool, bool]:
        """(piece with special tokens rendered, is end-of-generation, is control), cached."""
        facts = self._facts.get(token)
        if facts is None:
            facts = (self.piece(token, special=True), self.is_eog(token), self.is_control(token))
            self._facts[token] = facts
        return facts

    def find_token(self, text: str) -> int | None:
        """The id of a token whose text is exactly ``text``, if the vocabulary has one."""
        ids = self.tokenize(text, add_special=False, parse_special=True)
        if len(ids) == 1 and self.token_text(ids[0]) == text:
            return ids[0]
        return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            C.llama_model_free(self.ptr)


def _offloaded_layers(lines: list[str]) -> int:
    for line in lines:
        # "load_tensors: offloaded 29/29 layers to GPU"
        if "offloaded" in line and "layers to GPU" in line:
            try:
                return int(line.split("offloaded", 1)[1].split("/", 1)[0].strip())
            except ValueError:
                return 0
    return 0


def _explain_load_failure(path: Path, lines: list[str]) -> str:
    text = "\n".join(lines)
    for line in lines:
        if "unknown model architecture" in line:
            arch = line.split("unknown model architecture", 1)[1].strip(" :'\"\n")
            return f"{path.name}: this version of llama.cpp cannot run models of architecture '{arch}'."
    if "failed to allocate" in text or "unable to allocate" in text or "out of memory" in text.lower():
        return f"Not enough memory to load {path.name}: try a smaller model or quantization, or fewer GPU layers."
    errors = [ln.strip() for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    detail = errors[-1] if errors else "llama.cpp gave no reason"
    return f"Could not load {path.name}: {detail}"


# -- context ----------------------------------------------------------------------


class NativeContext:
    """A llama.cpp context (KV cache + compute buffers) for one sequence."""

    def __init__(
        self,
        model: NativeModel,
        *,
        n_ctx: int,
        n_batch: int,
        n_threads: int,
        n_threads_batch: int,
        swa_full: bool = False,
    ) -> None:
        params = C.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = 1
        params.n_threads = n_threads
        params.n_threads_batch = n_threads_batch
        params.swa_full = swa_full
        params.no_perf = True
        with capture_native_log() as lines:
            ptr = C.llama_init_from_model(model.ptr, params)
        if not ptr:
            detail = next((ln for ln in reversed(lines) if "failed" in ln or "error" in ln.lower()), "")
            raise ModelLoadError(
                f"Could not create a context of {n_ctx:,} tokens"
                + (f": {detail.strip()}" if detail else " (not enough memory?)")
            )
        self.ptr = ptr
        self.model = model
        self.n_ctx = int(C.llama_n_ctx(ptr))
        self.n_batch = n_batch
        self.memory = C.llama_get_memory(ptr)
        self._one = (C.llama_token * 1)()
        # The one-token batch points at self._one; building it once saves a
        # struct round-trip through ctypes on every generated token.
        self._one_batch = C.llama_batch_get_one(self._one, 1)
        self._decode = C.llama_decode
        self._closed = False

    def decode(self, tokens: list[int]) -> None:
        """Evaluate ``tokens`` after what the cache holds (logits for the last one)."""
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            arr = (C.llama_token * len(chunk))(*chunk)
            rc = C.llama_decode(self.ptr, C.llama_batch_get_one(arr, len(chunk)))
            if rc != 0:
                raise ModelLoadError(f"llama.cpp failed to evaluate the prompt (code {rc}).")

    def decode_one(self, token: int) -> int:
        self._one[0] = token
        return int(self._decode(self.ptr, self._one_batch))

    def pos_min(self) -> int:
        """The lowest position in the cache (a default-size sliding-window cache forgets older ones), -1 when empty."""
        return int(C.llama_memory_seq_pos_min(self.memory, 0))

    def pos_max(self) -> int:
        """The highest position in the cache, -1 when empty."""
        return int(C.llama_memory_seq_pos_max(self.memory, 0))

    def truncate(self, n_keep: int) -> bool:
        """Drop every cached position from ``n_keep`` on; False if the cache cannot."""
        return bool(C.llama_memory_seq_rm(self.memory, 0, n_keep, -1))

    def clear(self) -> None:
        C.llama_memory_clear(self.memory, True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            C.llama_free(self.ptr)


# -- sampling ---------------------------------------------------------------------


class Sampler:
    """A llama.cpp sampler chain: grammar → penalties → top-k → top-p → min-p → temperature → draw."""

    def __init__(
        self,
        *,
        temperature: float,
        top_p: float,
        top_k: int,
        min_p: float,
        repeat_penalty: float,
        seed: int,
        grammar: str | None = None,
        model: NativeModel | None = None,
    ) -> None:
        chain = C.llama_sampler_chain_init(C.llama_sampler_chain_default_params())
        if grammar is not None:
            if model is None:
                C.llama_sampler_free(chain)
                raise ValueError("a grammar needs the model's vocabulary")
            with capture_native_log() as lines:
                constrained = C.llama_sampler_init_grammar(model.vocab, grammar.encode("utf-8"), b"root")
            if not constrained:
                C.llama_sampler_free(chain)
                detail = next((line.strip() for line in lines if "parse" in line or "error" in line), "")
                raise RequestError(f"The grammar could not be used{': ' + detail if detail else ''}.")
            C.llama_sampler_chain_add(chain, constrained)  # the chain owns it from here
        if repeat_penalty != 1.0:
            if model is None:
                C.llama_sampler_free(chain)
                raise ValueError("a repeat penalty needs the model's vocabulary")
            penalties = C.llama_sampler_init_penalties(model.n_vocab, 64, repeat_penalty, 0.0, 0.0)
            C.llama_sampler_chain_add(chain, penalties)
        if temperature <= 0.0:
            C.llama_sampler_chain_add(chain, C.llama_sampler_init_greedy())
        else:
            if top_k > 0:
                C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_k(top_k))
            if 0.0 < top_p < 1.0:
                C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_p(top_p, 1))
            if min_p > 0.0:
                C.llama_sampler_chain_add(chain, C.llama_sampler_init_min_p(min_p, 1))
            C.llama_sampler_chain_add(chain, C.llama_sampler_init_temp(temperature))
            C.llama_sampler_chain_add(chain, C.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        self.ptr = chain
        self._closed = False

    def sample(self, ctx: NativeContext) -> int:
        """Draw the next token from the last logits (and accept it into the chain)."""
        return int(C.llama_sampler_sample(self.ptr, ctx.ptr, -1))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            C.llama_sampler_free(self.ptr)
