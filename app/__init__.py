"""Gemma Desk: a local, multimodal Gemma 4 chat app."""

import os

__version__ = "0.1.0"

# numpy's BLAS (OpenBLAS) gets no thread pool of its own: set before anything imports numpy, which reads it once.
# OpenBLAS stops its pool before every fork() and waits for each pool thread to end; while products run on another
# thread, a pool thread can stay asleep and the fork waits forever. Qt WebEngine forks to start its helper
# processes, so opening a page preview while the machine's speed was being measured hung the whole app (found with
# gdb: the GUI thread in OpenBLAS's blas_thread_shutdown_, under fork, under libQt6WebEngineCore). The app does its
# heavy arithmetic in llama.cpp; the one multi-core BLAS use, the speed measurement, runs on threads of our own.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
