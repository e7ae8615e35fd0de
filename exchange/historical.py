"""Historical import: the wide spreadsheets agencies keep, one row per review.

Layout (CSV or XLSX, headings on row 1): `program`, `date`, `scale` (required), `version`
(default: the newest version of the scale), `provider`, `region`, `type` (baseline,
follow-up, self-assessment; default: baseline for a program's first review of that scale,
follow-up after it), `raters` (names separated by ';'), and one column per item id (`H1`,
`H2`, ...; case does not matter, and a scale's published ids such as IDDT `1a` work too).
A blank rating cell (or NA, N/A, '-') means the item was not rated.

Every row is checked before anything is written: `validate_wide` reports each problem with
the row number a spreadsheet shows (headings are row 1) and the column heading. `plan_wide`
adds the checks against the database, and `import_wide` stores every row as a final
consensus review in one transaction, or nothing at all. Importing the same file again skips
the reviews it already stored; a row that contradicts a stored review is a problem.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from zipfile import BadZipFile, ZipFile

import pandas as pd
from packaging.version import InvalidVersion, Version
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from exchange.export import FORMULA_PREFIXES
from scales import Scale, ScaleRegistry, UnknownScaleError
from services import access
from services import reviews as svc
from services.access import Action, Actor
from services.database import Database
from services.errors import ValidationProblem
from storage.models import (
    NAME_LENGTH,
    PERSON_LENGTH,
    AuditEntry,
    ConsensusRating,
    Program,
    ProgramModel,
    RatingSource,
    Review,
    ReviewStatus,
    ReviewType,
)

SOURCE_COLUMN = "(source)"
"""Reserved column that `read_wide_file` fills with the sheet (and file) a row came from."""

METADATA_COLUMNS = ("program", "provider", "region", "date", "scale", "version", "type", "raters")
REQUIRED_COLUMNS = ("program", "date", "scale")
ALIASES = {
    "program name": "program",
    "team": "program",
    "review date": "date",
    "scale id": "scale",
    "scale version": "version",
    "review type": "type",
}
NOT_RATED_MARKERS = frozenset({"na", "n/a", "-", "not rated"})
NOT_RATED_REASON = "not rated in the imported file"
DATE_FORMATS = "YYYY-MM-DD (2024-03-14) or M/D/YYYY (3/14/2024)"
MAX_FILE_BYTES = 50_000_000
MAX_UNPACKED_BYTES = 250_000_000  # an .xlsx file's parts, unzipped
MAX_ROWS = 100_000  # rows of one CSV file or sheet (each row is a review)
MAX_COLUMNS = 1_000

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One problem in one cell: the spreadsheet row (headings = row 1) and the column heading."""

    row: int
    column: str
    message: str
    source: str | None = None  # "sheet 2019", or "2019.xlsx, sheet DACTS" when several files

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.column}: {self.message}"
        return f"{self.source}: {where}" if self.source else where


