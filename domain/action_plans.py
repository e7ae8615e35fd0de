"""Action plans in the domain's words: an entry's status, its default goal and due date, when it
is overdue, and the checks on what a person writes into one. Pure: no I/O, and `today` is
always given (a test passes a fixed date, the services pass the date of the call).

Who may change a plan is in the one access policy (domain.access: Action.UPDATE_PLANS and
Action.ADD_PLAN_ITEMS); the services check it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from domain import checks
from domain.errors import ValidationProblem
from domain.vocabulary import PERSON_LENGTH

__all__ = [
    "CLOSED",
    "DEFAULT_DUE_DAYS",
    "NOTE_LENGTH",
    "OPEN",
    "STEPS_LENGTH",
    "PlanStatus",
    "check_goal",
    "default_due_date",
    "default_goal",
    "is_overdue",
    "items_at_or_below",
    "note_text",
    "owner_name",
    "plan_status",
    "steps_text",
]

DEFAULT_DUE_DAYS: Final = 90
"""Days from the finalize date to an entry's due date when the scale sets none (Oregon's 90)."""
NOTE_LENGTH: Final = 1_000  # one dated progress note
STEPS_LENGTH: Final = 2_000  # the steps the program takes towards the goal


class PlanStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in progress"
    DONE = "done"
    DROPPED = "dropped"


OPEN: Final = frozenset({PlanStatus.OPEN, PlanStatus.IN_PROGRESS})
"""Entries still being worked on: the Action plans page lists them, and they can be overdue."""
CLOSED: Final = frozenset({PlanStatus.DONE, PlanStatus.DROPPED})


def plan_status(value: object) -> PlanStatus:
    """The status named by `value` ("in progress" also as "in_progress" or "in-progress")."""
    text = str(value).strip().lower().replace("_", " ").replace("-", " ") if value is not None else ""
    try:
        return PlanStatus(text)
    except ValueError:
        choices = ", ".join(s.value for s in PlanStatus)
        raise ValidationProblem(f"status {value!r} is not one of: {choices}") from None


def is_overdue(due_date: dt.date | None, status: str, today: dt.date) -> bool:
    """Whether an entry is past its due date and still open (due today is not overdue yet)."""
    return due_date is not None and PlanStatus(status) in OPEN and due_date < today


def default_due_date(opened_on: dt.date, due_days: int | None) -> dt.date:
    """The due date of an entry opened on `opened_on`: the scale's days (else 90) later."""
    return opened_on + dt.timedelta(days=due_days if due_days is not None else DEFAULT_DUE_DAYS)


def default_goal(rating: int | None, threshold: int | None, highest: int) -> int:
    """The target rating: the first rating above the scale's threshold (out of the action-plan
    range), else one above the item's rating; never above the scale's highest rating."""
    if threshold is not None:
        goal = threshold + 1
    elif rating is not None:
        goal = rating + 1
    else:
        goal = highest
    return min(max(goal, (rating or 0) + 1), highest)


def check_goal(goal: object, lowest: int, highest: int) -> int:
    """A goal is a whole rating of the scale."""
    if isinstance(goal, bool) or not isinstance(goal, int) or not lowest <= goal <= highest:
        raise ValidationProblem(f"goal {goal!r} must be a rating from {lowest} to {highest}")
    return goal


def items_at_or_below(ratings: Sequence[tuple[str, int | None]], threshold: int | None) -> list[str]:
    """The items (in the order given) whose rating is at or below the threshold; none without one
    (a scale without a threshold opens no entries by itself: the reviewer chooses)."""
    if threshold is None:
        return []
    return [item for item, rating in ratings if rating is not None and rating <= threshold]


def owner_name(value: object) -> str | None:
    """The person at the program who owns the entry (a name, optional)."""
    return checks.optional_name(value, "owner", PERSON_LENGTH)


def steps_text(value: object) -> str | None:
    return checks.optional_text(value, "steps", STEPS_LENGTH)


def note_text(value: object) -> str | None:
    return checks.optional_text(value, "progress note", NOTE_LENGTH)
