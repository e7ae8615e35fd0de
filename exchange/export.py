"""Export formats: the columns of the review tables, spreadsheet writers (CSV, XLSX) that
neutralise formula injection, the wide layout's template, and a review file's JSON text.

A text cell that starts with =, +, -, @, a tab or a carriage return gets a leading single
quote, so a spreadsheet shows it as text instead of running it. The tables themselves are read
from the database by services.exports (`reviews_table`, `item_ratings_table`, `wide_table`,
`review_export_json`); this module holds no database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from domain.errors import ValidationProblem
from scales import Scale

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

REVIEW_COLUMNS: tuple[str, ...] = (
    "review_id",
    "program_id",
    "program",
    "provider",
    "region",
    "scale",
    "version",
    "review_date",
    "review_end_date",
    "review_type",
    "status",
    "amendment_of",
    "amendment_number",
    "amended_by",
    "finalized_at",
    "total_sum",
    "total_mean",
    "mean_of_subscale_means",
    "rated",
    "items",
    "banded_value",
    "band",
)
"""The fixed columns of services.exports.reviews_table; a `<subscale id>_mean` per subscale follows."""

ITEM_COLUMNS: tuple[str, ...] = (
    "review_id",
    "program",
    "review_date",
    "scale",
    "version",
    "item_id",
    "item_name",
    "subscale",
    "rating",
    "source",
    "evidence",
    "recommendation",
    "not_rated_reason",
)

WIDE_COLUMNS: tuple[str, ...] = (
    "program", "provider", "region", "date", "scale", "version", "type", "raters",
)  # fmt: skip
"""The metadata columns of the wide layout (exchange.historical reads the same names)."""




def wide_template(scale: Scale) -> str:
    """The header line of the wide layout for one scale (CSV text), for agencies to fill in."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([*WIDE_COLUMNS, *scale.item_ids])
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Writers: formula injection neutralised
# --------------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell (and column name) neutralised."""
    result = frame.copy()
    for column in result.columns:
        if result[column].dtype == object or pd.api.types.is_string_dtype(result[column]):
            result[column] = result[column].map(neutralise, na_action="ignore")
    result.columns = [neutralise(str(c)) for c in result.columns]
    return result


def table_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, which Excel needs to read UTF-8), neutralised."""
    text = neutralised(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def tables_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per frame (header row frozen, bold), neutralised."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        safe = neutralised(frame)
        sheet.append([_xlsx_value(str(c)) for c in safe.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for values in safe.itertuples(index=False, name=None):
            sheet.append([_xlsx_value(v) for v in values])
        for cell in sheet[1]:
            width = min(max(len(str(cell.value)) + 2, 10), 40)
            sheet.column_dimensions[get_column_letter(cell.column)].width = width
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_tables(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write to `path` by its suffix: .csv (the first sheet only) or .xlsx (every sheet)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        data = table_csv(next(iter(sheets.values())))
    elif suffix == ".xlsx":
        data = tables_xlsx(sheets)
    else:
        raise ValidationProblem(f"{target}: write a .csv or an .xlsx file, not {suffix or 'no suffix'}")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise ValidationProblem(f"{target}: cannot write: {exc.strerror}") from None


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes | dt.date):  # numpy scalars
        return value.item()
    if isinstance(value, str):  # a worksheet cannot hold control characters: openpyxl refuses the file
        return _XLSX_ILLEGAL.sub("\ufffd", value)
    return value


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


_NOT_YAML_PRINTABLE = re.compile(r"[\x7f-\x9f\ufffe\uffff]")


def dump_review_json(data: Mapping[str, Any]) -> str:
    """JSON text of a review file that YAML (which reads review files) reads back unchanged:
    characters YAML would not print as they are (such as U+0085) are written as \\u escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"

