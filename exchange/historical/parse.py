"""Checking a wide frame's rows, without a database: each row becomes a `WideRow` or the
problems that stop it, each with the spreadsheet row and the column heading.

Each rule is a small function over one row (`_Cells`): the program, the provider and region,
the date, the scale and version, the review type, the raters, the item ratings; then the whole
file is checked for the same review twice.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

from domain import checks
from domain.errors import ValidationProblem
from domain.vocabulary import NAME_LENGTH, PERSON_LENGTH
from exchange.export import FORMULA_PREFIXES
from exchange.historical.layout import (
    DATE_FORMATS,
    NOT_RATED_MARKERS,
    REQUIRED_COLUMNS,
    SOURCE_COLUMN,
    cell,
    meta_key,
    name_key,
)
from exchange.historical.read import frame_headings
from exchange.historical.records import RowProblem, WideRow
from scales import Scale, ScaleRegistry

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})$")
_DIGITS = re.compile(r"[0-9]+")  # ASCII digits: \d also takes "٣" (Arabic-Indic three)


def validate_wide(frame: pd.DataFrame, registry: ScaleRegistry) -> list[RowProblem]:
    """Every problem of every row: required columns, unknown scales and versions, item
    columns that are not items of the row's scale, ratings that are not whole numbers in
    the scale's range, dates that cannot be read, the same review twice. Empty: all clean."""
    return parse_wide(frame, registry)[1]


def parse_wide(frame: pd.DataFrame, registry: ScaleRegistry) -> tuple[list[WideRow], list[RowProblem]]:
    """The checked rows, and the problems; the rows are complete only when there are none."""
    headings = frame_headings(frame)
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
            cells = _Cells(frame.iloc[position], numbers[position], src, meta)
            row = _parse_row(cells, item_columns, registry, scale_checked)
            problems.extend(cells.problems)
            if row is not None and not cells.problems:
                rows.append(row)

    problems.extend(_duplicates(rows))
    return rows, in_order(problems, list(positions_by_source))


def in_order(problems: list[RowProblem], sources: Sequence[str | None]) -> list[RowProblem]:
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
        key = meta_key(heading)
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


# --------------------------------------------------------------------------------------------
# One row, rule by rule
# --------------------------------------------------------------------------------------------


@dataclass
class _Cells:
    """One row being checked: its cells by metadata key, and the problems found so far."""

    values: pd.Series
    number: int
    source: str | None
    meta: Mapping[str, str]
    problems: list[RowProblem] = field(default_factory=list)

    def problem(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.number, column, message, self.source))

    def get(self, key: str) -> Any:
        """The cell under a metadata column (None when blank or when the file has no such column)."""
        heading = self.meta.get(key)
        return None if heading is None else cell(self.values.get(heading))


def _parse_row(
    cells: _Cells, item_columns: Sequence[str], registry: ScaleRegistry, scale_checked: set[tuple[str, str]]
) -> WideRow | None:
    """The row as a review, or None; its problems are in `cells.problems`, in column order."""
    program = _program(cells)
    provider, region = _named(cells, "provider"), _named(cells, "region")
    review_date = _review_date(cells)
    scale = _scale(cells.get("scale"), cells.get("version"), cells.meta, registry, cells.problem)
    review_type = _review_type(cells)
    raters = _raters(cells)
    ratings: dict[str, int | None] = {}
    columns: dict[str, str] = dict(cells.meta)
    if scale is not None:
        key = (scale.id, scale.version)
        if key not in scale_checked:  # two headings for one item: reported once, on row 1
            scale_checked.add(key)
            cells.problems.extend(_item_heading_problems(scale, item_columns, cells.source))
        ratings = _ratings(cells, scale, item_columns, columns)
    if cells.problems or program is None or review_date is None or scale is None:
        return None
    return WideRow(
        row=cells.number,
        source=cells.source,
        program=program,
        provider=provider,
        region=region,
        review_date=review_date,
        scale=scale,
        review_type=review_type,
        raters=tuple(raters),
        ratings=ratings,
        columns=columns,
    )


def _program(cells: _Cells) -> str | None:
    program = _text(cells.get("program"))
    if program is None:
        cells.problem(cells.meta["program"], "the program name is missing")
        return None
    return _name(cells, "program", program, "the program name")


def _named(cells: _Cells, key: str) -> str | None:
    """The provider or the region (as given, even when refused: the problem says so)."""
    value = _text(cells.get(key))
    return None if value is None else _name(cells, key, value, key)


def _name(cells: _Cells, key: str, value: str, what: str) -> str:
    """A name as the services take it (domain.checks.optional_name: NFC, no hidden characters,
    not too long); as given, with the problem in its cell, when refused."""
    try:
        return checks.required_name(value, what, NAME_LENGTH)
    except ValidationProblem as exc:
        cells.problem(cells.meta[key], str(exc))
        return value


