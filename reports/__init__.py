"""PDF reports of fidelity reviews (fpdf2; the charts are drawn with it too).

- `reports.model`: `ReportData` and its builders `from_review_file` / `from_stored_review`.
- `reports.pdf`: `render_report(data) -> bytes`.
- `reports.drawing`: the charts, drawn as vectors with fpdf2 (no chart renderer).

Importing this package is cheap: fpdf2 and pandas load only when a report is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.model import ReportData, safe_filename

if TYPE_CHECKING:
    from services.access import Actor
    from services.database import Database

__all__ = ["ReportData", "safe_filename", "stored_review_pdf"]


def stored_review_pdf(db: Database, review_id: int, *, actor: Actor, charts: bool = True) -> bytes:
    """The PDF report of a stored review (final: as finalized; otherwise labelled DRAFT), for an
    actor who may open it."""
    from reports.model import from_stored_review
    from reports.pdf import render_report

    return render_report(from_stored_review(db, review_id, actor=actor, drift=charts), charts=charts)
