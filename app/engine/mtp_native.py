"""llama.cpp's multi-token-prediction (MTP) calls, over ctypes: the assistant's context and its one-token decode.

llama-cpp-python's bindings carry the structs (``ctx_type``, ``ctx_other``) and the extended batch API, but
not the staging functions of ``src/llama-ext.h`` that move the hidden state between the two contexts; those
are declared here against the same loaded ``libllama`` by their exported (C++-mangled) names, and missing
ones make MTP unavailable, with a message, rather than failing at import.

A Gemma 4 assistant's context owns no KV cache of its own: llama.cpp maps its layers onto the target
context's last two layers (``ctx_other``), so the target must outlive it and the assistant never writes KV.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

import llama_cpp as C

from app.engine.errors import ModelLoadError
from app.engine.native import NativeContext, NativeModel
from app.engine.native_log import capture_native_log

__all__ = ["AssistantContext", "StateRow", "mtp_available", "set_target_states"]

log = logging.getLogger(__name__)

_FloatPtr = ctypes.POINTER(ctypes.c_float)


#: Each staging function under the names a build exports it by: ``llama-ext.h`` is a C++ header without
#: ``extern "C"``, so the symbols are C++-mangled (Itanium ABI on Linux and macOS, MSVC on Windows).
_SYMBOLS: dict[str, tuple[str, ...]] = {
    "set": (
        "llama_set_embeddings_nextn",
        "_Z26llama_set_embeddings_nextnP13llama_contextbb",
        "?llama_set_embeddings_nextn@@YAXPEAUllama_context@@_N1@Z",
    ),
    "ith": (
        "llama_get_embeddings_nextn_ith",
        "_Z30llama_get_embeddings_nextn_ithP13llama_contexti",
        "?llama_get_embeddings_nextn_ith@@YAPEAMPEAUllama_context@@H@Z",
    ),
}


def _symbol(lib: ctypes.CDLL, names: tuple[str, ...]) -> Any:
    for name in names:
        try:
            return getattr(lib, name)
        except AttributeError:
            continue
    return None


def _declare() -> dict[str, Any] | None:
    """The staging functions from ``libllama``, or None when this build does not export them."""
    lib = C.llama_cpp._lib
    set_nextn = _symbol(lib, _SYMBOLS["set"])
    get_nextn_ith = _symbol(lib, _SYMBOLS["ith"])
    if set_nextn is None or get_nextn_ith is None:
        return None
    set_nextn.argtypes = [ctypes.c_void_p, ctypes.c_bool, ctypes.c_bool]
    set_nextn.restype = None
    get_nextn_ith.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    get_nextn_ith.restype = _FloatPtr
    return {"set": set_nextn, "ith": get_nextn_ith}


_FN = _declare()


def mtp_available() -> bool:
    """Whether the loaded llama.cpp exports what MTP drafting needs."""
    return _FN is not None and hasattr(C, "llama_batch_ext_init") and hasattr(C, "llama_process")


def _fn(name: str) -> Any:
    if _FN is None:
        raise ModelLoadError("This build of llama.cpp has no MTP support (llama_set_embeddings_nextn is missing).")
    return _FN[name]


def set_target_states(ctx: NativeContext, on: bool) -> None:
    """Make the target context keep its last hidden state (the LM head's input) for every token that has logits.

    Masked mode: one row per output, indexed like ``llama_get_logits_ith`` (``-1``: the last). Gemma 4 then
    still skips the rows nobody reads, so the prompt costs what it did.
    """
    _fn("set")(ctx.ptr, on, True)


class StateRow:
    """One hidden-state row (the target's width), copied out of llama.cpp so the next decode cannot overwrite it."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.buf = (ctypes.c_float * width)()
        self.valid = False

    def load(self, ctx_ptr: Any, index: int) -> bool:
        """Copy row ``index`` of ``ctx``'s last decode; False (and invalid) when llama.cpp has no such row."""
        src = _fn("ith")(ctx_ptr, index)
        self.valid = bool(src)
        if self.valid:
            ctypes.memmove(self.buf, src, self.width * ctypes.sizeof(ctypes.c_float))
        return self.valid

    def embd(self) -> Any:
        return C.llama_embd(ctypes.cast(self.buf, _FloatPtr), 1, self.width)


class AssistantContext:
    """An MTP context of the assistant model, bound to the target's context (whose KV cache it reads)."""

    def __init__(self, model: NativeModel, target: NativeContext, *, n_threads: int, n_threads_batch: int) -> None:
        if not mtp_available():
            raise ModelLoadError("This build of llama.cpp cannot run an MTP assistant.")
        params = C.llama_context_default_params()
        params.n_ctx = target.n_ctx  # llama.cpp sizes the shared cache view from the target's anyway
        params.n_batch = 8
        params.n_ubatch = 8
        params.n_seq_max = 1
        params.n_threads = n_threads
        params.n_threads_batch = n_threads_batch
        params.no_perf = True
        params.ctx_type = C.LLAMA_CONTEXT_TYPE_MTP
        params.ctx_other = target.ptr
        with capture_native_log() as lines:
            ptr = C.llama_init_from_model(model.ptr, params)
        if not ptr:
            detail = next((ln.strip() for ln in reversed(lines) if "failed" in ln or "error" in ln.lower()), "")
            raise ModelLoadError("Could not start the MTP assistant" + (f": {detail}" if detail else "."))
        self.ptr = ptr
        self.model = model
        self.target = target
        self.n_vocab = model.n_vocab
        self.width = int(C.llama_model_n_embd_out(model.ptr))
        _fn("set")(ptr, True, True)
        self._batch = C.llama_batch_ext_init(ptr)
        self._pos = (C.llama_pos * 1)()
        self._closed = False

    def step(self, token: int, pos: int, state: StateRow, out: StateRow) -> Any:
        """Decode ``token`` at ``pos`` with the hidden state ``state``; returns its logits (n_vocab floats) and
        leaves the next hidden state in ``out``. None when llama.cpp refuses the step."""
        if not 0 <= token < self.n_vocab or not state.valid:
            return None
        batch = self._batch
        C.llama_batch_ext_clear(batch)
        idx = C.llama_batch_ext_add_token(batch, 0, token)
        if idx < 0:
            return None
        self._pos[0] = pos
        if not (
            C.llama_batch_ext_set_pos(batch, idx, self._pos)
            and C.llama_batch_ext_set_embd_token(batch, idx, state.embd())
            and C.llama_batch_ext_set_output_logits(batch, idx, True)
        ):
            return None
        rc = C.llama_process(self.ptr, C.LLAMA_PROCESS_TYPE_DECODE, batch)
        if rc != 0:
            log.warning("MTP draft step failed (llama_process returned %d)", rc)
            return None
        logits = C.llama_get_logits_ith(self.ptr, 0)
        if not logits or not out.load(self.ptr, 0):
            return None
        return logits

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            C.llama_batch_ext_free(self._batch)
            C.llama_free(self.ptr)