class WideImportError(ValidationProblem):
    """Problems that stop an import; nothing has been written. `row_problems` keeps the cells."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.row_problems = list(problems)
        super().__init__([str(p) for p in problems])


@dataclass(frozen=True)
class WideRow:
    """One checked row: a review to store."""

    row: int
    source: str | None
    program: str
    provider: str | None
    region: str | None
    review_date: dt.date
    scale: Scale
    review_type: str | None  # None: inferred when planned
    raters: tuple[str, ...]
    ratings: Mapping[str, int | None]  # every item of the scale, None = not rated
    columns: Mapping[str, str]  # item id or metadata key -> the heading it came from

    @property
    def rated(self) -> int:
        return sum(r is not None for r in self.ratings.values())

    def where(self, fallback: str | None = None) -> str:
        """ "sheet 2019 row 5", or with no sheet or file to name, "FALLBACK row 5" or "row 5"."""
        place = self.source or fallback
        return f"{place} row {self.row}" if place else f"row {self.row}"


@dataclass(frozen=True)
class PlannedReview:
    row: WideRow
    review_type: str
    existing_review: int | None  # set when this review is already stored: it is skipped
    program_exists: bool


@dataclass(frozen=True)
class ImportPlan:
    """What importing would do: the reviews to create, those already stored, and every problem."""

    reviews: list[PlannedReview]
    problems: list[RowProblem]
    programs_new: list[str]
    programs_existing: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def to_create(self) -> list[PlannedReview]:
        return [p for p in self.reviews if p.existing_review is None]

    @property
    def already_stored(self) -> list[PlannedReview]:
        return [p for p in self.reviews if p.existing_review is not None]

    def preview(self) -> pd.DataFrame:
        """One line per row of the file: what happens to it."""
        return pd.DataFrame(
            [
                {
                    "source": p.row.source,
                    "row": p.row.row,
                    "program": p.row.program,
                    "new program": not p.program_exists,
                    "scale": p.row.scale.id,
                    "version": p.row.scale.version,
                    "date": p.row.review_date,
                    "type": p.review_type,
                    "rated": f"{p.row.rated}/{len(p.row.ratings)}",
                    "action": "import"
                    if p.existing_review is None
                    else f"skip: already stored as review {p.existing_review}",
                }
                for p in self.reviews
            ],
            columns=["source", "row", "program", "new program", "scale", "version", "date", "type",
                     "rated", "action"],
        )  # fmt: skip


@dataclass(frozen=True)
class ImportSummary:
    created: int
    skipped_existing: int
    programs_created: int
    review_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"imported {self.created} review{'s' if self.created != 1 else ''}"
        if self.programs_created:
            text += f" and created {self.programs_created} program{'s' if self.programs_created != 1 else ''}"
        if self.skipped_existing:
            text += f"; {self.skipped_existing} already imported (skipped)"
        return text


Progress = Callable[[int, int], None]
"""progress(done, total): called after each row is stored (or skipped)."""


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


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
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sheets = _xlsx_sheets(raw, name)
    elif suffix in (".csv", ".txt", ""):
        sheets = [(None, _csv_rows(raw, name))]
    elif suffix == ".xls":
        raise ValidationProblem(f"{name}: old-style .xls workbooks cannot be read; save it as .xlsx or CSV")
    else:
        raise ValidationProblem(f"{name}: import a .csv or an .xlsx file, not {suffix}")
    used = [(title, rows) for title, rows in sheets if any(_has_value(v) for row in rows for v in row)]
    if not used:
        raise ValidationProblem(f"{name}: the file has no rows")
    frames: list[pd.DataFrame] = []
    problems: list[RowProblem] = []
    notes: list[str] = []
    for title, rows in used:
        where = _source_label(label, title if len(used) > 1 else None)
        if len(used) > 1 and not any(_meta_key(_heading(h)) in REQUIRED_COLUMNS for h in rows[0]):
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


def combine_wide(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several files' frames (read with a `label` each) as one, to check and import together."""
    frames = list(frames)
    headings: dict[str | None, list[str]] = {}
    notes: list[str] = []
    for frame in frames:
        headings.update(_headings(frame))
        notes.extend(_read_notes(frame))
    combined = pd.concat(frames) if len(frames) > 1 else frames[0].copy()
    combined.index.name = "row"
    combined.attrs["headings"] = headings  # each source's own columns: sheets may differ
    combined.attrs["notes"] = notes
    return combined


def _read_notes(frame: pd.DataFrame) -> list[str]:
    notes = frame.attrs.get("notes")
    return list(notes) if isinstance(notes, list) else []


def _headings(frame: pd.DataFrame) -> dict[str | None, list[str]]:
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


def _xlsx_sheets(raw: bytes, name: str) -> list[tuple[str, list[list[Any]]]]:
    from openpyxl import load_workbook

    try:
        with ZipFile(io.BytesIO(raw)) as archive:  # an .xlsx is a zip: refuse a zip bomb unread
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValidationProblem(f"{name}: the workbook unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheets = []
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
        while values and not _has_value(values[-1]):
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
    problems: list[RowProblem] = []
    header = [_heading(v) for v in rows[0]] if rows else []
    if not any(header):
        message = "row 1 must hold the column headings (program, date, scale, ...)"
        return pd.DataFrame(), [RowProblem(1, "A", message, where)]
    width = max(len(r) for r in rows)
    header += [""] * (width - len(header))
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
    keep = [i for i, h in enumerate(header) if h]
    records: list[list[Any]] = []
    numbers: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_cell(v) for v in row] + [None] * (width - len(row))
        if not any(v is not None for v in cells):
            continue
        for i, value in enumerate(cells):
            if value is not None and not header[i]:
                problems.append(RowProblem(number, _letter(i), "a value in a column with no heading", where))
            elif isinstance(value, str) and "\x00" in value:  # PostgreSQL cannot store it
                message = "contains a NUL character (\\0), which cannot be stored"
                problems.append(RowProblem(number, header[i], message, where))
        records.append([cells[i] for i in keep])
        numbers.append(number)
    frame = pd.DataFrame(records, columns=[header[i] for i in keep], index=numbers, dtype=object)
    frame[SOURCE_COLUMN] = where
    frame.attrs["headings"] = {where: [header[i] for i in keep]}
    return frame, problems


