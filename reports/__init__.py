"""PDF reports of fidelity reviews (fpdf2, charts rendered with vl-convert).

- `reports.model`: `ReportData` and its builders `from_review_file` / `from_stored_review`.
- `reports.pdf`: `render_report(data) -> bytes`.
- `reports.charts`: the Altair charts, rendered to PNG without a browser.

Importing this package is cheap: fpdf2, Altair and vl-convert load only when a report is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.model import ReportData, safe_filename

if TYPE_CHECKING:
    from services.database import Database

__all__ = ["ReportData", "safe_filename", "stored_review_pdf"]


def stored_review_pdf(db: Database, review_id: int, *, charts: bool = True) -> bytes:
    """The PDF report of a stored review (final: as finalized; otherwise labelled DRAFT)."""
    from reports.model import from_stored_review
    from reports.pdf import render_report

    return render_report(from_stored_review(db, review_id, drift=charts), charts=charts)
