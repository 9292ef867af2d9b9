"""Splits Gemma 4's streamed output into thinking, answer and tool-call events.

Gemma 4 writes its reasoning as ``<|channel>thought\\n…<channel|>`` before the
answer, and tool calls as ``<|tool_call>call:NAME{…}<tool_call|>``. Tokens
arrive as text pieces (special tokens rendered), and a marker may be split
across pieces, so the parser holds back any tail that could still become a
marker. It is plain Python: no llama.cpp, no Qt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.engine.tool_calls import ToolCall, ToolCallError, parse_tool_call

CHANNEL_OPEN = "<|channel>"
CHANNEL_CLOSE = "<channel|>"
TOOL_CALL_OPEN = "<|tool_call>"
TOOL_CALL_CLOSE = "<tool_call|>"
TOOL_RESPONSE_CLOSE = "<tool_response|>"

#: Every marker the parser acts on; a piece ending in a prefix of one is held back.
MARKERS: tuple[str, ...] = (CHANNEL_OPEN, CHANNEL_CLOSE, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)

#: The name of the channel Gemma 4 uses for its reasoning.
THOUGHT_CHANNEL = "thought"


class Kind(enum.Enum):
    """What a piece of parsed output is."""

    THINKING = "thinking"
    ANSWER = "answer"
    TOOL_CALL = "tool_call"


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed event: text of a kind, or a whole tool call."""

    kind: Kind
    text: str = ""  # for a tool call: the raw text between its markers
    call: ToolCall | None = None  # the parsed call, None when it is malformed
    error: str = ""  # why a malformed call could not be read (one line)


class _State(enum.Enum):
    ANSWER = "answer"
    CHANNEL_NAME = "channel_name"  # between <|channel> and the newline after its name
    THOUGHT = "thought"
    OTHER_CHANNEL = "other_channel"  # a channel we do not show (not "thought")
    TOOL_CALL = "tool_call"


def _held_back_length(text: str) -> int:
    """Length of the longest tail of ``text`` that is a proper prefix of a marker."""
    if "<" not in text[-_LONGEST_MARKER:]:
        return 0
    longest = 0
    for marker in MARKERS:
        for size in range(min(len(marker) - 1, len(text)), longest, -1):
            if text.endswith(marker[:size]):
                longest = size
                break
    return longest


_PLAIN_STATES = frozenset({_State.ANSWER, _State.THOUGHT, _State.OTHER_CHANNEL})
_LONGEST_MARKER = max(len(m) for m in MARKERS)


