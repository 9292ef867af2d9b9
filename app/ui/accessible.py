"""What screen readers are told beyond what Qt's widgets say by themselves.

``DisclosureButton`` is the header that shows or hides a block (thinking, a tool call, a document's text). A
checkable ``QToolButton`` reaches AT-SPI as a check box ("checked"); a disclosure is a button that is
expandable and expanded or collapsed, as ARIA's ``aria-expanded`` and GTK's expanders say it. Qt maps
``QAccessible.State.expandable/expanded/collapsed`` to the AT-SPI (and UIA) states, but no Qt widget sets them
on a button, so the button gets its own accessible interface (installed once, through Qt's factory hook, for
this class only) and tells assistive technology when the state changes.

``accessible_role`` gives a widget class the role a screen reader should say: a focusable ``QScrollArea``
(the conversation, the attachment tray) or ``QTabWidget`` (it takes the focus for its tab bar) is otherwise a
"filler", a role screen readers skip over; the app's scroll areas (``ScrollPane``) and tab widgets are panels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAccessible, QAccessibleActionInterface, QAccessibleInterface, QAccessibleStateChangeEvent
from PySide6.QtWidgets import QAccessibleWidget, QScrollArea, QTabWidget, QToolButton, QWidget

_installed = False
#: Widget classes (by class name) that ``accessible_role`` gave a role.
_ROLES: dict[str, tuple[type[QWidget], QAccessible.Role]] = {}
W = TypeVar("W", bound=type[QWidget])


def accessible_role(role: QAccessible.Role) -> Callable[[W], W]:
    """Class decorator: widgets of this class tell assistive technology ``role`` (their name and description
    are their ``accessibleName``/``accessibleDescription``, their children their child widgets)."""

    def register(cls: W) -> W:
        install()
        _ROLES[cls.__name__] = (cls, role)
        return cls

    return register


class DisclosureButton(QToolButton):
    """A checkable tool button that screen readers hear as "button, expanded" or "button, collapsed"."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "", tip: str = "") -> None:
        """A flat header (``name``: its style sheet name; ``tip``: its tooltip) that Tab reaches."""
        install()
        super().__init__(parent)
        self.setCheckable(True)
        self.setObjectName(name)
        self.setToolTip(tip)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.toggled.connect(self._tell_state)

    def _tell_state(self) -> None:
        if QAccessible.isActive():
            changed = QAccessible.State()
            changed.expanded = True
            changed.collapsed = True
            QAccessible.updateAccessibility(QAccessibleStateChangeEvent(self, changed))


class _DisclosureAccessible(QAccessibleWidget):
    """A push button that is expandable; pressing it (the screen reader's default action) toggles it."""

    def __init__(self, button: DisclosureButton) -> None:
        super().__init__(button, QAccessible.Role.Button)
        self._button = button

    def state(self) -> QAccessible.State:
        state = super().state()
        state.expandable = True
        state.expanded = self._button.isChecked()
        state.collapsed = not self._button.isChecked()
        return state

    def text(self, kind: QAccessible.Text) -> str:
        button = self._button
        if kind == QAccessible.Text.Name:
            return button.accessibleName() or button.text()
        if kind == QAccessible.Text.Description:
            return button.accessibleDescription() or button.toolTip()
        return str(super().text(kind))

    def actionNames(self) -> list[str]:
        return [QAccessibleActionInterface.pressAction(), *super().actionNames()]

    def doAction(self, name: str) -> None:
        if name == QAccessibleActionInterface.pressAction():
            if self._button.isEnabled():
                self._button.click()
        else:
            super().doAction(name)


def _factory(class_name: str, obj: QObject) -> QAccessibleInterface | None:
    if class_name == DisclosureButton.__name__ and isinstance(obj, DisclosureButton):
        return _DisclosureAccessible(obj)
    registered = _ROLES.get(class_name)
    if registered is not None and isinstance(obj, registered[0]):
        return QAccessibleWidget(obj, registered[1])
    return None


def install() -> None:
    global _installed
    if not _installed:
        QAccessible.installFactory(_factory)
        _installed = True


@accessible_role(QAccessible.Role.Pane)
class ScrollPane(QScrollArea):
    """A scroll area that takes the focus (to scroll with the keys) and says so: a named panel. (Qt's own
    interface for ``QScrollArea`` comes before any factory installed ahead of the application, so a plain
    ``QScrollArea`` cannot be given a role.)"""


accessible_role(QAccessible.Role.Pane)(QTabWidget)  # Qt has no interface of its own for it
