"""PDF reports of fidelity reviews (fpdf2; the charts are drawn with it too).

- `reports.model`: `ReportData`, plain data: everything a report shows.
- `reports.pdf`: `render_report(data) -> bytes`, the report's sections in order; its parts are
  `reports.pdf_items` (the item sections), `reports.pdf_document` (page furniture, building
  blocks) and `reports.pdf_style` (colours, sizes, text helpers).
- `reports.wording`: words the Results page shares with the PDF (how the total is read, the
  working of a computed item).
- `reports.drawing`: the charts, drawn as vectors with fpdf2 (no chart renderer).

`ReportData` is gathered from a stored review or a review file by services/report_data.py;
this package reads no database. Importing it is cheap: fpdf2 and pandas load only when a
report is made.
"""

from __future__ import annotations

from reports.model import ReportData, safe_filename

__all__ = ["ReportData", "safe_filename"]