def _heading(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cell(value: Any) -> Any:
    """Text stripped, blank as None; numbers and dates (from XLSX) as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _has_value(value: Any) -> bool:
    return _cell(value) is not None


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# --------------------------------------------------------------------------------------------
# Checking the rows (no database)
# --------------------------------------------------------------------------------------------


def validate_wide(frame: pd.DataFrame, registry: ScaleRegistry) -> list[RowProblem]:
    """Every problem of every row: required columns, unknown scales and versions, item
    columns that are not items of the row's scale, ratings that are not whole numbers in
    the scale's range, dates that cannot be read, the same review twice. Empty: all clean."""
    return parse_wide(frame, registry)[1]


def parse_wide(frame: pd.DataFrame, registry: ScaleRegistry) -> tuple[list[WideRow], list[RowProblem]]:
    """The checked rows, and the problems; the rows are complete only when there are none."""
    headings = _headings(frame)
    if SOURCE_COLUMN in frame.columns:
        sources = [None if pd.isna(src) else src for src in frame[SOURCE_COLUMN].tolist()]
    else:
        sources = [None] * len(frame)
    problems: list[RowProblem] = []
    rows: list[WideRow] = []
    numbers = _row_numbers(frame)
    positions_by_source: dict[str | None, list[int]] = {src: [] for src in headings}
    for position, src in enumerate(sources):
        positions_by_source.setdefault(src, []).append(position)

    # Headings are checked once per source (sheet or file): their columns can differ.
    for src, positions in positions_by_source.items():
        columns = headings.get(src) or [str(c) for c in frame.columns if c != SOURCE_COLUMN]
        meta, item_columns, heading_problems = _columns(columns, src)
        problems.extend(heading_problems)
        if any(p.row == 1 and p.message.startswith("missing required column") for p in heading_problems):
            continue
        scale_checked: set[tuple[str, str]] = set()
        for position in positions:
            number = numbers[position]
            values = frame.iloc[position]
            row, found = _parse_row(values, number, src, meta, item_columns, registry, scale_checked)
            problems.extend(found)
            if row is not None and not found:
                rows.append(row)

    problems.extend(_duplicates(rows))
    return rows, _in_order(problems, list(positions_by_source))


def _in_order(problems: list[RowProblem], sources: Sequence[str | None]) -> list[RowProblem]:
    """By file and sheet as read, then by row (a row's problems keep their column order)."""
    order = {src: i for i, src in enumerate(sources)}
    return sorted(problems, key=lambda p: (order.get(p.source, len(order)), p.row))


def _row_numbers(frame: pd.DataFrame) -> list[int]:
    if frame.index.name == "row":
        return [int(n) for n in frame.index]
    return list(range(2, len(frame) + 2))


def _columns(columns: Sequence[str], src: str | None) -> tuple[dict[str, str], list[str], list[RowProblem]]:
    """metadata key -> heading, the item headings, and problems with the headings."""
    problems: list[RowProblem] = []
    meta: dict[str, str] = {}
    items: list[str] = []
    for heading in columns:
        key = _meta_key(heading)
        if key is None:
            items.append(heading)
        elif key in meta:
            problems.append(RowProblem(1, heading, f"says the same as column {meta[key]!r} ({key})", src))
        else:
            meta[key] = heading
    for key in REQUIRED_COLUMNS:
        if key not in meta:
            message = f"missing required column {key!r} (the headings are on row 1)"
            problems.append(RowProblem(1, key, message, src))
    return meta, items, problems


def _meta_key(heading: str) -> str | None:
    key = " ".join(heading.replace("_", " ").split()).casefold()
    key = ALIASES.get(key, key)
    return key if key in METADATA_COLUMNS else None


def _parse_row(
    values: pd.Series,
    number: int,
    src: str | None,
    meta: Mapping[str, str],
    item_columns: Sequence[str],
    registry: ScaleRegistry,
    scale_checked: set[tuple[str, str]],
) -> tuple[WideRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(column: str, message: str) -> None:
        problems.append(RowProblem(number, column, message, src))

    def cell(key: str) -> Any:
        heading = meta.get(key)
        return None if heading is None else _cell(values.get(heading))

    program = _text(cell("program"))
    if program is None:
        problem(meta["program"], "the program name is missing")
    elif len(program) > NAME_LENGTH:
        problem(meta["program"], f"the program name is longer than {NAME_LENGTH} characters")
    provider, region = _text(cell("provider")), _text(cell("region"))
    for key, value in (("provider", provider), ("region", region)):
        if value is not None and len(value) > NAME_LENGTH:
            problem(meta[key], f"longer than {NAME_LENGTH} characters")

    review_date = None
    raw_date = cell("date")
    if raw_date is None:
        problem(meta["date"], f"the review date is missing (write it as {DATE_FORMATS})")
    else:
        try:
            review_date = parse_date(raw_date)
        except ValueError as exc:
            problem(meta["date"], str(exc))

    scale = _scale(cell("scale"), cell("version"), meta, registry, problem)

    review_type = None
    raw_type = _text(cell("type"))
    if raw_type is not None:
        try:
            review_type = svc._review_type(raw_type)
        except ValidationProblem as exc:
            problem(meta["type"], exc.problems[0])

    raters: list[str] = []
    raw_raters = _text(cell("raters"))
    if raw_raters is not None:
        for name in (n.strip() for n in raw_raters.split(";")):
            if not name:
                continue
            if len(name) > PERSON_LENGTH:
                problem(meta["raters"], f"rater name {name[:20]!r}… is longer than {PERSON_LENGTH} letters")
            elif name.casefold() in {r.casefold() for r in raters}:
                problem(meta["raters"], f"rater {name} is listed twice")
            else:
                raters.append(name)

    ratings: dict[str, int | None] = {}
    columns: dict[str, str] = dict(meta)
    if scale is not None:
        ids = _item_ids(scale)
        key = (scale.id, scale.version)
        if key not in scale_checked:  # two headings for one item: reported once, on row 1
            scale_checked.add(key)
            by_item: dict[str, str] = {}
            for heading in item_columns:
                item_id = ids.get(heading.casefold())
                if item_id is not None and item_id in by_item:
                    other = by_item[item_id]
                    message = f"{scale.id} {scale.version} item {item_id} is also in column {other!r}"
                    problems.append(RowProblem(1, heading, message, src))
                elif item_id is not None:
                    by_item[item_id] = heading
        for heading in item_columns:
            raw = _cell(values.get(heading))
            item_id = ids.get(heading.casefold())
            if item_id is None:
                if raw is not None:
                    problem(heading, f"not an item of {scale.id} {scale.version} ({_item_list(scale)})")
                continue
            if item_id in columns:  # the duplicate heading was reported above
                continue
            columns[item_id] = heading
            try:
                ratings[item_id] = parse_rating(raw, scale)
            except ValueError as exc:
                problem(heading, str(exc))
        for item_id in scale.item_ids:
            ratings.setdefault(item_id, None)
        if not problems and not any(r is not None for r in ratings.values()):
            message = f"no ratings: none of the {scale.id} {scale.version} item columns has a value"
            problem(meta["scale"], message)

    if problems or program is None or review_date is None or scale is None:
        return None, problems
    return (
        WideRow(
            row=number,
            source=src,
            program=program,
            provider=provider,
            region=region,
            review_date=review_date,
            scale=scale,
            review_type=review_type,
            raters=tuple(raters),
            ratings=ratings,
            columns=columns,
        ),
        problems,
    )


def _scale(
    raw_scale: Any,
    raw_version: Any,
    meta: Mapping[str, str],
    registry: ScaleRegistry,
    problem: Callable[[str, str], None],
) -> Scale | None:
    scale_id = _text(raw_scale)
    if scale_id is None:
        problem(meta["scale"], "the scale is missing (e.g. dacts)")
        return None
    known = {s.id.casefold(): s.id for s in registry.all()}
    found_id = known.get(scale_id.casefold())
    if found_id is None:
        listed = ", ".join(sorted(set(known.values()))) or "none"
        problem(meta["scale"], f"unknown scale {scale_id!r} (known scales: {listed})")
        return None
    version = _version_text(raw_version)
    if version is None:
        return registry.get(found_id)
    versions = registry.versions(found_id)
    exact = [s for s in versions if s.version == version]
    if not exact:  # "1" for "1.0": what a spreadsheet makes of a version it took for a number
        try:
            wanted = Version(version)
            exact = [s for s in versions if _same_version(s.version, wanted)]
        except InvalidVersion:
            exact = []
    if len(exact) != 1:
        listed = ", ".join(s.version for s in versions)
        problem(meta["version"], f"unknown version {version!r} of {found_id} (known versions: {listed})")
        return None
    return exact[0]


def _same_version(text: str, wanted: Version) -> bool:
    try:
        return Version(text) == wanted
    except InvalidVersion:
        return False


def _version_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)  # 1.0 -> "1.0"
    return _text(value)


def _item_ids(scale: Scale) -> dict[str, str]:
    """Heading (casefolded) -> item id: the item ids, and published ids that are not ambiguous."""
    ids = {item.id.casefold(): item.id for item in scale.items}
    for item in scale.items:
        published = (item.published_id or "").casefold()
        if published and published not in ids:
            ids[published] = item.id
    return ids


def _item_list(scale: Scale) -> str:
    ids = scale.item_ids
    listed = ", ".join(ids) if len(ids) <= 6 else f"{ids[0]}, {ids[1]}, … {ids[-1]}"
    return f"its items are {listed}"


def _duplicates(rows: Sequence[WideRow]) -> list[RowProblem]:
    first: dict[tuple[str, str, dt.date], WideRow] = {}
    problems: list[RowProblem] = []
    for row in rows:
        key = (_name_key(row.program), row.scale.id, row.review_date)
        earlier = first.get(key)
        if earlier is None:
            first[key] = row
            continue
        where = f"row {earlier.row}" if earlier.source == row.source else earlier.where()
        what = f"{row.scale.id} review of {row.program} dated {row.review_date}"
        message = f"a second {what} (the first is {where})"
        problems.append(RowProblem(row.row, row.columns["date"], message, row.source))
    return problems


def parse_date(value: Any) -> dt.date:
    """A date from a spreadsheet cell: a date cell, YYYY-MM-DD or M/D/YYYY (M/D/YY)."""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise ValueError(
            f"{text} is a number, not a date: write it as {DATE_FORMATS}, or make it a date cell"
        )
    try:
        if match := _ISO_DATE.match(text):
            year, month, day = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        if match := _US_DATE.match(text):
            month, day, year = (int(g) for g in match.groups())
            if len(match.group(3)) == 2:
                this_year = dt.date.today().year % 100
                year += 2000 if year <= this_year else 1900
            return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date (write it as {DATE_FORMATS})") from None
    raise ValueError(f"cannot read the date {text!r}: write it as {DATE_FORMATS}")


def parse_rating(value: Any, scale: Scale) -> int | None:
    """A whole number in the scale's range; blank, NA, N/A or '-' mean not rated (None)."""
    low, high = scale.rating.min, scale.rating.max
    expected = f"a rating must be a whole number from {low} to {high}"
    if value is None:
        return None
    if isinstance(value, bool | dt.date | dt.datetime | dt.time):
        raise ValueError(f"{expected}, got {value!r}")
    number: Decimal
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        number = Decimal(repr(value))
    else:
        text = str(value).strip()
        if not text or text.casefold() in NOT_RATED_MARKERS:
            return None
        try:
            number = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"{expected} (or blank when not rated), got {text!r}") from None
        if not number.is_finite():
            raise ValueError(f"{expected}, got {text!r}")
    if number != number.to_integral_value():
        raise ValueError(f"{expected}, got {value}")
    if not low <= number <= high:  # before int(): int(Decimal("1e999999999")) runs for ever
        shown = int(number) if number.adjusted() < 20 else value
        raise ValueError(f"rating {shown} is out of range {low}..{high}")
    return int(number)


