"""The PDF's "Action plan follow-up" section: the plan entries a stored final review opened, with
their goal, owner, due date, status and latest progress note. Drawn only when the review has
entries, so the report of a review without a plan (and of a review file) is unchanged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fpdf.enums import Align, TableBordersLayout, VAlign
from fpdf.fonts import FontFace

from reports.pdf_document import ReportDocument
from reports.pdf_style import FAMILY, HEAD_FILL, plain
from reports.plan_lines import PlanLine

__all__ = ["PLAN_HEADING", "PlanLine", "plan_section"]

PLAN_HEADING = "Action plan follow-up"
_NOTE_CHARACTERS = 400  # a long note is cut in the table; the app and the CSV export hold it whole


def plan_section(pdf: ReportDocument, lines: Sequence[PlanLine], as_of: dt.date) -> None:
    """The section, or nothing when the review has no plan entries."""
    if not lines:
        return
    pdf.heading(PLAN_HEADING)
    pdf.paragraph(
        f"The action plan this review opened, as it stood on {as_of:%Y-%m-%d}: an entry per item, its "
        "goal (the rating to reach), who at the program owns it and when it is due."
    )
    pdf.set_font(FAMILY, size=9)
    with pdf.table(
        col_widths=(48, 14, 12, 30, 22, 22, pdf.epw - 148),
        width=pdf.epw,
        text_align=(Align.L, Align.C, Align.C, Align.L, Align.L, Align.L, Align.L),
        line_height=9 * 0.47,
        padding=(1.3, 1.5),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL),
        v_align=VAlign.T,
    ) as table:
        head = table.row()
        for text in ("Item", "Rating", "Goal", "Owner", "Due", "Status", "Steps and latest note"):
            head.cell(text)
        for line in lines:
            row = table.row()
            row.cell(plain(f"{line.item_id} {line.item_name}"))
            row.cell("–" if line.rating is None else str(line.rating))
            row.cell(str(line.goal))
            row.cell(plain(line.owner) or "not yet named")
            row.cell(f"{line.due_date:%Y-%m-%d}")
            row.cell(line.status + (" (overdue)" if line.overdue else ""))
            row.cell(_steps_and_note(line))
    pdf.ln(2)


def _steps_and_note(line: PlanLine) -> str:
    parts = []
    if plain(line.steps):
        parts.append(plain(line.steps))
    if plain(line.latest_note):
        note = plain(line.latest_note)
        if len(note) > _NOTE_CHARACTERS:
            note = note[:_NOTE_CHARACTERS].rstrip() + " …"
        parts.append(f"Latest note: {note}")
    return "\n".join(parts) or "–"
