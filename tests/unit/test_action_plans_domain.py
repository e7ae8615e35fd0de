"""Action plans' rules without a database: overdue on fixed days, the default goal and due date,
the threshold's edges and the status words."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.action_plans import (
    DEFAULT_DUE_DAYS,
    default_due_date,
    default_goal,
    is_overdue,
    items_at_or_below,
    plan_status,
)
from domain.errors import ValidationProblem

DUE = dt.date(2026, 3, 31)


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        ("open", dt.date(2026, 3, 30), False),
        ("open", DUE, False),  # due today: not overdue yet
        ("open", dt.date(2026, 4, 1), True),
        ("in progress", dt.date(2026, 4, 1), True),
        ("done", dt.date(2027, 1, 1), False),
        ("dropped", dt.date(2027, 1, 1), False),
    ],
)
def test_overdue_on_fixed_days(status: str, today: dt.date, overdue: bool) -> None:
    assert is_overdue(DUE, status, today) is overdue


def test_items_at_or_below_the_threshold_and_not_one_above() -> None:
    ratings = [("H1", 3), ("H2", 2), ("H3", 1), ("H4", None), ("H5", 5)]
    assert items_at_or_below(ratings, 2) == ["H2", "H3"]
    assert items_at_or_below(ratings, 3) == ["H1", "H2", "H3"]
    assert items_at_or_below(ratings, None) == []  # no threshold: the reviewer chooses


def test_default_goal_and_due_date() -> None:
    assert default_goal(2, 2, 5) == 3 and default_goal(1, 2, 5) == 3
    assert default_goal(3, None, 5) == 4 and default_goal(5, None, 5) == 5
    assert default_goal(4, 2, 5) == 5  # an item chosen above the threshold aims above its rating
    finalized = dt.date(2026, 1, 1)
    assert default_due_date(finalized, 90) == dt.date(2026, 4, 1)
    assert default_due_date(finalized, None) == finalized + dt.timedelta(days=DEFAULT_DUE_DAYS)
    assert default_due_date(finalized, 30) == dt.date(2026, 1, 31)


def test_status_words() -> None:
    assert plan_status("In_Progress").value == "in progress"
    assert plan_status(" done ").value == "done"
    with pytest.raises(
        ValidationProblem, match="status 'closed' is not one of: open, in progress, done, dropped"
    ):
        plan_status("closed")