def _text(value: Any) -> str | None:
    """A cell as text (a leading quote that neutralised a formula is removed again)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] and text[1:2] in FORMULA_PREFIXES:
        text = text[1:]
    return text or None


# --------------------------------------------------------------------------------------------
# Against the database
# --------------------------------------------------------------------------------------------


def plan_wide(
    db: Database, frame: pd.DataFrame, registry: ScaleRegistry | None = None, *, actor: Actor
) -> ImportPlan:
    """Check the rows and what the database holds, writing nothing: the import's dry run."""
    access.require(actor, Action.IMPORT)
    rows, problems = parse_wide(frame, registry or db.registry)
    if problems:
        return ImportPlan([], problems, [], [])
    problems = _registry_problems(db, rows)
    if problems:
        return ImportPlan([], problems, [], [])
    with db.reading() as s:
        return _plan(s, rows, _read_notes(frame))


def import_wide(
    db: Database,
    frame: pd.DataFrame,
    registry: ScaleRegistry | None = None,
    *,
    actor: Actor,
    progress: Progress | None = None,
    source: str | None = None,
) -> ImportSummary:
    """Store every row as a final consensus review, all in one transaction.

    Raises WideImportError (nothing written) when any row has a problem, including a row
    that contradicts a review already stored. Rows stored by an earlier import of the same
    data are skipped. `source` (e.g. the file name) goes into the audit trail as
    "imported from SOURCE row N".
    """
    who = svc._actor(actor, Action.IMPORT)
    rows, problems = parse_wide(frame, registry or db.registry)
    problems = problems or _registry_problems(db, rows)
    if problems:
        raise WideImportError(problems)
    with db.writing() as s:
        plan = _plan(s, rows, _read_notes(frame))  # again, inside the transaction that writes
        if plan.problems:
            raise WideImportError(plan.problems)
        log_at = dt.datetime.now(dt.UTC)
        programs: dict[str, Program] = {
            p.name: p for p in s.scalars(select(Program).where(Program.name.in_(plan.programs_existing)))
        }
        total, created_programs = len(plan.reviews), 0
        review_ids: list[int] = []
        for done, planned in enumerate(plan.reviews, start=1):
            if planned.existing_review is None:
                row = planned.row
                program = programs.get(row.program)
                if program is None:
                    program = _create_program(s, row, plan.reviews, who, log_at, source)
                    programs[row.program] = program
                    created_programs += 1
                review_ids.append(_store(s, program, planned, who, log_at, source))
            if progress is not None:
                progress(done, total)
    return ImportSummary(
        created=len(review_ids),
        skipped_existing=len(plan.already_stored),
        programs_created=created_programs,
        review_ids=review_ids,
        notes=plan.notes,
    )


