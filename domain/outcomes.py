"""Outcomes beside fidelity, in the domain's words: the measures an agency tracks per program
and period (a month or a quarter), their units and which direction is better, and the checks
every value passes wherever it comes in (the Outcomes page, an import file, the CLI).

Pure: no storage. The measures an installation tracks are rows of the database (seeded with
DEFAULT_MEASURES by migration 0010, editable by an agency admin); this module says what a
measure and a value may be.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from domain.errors import ValidationProblem

__all__ = [
    "DEFAULT_MEASURES",
    "EARLIEST_PERIOD",
    "MAX_VALUE",
    "MEASURE_KEY_LENGTH",
    "PERIOD_FORMATS",
    "Better",
    "MeasureSpec",
    "Period",
    "PeriodKind",
    "Unit",
    "check_measure_key",
    "check_value",
    "parse_period",
    "parse_value",
]

MEASURE_KEY_LENGTH: Final = 40
MAX_VALUE: Final = 1_000_000.0  # no program-level figure is larger: a typing error
EARLIEST_PERIOD: Final = dt.date(1990, 1, 1)  # as the earliest review date
PERIOD_FORMATS: Final = "a month (2025-03) or a quarter (2025-Q1)"
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})[- ]?[Qq]([1-4])$")
_NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)$")


class Unit(StrEnum):
    """What a measure counts. Days and counts are flows (they add up over a period); a percent
    and a number of clients are levels (a quarter's value is the level over its months)."""

    DAYS = "days"
    COUNT = "count"
    PERCENT = "percent"
    CLIENTS = "clients"

    @property
    def is_flow(self) -> bool:
        return self in (Unit.DAYS, Unit.COUNT)

    @property
    def limit(self) -> float:
        return 100.0 if self is Unit.PERCENT else MAX_VALUE


class Better(StrEnum):
    """Which direction of a measure is better for the clients."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"  # e.g. the caseload size: context, not a result


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"

    @property
    def months(self) -> int:
        return 1 if self is PeriodKind.MONTH else 3


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month or quarter: its first day and kind."""

    start: dt.date
    kind: PeriodKind

    @property
    def months(self) -> int:
        return self.kind.months

    @property
    def end(self) -> dt.date:
        """The last day of the period."""
        month = self.start.month + self.months - 1
        return dt.date(self.start.year, month, calendar.monthrange(self.start.year, month)[1])

    @property
    def label(self) -> str:
        """ "2025-03" or "2025-Q1": how files, the page and the CLI write it."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @classmethod
    def of(cls, kind: PeriodKind | str, start: dt.date) -> Period:
        """The period of that kind which `start` begins (checked: a quarter begins in Jan, Apr, Jul, Oct)."""
        kind = PeriodKind(kind)
        if start.day != 1 or (kind is PeriodKind.QUARTER and start.month % 3 != 1):
            raise ValidationProblem(f"{start} does not begin a {kind.value}")
        return cls(start, kind)


@dataclass(frozen=True)
class MeasureSpec:
    """A measure as an agency defines it."""

    key: str
    name: str
    unit: Unit
    better: Better


DEFAULT_MEASURES: Final = (
    MeasureSpec("hospital_days", "Psychiatric hospital days", Unit.DAYS, Better.LOWER),
    MeasureSpec("admissions", "Psychiatric admissions", Unit.COUNT, Better.LOWER),
    MeasureSpec("er_visits", "Emergency room visits", Unit.COUNT, Better.LOWER),
    MeasureSpec("housed_pct", "Housing stability (% housed)", Unit.PERCENT, Better.HIGHER),
    MeasureSpec("employed_pct", "Employment (% working)", Unit.PERCENT, Better.HIGHER),
    MeasureSpec("retention_pct", "Retention in the program (%)", Unit.PERCENT, Better.HIGHER),
    MeasureSpec("jail_days", "Jail days", Unit.DAYS, Better.LOWER),
    MeasureSpec("caseload", "Caseload size", Unit.CLIENTS, Better.NEITHER),
)
"""The measures a new database starts with (migration 0010 stores them)."""


def check_measure_key(value: object) -> str:
    """A measure's key: lower-case letters, digits and _, starting with a letter (a file's column heading)."""
    key = value.strip() if isinstance(value, str) else ""
    if not key:
        raise ValidationProblem("a measure's key is required")
    if len(key) > MEASURE_KEY_LENGTH:
        raise ValidationProblem(f"a measure's key is longer than {MEASURE_KEY_LENGTH} characters")
    if not _KEY.match(key):
        raise ValidationProblem(
            f"{key!r} is not a measure key: use lower-case letters, digits and _ (e.g. hospital_days)"
        )
    return key


def parse_period(value: Any, today: dt.date | None = None) -> Period:
    """A period as a file or a form gives it: "2025-03" (a month), "2025-Q1" (a quarter), or a
    spreadsheet date on the first of a month (a month typed as 2025-03 becomes one).

    Refused: anything else, a period before 1990 or one that has not begun by `today`."""
    period = _period(value)
    if period.start < EARLIEST_PERIOD:
        raise ValidationProblem(f"{period.label} is before {EARLIEST_PERIOD.year}")
    if period.start > (today or dt.date.today()):
        raise ValidationProblem(f"{period.label} has not begun yet")
    return period


def _period(value: Any) -> Period:
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        if value.day != 1:
            raise ValidationProblem(f"{value} is a day, not {PERIOD_FORMATS}")
        return Period(value, PeriodKind.MONTH)
    text = str(value).strip() if isinstance(value, str | int) else ""
    if match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            return Period(dt.date(year, month, 1), PeriodKind.MONTH)
    elif match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        return Period(dt.date(year, 3 * quarter - 2, 1), PeriodKind.QUARTER)
    shown = repr(value) if isinstance(value, str) else str(value)
    raise ValidationProblem(f"{shown} is not a period: write {PERIOD_FORMATS}")


def parse_value(value: Any, unit: Unit | str) -> float:
    """A value as a file or a form gives it (a number, or text of digits with one '.'),
    checked against its unit (`check_value`)."""
    if isinstance(value, bool):
        raise ValidationProblem(f"{value} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.match(text := value.strip()):
        number = float(text)
    elif isinstance(value, str) and text.startswith("-") and _NUMBER.match(text[1:]):
        number = -float(text[1:])
    else:
        raise ValidationProblem(f"{value!r} is not a number")
    return check_value(number, unit)


def check_value(number: float, unit: Unit | str) -> float:
    """The value, refused when impossible for its unit: negative, a percent over 100, a figure
    over a million, not a finite number."""
    unit = Unit(unit)
    if not math.isfinite(number):
        raise ValidationProblem(f"{number} is not a number")
    if number < 0:
        raise ValidationProblem(f"{_shown(number)} {unit.value} is impossible: a value cannot be negative")
    if number > unit.limit:
        what = "a percentage is at most 100" if unit is Unit.PERCENT else f"at most {MAX_VALUE:,.0f}"
        raise ValidationProblem(f"{_shown(number)} {unit.value} is impossible: {what}")
    return number


def _shown(number: float) -> str:
    return f"{number:g}"
