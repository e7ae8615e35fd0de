"""Reading a wide spreadsheet (CSV or XLSX) into a frame, within limits that keep a hostile
file from taking the memory or the time: the file's size, an .xlsx's unpacked size, rows and
columns per sheet. Sheets that are not reviews (no program, date or scale heading) are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from zipfile import BadZipFile, ZipFile

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from domain.errors import ValidationProblem
from exchange.historical.layout import (
    REQUIRED_COLUMNS,
    SOURCE_COLUMN,
    cell,
    has_value,
    heading_text,
    meta_key,
)
from exchange.historical.records import RowProblem, WideImportError

MAX_FILE_BYTES = 50_000_000
MAX_UNPACKED_BYTES = 250_000_000  # an .xlsx file's parts, unzipped
MAX_ROWS = 100_000  # rows of one CSV file or sheet (each row is a review)
MAX_COLUMNS = 1_000

Sheet = tuple[str | None, list[list[Any]]]
"""A sheet's title (None for a CSV file) and its rows, as read."""


def read_wide_file(
    source: str | os.PathLike[str] | bytes, filename: str | None = None, *, label: str | None = None
) -> pd.DataFrame:
    """The file's rows as a frame: columns as headed, cells as read (text for CSV; numbers,
    dates and text for XLSX, None for blank), indexed by spreadsheet row number ("row").

    Blank rows are dropped (the numbers of the others stay as the spreadsheet shows them).
    An XLSX workbook is read sheet by sheet; when it has more than one used sheet, or when
    `label` is given (e.g. the file name, when several files are imported together), the
    `(source)` column says where each row came from. Structural problems (no headings, a
    heading used twice, values under no heading) raise WideImportError.
    """
    raw, name = _file_bytes(source, filename)
    sheets = _sheets(raw, name)
    used = [(title, rows) for title, rows in sheets if any(has_value(v) for row in rows for v in row)]
    if not used:
        raise ValidationProblem(f"{name}: the file has no rows")
    frames: list[pd.DataFrame] = []
    problems: list[RowProblem] = []
    notes: list[str] = []
    for title, rows in used:
        where = _source_label(label, title if len(used) > 1 else None)
        if len(used) > 1 and not any(meta_key(heading_text(h)) in REQUIRED_COLUMNS for h in rows[0]):
            # Another kind of sheet in the workbook (instructions, a chart's data): not reviews.
            notes.append(f"{where or name}: skipped, its row 1 has none of the headings program, date, scale")
            continue
        frame, found = _frame(rows, where)
        problems.extend(found)
        if len(frame) or len(used) == 1:
            frames.append(frame)
    if problems:
        raise WideImportError(problems)
    if not frames or not any(len(f) for f in frames):
        raise ValidationProblem(f"{name}: there are no rows below the headings")
    combined = combine_wide(frames)
    combined.attrs["notes"] = notes
    return combined


