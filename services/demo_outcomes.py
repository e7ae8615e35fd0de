"""The demo's outcome series: every demo program's outcomes, month by month (the IDDT programs
quarter by quarter), from its first review to the last full period before today, that move
with its fidelity: the higher the program's latest fidelity total at the time (as a share of
the range its scale's demo programs span), the fewer hospital days, admissions, ER visits and
jail days, and the more clients housed, working and retained; with noise, from a generator
seeded by the demo's seed and the program's name (the same seed and day, the same data).

Stored through services.outcome_import, as a file of them would be: checked, one transaction,
every value audited.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import pandas as pd

from domain.outcomes import Period, PeriodKind
from services.access import Actor
from services.analytics_scores import review_scores
from services.database import Database
from services.outcome_import import OutcomeImport, import_outcomes

__all__ = ["add_demo_outcomes"]

QUARTERLY_SCALES = ("iddt",)  # the IDDT programs report by quarter, the others by month


def add_demo_outcomes(
    db: Database, programs: Sequence[str], *, actor: Actor, seed: int, today: dt.date
) -> OutcomeImport:
    """Store the demo outcome series of these (demo) programs."""
    totals = review_scores(db, actor=actor).frame
    totals = totals[totals["program"].isin(list(programs))]
    rows: list[dict[str, object]] = []
    for scale_id, reviews in totals.groupby("scale_id"):
        low, high = float(reviews["banded_value"].min()), float(reviews["banded_value"].max())
        span = (high - low) or 1.0
        kind = PeriodKind.QUARTER if scale_id in QUARTERLY_SCALES else PeriodKind.MONTH
        for name, mine in reviews.groupby("program"):
            rng = random.Random(f"{seed}-outcomes-{name}")
            caseload = rng.randint(55, 100)
            dates = [pd.Timestamp(d).date() for d in mine["review_date"]]
            shares = [(float(v) - low) / span for v in mine["banded_value"].fillna(low)]
            for period in _periods(dates[0], today, kind):
                share = _share_at(period.start, dates, shares)
                rows.append(
                    {"program": name, "period": period.label, **_values(rng, caseload, share, period)}
                )
    frame = pd.DataFrame(rows, index=range(2, len(rows) + 2))
    return import_outcomes(db, frame, actor=actor, source="fidelity demo", today=today)


def _periods(first: dt.date, today: dt.date, kind: PeriodKind) -> list[Period]:
    """The periods from the one holding `first` to the last that ended before `today`."""
    step = kind.months
    month = (first.month - 1) // step * step + 1
    start = dt.date(first.year, month, 1)
    found: list[Period] = []
    while True:
        period = Period(start, kind)
        if period.end >= today:
            return found
        found.append(period)
        index = start.year * 12 + start.month - 1 + step
        start = dt.date(index // 12, index % 12 + 1, 1)


def _share_at(day: dt.date, dates: Sequence[dt.date], shares: Sequence[float]) -> float:
    """The program's fidelity (0..1) as of `day`: its latest review before it (the first before any)."""
    share = shares[0]
    for when, value in zip(dates, shares, strict=True):
        if when <= day:
            share = value
    return share


def _values(rng: random.Random, caseload: int, share: float, period: Period) -> dict[str, float]:
    """One period's outcomes: flows add up over its months, levels are its months' mean."""
    months = period.months
    clients = caseload + rng.randint(-4, 4)

    def flow(per_client: float, spread: float) -> float:
        return float(round(max(0.0, clients * per_client * months * rng.gauss(1.0, spread))))

    def level(value: float, spread: float) -> float:
        return round(min(100.0, max(0.0, rng.gauss(value, spread))), 1)

    return {
        "hospital_days": flow(1.7 - 1.3 * share, 0.15),
        "admissions": flow(0.09 - 0.06 * share, 0.25),
        "er_visits": flow(0.16 - 0.09 * share, 0.2),
        "housed_pct": level(68 + 26 * share, 2.5),
        "employed_pct": level(9 + 20 * share, 2.0),
        "retention_pct": level(84 + 13 * share, 1.5),
        "jail_days": flow(0.55 - 0.4 * share, 0.3),
        "caseload": float(clients),
    }