def _registry_problems(db: Database, rows: Sequence[WideRow]) -> list[RowProblem]:
    """The rows were checked with a registry: the database must score with the same scales."""
    problems = []
    for row in rows:
        try:
            loaded = db.registry.get(row.scale.id, row.scale.version)
        except UnknownScaleError as exc:
            problems.append(RowProblem(row.row, row.columns["scale"], str(exc), row.source))
            continue
        if loaded.content_hash != row.scale.content_hash:
            message = f"{row.scale.id} {row.scale.version} differs from the version the database uses"
            problems.append(RowProblem(row.row, row.columns["scale"], message, row.source))
    return problems


def _plan(s: Session, rows: Sequence[WideRow], notes: Sequence[str] = ()) -> ImportPlan:
    notes = list(notes)
    rows, programs, problems = _match_programs(s, rows, notes)
    if problems:
        return ImportPlan([], problems, [], [], notes)
    stored: dict[tuple[int, str], list[Review]] = {}
    program_ids = [p.id for p in programs.values()]
    for chunk in _chunks(program_ids):
        for review in s.scalars(
            select(Review).where(Review.program_id.in_(chunk)).order_by(Review.review_date, Review.id)
        ):
            stored.setdefault((review.program_id, review.scale_id), []).append(review)

    new_models = _new_program_models(rows, programs)
    same_day_ids = [
        r.id
        for row in rows
        if row.program in programs
        for r in stored.get((programs[row.program].id, row.scale.id), [])
        if r.review_date == row.review_date
    ]
    ratings = _stored_ratings(s, same_day_ids)

    planned: list[PlannedReview] = []
    earliest_in_file: dict[tuple[str, str], dt.date] = {}
    for row in rows:
        key = (row.program, row.scale.id)
        earliest_in_file[key] = min(earliest_in_file.get(key, row.review_date), row.review_date)
    noted: set[str] = set()
    for row in rows:
        program = programs.get(row.program)
        existing_id = None
        if program is not None:
            found = _check_existing(row, program, stored.get((program.id, row.scale.id), []), ratings)
            if isinstance(found, RowProblem):
                problems.append(found)
                continue
            existing_id = found
            message = _model_problem(program.name, program.model, row.scale)
            if message:
                problems.append(RowProblem(row.row, row.columns["scale"], message, row.source))
                continue
            if row.program not in noted:
                note = _program_note(row, program)
                if note:
                    notes.append(note)
                    noted.add(row.program)
        else:
            message = _model_problem(row.program, new_models.get(row.program), row.scale)
            if message:
                problems.append(RowProblem(row.row, row.columns["scale"], message, row.source))
                continue
        kind = row.review_type
        if kind is None:
            earlier = [
                r for r in (stored.get((program.id, row.scale.id), []) if program else [])
                if r.review_date < row.review_date
            ]  # fmt: skip
            first = not earlier and earliest_in_file[(row.program, row.scale.id)] >= row.review_date
            kind = ReviewType.BASELINE.value if first else ReviewType.FOLLOW_UP.value
        planned.append(PlannedReview(row, kind, existing_id, program is not None))
    if problems:
        problems = _in_order(problems, list(dict.fromkeys(row.source for row in rows)))
        return ImportPlan([], problems, [], [], notes)
    new = sorted({p.row.program for p in planned if not p.program_exists and p.existing_review is None})
    existing = sorted({p.row.program for p in planned if p.program_exists})
    for name in new:
        mine = [p.row for p in planned if p.row.program == name]
        for what in ("provider", "region"):
            given = list(dict.fromkeys(v for r in mine if (v := getattr(r, what))))
            if len(given) > 1:
                listed = ", ".join(repr(v) for v in given)
                notes.append(
                    f"{name}: the file gives the {what}s {listed}; the new program gets {given[0]!r}"
                )
    return ImportPlan(planned, [], new, existing, notes)


