"""Fidelity beside outcomes: pure computation, no I/O.

- `following_outcome`: a program's outcome over the months after a review.
- `fidelity_outcome_points`: each program's latest fidelity total against that outcome.
- `rank_correlation`: Spearman's rank correlation (scipy.stats.spearmanr), its confidence
  interval (Fisher's z with the Bonett and Wright (2000) variance for Spearman's rho) and n.

**The following period** of a review dated D, over N months (default 6): the N whole calendar
months after D's month (a review of 2025-03-14 is followed by April to September 2025). Every
outcome period (a month, or a quarter) that lies wholly inside that window counts; a period
that straddles its start or end does not. The outcome is given **per month**: for a flow (days,
counts) the values added up and divided by the months they cover (a quarter's 30 hospital days
are 10 a month); for a level (a percent, a caseload) the mean of the values, each weighted by
its months. `months` says how many of the N months had a value.

**Each program's latest fidelity total**: the program's latest final review (of the scale in
question) that is followed by outcome data; a review too recent to have any outcome after it
yet is passed over for the one before it, and the result names the review used.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "CAUTION",
    "DEFAULT_FOLLOWING_MONTHS",
    "POINT_COLUMNS",
    "FollowingOutcome",
    "OutcomePoints",
    "RankCorrelation",
    "fidelity_outcome_points",
    "following_outcome",
    "following_window",
    "rank_correlation",
]

DEFAULT_FOLLOWING_MONTHS: Final = 6
POINT_COLUMNS: Final = ("program_id", "program", "review_id", "review_date", "total", "outcome", "months")
CAUTION: Final = (
    "A correlation across a few programs is not cause: programs that keep fidelity high may "
    "also differ in their clients, funding, staff or region, and with few programs one team "
    "can change the figure. Read it as a question to look into, not as proof that fidelity "
    "changed the outcome."
)


@dataclass(frozen=True)
class FollowingOutcome:
    value: float | None  # per month; None: no period in the window
    months: int  # months of the window with a value


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's rho with its confidence interval; None where it cannot be computed (`note` says why)."""

    n: int
    rho: float | None
    low: float | None
    high: float | None
    p_value: float | None
    confidence: float
    note: str

    @property
    def text(self) -> str:
        """ "Spearman's rho = -0.62 (95% CI -0.91 to 0.06; n = 8)", or why there is none."""
        if self.rho is None:
            return f"Spearman's rho: not computed ({self.note}; n = {self.n})"
        interval = (
            f"{self.confidence:.0%} CI {self.low:.2f} to {self.high:.2f}; "
            if self.low is not None and self.high is not None
            else ""
        )
        return f"Spearman's rho = {self.rho:.2f} ({interval}n = {self.n})"


@dataclass(frozen=True, eq=False)
class OutcomePoints:
    """One point per program (POINT_COLUMNS), and the programs left out, with why."""

    points: pd.DataFrame
    left_out: tuple[str, ...]


