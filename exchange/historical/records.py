"""What the historical import reads, checks, plans and stores: plain frozen records, no database.

`RowProblem` is one problem in one cell; `WideRow` one checked row (a review to store);
`ImportPlan` what importing would do and `ImportSummary` what it did. The planning and the
storing themselves are services (services.historical_import).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from domain.errors import ValidationProblem
from scales import Scale


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