def _name_key(name: str) -> str:
    """Program names that differ only in case or spacing name the same program."""
    return " ".join(name.split()).casefold()


def _match_programs(
    s: Session, rows: Sequence[WideRow], notes: list[str]
) -> tuple[list[WideRow], dict[str, Program], list[RowProblem]]:
    """The rows with each program named as it is stored (or as the file first spells a new
    one), the stored programs by name, and rows whose name matches several stored programs."""
    stored = list(s.scalars(select(Program).options(selectinload(Program.provider))))
    exact = {p.name: p for p in stored}
    by_key: dict[str, list[Program]] = {}
    for program in stored:
        by_key.setdefault(_name_key(program.name), []).append(program)
    first_spelling: dict[str, str] = {}
    matched: list[WideRow] = []
    problems: list[RowProblem] = []
    said: set[tuple[str, str]] = set()
    for row in rows:
        key = _name_key(row.program)
        name = row.program
        if name not in exact:
            candidates = by_key.get(key, [])
            if len(candidates) > 1:
                listed = ", ".join(repr(p.name) for p in candidates)
                message = f"{row.program!r} matches several programs ({listed}); write one name exactly"
                problems.append(RowProblem(row.row, row.columns["program"], message, row.source))
                continue
            name = candidates[0].name if candidates else first_spelling.setdefault(key, row.program)
        if name != row.program:
            if (row.program, name) not in said:
                said.add((row.program, name))
                notes.append(f"{row.where()}: {row.program!r} is taken as the program {name!r}")
            row = replace(row, program=name)
        matched.append(row)
    names = {row.program for row in matched}
    return matched, {name: exact[name] for name in names if name in exact}, problems


