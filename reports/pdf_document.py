"""The PDF report's page furniture and building blocks: the header and footer (with the DRAFT
label and watermark), headings, paragraphs, bullets, notices, fact tables, and text fitted to a
table row. reports/pdf.py draws the report's sections with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, VAlign, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from reports.model import ReportData
from reports.pdf_style import (
    BODY_PT,
    DRAFT_LABEL,
    DRAFT_RED,
    FAMILY,
    FONTS,
    INK,
    ITEM_COLUMNS,
    MARGIN,
    MUTED,
    NAVY,
    RULE,
    fmt_when,
    plain,
)


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
        self.set_font(FAMILY, size=size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.48, plain(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self._body_font()

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

    def _fit_row(
        self, item_id: str, item_name: str, texts: list[str], max_height: float, line_h: float, padding: float
    ) -> list[str]:
        """Texts that fit one table row on a page: a text too long for that is cut, ending with a
        pointer to the full text printed after the table."""
        widths = ITEM_COLUMNS[1], ITEM_COLUMNS[3], ITEM_COLUMNS[4]
        columns = ("Item", "Evidence", "Recommendation")
        max_lines = max(3, int((max_height - 2 * padding) / line_h))
        fitted = []
        for text, width, column in zip(texts, widths, columns, strict=True):
            if len(text) < max_lines * 8 and text.count("\n") < max_lines // 2:
                fitted.append(text)  # too short to fill max_lines: skip measuring it
                continue
            lines = self._lines(text, width - 2 * padding)
            if len(lines) > max_lines:
                self.long_notes.append((f"{item_id} {item_name}", column, text))
                kept = " ".join(lines[: max_lines - 2]).rstrip()
                text = f"{kept} …\n(continued under “Item notes in full”)"
            fitted.append(text)
        return fitted

    def _lines(self, text: str, width: float) -> list[str]:
        if not text:
            return []
        result = self.multi_cell(width, 1, text, dry_run=True, output="LINES", wrapmode=WrapMode.WORD)
        return list(result)  # type: ignore[arg-type]