class StreamParser:
    """Incremental parser; feed it pieces, read events back.

    ``feed`` returns the events that are certain so far; ``finish`` flushes what
    is held back when the stream ends (an unclosed thought is still thinking;
    an unclosed tool call is returned as answer text so nothing is lost).
    """

    def __init__(self) -> None:
        self._state = _State.ANSWER
        self._buffer = ""
        self._channel_name = ""
        self._tool_text = ""
        self._answer_started = False
        self._thought_started = False
        self.saw_thought = False

    def prime(self, prompt_tail: str) -> None:
        """Start from where the prompt leaves off (e.g. a template that pre-opens the thought channel).

        ``prompt_tail`` is the rendered prompt after the model turn's header; a
        closed channel leaves the parser in the answer, an open one in the thought.
        """
        self.feed(prompt_tail)
        if self._state is _State.ANSWER:
            self._buffer = ""
        self._answer_started = False
        self._thought_started = False
        self.saw_thought = False

    @property
    def in_thought(self) -> bool:
        """True while the model is inside its thought channel."""
        return self._state in (_State.THOUGHT, _State.CHANNEL_NAME)

    def feed(self, piece: str) -> list[Parsed]:
        if not self._buffer and "<" not in piece and self._state in _PLAIN_STATES:
            # Fast path (most tokens): no marker can start in this piece.
            out: list[Parsed] = []
            self._emit_text(out, piece)
            return out
        self._buffer += piece
        out = []
        while self._buffer:
            if not self._step(out):
                break
        return out

    def finish(self) -> list[Parsed]:
        out: list[Parsed] = []
        rest, self._buffer = self._buffer, ""
        if self._state is _State.CHANNEL_NAME:
            # "<|channel>thou" and then the end: nothing worth showing.
            return out
        if self._state is _State.TOOL_CALL:
            self._emit(out, Kind.ANSWER, TOOL_CALL_OPEN + self._tool_text + rest)
            self._tool_text = ""
        elif self._state is _State.THOUGHT:
            self._emit(out, Kind.THINKING, rest)
        elif self._state is _State.ANSWER:
            self._emit(out, Kind.ANSWER, rest)
        return out

    # -- internals -------------------------------------------------------

    def _step(self, out: list[Parsed]) -> bool:
        """Consume as much of the buffer as is certain; False when waiting for more."""
        state = self._state
        if state is _State.CHANNEL_NAME:
            newline = self._buffer.find("\n")
            close = self._buffer.find(CHANNEL_CLOSE)
            if close != -1 and (newline == -1 or close < newline):
                # "<|channel>thought<channel|>": an empty channel with no newline.
                self._channel_name += self._buffer[:close]
                self._buffer = self._buffer[close + len(CHANNEL_CLOSE) :]
                self._close_channel()
                return True
            if newline == -1:
                if len(self._buffer) > 64:  # not a channel header after all
                    self._channel_name += self._buffer
                    self._buffer = ""
                    self._open_channel()
                return False
            self._channel_name += self._buffer[:newline]
            self._buffer = self._buffer[newline + 1 :]
            self._open_channel()
            return True

        if state is _State.TOOL_CALL:
            end = self._buffer.find(TOOL_CALL_CLOSE)
            if end == -1:
                keep = _held_back_length(self._buffer)
                cut = len(self._buffer) - keep
                self._tool_text += self._buffer[:cut]
                self._buffer = self._buffer[cut:]
                return False
            self._tool_text += self._buffer[:end]
            self._buffer = self._buffer[end + len(TOOL_CALL_CLOSE) :]
            out.append(_tool_call(self._tool_text))
            self._tool_text = ""
            self._state = _State.ANSWER
            return True

        # ANSWER, THOUGHT or OTHER_CHANNEL: look for the next marker.
        index, marker = _find_first_marker(self._buffer)
        if marker is None:
            keep = _held_back_length(self._buffer)
            cut = len(self._buffer) - keep
            self._emit_text(out, self._buffer[:cut])
            self._buffer = self._buffer[cut:]
            return False
        self._emit_text(out, self._buffer[:index])
        self._buffer = self._buffer[index + len(marker) :]
        if marker == CHANNEL_OPEN:
            self._state = _State.CHANNEL_NAME
            self._channel_name = ""
        elif marker == CHANNEL_CLOSE:
            self._close_channel()
        elif marker == TOOL_CALL_OPEN:
            self._state = _State.TOOL_CALL
            self._tool_text = ""
        else:  # a stray close of a tool call: drop it
            pass
        return True

    def _open_channel(self) -> None:
        name = self._channel_name.strip()
        if name == THOUGHT_CHANNEL or name == "":
            self._state = _State.THOUGHT
            self.saw_thought = True
            self._thought_started = False
        else:
            self._state = _State.OTHER_CHANNEL

    def _close_channel(self) -> None:
        if self._channel_name.strip() in (THOUGHT_CHANNEL, ""):
            self.saw_thought = True
        self._state = _State.ANSWER
        self._channel_name = ""

    def _emit_text(self, out: list[Parsed], text: str) -> None:
        if self._state is _State.THOUGHT:
            self._emit(out, Kind.THINKING, text)
        elif self._state is _State.ANSWER:
            self._emit(out, Kind.ANSWER, text)
        # OTHER_CHANNEL text is not shown.

    def _emit(self, out: list[Parsed], kind: Kind, text: str) -> None:
        if kind is Kind.ANSWER and not self._answer_started:
            text = text.lstrip()  # the answer starts after "<channel|>" and a newline or two
            if not text:
                return
            self._answer_started = True
        if kind is Kind.THINKING and not self._thought_started:
            text = text.lstrip("\n")
            if not text:
                return
            self._thought_started = True
        if not text:
            return
        if out and out[-1].kind is kind and kind is not Kind.TOOL_CALL:
            out[-1] = Parsed(kind, out[-1].text + text)
        else:
            out.append(Parsed(kind, text))


def _find_first_marker(text: str) -> tuple[int, str | None]:
    best_index, best_marker = -1, None
    for marker in MARKERS:
        index = text.find(marker)
        if index != -1 and (best_index == -1 or index < best_index):
            best_index, best_marker = index, marker
    return best_index, best_marker


def _tool_call(body: str) -> Parsed:
    """``call:NAME{args}`` → a tool-call event with the parsed call, or with the reason it is malformed."""
    try:
        return Parsed(Kind.TOOL_CALL, body, call=parse_tool_call(body))
    except ToolCallError as exc:
        return Parsed(Kind.TOOL_CALL, body, error=str(exc))