def _review_date(cells: _Cells) -> dt.date | None:
    raw = cells.get("date")
    if raw is None:
        cells.problem(cells.meta["date"], f"the review date is missing (write it as {DATE_FORMATS})")
        return None
    try:
        day = parse_date(raw)
        checks.check_review_date(day)  # the services' range: from 1990 to a year ahead
        return day
    except (ValueError, ValidationProblem) as exc:
        cells.problem(cells.meta["date"], str(exc))
        return None


def _review_type(cells: _Cells) -> str | None:
    raw = _text(cells.get("type"))
    if raw is None:
        return None
    try:
        return checks.review_type(raw)  # the review services' rule ("followup", "Self assessment")
    except ValidationProblem as exc:
        cells.problem(cells.meta["type"], str(exc))
        return None


def _raters(cells: _Cells) -> list[str]:
    raters: list[str] = []
    raw = _text(cells.get("raters"))
    if raw is None:
        return raters
    for name in (n.strip() for n in raw.split(";")):
        if not name:
            continue
        try:
            shown = repr(name) if len(name) <= 30 else f"{name[:20]!r}…"
            name = checks.required_name(name, f"rater name {shown}", PERSON_LENGTH)
        except ValidationProblem as exc:
            cells.problem(cells.meta["raters"], str(exc))
            continue
        if name.casefold() in {r.casefold() for r in raters}:
            cells.problem(cells.meta["raters"], f"rater {name} is listed twice")
        else:
            raters.append(name)
    return raters


def _item_heading_problems(scale: Scale, item_columns: Sequence[str], source: str | None) -> list[RowProblem]:
    """Two headings that name one item of the scale (e.g. `H1` and `h1`)."""
    ids = _item_ids(scale)
    problems: list[RowProblem] = []
    by_item: dict[str, str] = {}
    for heading in item_columns:
        item_id = ids.get(heading.casefold())
        if item_id is not None and item_id in by_item:
            other = by_item[item_id]
            message = f"{scale.id} {scale.version} item {item_id} is also in column {other!r}"
            problems.append(RowProblem(1, heading, message, source))
        elif item_id is not None:
            by_item[item_id] = heading
    return problems


def _ratings(
    cells: _Cells, scale: Scale, item_columns: Sequence[str], columns: dict[str, str]
) -> dict[str, int | None]:
    """Every item's rating (None: not rated); `columns` learns each item's heading."""
    ids = _item_ids(scale)
    ratings: dict[str, int | None] = {}
    for heading in item_columns:
        raw = cell(cells.values.get(heading))
        item_id = ids.get(heading.casefold())
        if item_id is None:
            if raw is not None:
                cells.problem(heading, f"not an item of {scale.id} {scale.version} ({_item_list(scale)})")
            continue
        if item_id in columns:  # the duplicate heading was reported on row 1
            continue
        columns[item_id] = heading
        try:
            ratings[item_id] = parse_rating(raw, scale)
        except ValueError as exc:
            cells.problem(heading, str(exc))
    for item_id in scale.item_ids:
        ratings.setdefault(item_id, None)
    if not cells.problems and not any(r is not None for r in ratings.values()):
        message = f"no ratings: none of the {scale.id} {scale.version} item columns has a value"
        cells.problem(cells.meta["scale"], message)
    return ratings


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
        key = (name_key(row.program), row.scale.id, row.review_date)
        earlier = first.get(key)
        if earlier is None:
            first[key] = row
            continue
        where = f"row {earlier.row}" if earlier.source == row.source else earlier.where()
        what = f"{row.scale.id} review of {row.program} dated {row.review_date}"
        message = f"a second {what} (the first is {where})"
        problems.append(RowProblem(row.row, row.columns["date"], message, row.source))
    return problems


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


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
    """A whole number in the scale's range; blank, NA, N/A or '-' mean not rated (None).

    Text must be digits only ("3"; spaces around it are trimmed): "3.0", "3e0", "+3" are
    refused, as a review file refuses 3.0. A number cell of a workbook is a rating when its value
    is whole: Excel stores every number as a float, so the 3 a reviewer typed arrives as 3.0.
    """
    low, high = scale.rating.min, scale.rating.max
    expected = f"a rating must be a whole number from {low} to {high}"
    if value is None:
        return None
    if isinstance(value, bool | dt.date | dt.datetime | dt.time):
        raise ValueError(f"{expected}, got {value!r}")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise ValueError(f"{expected}, got {value}")
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text or text.casefold() in NOT_RATED_MARKERS:
            return None
        if not _DIGITS.fullmatch(text):  # not int(): it takes "+3", " 3_0", "٣"
            raise ValueError(f"{expected} in digits (3, not 3.0), or blank when not rated; got {text!r}")
        if len(text) > 20:  # int() of 5,000 digits is refused by Python itself; out of range anyway
            raise ValueError(f"rating {text[:20]}… is out of range {low}..{high}")
        number = int(text)
    if not low <= number <= high:
        raise ValueError(
            f"rating {number if number.bit_length() < 70 else value} is out of range {low}..{high}"
        )
    return number


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
