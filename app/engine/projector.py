"""The vision/audio projector (mmproj) through libmtmd: prompts with media become chunks.

``Projector`` owns an ``mtmd_context``; ``media_run`` turns a picture or an
audio clip into chunks — the model's begin/end text tokens around a media run
tagged with the content hash of its picture or clip — preparing each only once
(``app.engine.media_chunks`` keeps them). Encoding a media chunk returns its
embeddings as a NumPy array so the session can keep them and decode them again
without re-encoding.
"""

from __future__ import annotations

import ctypes
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import llama_cpp as C
import numpy as np
from llama_cpp import mtmd_cpp as M

from app.engine.errors import ModelFileError, ModelLoadError, RequestError
from app.engine.gguf_file import GGUFInfo, projector_width, read_gguf_info
from app.engine.media_chunks import AUDIO, IMAGE, TEXT, Chunk, Chunks, MediaChunkCache, MediaPayload, MediaRun
from app.engine.media_guard import VisionGeometry, check_clip, fit_picture
from app.engine.native import NativeContext, NativeModel
from app.engine.native_log import _LOG_CALLBACK, capture_native_log
from app.media import AudioClip, ImageInput

log = logging.getLogger(__name__)


#: libmtmd's media marker is drawn at random for each projector, and only ever sent alone (see
#: ``tokenize_media``): no prompt text reaches libmtmd, so no text can forge or displace a picture.
def _new_marker() -> str:
    return f"<__media_{secrets.token_hex(16)}__>"


#: Gemma 4's vision budgets, tokens per image (DESIGN.md §2).
MIN_VISION_BUDGET, MAX_VISION_BUDGET, DEFAULT_VISION_BUDGET = 70, 1120, 280

__all__ = [
    "AUDIO",
    "IMAGE",
    "TEXT",
    "Chunk",
    "Chunks",
    "MediaPayload",
    "MediaRun",
    "Projector",
    "check_projector_file",
]


def check_projector_file(path: Path, model_name: str, model_width: int) -> GGUFInfo:
    """A clear message for a projector that is missing, not one, or not this model's."""
    info = read_gguf_info(path)
    if not info.is_projector:
        raise ModelFileError(
            f"{path.name} is not a vision/audio projector (mmproj) file; it is a '{info.architecture}' model."
        )
    width = projector_width(info)
    if width is not None and width != model_width:
        raise ModelFileError(
            f"{path.name} does not belong to {model_name}: it feeds {width}-wide embeddings and "
            f"the model is {model_width} wide. Use the mmproj file released with this model."
        )
    return info