def _check_existing(
    row: WideRow, program: Program, reviews: Sequence[Review], ratings: Mapping[int, dict[str, int | None]]
) -> int | RowProblem | None:
    """The stored review this row already is, None when there is none, or the contradiction."""
    same_day = [r for r in reviews if r.review_date == row.review_date]
    if not same_day:
        return None
    for review in same_day:
        if (
            review.status == ReviewStatus.FINAL
            and review.scale_version == row.scale.version
            and ratings.get(review.id, {}) == dict(row.ratings)
        ):
            return review.id
    review = same_day[-1]
    what = f"{program.name} already has a {row.scale.id} {review.scale_version} review of {row.review_date}"
    if review.status != ReviewStatus.FINAL:
        message = f"{what} (review {review.id}, still {review.status}); finish that review in the app instead"
        return RowProblem(row.row, row.columns["date"], message, row.source)
    if review.scale_version != row.scale.version:
        message = f"{what} (review {review.id}); this row says version {row.scale.version}"
        return RowProblem(row.row, row.columns.get("version", row.columns["scale"]), message, row.source)
    stored = ratings.get(review.id, {})
    for item_id, rating in row.ratings.items():
        if stored.get(item_id) != rating:

            def shown(value: int | None) -> str:
                return "not rated" if value is None else f"rated {value}"

            message = (
                f"{what} (review {review.id}) where {item_id} is {shown(stored.get(item_id))}, "
                f"not {shown(rating)}; to change a stored review, amend it"
            )
            return RowProblem(row.row, row.columns.get(item_id, row.columns["date"]), message, row.source)
    return RowProblem(row.row, row.columns["date"], f"{what} (review {review.id})", row.source)


def _stored_ratings(s: Session, review_ids: Sequence[int]) -> dict[int, dict[str, int | None]]:
    found: dict[int, dict[str, int | None]] = {}
    for chunk in _chunks(list(review_ids)):
        rows = s.execute(
            select(ConsensusRating.review_id, ConsensusRating.item_id, ConsensusRating.rating).where(
                ConsensusRating.review_id.in_(chunk)
            )
        )
        for review_id, item_id, rating in rows:
            found.setdefault(review_id, {})[item_id] = rating
    return found


def _new_program_models(rows: Sequence[WideRow], programs: Mapping[str, Program]) -> dict[str, str | None]:
    """A new program's model: the practice of the first practice-specific scale it is rated on."""
    models: dict[str, str | None] = {}
    for row in rows:
        if row.program in programs:
            continue
        if models.get(row.program) is None:
            models[row.program] = _scale_model(row.scale)
    return models


def _scale_model(scale: Scale) -> str | None:
    model = (scale.model or "").upper()
    return model if model in {m.value for m in ProgramModel} else None


