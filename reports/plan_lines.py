"""A stored review's action plan entries as a report prints them (plain data, no fpdf)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["PlanLine"]


@dataclass(frozen=True)
class PlanLine:
    """One plan entry as the report prints it."""

    item_id: str
    item_name: str
    rating: int | None
    goal: int
    owner: str | None
    due_date: dt.date
    status: str
    overdue: bool
    steps: str | None = None
    latest_note: str | None = None
