"""The PDF report's page furniture and building blocks: the header and footer (with the DRAFT
label and watermark), headings, paragraphs, bullets, notices, fact tables, and text fitted to a
table row. reports/pdf.py draws the report's sections with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, VAlign, XPos, YPos
from fpdf.fonts import FontFace

from reports.model import ReportData
from reports.pdf_style import (
    BODY_PT,
    DRAFT_LABEL,
    DRAFT_RED,
    FAMILY,
    FONTS,
    INK,
    MARGIN,
    MUTED,
    NAVY,
    RULE,
    fmt_when,
    plain,
)

CELL_CHARACTERS = 120  # the most of one text an item table cell shows (about 17 lines)
CELL_LINE_BREAKS = 3  # ... and the most line breaks


class ReportDocument(FPDF):
    """An A4 report of one review, in DejaVu Sans, with the page furniture every page has."""

    def __init__(self, data: ReportData):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.data = data
        self.scale = data.scale
        self.score: Mapping[str, Any] = data.score
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN + 2, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_font(FAMILY, size=BODY_PT)
        self.set_text_color(*INK)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.set_title(f"Fidelity review report: {plain(data.program_name)}")
        self.set_subject(f"{self.scale.title} ({self.scale.id} {self.scale.version})")
        self.set_author("ebp-fidelity")
        self.set_creator("ebp-fidelity")
        self.set_lang("en")
        generated = data.generated_at
        self.set_creation_date(generated if generated.tzinfo else generated.replace(tzinfo=dt.UTC))
        self.long_notes: list[tuple[str, str, str]] = []  # (item label, column, full text)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN, 9)
        left = f"{plain(self.data.program_name)} · {self.scale.id.upper()} {self.scale.version}"
        if self.data.review_date:
            left += f" · {self.data.review_date.isoformat()}"
        self.cell(self.epw * 0.7, 4, left, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(
            self.epw * 0.3, 4, "Fidelity review report", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_draw_color(*RULE)
        self.line(MARGIN, 14, self.w - MARGIN, 14)
        self.set_y(MARGIN + 2)
        self._body_font()

    def footer(self) -> None:
        if self.data.is_draft:
            self._watermark()  # drawn last, see-through, so charts and table fills cannot hide it
        self.set_y(-12)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y() - 1, self.w - MARGIN, self.get_y() - 1)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        third = self.epw / 3
        generated = f"Generated {fmt_when(self.data.generated_at)} by ebp-fidelity"
        self.cell(third * 1.4, 5, generated, new_x=XPos.RIGHT, new_y=YPos.TOP)
        if self.data.is_draft:
            self.set_font(FAMILY, "B", 7.5)
            self.set_text_color(*DRAFT_RED)
            self.cell(third * 0.8, 5, DRAFT_LABEL, align=Align.C, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FAMILY, size=7.5)
            self.set_text_color(*MUTED)
        else:
            self.cell(third * 0.8, 5, "", new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(third * 0.8, 5, f"Page {self.page_no()} of {{nb}}", align=Align.R)
        self._body_font()

    def _watermark(self) -> None:
        with self.local_context(fill_opacity=0.16):
            self.set_font(FAMILY, "B", 54)
            self.set_text_color(*DRAFT_RED)
            width = self.get_string_width(DRAFT_LABEL)
            cx, cy = self.w / 2, self.h / 2
            with self.rotation(angle=50, x=cx, y=cy):
                self.text(cx - width / 2, cy + 8, DRAFT_LABEL)

    # ---- building blocks ---------------------------------------------------------------------

    def _body_font(self, size: float = BODY_PT, style: str = "") -> None:
        self.set_font(FAMILY, style, size)
        self.set_text_color(*INK)

    def heading(self, text: str, *, space_after: float = 10.0, level: int = 1) -> None:
        """A section heading, moved to the next page unless `space_after` mm fit below it."""
        size = 13.0 if level == 1 else 11.0
        if self.will_page_break(size * 0.6 + space_after + 6):
            self.add_page()
        elif self.get_y() > self.t_margin + 1:
            self.ln(4 if level == 1 else 2.5)
        self.set_font(FAMILY, "B", size)
        self.set_text_color(*NAVY)
        self.multi_cell(0, size * 0.5, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if level == 1:
            self.set_draw_color(*NAVY)
            self.set_line_width(0.4)
            self.line(MARGIN, self.get_y() + 0.8, self.w - MARGIN, self.get_y() + 0.8)
            self.set_line_width(0.2)
            self.set_draw_color(*RULE)
            self.ln(3)
        else:
            self.ln(1)
        self._body_font()

    def paragraph(self, text: str, *, size: float = BODY_PT, color: tuple[int, int, int] = INK) -> None:
        """Text wrapped at words, left-aligned, between the margins, over as many pages as it needs.

        Lines are broken here and each written with text(): fpdf2's multi_cell measures each line
        again for every character added to it (4,000 characters took it half a CPU second), and
        cell() costs three times what text() does. The page break is ours, as cell() would make it."""
        self.set_font(FAMILY, size=size)
        self.set_text_color(*color)
        width = self.w - self.l_margin - self.r_margin
        height = size * 0.48
        for line in self.wrapped(plain(text), width):
            if self.y + height > self.page_break_trigger and self.accept_page_break:
                self.add_page()
            if line:
                self.text(self.l_margin, self.y + 0.5 * height + 0.3 * self.font_size, line)
            self.y += height
        self.x = self.l_margin
        self.ln(1.5)
        self._body_font()

    def wrapped(self, text: str, width: float) -> list[str]:
        """The text's lines at the current font: broken at spaces, a word wider than a line cut
        between letters, line breaks kept. Each distinct word is measured once."""
        widths: dict[str, float] = {}

        def measure(word: str) -> float:
            found = widths.get(word)
            if found is None:
                found = widths[word] = self.get_string_width(word)
            return found

        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line: list[str] = []
            used = 0.0
            for word in paragraph.split(" "):
                size = measure(word)
                if size > width:  # a word wider than the line: its letters fill lines of their own
                    if line:
                        lines.append(" ".join(line))
                    piece, used = "", 0.0
                    for letter in word:
                        if piece and used + measure(letter) > width:
                            lines.append(piece)
                            piece, used = "", 0.0
                        piece += letter
                        used += measure(letter)
                    line = [piece]
                elif line and used + space + size > width:
                    lines.append(" ".join(line))
                    line, used = [word], size
                else:
                    used += size + (space if line else 0.0)
                    line.append(word)
            lines.append(" ".join(line))
        return lines

    def note(self, text: str) -> None:
        self.paragraph(text, size=8.5, color=MUTED)

    def bullets(self, lines: Sequence[str], *, size: float = BODY_PT) -> None:
        self.set_font(FAMILY, size=size)
        for line in lines:
            self.set_x(MARGIN)
            self.cell(5, size * 0.48, "•")
            self.multi_cell(0, size * 0.48, plain(line), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)
        self.ln(1)

    @contextmanager
    def notice(self, color: tuple[int, int, int]) -> Iterator[None]:
        """A boxed notice with a coloured bar on the left."""
        start_page, start_y = self.page_no(), self.get_y()
        self.set_left_margin(MARGIN + 4)
        self.set_x(MARGIN + 4)
        self.ln(1.5)
        yield
        self.ln(1)
        self.set_left_margin(MARGIN)
        end_y = self.get_y()
        if self.page_no() == start_page:
            with self.local_context(fill_color=color, draw_color=color):
                self.rect(MARGIN, start_y, 1.6, end_y - start_y, style="F")
        self.ln(3)
        self.set_x(MARGIN)

    def fact_table(self, facts: Sequence[tuple[str, str]]) -> None:
        self.set_font(FAMILY, size=BODY_PT)
        with self.table(
            col_widths=(32, self.epw - 32),
            width=self.epw,
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.NONE,
            text_align=(Align.L, Align.L),
            line_height=BODY_PT * 0.48,
            padding=(0.8, 1, 0.8, 0),
            v_align=VAlign.T,
        ) as table:
            for label, value in facts:
                row = table.row()
                row.cell(label, style=FontFace(color=MUTED))
                row.cell(plain(value))
        self.ln(3)

    def _fit_row(self, item_id: str, item_name: str, texts: list[str]) -> list[str]:
        """Texts short enough for one table row: a longer one is cut, ending with a pointer to the
        full text printed after the table. The cut is by characters and line breaks, not measured:
        measuring each cell's lines cost more than printing the whole text."""
        columns = ("Item", "Evidence", "Recommendation")
        fitted = []
        for text, column in zip(texts, columns, strict=True):
            if len(text) <= CELL_CHARACTERS and text.count("\n") <= CELL_LINE_BREAKS:
                fitted.append(text)
                continue
            self.long_notes.append((f"{item_id} {item_name}", column, text))
            # Half of it: the pointer takes room too, and a cell's characters are the table's cost.
            kept = " ".join(text[: CELL_CHARACTERS // 2].split("\n")[:CELL_LINE_BREAKS])
            if " " in kept[-30:]:  # end at a word, not inside one
                kept = kept[: kept.rindex(" ")]
            fitted.append(f"{kept.rstrip()} … (continued under “Item notes in full”)")
        return fitted