class Projector:
    """An ``mtmd_context`` bound to a loaded model and a context."""

    def __init__(
        self,
        path: Path,
        model: NativeModel,
        *,
        n_threads: int,
        vision_budget: int = DEFAULT_VISION_BUDGET,
        use_gpu: bool = True,
        info: GGUFInfo | None = None,
    ) -> None:
        M.mtmd_helper_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        self.path = path
        self.vision_budget = max(MIN_VISION_BUDGET, min(MAX_VISION_BUDGET, vision_budget))
        params = M.mtmd_context_params_default()
        params.use_gpu = use_gpu
        params.print_timings = False
        params.n_threads = n_threads
        params.warmup = False
        self._marker = _new_marker().encode()
        params.media_marker = self._marker
        params.image_min_tokens = min(MIN_VISION_BUDGET, self.vision_budget)
        params.image_max_tokens = self.vision_budget
        self.geometry = VisionGeometry.from_gguf(
            info if info is not None else read_gguf_info(path), params.image_min_tokens, params.image_max_tokens
        )
        with capture_native_log() as lines:
            ptr = M.mtmd_init_from_file(str(path).encode("utf-8"), model.ptr, params)
        if not ptr:
            detail = next((ln.strip() for ln in reversed(lines) if "error" in ln.lower() or "mismatch" in ln), "")
            raise ModelLoadError(f"Could not load the projector {path.name}" + (f": {detail}" if detail else "."))
        self.ptr = ptr
        self.vision = bool(M.mtmd_support_vision(ptr))
        self.audio = bool(M.mtmd_support_audio(ptr))
        self.audio_rate = int(M.mtmd_get_audio_sample_rate(ptr)) if self.audio else 0
        self.n_embd = int(C.llama_model_n_embd_inp(model.ptr))
        self._closed = False
        #: Each picture and clip is prepared by libmtmd once; follow-up turns plan from what is kept here.
        self.media = MediaChunkCache(self.tokenize_media, self.prepared_bytes)

    def media_key(self, payload: MediaPayload) -> str:
        """The id a media chunk carries: content hash, plus the budget for images."""
        if isinstance(payload, ImageInput):
            return f"{payload.media_id}@{self.vision_budget}"
        return payload.media_id

    def media_run(self, payload: MediaPayload) -> MediaRun:
        """One picture or clip of a prompt, prepared by libmtmd only the first time this projector sees it."""
        return self.media.run(payload, self.media_key(payload))  # content hash (+ the budget a picture was cut to)

    def prepared_bytes(self, payload: MediaPayload) -> int:
        """About what libmtmd keeps of a prepared picture (float32 RGB at the resized size) or clip."""
        if isinstance(payload, AudioClip):
            return int(payload.samples.size) * 4  # its mel spectrogram is a little smaller
        height, width = (int(n) for n in payload.pixels.shape[:2])
        if self.geometry is not None:
            width, height = self.geometry.resized(width, height)
        return width * height * 3 * 4

    def tokenize_media(self, payload: MediaPayload, on_free: Callable[[], None] | None = None) -> Chunks:
        """One picture or clip as chunks: the model's own begin/end tokens around the media run.

        The prompt given to libmtmd is the marker alone; the text around it is tokenized by the planner.
        Call ``media_run`` instead: it keeps what this prepares.
        """
        bitmap = self._bitmap(payload)
        try:
            text = M.mtmd_input_text(self._marker, len(self._marker), False, True)
            chunks_ptr = M.mtmd_input_chunks_init()
            arr = (M.mtmd_bitmap_p_ctypes * 1)(bitmap)
            with capture_native_log() as lines:
                rc = M.mtmd_tokenize(self.ptr, chunks_ptr, ctypes.byref(text), arr, 1)
            if rc != 0:
                M.mtmd_input_chunks_free(chunks_ptr)
                detail = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
                raise RequestError(
                    f"The model could not take {payload.source_name or 'an attachment'}"
                    + (f" ({detail})." if detail else f" (libmtmd error {rc}).")
                )
            return Chunks(chunks_ptr, on_free)
        finally:
            M.mtmd_bitmap_free(bitmap)

    def _bitmap(self, payload: MediaPayload) -> M.mtmd_bitmap_p:
        """A libmtmd bitmap of the payload (libmtmd copies the data), tagged with its content id."""
        if isinstance(payload, ImageInput):
            pixels = fit_picture(payload, self.geometry)
            data = pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
            bmp = M.mtmd_bitmap_init(pixels.shape[1], pixels.shape[0], data)
        else:
            samples = check_clip(payload)
            bmp = M.mtmd_bitmap_init_from_audio(len(samples), samples.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if not bmp:
            raise RequestError(f"Could not prepare {payload.source_name or 'an attachment'} for the model.")
        M.mtmd_bitmap_set_id(bmp, self.media_key(payload).encode())
        bitmap: M.mtmd_bitmap_p = bmp
        return bitmap

    def encode(self, chunks: MediaRun | Chunks, chunk: Chunk) -> np.ndarray:
        """Run the encoder on a media chunk; returns its embeddings (n_tokens × n_embd)."""
        rc = M.mtmd_encode_chunk(self.ptr, chunks.raw(chunk))
        if rc != 0:
            raise RequestError(f"The projector failed to encode an {chunk.kind} (error {rc}).")
        out = M.mtmd_get_output_embd(self.ptr)
        n = chunk.n_tokens * self.n_embd
        return np.ctypeslib.as_array(out, shape=(n,)).copy()

    def decode(self, ctx: NativeContext, chunks: MediaRun | Chunks, chunk: Chunk, embd: np.ndarray, n_past: int) -> int:
        """Feed a media chunk's embeddings into the context at ``n_past``; returns the new n_past."""
        raw = chunks.raw(chunk)
        if chunk.n_tokens > ctx.n_batch and M.mtmd_decode_use_non_causal(self.ptr, raw):
            # llama.cpp would abort the whole process on a split non-causal batch.
            raise RequestError(
                f"This {chunk.kind} needs {chunk.n_tokens} tokens in one batch but the context takes "
                f"{ctx.n_batch}; lower the vision budget or reload the model."
            )
        new_n_past = C.llama_pos(0)
        rc = M.mtmd_helper_decode_image_chunk(
            self.ptr,
            ctx.ptr,
            raw,
            embd.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            n_past,
            0,
            ctx.n_batch,
            ctypes.byref(new_n_past),
            M.mtmd_helper_post_decode_callback(),
            None,
        )
        if rc != 0:
            raise RequestError(f"llama.cpp failed to take in an {chunk.kind} (error {rc}).")
        return int(new_n_past.value)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.media.close()  # plans still open keep their lists until they close (freeing needs no context)
            M.mtmd_free(self.ptr)
