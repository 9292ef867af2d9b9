"""Gemma Desk: a local, multimodal Gemma 4 chat app."""

__version__ = "0.1.0"
