"""ggml's C functions — the backend registry, devices, buffer types — from the very copy of ggml that llama.cpp uses.

llama-cpp-python's wheel holds ``libggml.so``, ``libggml.so.0`` and ``libggml.so.0.x`` as separate files (a
wheel cannot carry symbolic links). ``libllama`` loads ``libggml.so.0``; ``llama_cpp._ggml`` opens
``libggml.so`` by path, which the dynamic loader treats as another library: a second ggml with its own
backend registry. A CPU module loaded into that second registry is invisible to llama.cpp ("no backends are
loaded"), and a buffer type or a device taken from it belongs to the wrong copy. So ggml's functions are
looked up through libllama's own handle: ``dlsym`` on a library's handle also searches the libraries it
depends on, i.e. exactly the ggml and ggml-base that llama.cpp runs on. Windows has one ``ggml.dll`` and no
such lookup: there ``llama_cpp._ggml`` is that one copy.
"""

from __future__ import annotations

import ctypes
import functools


def _through_llama(symbol: str) -> ctypes.CDLL | None:
    from llama_cpp import llama_cpp

    lib: ctypes.CDLL = llama_cpp._lib
    try:
        getattr(lib, symbol)  # found through libllama's dependencies (ELF, Mach-O)
    except AttributeError:  # Windows: GetProcAddress looks in llama.dll alone; each ggml DLL is one copy there
        return None
    return lib


@functools.cache
def ggml() -> ctypes.CDLL:
    """libggml's functions (the backend registry: load, count, devices) as libllama links them."""
    from llama_cpp import _ggml

    lib: ctypes.CDLL = _through_llama("ggml_backend_reg_count") or _ggml.libggml
    return lib


@functools.cache
def ggml_base() -> ctypes.CDLL:
    """libggml-base's functions (devices, buffer types) as libllama links them."""
    lib = _through_llama("ggml_backend_dev_buffer_type")
    if lib is None:
        from llama_cpp import _ctypes_extensions, _ggml

        lib = _ctypes_extensions.load_shared_library("ggml-base", _ggml.libggml_base_path)
    return lib
