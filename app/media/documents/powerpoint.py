"""PowerPoint presentations (``.pptx``, through python-pptx): one section per slide, "Slide N", holding the text of
its text boxes (titles first, as PowerPoint orders the shapes), its tables and charts' data as Markdown tables,
and the speaker's notes.

Slides cannot be drawn here (no renderer), so a slide's pictures are not sent; a note names the slides that
have pictures and little text. The caller has already checked the ZIP and turns library errors into one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from app.media.documents.model import MIN_TEXT_CHARS, Document, PageChoice, Section, format_page_range
from app.media.documents.tables import markdown_table
from app.media.errors import MediaError, subject


def read_powerpoint(stream: BinaryIO, *, name: str, choice: PageChoice) -> Document:
    """The chosen slides (all by default), one section each."""
    presentation = pptx.Presentation(stream)
    slides = list(presentation.slides)
    who = subject(name)
    if not slides:
        raise MediaError(f"{who} has no slides.")
    choice.check_within(len(slides), who, "slide")
    sections: list[Section] = []
    unseen: list[int] = []
    for number, slide in enumerate(slides, start=1):
        if not choice.includes(number):
            continue
        text, pictures = _slide_text(slide)
        section = Section(number, f"Slide {number}", text)
        sections.append(section)
        if pictures and len("".join(text.split())) < MIN_TEXT_CHARS:
            unseen.append(number)
    notes = (_unseen_note(unseen),) if unseen else ()
    return Document(
        name=name,
        kind="PowerPoint presentation",
        language="markdown",
        sections=tuple(sections),
        section_count=len(slides),
        choice=choice,
        notes=notes,
        unit="slide",
    )


def _slide_text(slide: Any) -> tuple[str, int]:
    """The slide's text as Markdown, and how many pictures it shows."""
    blocks: list[str] = []
    pictures = 0
    for shape in _shapes(slide.shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
            pictures += 1
        if shape.has_text_frame:
            lines = ["  " * p.level + p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip()]
            if lines:
                blocks.append("\n".join(lines))
        if shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            blocks.append(markdown_table(rows))
        if shape.has_chart:
            blocks.append(_chart_markdown(shape.chart))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        if frame is not None and frame.text.strip():
            blocks.append("Notes: " + frame.text.strip())
    return "\n\n".join(block for block in blocks if block), pictures


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape, those inside groups too, in PowerPoint's order."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shapes(shape.shapes)
        elif isinstance(shape, BaseShape):
            yield shape


def _chart_markdown(chart: Any) -> str:
    """A chart's title and its data (categories down, one column a series), as the model can read them."""
    title = chart.chart_title.text_frame.text.strip() if chart.has_title else ""
    heading = f"Chart: {title}" if title else "Chart:"
    plots = list(chart.plots)
    if not plots:
        return heading
    series = list(plots[0].series)
    categories = [str(c) for c in plots[0].categories]
    rows = [["", *(str(s.name) for s in series)]]
    values = [list(s.values) for s in series]
    for index, category in enumerate(categories):
        rows.append([category, *(_number(v[index]) if index < len(v) else "" for v in values)])
    return heading + "\n" + markdown_table(rows)


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unseen_note(numbers: list[int]) -> str:
    """ "Slides 2, 5 show pictures Gemma does not see; only their text is sent." """
    many = len(numbers) > 1
    which = f"Slide{'s' * many} {format_page_range(numbers)}"
    shows, their = ("show", "their") if many else ("shows", "its")
    return f"{which} {shows} pictures Gemma does not see; only {their} text is sent."
