"""The conversation: a scrolling column of messages that follows a streaming answer.

The view sticks to the bottom while an answer grows, unless the user scrolled
up to read; scrolling back to the bottom (or the "Jump to latest" button)
re-attaches it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from app.render.markdown import LIGHT, Theme
from app.ui.accessible import accessible_role
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.starters import StarterPrompts

_BOTTOM_SLACK = 48  # px: "at the bottom" even if a few pixels short


@accessible_role(QAccessible.Role.Pane)  # focusable, to scroll: a panel, not a filler
class ChatView(QScrollArea):
    """Shows the active branch of one conversation."""

    # Signals
    followingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatView")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.theme: Theme = LIGHT
        self._inner = QWidget()
        self._inner.setObjectName("ChatColumn")
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(16, 12, 16, 12)
        self._layout.setSpacing(16)  # room between turns
        self._empty = QLabel("Start a conversation: type below, drop a picture, or paste a screenshot.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setEnabled(False)
        self._empty.setWordWrap(True)
        self._empty.setContentsMargins(0, 60, 0, 0)  # the empty chat's words sit lower, nearer the eye
        self._layout.addWidget(self._empty)
        self.starters = StarterPrompts(self._inner)  # matched to the model by the window
        self._layout.addWidget(self.starters, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.messages: list[MessageWidget] = []
        self._following = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        self.jump_button = QPushButton("↓ Jump to latest", self)
        self.jump_button.setToolTip("Scroll to the newest message and follow the answer (End)")
        self.jump_button.setAccessibleName("Jump to latest")
        self.jump_button.clicked.connect(self.scroll_to_bottom)
        self.jump_button.hide()

    # -- messages -----------------------------------------------------------------------

    def clear(self) -> None:
        for widget in self.messages:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self.messages.clear()
        self._empty.show()
        self.starters.show()
        self._following = True

    def add_message(self, role: str, title: str) -> MessageWidget:
        widget = MessageWidget(role, title, self.theme, self._inner)
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self.messages.append(widget)
        self._empty.hide()
        self.starters.hide()
        widget.heightChanged.connect(self._on_content_grew)
        return widget

    def remove_from(self, index: int) -> None:
        """Drop the messages from ``index`` on (a branch switch or a re-send re-fills them)."""
        for widget in self.messages[index:]:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        del self.messages[index:]
        self._empty.setVisible(not self.messages)
        self.starters.setVisible(not self.messages)

    # -- following the bottom ---------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._following

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - _BOTTOM_SLACK

    def scroll_to_bottom(self) -> None:
        self._set_following(True)
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_scrolled(self, _value: int) -> None:
        if self._adjusting:
            return
        self._set_following(self.at_bottom())

    _adjusting = False

    def _on_range_changed(self, _min: int, maximum: int) -> None:
        if self._following:
            self._adjusting = True
            self.verticalScrollBar().setValue(maximum)
            self._adjusting = False

    def _on_content_grew(self) -> None:
        if self._following:
            QTimer.singleShot(0, self, self._stick)  # with a receiver: dropped if the view is deleted first

    def _stick(self) -> None:
        if self._following:
            self._adjusting = True
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())
            self._adjusting = False

    def _set_following(self, following: bool) -> None:
        if following != self._following:
            self._following = following
            self.followingChanged.emit(following)
        self.jump_button.setVisible(not following and bool(self.messages))
        self._place_jump_button()

    def _place_jump_button(self) -> None:
        hint = self.jump_button.sizeHint()
        self.jump_button.resize(hint)
        self.jump_button.move(
            (self.viewport().width() - hint.width()) // 2, self.viewport().height() - hint.height() - 8
        )

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self._place_jump_button()
