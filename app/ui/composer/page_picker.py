"""The page picker: which pages of a PDF (slides of a deck, sheets of a workbook) to send, and which as pictures.

A page-range field ("1-20, 25") and a list of the pages, each with how much text it has and a "send as
picture" toggle (chosen for pages with little text: scans, charts), kept in step with each other; the total
token estimate follows every change. The dialog only chooses: its ``choice()`` is the ``PageChoice`` the
composer reads the document with again, in the background. The page summaries it shows are read in the
background too, before it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.chat.budget import estimate_tokens
from app.media.documents import MIN_TEXT_CHARS, PageChoice, format_page_range, parse_page_range
from app.ui.shell.theme import error_colour

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class PageSummary:
    """One page as the picker lists it: its number, label ("Page 3", "Slide 2") and characters of text."""

    number: int
    label: str
    chars: int

    @property
    def little_text(self) -> bool:
        return self.chars < MIN_TEXT_CHARS


PAGE, TEXT, PICTURE = range(3)


class PageTableModel(QAbstractTableModel):
    """Pages as rows: included (checkable), its text amount, sent as a picture (checkable)."""

    # Signals
    choiceChanged = Signal()

    def __init__(self, pages: list[PageSummary], included: set[int], pictures: set[int], vision: bool) -> None:
        super().__init__()
        self.pages = pages
        self.included = included
        self.pictures = pictures
        self.vision = vision

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.pages)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else 3

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Send", "Text", "As a picture")[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        page = self.pages[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == PAGE:
                return page.label or f"Page {page.number}"
            if column == TEXT:
                return "no text" if page.chars == 0 else f"{page.chars:,} characters"
            return "picture" if page.number in self.pictures else "text"
        if role == Qt.ItemDataRole.CheckStateRole and column in (PAGE, PICTURE):
            on = page.number in (self.included if column == PAGE else self.pictures)
            return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole and column == PICTURE:
            if not self.vision:
                return "The loaded model cannot see pictures"
            return "Send this page as a picture (for scans, charts and slides)"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == PAGE:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        if index.column() == PICTURE:
            usable = self.vision and self.pages[index.row()].number in self.included
            return (base | Qt.ItemFlag.ItemIsUserCheckable) if usable else Qt.ItemFlag.ItemIsSelectable
        return base

    def setData(self, index: Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() not in (PAGE, PICTURE):
            return False
        number = self.pages[index.row()].number
        target = self.included if index.column() == PAGE else self.pictures
        if _checked(value):
            target.add(number)
        else:
            target.discard(number)
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), 2))
        self.choiceChanged.emit()
        return True

    def set_included(self, included: set[int]) -> None:
        self.included = included
        if self.pages:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.pages) - 1, 2))


def _checked(value: object) -> bool:
    if isinstance(value, Qt.CheckState):
        return value == Qt.CheckState.Checked
    return value == Qt.CheckState.Checked.value or value is True


class PagePicker(QDialog):
    """Choose the pages of one document; ``choice()`` once accepted."""

    def __init__(
        self,
        name: str,
        pages: list[PageSummary],
        current: PageChoice,
        *,
        vision: bool,
        picture_tokens: int,
        max_pages: int = 0,
        max_pictures: int = 0,
        unit: str = "page",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.unit = unit  # "page", "slide", "sheet"
        self.setWindowTitle(f"{unit.capitalize()}s of {name}")
        self.name = name
        self.picture_tokens = picture_tokens
        self.max_pages = max_pages  # pages one message takes (0: any)
        self.max_pictures = max_pictures  # pages one message sends as pictures (0: any)
        numbers = [p.number for p in pages]
        included = {n for n in numbers if current.includes(n)}
        if max_pages and not current.pages:
            included = set(numbers[:max_pages])  # too long to send whole: the first pages to begin with
        if current.pictures is not None:
            pictures = set(current.pictures) if vision else set()  # a model that cannot see: none
        else:
            pictures = {p.number for p in pages if p.little_text} if vision else set()
        self.model = PageTableModel(pages, included, pictures, vision)
        self._range_problem = ""  # what is wrong with the typed range
        self._build()
        self.model.choiceChanged.connect(self._on_model_choiceChanged)
        self.range_field.setText(format_page_range(included))
        self._update()

    def _build(self) -> None:
        self.range_field = QLineEdit(self)
        self.range_field.setPlaceholderText("e.g. 1-20, 25")
        units = f"{self.unit.capitalize()}s"
        self.range_field.setAccessibleName(f"{units} to send")
        self.range_field.setToolTip(f"{units} to send: single {self.unit}s and ranges, separated by commas (1-20, 25)")
        self.range_field.textEdited.connect(self._on_range_field_textEdited)
        self.error = QLabel(self)
        self.error.setStyleSheet(f"color: {error_colour(self)};")
        self.error.setAccessibleName(f"Problem with the {self.unit}s")
        self.error.hide()
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName(units)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.total = QLabel(self)
        self.total.setAccessibleName("Estimated cost")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(f"&{units}:", self.range_field)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.total)
        layout.addWidget(self.buttons)
        self.resize(460, 520)

    # --- what is chosen -----------------------------------------------------------------------------------

    def choice(self) -> PageChoice:
        """The pages chosen (all: ``pages`` empty) and which of them go as pictures."""
        included = self.model.included
        every = len(included) == len(self.model.pages)
        pictures = tuple(sorted(n for n in self.model.pictures if n in included))
        return PageChoice(() if every else tuple(sorted(included)), pictures)

    def estimate(self) -> int:
        """Tokens the chosen pages take, roughly: text at ~4 characters a token, pictures at the vision budget."""
        tokens = 0
        for page in self.model.pages:
            if page.number not in self.model.included:
                continue
            if page.number in self.model.pictures:
                tokens += self.picture_tokens + 12
            else:
                tokens += estimate_tokens(page.chars + len(page.label) + 2)
        return tokens

    def _update(self) -> None:
        included = self.model.included
        pictures = sum(1 for n in self.model.pictures if n in included)
        count = len(self.model.pages)
        text = f"About {self.estimate():,} tokens · {len(included):,} of {count:,} {self.unit}s"
        if pictures:
            text += f", {pictures:,} as picture{'s' * (pictures != 1)}"
        self.total.setText(text)
        problem = self._range_problem
        if not problem and not included:
            problem = f"Choose at least one {self.unit}."
        elif not problem and self.max_pages and len(included) > self.max_pages:
            problem = f"At most {self.max_pages:,} {self.unit}s can be sent at once."
        elif not problem and self.max_pictures and pictures > self.max_pictures:
            problem = f"At most {self.max_pictures:,} {self.unit}s can go as pictures at once."
        self._show_problem(problem)

    def _show_problem(self, problem: str) -> None:
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not problem)
        ok.setToolTip(problem)

    # --- slots --------------------------------------------------------------------------------------------

    def _on_range_field_textEdited(self, text: str) -> None:
        try:
            pages = set(parse_page_range(text, len(self.model.pages)))
        except ValueError as exc:
            self._range_problem = str(exc)
            self._update()
            return
        self._range_problem = ""
        self.model.set_included(pages)
        self._update()

    def _on_model_choiceChanged(self) -> None:
        self._range_problem = ""
        self.range_field.setText(format_page_range(self.model.included))
        self._update()
