"""What the outcome views draw: a program's fidelity (total and subscales) and one outcome
over time, and, across the agency, each program's latest fidelity total against an outcome
over the months that follow it, with the rank correlation (scoring.outcomes, which says
exactly how the following period is defined).

Reads only; fidelity comes through the integrity gate as every analytics read (final reviews
the actor may see), outcomes by the actor's READ_OUTCOMES scope.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scoring.analytics import ProgramSeries, program_series
from scoring.outcomes import (
    CAUTION,
    DEFAULT_FOLLOWING_MONTHS,
    OutcomePoints,
    RankCorrelation,
    fidelity_outcome_points,
    following_window,
    rank_correlation,
)
from services.access import Actor
from services.analytics_data import finalized_ratings, left_out
from services.analytics_scores import review_scores
from services.database import Database
from services.errors import NotFound
from services.outcomes import MeasureView, list_measures, list_values

__all__ = [
    "CAUTION",
    "DEFAULT_FOLLOWING_MONTHS",
    "ScaleComparison",
    "agency_comparisons",
    "every_program_series",
    "following_window",
    "outcome_series",
    "program_fidelity",
]

SERIES_COLUMNS = ("period", "period_start", "period_end", "months", "value", "per_month")


@dataclass(frozen=True, eq=False)
class ScaleComparison:
    """The programs rated on one scale: each one's latest fidelity total against the outcome."""

    scale_id: str
    scale_title: str
    total_measure: str  # "Total mean", "Total (sum)"
    measure: MeasureView
    months: int
    points: pd.DataFrame  # scoring.outcomes.POINT_COLUMNS
    left_out: tuple[str, ...]
    correlation: RankCorrelation


def _measure(db: Database, actor: Actor, key: str) -> MeasureView:
    for measure in list_measures(db, actor=actor, include_inactive=True):
        if measure.key == key:
            return measure
    raise NotFound(f"no outcome measure {key!r}")


def outcome_series(db: Database, program_id: int, measure_key: str, *, actor: Actor) -> pd.DataFrame:
    """One program's values of one measure, oldest first: the period, its first and last day,
    its months, the value, and the value per month (a flow's quarter divided by 3)."""
    measure = _measure(db, actor, measure_key)
    values = list_values(db, actor=actor, program_id=program_id, measures=[measure_key])
    rows = [
        {
            "period": v.period.label,
            "period_start": pd.Timestamp(v.period.start),
            "period_end": pd.Timestamp(v.period.end),
            "months": v.period.months,
            "value": v.value,
            "per_month": v.value / v.period.months if measure.unit.is_flow else v.value,
        }
        for v in values
    ]
    return pd.DataFrame(rows, columns=list(SERIES_COLUMNS))


def program_fidelity(db: Database, program_id: int, *, actor: Actor) -> tuple[ProgramSeries, list[str]]:
    """The program's total and subscale means over its final reviews (of its latest review's
    scale), and the warnings about reviews left out by the integrity gate."""
    ratings = finalized_ratings(db, actor=actor, program_id=program_id, evidence=False)
    return program_series(ratings, db.registry, program_id), list(left_out(ratings))


def agency_comparisons(
    db: Database, measure_key: str, *, actor: Actor, months: int = DEFAULT_FOLLOWING_MONTHS
) -> tuple[list[ScaleComparison], list[str]]:
    """For each scale with final reviews: every program's latest fidelity total followed by
    values of the measure, against the measure's mean per month over the `months` after the
    review, with Spearman's rho; and the warnings about reviews left out."""
    measure = _measure(db, actor, measure_key)
    scores = review_scores(db, actor=actor)
    totals = scores.frame
    values = list_values(db, actor=actor, measures=[measure_key])
    outcomes = pd.DataFrame(
        [
            {
                "program_id": v.program_id,
                "period_start": pd.Timestamp(v.period.start),
                "period_months": v.period.months,
                "value": v.value,
            }
            for v in values
        ],
        columns=["program_id", "period_start", "period_months", "value"],
    )
    comparisons: list[ScaleComparison] = []
    if len(totals):
        for scale_id, reviews in totals.groupby("scale_id", sort=True):
            scale = db.registry.get(str(scale_id))
            frame = reviews.rename(columns={"banded_value": "total"})[
                ["program_id", "program", "review_id", "review_date", "total"]
            ]
            found: OutcomePoints = fidelity_outcome_points(
                frame.astype({"total": float}), outcomes, flow=measure.unit.is_flow, months=months
            )
            points = found.points.sort_values("total", ascending=False, ignore_index=True)
            comparisons.append(
                ScaleComparison(
                    scale_id=str(scale_id),
                    scale_title=scale.title,
                    total_measure=_total_name(scale.scoring.method.value),
                    measure=measure,
                    months=months,
                    points=points,
                    left_out=found.left_out,
                    correlation=rank_correlation(points["total"].tolist(), points["outcome"].tolist()),
                )
            )
    return comparisons, list(scores.problems)


def _total_name(method: str) -> str:
    return {"sum": "Total (sum)", "mean_of_items": "Total (mean)"}.get(
        method, "Total (mean of subscale means)"
    )


def every_program_series(db: Database, measure_key: str, *, actor: Actor) -> tuple[pd.DataFrame, list[str]]:
    """Every program's fidelity totals (one row per final review) and the measure per month (one
    row per period, at its first day), for small panels side by side: program, scale, date,
    what ("fidelity" or "outcome"), value; and the warnings about reviews left out."""
    measure = _measure(db, actor, measure_key)
    scores = review_scores(db, actor=actor)
    totals = scores.frame
    rows: list[dict[str, object]] = [
        {"program": p, "scale": s, "date": pd.Timestamp(d), "what": "fidelity", "value": float(v)}
        for p, s, d, v in zip(
            totals["program"], totals["scale_id"], totals["review_date"], totals["banded_value"], strict=True
        )
        if pd.notna(v)
    ]
    for v in list_values(db, actor=actor, measures=[measure_key]):
        per_month = v.value / v.period.months if measure.unit.is_flow else v.value
        rows.append(
            {
                "program": v.program,
                "scale": None,
                "date": pd.Timestamp(v.period.start),
                "what": "outcome",
                "value": per_month,
            }
        )
    return pd.DataFrame(rows, columns=["program", "scale", "date", "what", "value"]), list(scores.problems)
