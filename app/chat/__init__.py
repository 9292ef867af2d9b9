"""The conversation core: a stored conversation → the engine's request → the streamed answer → the store.

No Qt: the window (``app.ui.chat.controller``) and the command line (``app.cli.chat``) are two thin clients
of it. ``ChatSession`` holds the open conversation (send, regenerate, edit, switch branches), ``ChatOptions``
how answers are made, ``AnswerRecorder`` one answer as it streams, ``PayloadCache`` the decoded attachments;
``titles`` has the model title a new chat.
"""

from __future__ import annotations

from app.chat.answer import SAVE_EVERY_S, AnswerRecorder, AnswerUpdate, Ending
from app.chat.conversation import ChatError, ChatSession, ChatSetup, Turn
from app.chat.payloads import PayloadCache
from app.chat.request import ChatOptions, build_request, sent_history
from app.chat.titles import clean_title, title_request, wants_title

__all__ = [
    "SAVE_EVERY_S",
    "AnswerRecorder",
    "AnswerUpdate",
    "ChatError",
    "ChatOptions",
    "ChatSession",
    "ChatSetup",
    "Ending",
    "PayloadCache",
    "Turn",
    "build_request",
    "clean_title",
    "sent_history",
    "title_request",
    "wants_title",
]