def following_window(review_date: dt.date, months: int = DEFAULT_FOLLOWING_MONTHS) -> tuple[dt.date, dt.date]:
    """The first and last day of the `months` whole calendar months after the review's month."""
    if months < 1:
        raise ValueError("the following period is at least one month")
    month = review_date.year * 12 + review_date.month - 1  # the review's month, counted from year 0

    def first_day(index: int) -> dt.date:
        return dt.date(index // 12, index % 12 + 1, 1)

    return first_day(month + 1), first_day(month + months + 1) - dt.timedelta(days=1)


def following_outcome(
    periods: pd.DataFrame, review_date: dt.date, *, flow: bool, months: int = DEFAULT_FOLLOWING_MONTHS
) -> FollowingOutcome:
    """One program's one measure over the following period (module docstring).

    `periods`: period_start (date or datetime64), period_months (1 or 3), value."""
    if periods.empty:
        return FollowingOutcome(None, 0)
    start, end = following_window(review_date, months)
    begins = pd.to_datetime(periods["period_start"])
    lengths = periods["period_months"].astype("int64")
    ends = pd.Series(
        [
            b + pd.DateOffset(months=int(m)) - pd.Timedelta(days=1)
            for b, m in zip(begins, lengths, strict=True)
        ],
        index=periods.index,
    )
    inside = (begins >= pd.Timestamp(start)) & (ends <= pd.Timestamp(end))
    if not inside.any():
        return FollowingOutcome(None, 0)
    values = periods.loc[inside, "value"].astype(float)
    weights = lengths[inside].astype(float)
    covered = int(weights.sum())
    # A flow adds up over the months; a level is the months' mean.
    value = float(values.sum() / covered) if flow else float((values * weights).sum() / covered)
    return FollowingOutcome(value, min(covered, months))


def fidelity_outcome_points(
    totals: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    flow: bool,
    months: int = DEFAULT_FOLLOWING_MONTHS,
) -> OutcomePoints:
    """Each program's latest fidelity total followed by outcome data, and that outcome per month.

    `totals`: one row per final review of one scale: program_id, program, review_id,
    review_date, total (NaN: no total, e.g. a sum scale with unrated items). `outcomes`: one
    measure's values: program_id, period_start, period_months, value."""
    rows: list[dict[str, object]] = []
    left_out: list[str] = []
    by_program = {pid: frame for pid, frame in outcomes.groupby("program_id")} if len(outcomes) else {}
    ordered = totals.sort_values(["program", "review_date", "review_id"])
    for program_id, reviews in ordered.groupby("program_id", sort=False):
        name = str(reviews["program"].iloc[0])
        mine = by_program.get(program_id)
        if mine is None:
            left_out.append(f"{name}: no values of this outcome")
            continue
        found = _latest_followed(reviews, mine, flow=flow, months=months)
        if found is None:
            left_out.append(f"{name}: no values in the {months} months after any of its reviews with a total")
            continue
        review, outcome = found
        rows.append(
            {
                "program_id": int(program_id),
                "program": name,
                "review_id": int(review["review_id"]),
                "review_date": pd.Timestamp(review["review_date"]).date(),
                "total": float(review["total"]),
                "outcome": outcome.value,
                "months": outcome.months,
            }
        )
    points = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    return OutcomePoints(points, tuple(left_out))


def _latest_followed(
    reviews: pd.DataFrame, periods: pd.DataFrame, *, flow: bool, months: int
) -> tuple[pd.Series, FollowingOutcome] | None:
    for _, review in reviews.iloc[::-1].iterrows():
        if pd.isna(review["total"]):
            continue
        outcome = following_outcome(
            periods, pd.Timestamp(review["review_date"]).date(), flow=flow, months=months
        )
        if outcome.value is not None:
            return review, outcome
    return None


def rank_correlation(x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95) -> RankCorrelation:
    """Spearman's rank correlation of paired values (ties get their mean rank), with scipy.

    rho: `scipy.stats.spearmanr`. Interval: Fisher's z = atanh(rho) with the standard error
    sqrt((1 + rho**2 / 2) / (n - 3)) that Bonett and Wright (2000) give for Spearman's rho,
    z +- the normal quantile (`scipy.stats.norm.ppf`), back through tanh. Needs n >= 3 for rho
    and n >= 4 for the interval; no interval when every pair is in the same (or reverse) order."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape:
        raise ValueError("x and y must pair up")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    if n < 3:
        return RankCorrelation(n, None, None, None, None, confidence, "fewer than 3 programs")
    if np.all(a == a[0]) or np.all(b == b[0]):
        what = "fidelity total" if np.all(a == a[0]) else "outcome"
        return RankCorrelation(n, None, None, None, None, confidence, f"every program has the same {what}")
    result = stats.spearmanr(a, b)
    rho = float(result.statistic)
    p_value = float(result.pvalue)
    if n < 4:
        return RankCorrelation(n, rho, None, None, p_value, confidence, "too few programs for an interval")
    if abs(rho) >= 1.0:
        return RankCorrelation(n, rho, None, None, p_value, confidence, "every program in the same order")
    z = math.atanh(rho)
    se = math.sqrt((1 + rho**2 / 2) / (n - 3))
    quantile = float(stats.norm.ppf(0.5 + confidence / 2))
    low, high = math.tanh(z - quantile * se), math.tanh(z + quantile * se)
    return RankCorrelation(n, rho, low, high, p_value, confidence, "")
