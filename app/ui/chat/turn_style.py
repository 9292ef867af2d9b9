"""How a chat turn looks: the tint of the user's bubble, the bubble's width, the model's avatar, the stats footer.

User turns are right-aligned bubbles tinted with the accent colour and as wide as their text (up to
``BUBBLE_SHARE`` of the column); model turns run the full width under a small avatar, "Gemma" and the model's
name. Each answer ends with a quiet footer: when it was written, how long the first token took, the speed and
the number of tokens.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QLabel, QLayout, QToolButton, QWidget

from app.ui.icons import set_icon

if TYPE_CHECKING:
    from app.ui.chat.message_widget import MessageWidget

#: The widest a user's bubble gets, as a share of the chat column.
BUBBLE_SHARE = 0.8
#: Padding inside the bubble (px).
BUBBLE_PAD = 12
#: The avatar's diameter (px).
AVATAR = 22


def mix(a: QColor, b: QColor, share: float) -> QColor:
    """``a`` with ``share`` of ``b`` blended in."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * share),
        round(a.green() + (b.green() - a.green()) * share),
        round(a.blue() + (b.blue() - a.blue()) * share),
    )


def bubble_colour(palette: QPalette) -> QColor:
    """The user's bubble: the window colour tinted with the accent (more in dark themes, where tints fade)."""
    window = palette.window().color()
    return mix(window, palette.highlight().color(), 0.22 if window.lightness() < 128 else 0.13)


def natural_width(doc: QTextDocument, limit: int) -> int:
    """How wide ``doc`` wants to be when it may take up to ``limit`` px (a short text: less)."""
    probe = doc.clone()
    probe.setTextWidth(max(1, limit))
    return math.ceil(probe.idealWidth())


def place_bubble(message: MessageWidget, header: QLayout) -> int:
    """Fit a user's message into a right-aligned bubble as wide as its content; returns where the bubble starts."""
    pad = BUBBLE_PAD
    limit = int(message.width() * BUBBLE_SHARE)
    if message.editor.isVisibleTo(message) or message.documents_box.isVisibleTo(message):
        need = limit
    else:
        text = natural_width(message.body.stable.document(), limit - 2 * pad - 4) + 6
        box = message.attachments_box
        media = box.sizeHint().width() if box.isVisibleTo(message) else 0
        need = max(text, media, header.sizeHint().width()) + 2 * pad
    left = max(0, message.width() - min(limit, need))
    layout = message.layout()
    if layout is not None:
        layout.setContentsMargins(left + pad, 8, pad, 8)
    return left


def paint_bubble(message: QWidget, left: int) -> None:
    """The bubble's tinted, rounded background from ``left`` to the right edge."""
    painter = QPainter(message)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(bubble_colour(message.palette()))
    painter.drawRoundedRect(QRectF(left, 0, message.width() - left, message.height()), 12, 12)
    painter.end()


def make_quiet(label: QLabel) -> None:
    """Small, muted text (the stats footer): the placeholder colour, which the theme keeps at WCAG AA; not a
    disabled look, which is too faint and which screen readers call unavailable."""
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    small = label.font()
    small.setPointSizeF(small.pointSizeF() * 0.88)
    label.setFont(small)


def avatar(parent: QWidget) -> QLabel:
    """The model's small round badge beside "Gemma" (coloured by the window stylesheet's ``#Avatar``)."""
    label = QLabel("✦", parent)
    label.setObjectName("Avatar")
    label.setFixedSize(AVATAR, AVATAR)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setAccessibleName("Gemma")
    return label


def title_labels(role: str, title: str, parent: QWidget) -> tuple[QLabel, QLabel | None]:
    """ "You" (muted) for the user; "Gemma" in bold and the model's name (muted) for answers. Plain text: the name
    comes from the model file. Their colours come from the window stylesheet, so they follow a theme change."""
    if role == "user":
        you = QLabel("You", parent)
        you.setObjectName("TurnMuted")
        return you, None
    gemma = QLabel("Gemma", parent)
    gemma.setTextFormat(Qt.TextFormat.PlainText)
    bold = gemma.font()
    bold.setBold(True)
    gemma.setFont(bold)
    name = title.strip()
    if not name or name == "Gemma":
        return gemma, None
    model = QLabel(name, parent)
    model.setTextFormat(Qt.TextFormat.PlainText)
    model.setObjectName("TurnMuted")
    return gemma, model


def clock_text(when: float, now: float | None = None) -> str:
    """ "14:32" today, "3 Dec 14:32" another day."""
    local = time.localtime(when)
    today = time.localtime(time.time() if now is None else now)
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return f"{local.tm_mday} {time.strftime('%b %H:%M', local)}"


def stats_line(stats: dict[str, object], when: float | None = None) -> str:
    """ "14:32 · 1.20 s to first token · 38.0 tok/s · 412 tokens" (the parts that are known)."""
    parts = [clock_text(when)] if when else []
    ttft = stats.get("ttft_s")
    if isinstance(ttft, int | float) and ttft > 0:
        parts.append(f"{ttft:.2f} s to first token")
    tps = stats.get("decode_tps")
    if isinstance(tps, int | float):
        parts.append(f"{tps:.1f} tok/s")
    tokens = stats.get("completion_tokens")
    if isinstance(tokens, int):
        parts.append(f"{tokens} token{'' if tokens == 1 else 's'}")
    return " · ".join(parts)


def action_button(label: str, tip: str, parent: QWidget, icon: str, *, text: bool = True) -> QToolButton:
    """A flat message action: our ``icon`` with its ``label`` beside it, or (``text`` False) the icon alone."""
    button = QToolButton(parent)
    button.setObjectName("MessageAction")
    button.setText(label)
    set_icon(button, icon)
    style = Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text else Qt.ToolButtonStyle.ToolButtonIconOnly
    button.setToolButtonStyle(style)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    # Never squeezed below its icon: a header laid out before its width is known gave buttons 4 px, and the
    # icon font was then asked for a glyph of negative size (Qt's painter warnings).
    button.setMinimumHeight(button.iconSize().height() + 4)
    return button