def _model_problem(program: str, model: str | None, scale: Scale) -> str | None:
    scale_model = _scale_model(scale)
    if model and scale_model and model != scale_model:
        return f"{scale.id} {scale.version} measures {scale.model}, but {program} is an {model} program"
    return None


def _program_note(row: WideRow, program: Program) -> str | None:
    provider = None if program.provider is None else program.provider.name
    pairs = (("provider", row.provider, provider), ("region", row.region, program.region))
    differs = [
        f"{what} {given!r} (stored: {stored!r})"
        for what, given, stored in pairs
        if given is not None and given != stored
    ]
    if not differs:
        return None
    return f"{row.where()}: {program.name} already exists; its " + " and ".join(differs) + " were not changed"


def _create_program(
    s: Session,
    row: WideRow,
    planned: Sequence[PlannedReview],
    actor: str,
    at: dt.datetime,
    source: str | None,
) -> Program:
    """A new program with the first provider, region and practice the file gives it."""
    mine = [p.row for p in planned if p.row.program == row.program]
    provider = next((r.provider for r in mine if r.provider), None)
    region = next((r.region for r in mine if r.region), None)
    model = next((m for r in mine if (m := _scale_model(r.scale))), None)
    log = svc._Log(s, actor, at=at)
    program = Program(
        name=row.program,
        provider=svc._provider(s, provider, log),
        region=region,
        model=model,
        created_at=at,
        updated_at=at,
    )
    s.add(program)
    s.flush()
    log.program_id = program.id
    created = {**svc._program_fields(program), "imported_from": row.where(source)}
    log(f"program[{program.id}]", "created", None, created)
    return program


@dataclass
class _ReviewLog(svc._Log):
    """The audit rows of one imported review: the rows `_Log` writes, kept as plain rows and
    written with one INSERT once the review is stored (`write`), not as an ORM object each (a
    review has about 170; building and flushing them was a third of an import's time)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, entity: str, field_name: str, old: Any, new: Any) -> None:
        if old == new:
            return
        self.rows.append(
            {
                "at": self.at,
                "actor": self.actor,
                "review_id": self.review_id,
                "program_id": self.program_id,
                "entity": entity,
                "field": field_name,
                "old_value": svc._json_text(old),
                "new_value": svc._json_text(new),
            }
        )

    def write(self) -> None:
        if not self.rows:
            return
        connection = self.session.connection()  # this transaction's
        if connection.dialect.name == "postgresql":
            # psycopg's own executemany (one pipelined round trip, the statement parsed once):
            # SQLAlchemy would send one INSERT of ~170 VALUES rows, which psycopg parses anew.
            columns = ", ".join(AUDIT_COLUMNS)
            marks = ", ".join(f"%({name})s" for name in AUDIT_COLUMNS)
            connection.exec_driver_sql(f"INSERT INTO audit_log ({columns}) VALUES ({marks})", self.rows)
        else:
            connection.execute(insert(AuditEntry.__table__), self.rows)
        self.rows.clear()


AUDIT_COLUMNS = ("at", "actor", "review_id", "program_id", "entity", "field", "old_value", "new_value")


def _store(
    s: Session, program: Program, planned: PlannedReview, actor: str, at: dt.datetime, source: str | None
) -> int:
    """One row as a final review: created as consensus, ratings added, then finalized."""
    row, scale = planned.row, planned.row.scale
    log = _ReviewLog(s, actor, program_id=program.id, at=at)
    review = svc._new_review(s, program, scale, row.review_date, None, planned.review_type, log)
    log("review", "created", None, {**svc._review_fields(review), "imported_from": row.where(source)})
    for rater in row.raters:
        svc._add_rater(s, review, rater, log)
    consensus: list[ConsensusRating] = []
    for item in scale.items:
        rating = row.ratings.get(item.id)
        entry = ConsensusRating(
            review_id=review.id,
            item_id=item.id,
            rating=rating,
            rating_source=None if rating is None else RatingSource.RATED.value,
            inputs=None,
            not_rated_reason=NOT_RATED_REASON if rating is None else None,
            updated_at=at,
            updated_by=actor,
        )
        s.add(entry)
        consensus.append(entry)
        for key, value in svc._consensus_fields(entry).items():
            log(f"consensus[{item.id}]", key, None, value)
    log("review", "status", ReviewStatus.DRAFT.value, ReviewStatus.CONSENSUS.value)
    review.status = ReviewStatus.CONSENSUS
    s.flush()
    svc._finalize(s, review, scale, consensus, log)
    log.write()  # the review and its rows are written: its audit rows refer to them
    return review.id


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
