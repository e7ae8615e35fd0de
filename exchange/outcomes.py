"""The outcome import's format, pure: a sheet read by exchange.historical.read_wide_file (the
same reading, limits and structural checks as the historical import) checked row by row.

Layout (CSV or XLSX, headings on row 1): `program` and `period` (a month, 2025-03, or a
quarter, 2025-Q1), then one column per measure, headed by its key (`hospital_days`) or its
name ("Psychiatric hospital days"), in any case. A blank cell means no value for that measure
(nothing is changed). Each problem names the spreadsheet row (headings = row 1) and column;
the services import nothing when there is any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from domain.errors import ValidationProblem
from domain.outcomes import Period, Unit, parse_period, parse_value
from domain.vocabulary import NAME_LENGTH
from exchange.historical.layout import SOURCE_COLUMN, cell
from exchange.historical.read import frame_headings
from exchange.historical.records import RowProblem

__all__ = ["OUTCOME_COLUMNS", "MeasureColumn", "OutcomeRow", "parse_outcomes"]

OUTCOME_COLUMNS = ("program", "period")
_ALIASES = {"program": "program", "program name": "program", "team": "program", "period": "period"}


@dataclass(frozen=True)
class MeasureColumn:
    """A measure as the file may head it: its key and name, and its unit (the value's check)."""

    key: str
    name: str
    unit: Unit


@dataclass(frozen=True)
class OutcomeRow:
    """One checked row: a program's values of some measures over one period."""

    row: int
    source: str | None
    program: str
    period: Period
    values: Mapping[str, float]  # measure key -> value (blank cells left out)
    columns: Mapping[str, str] = field(default_factory=dict)  # "program", "period", measure key -> heading

    def where(self) -> str:
        return f"{self.source} row {self.row}" if self.source else f"row {self.row}"


def parse_outcomes(
    frame: pd.DataFrame, measures: Sequence[MeasureColumn], today: dt.date | None = None
) -> tuple[list[OutcomeRow], list[RowProblem]]:
    """The checked rows and every problem (the rows are complete only when there are none)."""
    by_heading: dict[str, MeasureColumn] = {}
    for measure in measures:
        by_heading[measure.key.casefold()] = measure
        by_heading[" ".join(measure.name.split()).casefold()] = measure
    rows: list[OutcomeRow] = []
    problems: list[RowProblem] = []
    sources = (
        [None if pd.isna(v) else str(v) for v in frame[SOURCE_COLUMN]]
        if SOURCE_COLUMN in frame.columns
        else [None] * len(frame)
    )
    layouts: dict[str | None, tuple[dict[str, str], dict[str, MeasureColumn]] | None] = {}
    for src, headings in frame_headings(frame).items():
        layouts[src] = _layout(headings, by_heading, src, problems)
    seen: dict[tuple[str, Period, str], int] = {}
    for position, number in enumerate(frame.index):
        src = sources[position]
        layout = layouts.get(src)
        if layout is None:
            continue
        meta, columns = layout
        parsed = _row(frame.iloc[position], int(number), src, meta, columns, today, problems)
        if parsed is None:
            continue
        for key in parsed.values:
            first = seen.setdefault((parsed.program.casefold(), parsed.period, key), parsed.row)
            if first != parsed.row:
                message = (
                    f"{parsed.program} {parsed.period.label} {key} is given twice (first in row {first})"
                )
                problems.append(RowProblem(parsed.row, parsed.columns[key], message, src))
        rows.append(parsed)
    return rows, problems


def _layout(
    headings: Sequence[str],
    by_heading: Mapping[str, MeasureColumn],
    src: str | None,
    problems: list[RowProblem],
) -> tuple[dict[str, str], dict[str, MeasureColumn]] | None:
    """The metadata columns and the measure columns by heading; None when a required one is missing."""
    meta: dict[str, str] = {}
    columns: dict[str, MeasureColumn] = {}
    for heading in headings:
        key = " ".join(heading.replace("_", " ").split()).casefold()
        if _ALIASES.get(key) in OUTCOME_COLUMNS:
            meta[_ALIASES[key]] = heading
        elif (measure := by_heading.get(heading.strip().casefold()) or by_heading.get(key)) is not None:
            if measure.key in {m.key for m in columns.values()}:
                problems.append(RowProblem(1, heading, f"a second column for the measure {measure.key}", src))
            columns[heading] = measure
        else:
            known = ", ".join(m.key for m in dict.fromkeys(by_heading.values()))
            message = f"{heading!r} is not a measure (the measures are: {known})"
            problems.append(RowProblem(1, heading, message, src))
    missing = [c for c in OUTCOME_COLUMNS if c not in meta]
    for column in missing:
        problems.append(RowProblem(1, column, f"missing required column {column!r}", src))
    if not columns and not missing:
        problems.append(RowProblem(1, "-", "no measure columns: head a column with a measure's key", src))
    return None if missing else (meta, columns)


def _row(
    values: pd.Series,
    number: int,
    src: str | None,
    meta: Mapping[str, str],
    columns: Mapping[str, MeasureColumn],
    today: dt.date | None,
    problems: list[RowProblem],
) -> OutcomeRow | None:
    found: list[RowProblem] = []
    program = cell(values.get(meta["program"]))
    name = str(program).strip() if program is not None else ""
    if not name:
        found.append(RowProblem(number, meta["program"], "the program is required", src))
    elif len(name) > NAME_LENGTH:
        found.append(RowProblem(number, meta["program"], f"longer than {NAME_LENGTH} characters", src))
    period: Period | None = None
    raw_period = cell(values.get(meta["period"]))
    if raw_period is None:
        found.append(RowProblem(number, meta["period"], "the period is required", src))
    else:
        try:
            period = parse_period(raw_period, today)
        except ValidationProblem as exc:
            found.append(RowProblem(number, meta["period"], exc.problems[0], src))
    parsed: dict[str, float] = {}
    for heading, measure in columns.items():
        raw = cell(values.get(heading))
        if raw is None:
            continue
        try:
            parsed[measure.key] = parse_value(raw, measure.unit)
        except ValidationProblem as exc:
            found.append(RowProblem(number, heading, exc.problems[0], src))
    problems.extend(found)
    if found or period is None:
        return None
    where = {"program": meta["program"], "period": meta["period"]}
    where.update({m.key: heading for heading, m in columns.items()})
    return OutcomeRow(number, src, name, period, parsed, where)