def _file_bytes(source: str | os.PathLike[str] | bytes, filename: str | None) -> tuple[bytes, str]:
    """The file's bytes and the name to call it by; refused when unreadable or too large."""
    if isinstance(source, bytes):
        raw = source
        name = filename or "upload"
    else:
        path = Path(source)
        name = filename or path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValidationProblem(f"{name}: cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationProblem(f"{name}: the file is larger than {MAX_FILE_BYTES:,} bytes")
    return raw, name


def _sheets(raw: bytes, name: str) -> list[Sheet]:
    """The sheets of the file, by the kind its name's suffix says."""
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_sheets(raw, name)
    if suffix in (".csv", ".txt", ""):
        return [(None, _csv_rows(raw, name))]
    if suffix == ".xls":
        raise ValidationProblem(f"{name}: old-style .xls workbooks cannot be read; save it as .xlsx or CSV")
    raise ValidationProblem(f"{name}: import a .csv or an .xlsx file, not {suffix}")


def combine_wide(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several files' frames (read with a `label` each) as one, to check and import together."""
    frames = list(frames)
    headings: dict[str | None, list[str]] = {}
    notes: list[str] = []
    for frame in frames:
        headings.update(frame_headings(frame))
        notes.extend(read_notes(frame))
    combined = pd.concat(frames) if len(frames) > 1 else frames[0].copy()
    combined.index.name = "row"
    combined.attrs["headings"] = headings  # each source's own columns: sheets may differ
    combined.attrs["notes"] = notes
    return combined


def read_notes(frame: pd.DataFrame) -> list[str]:
    """What reading the file noted (sheets skipped), kept with the frame for the plan to show."""
    notes = frame.attrs.get("notes")
    return list(notes) if isinstance(notes, list) else []


def frame_headings(frame: pd.DataFrame) -> dict[str | None, list[str]]:
    """Each source's column headings, as read (a frame made some other way: all its columns)."""
    known = frame.attrs.get("headings")
    if isinstance(known, dict) and known:
        return known
    sources = frame[SOURCE_COLUMN].unique().tolist() if SOURCE_COLUMN in frame.columns else [None]
    columns = [str(c) for c in frame.columns if c != SOURCE_COLUMN]
    return {None if pd.isna(src) else src: columns for src in sources} or {None: columns}


def _source_label(label: str | None, sheet: str | None) -> str | None:
    if sheet is None:
        return label
    return f"{label}, sheet {sheet}" if label else f"sheet {sheet}"


def _csv_rows(raw: bytes, name: str) -> list[list[Any]]:
    # Excel's "Unicode text" is UTF-16 with a byte-order mark; read as cp1252 it is all NULs.
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16", "latin-1") if utf16 else ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count) if first_line else ","
    try:
        return _bounded(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), name)
    except csv.Error as exc:
        raise ValidationProblem(f"{name}: not a readable CSV file: {exc}") from None


def _xlsx_sheets(raw: bytes, name: str) -> list[Sheet]:
    try:
        with ZipFile(io.BytesIO(raw)) as archive:  # an .xlsx is a zip: refuse a zip bomb unread
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValidationProblem(f"{name}: the workbook unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheets: list[Sheet] = []
            for sheet in workbook.worksheets:
                sheet.reset_dimensions()  # else each row is padded to the size its <dimension> claims
                sheets.append(
                    (sheet.title, _bounded(sheet.iter_rows(values_only=True), f"{name}, sheet {sheet.title}"))
                )
            return sheets
        finally:
            workbook.close()
    except (BadZipFile, EOFError, KeyError, IndexError, OSError, SyntaxError, TypeError, ValueError) as exc:
        # SyntaxError: broken XML (ElementTree's ParseError); ValueError: a cell that is not its type.
        raise ValidationProblem(f"{name}: not a readable XLSX workbook ({_xlsx_failure(exc)})") from None


def _xlsx_failure(exc: Exception) -> str:
    """What was wrong, by the kind of failure: openpyxl's and zipfile's own texts change."""
    if isinstance(exc, BadZipFile | EOFError):
        return "the file is not a complete XLSX (zip) archive"
    if isinstance(exc, KeyError):
        return "a part every workbook has is missing"
    if isinstance(exc, SyntaxError):
        return "a part of the workbook is not well-formed XML"
    return "a part of the workbook cannot be read"


def _bounded(rows: Iterable[Sequence[Any]], where: str) -> list[list[Any]]:
    """The rows, without trailing blank cells and rows; refused when too big to be reviews.

    A workbook of a few kilobytes can hold a cell at XFD1048576: every row padded to it would
    be 17 billion cells. Blank rows between others are kept (as []), so row numbers stay right.
    """
    kept: list[list[Any]] = []
    blank = 0
    for number, row in enumerate(rows, start=1):
        values = list(row)
        while values and not has_value(values[-1]):
            values.pop()
        if not values:
            blank += 1
            continue
        if number > MAX_ROWS:
            raise ValidationProblem(f"{where}: row {number:,}: more than {MAX_ROWS:,} rows; split the file")
        if len(values) > MAX_COLUMNS:
            message = (
                f"row {number:,} has a value in column {len(values):,}; at most {MAX_COLUMNS:,} are read"
            )
            raise ValidationProblem(f"{where}: {message}")
        kept.extend([] for _ in range(blank))
        blank = 0
        kept.append(values)
    return kept


def _frame(rows: list[list[Any]], where: str | None) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Headings from row 1, cells below them, row numbers as the index; structural problems."""
    header = [heading_text(v) for v in rows[0]] if rows else []
    if not any(header):
        message = "row 1 must hold the column headings (program, date, scale, ...)"
        return pd.DataFrame(), [RowProblem(1, "A", message, where)]
    width = max(len(r) for r in rows)
    header += [""] * (width - len(header))
    problems = _heading_problems(header, where)
    keep = [i for i, h in enumerate(header) if h]
    records: list[list[Any]] = []
    numbers: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell(v) for v in row] + [None] * (width - len(row))
        if not any(v is not None for v in cells):
            continue
        problems.extend(_cell_problems(cells, header, number, where))
        records.append([cells[i] for i in keep])
        numbers.append(number)
    frame = pd.DataFrame(records, columns=[header[i] for i in keep], index=numbers, dtype=object)
    frame[SOURCE_COLUMN] = where
    frame.attrs["headings"] = {where: [header[i] for i in keep]}
    return frame, problems


def _heading_problems(header: Sequence[str], where: str | None) -> list[RowProblem]:
    """Headings used twice (whatever their case)."""
    problems: list[RowProblem] = []
    seen: dict[str, str] = {}
    for index, heading in enumerate(header):
        if not heading:
            continue
        key = heading.casefold()
        if key in seen:
            message = f"the heading appears twice (columns {seen[key]} and {_letter(index)})"
            problems.append(RowProblem(1, heading, message, where))
        else:
            seen[key] = _letter(index)
    return problems


def _cell_problems(
    cells: Sequence[Any], header: Sequence[str], number: int, where: str | None
) -> list[RowProblem]:
    """Values under no heading, and text the database cannot store."""
    problems: list[RowProblem] = []
    for i, value in enumerate(cells):
        if value is not None and not header[i]:
            problems.append(RowProblem(number, _letter(i), "a value in a column with no heading", where))
        elif isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot store it
            message = "contains a NUL character (\\0), which cannot be stored"
            problems.append(RowProblem(number, header[i], message, where))
    return problems


def _letter(index: int) -> str:
    return get_column_letter(index + 1)
