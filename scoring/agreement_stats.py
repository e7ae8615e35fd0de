"""Agreement statistics a methods section cites: per review (exact, within one, weighted kappa)
and across the agency (per item, per rater pair, per rater against the consensus over time).

Cohen's weighted kappa comes from scikit-learn (`cohen_kappa_score`), the implementation most
methods sections name; the weights are stated with every figure. A separate module from
`scoring.agreement` because it needs scikit-learn and pandas, which the command line should
not load on every start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from scoring.agreement import Agreement, agreement

Weights = Literal["linear", "quadratic"]
WEIGHTS_TEXT: Final = {"linear": "linear weights", "quadratic": "quadratic weights"}
# The columns `agency_agreement` reads: one row per (final review, item, rater).
RATER_COLUMNS: Final = ("review_id", "review_date", "scale_id", "item_id", "rater", "rating", "consensus")


@dataclass(frozen=True)
class Kappa:
    """A weighted kappa, or why there is none (`value` None and `undefined` saying why)."""

    value: float | None
    weights: Weights
    compared: int
    undefined: str | None = None

    def text(self) -> str:
        """ "0.72 (linear weights)", or the reason it is undefined: never "nan"."""
        if self.value is None:
            return f"undefined: {self.undefined}"
        return f"{self.value:.2f} ({WEIGHTS_TEXT[self.weights]})"


def weighted_kappa(
    ratings_a: Sequence[int], ratings_b: Sequence[int], low: int, high: int, weights: Weights = "linear"
) -> Kappa:
    """Cohen's weighted kappa of two raters' paired ratings on the scale `low`..`high`.

    The labels are the scale's whole range, so the weight of a disagreement is its distance
    on the scale, not on the ratings that happen to occur. Undefined (None, with the reason)
    with fewer than two paired ratings, or when every rating is the same: chance then explains
    all the agreement and kappa is 0/0.
    """
    n = len(ratings_a)
    if n != len(ratings_b):
        raise ValueError("the two raters' ratings must be paired")
    if n < 2:
        return Kappa(None, weights, n, "fewer than two items rated by both raters")
    if len(set(ratings_a) | set(ratings_b)) == 1:
        return Kappa(None, weights, n, "every rating is the same, so chance explains all the agreement")
    value = cohen_kappa_score(
        list(ratings_a), list(ratings_b), labels=list(range(low, high + 1)), weights=weights
    )
    if not np.isfinite(value):  # a guard: the cases above are the only ones that give 0/0
        return Kappa(None, weights, n, "no variation in the ratings")
    return Kappa(float(value), weights, n)


@dataclass(frozen=True)
class ReviewAgreement:
    """One review's agreement between its two raters."""

    rater_a: str
    rater_b: str
    counts: Agreement
    kappa: Kappa  # linear weights: the figure shown
    kappa_quadratic: Kappa

    def summary(self) -> str:
        """One line for a methods note: "28 items rated by both · exact 82% · within one 100% ·
        weighted kappa 0.71 (linear weights)"."""
        c = self.counts
        if not c.compared:
            return "no item rated by both raters yet"
        return (
            f"{c.compared} item{'' if c.compared == 1 else 's'} rated by both · exact {c.exact_pct:.0f}% "
            f"· within one {c.within_one_pct:.0f}% · weighted kappa {self.kappa.text()}"
        )


def review_agreement(
    item_ids: Sequence[str],
    raters: tuple[str, str],
    ratings_a: Mapping[str, int | None],
    ratings_b: Mapping[str, int | None],
    low: int,
    high: int,
) -> ReviewAgreement:
    counts = agreement(item_ids, ratings_a, ratings_b)
    both = [
        (x, y)
        for i in item_ids
        if (x := ratings_a.get(i)) is not None and (y := ratings_b.get(i)) is not None
    ]
    a, b = [x for x, _ in both], [y for _, y in both]
    return ReviewAgreement(
        raters[0],
        raters[1],
        counts,
        weighted_kappa(a, b, low, high, "linear"),
        weighted_kappa(a, b, low, high, "quadratic"),
    )


def _pairs(ratings: pd.DataFrame) -> pd.DataFrame:
    """Every pair of raters' ratings of the same item in the same review (rated by both)."""
    rated = ratings.dropna(subset=["rating"])
    out = rated.merge(rated, on=["review_id", "review_date", "scale_id", "item_id"], suffixes=("_a", "_b"))
    out = out[out["rater_a"] < out["rater_b"]].copy()
    out["gap"] = (out["rating_a"] - out["rating_b"]).abs()
    return out


def item_agreement(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per scale and item: how often the raters agreed, lowest agreement first.

    Columns scale_id, item_id, reviews, exact_pct, within_one_pct, mean_gap; ordered by exact
    agreement, then the mean gap (largest first), then the item.
    """
    pairs = _pairs(ratings)
    if pairs.empty:
        return pd.DataFrame(
            columns=["scale_id", "item_id", "reviews", "exact_pct", "within_one_pct", "mean_gap"]
        )
    grouped = pairs.groupby(["scale_id", "item_id"])["gap"]
    out = pd.DataFrame(
        {
            "reviews": grouped.size(),
            "exact_pct": grouped.apply(lambda g: 100 * float((g == 0).mean())),
            "within_one_pct": grouped.apply(lambda g: 100 * float((g <= 1).mean())),
            "mean_gap": grouped.mean().astype(float),
        }
    ).reset_index()
    return out.sort_values(
        ["exact_pct", "mean_gap", "scale_id", "item_id"], ascending=[True, False, True, True]
    ).reset_index(drop=True)


def pair_agreement(ratings: pd.DataFrame, low: int, high: int) -> pd.DataFrame:
    """Per pair of raters who rated the same reviews: reviews, items, exact %, within one %,
    and the weighted kappa (linear weights) over all the items they both rated."""
    pairs = _pairs(ratings)
    rows = []
    for (a, b), group in pairs.groupby(["rater_a", "rater_b"]):
        kappa = weighted_kappa(list(group["rating_a"]), list(group["rating_b"]), low, high)
        rows.append(
            {
                "rater_a": a,
                "rater_b": b,
                "reviews": group["review_id"].nunique(),
                "items": len(group),
                "exact_pct": 100 * float((group["gap"] == 0).mean()),
                "within_one_pct": 100 * float((group["gap"] <= 1).mean()),
                "kappa": kappa.value,
                "kappa_note": kappa.text(),
            }
        )
    columns = ["rater_a", "rater_b", "reviews", "items", "exact_pct", "within_one_pct", "kappa", "kappa_note"]
    return (
        pd.DataFrame(rows, columns=columns)
        .sort_values(["exact_pct", "rater_a", "rater_b"])
        .reset_index(drop=True)
    )


def rater_drift(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per rater and year: exact agreement with the consensus and the mean of rater minus
    consensus (above 0: more lenient than the consensus; a trend away from 0 is a rater
    drifting). Columns rater, year, items, exact_pct, mean_difference."""
    rated = ratings.dropna(subset=["rating", "consensus"]).copy()
    columns = ["rater", "year", "items", "exact_pct", "mean_difference"]
    if rated.empty:
        return pd.DataFrame(columns=columns)
    rated["year"] = pd.to_datetime(rated["review_date"]).dt.year
    rated["difference"] = rated["rating"].astype(float) - rated["consensus"].astype(float)
    grouped = rated.groupby(["rater", "year"])["difference"]
    out = pd.DataFrame(
        {
            "items": grouped.size(),
            "exact_pct": grouped.apply(lambda g: 100 * float((g == 0).mean())),
            "mean_difference": grouped.mean().astype(float),
        }
    ).reset_index()
    return out[columns].sort_values(["rater", "year"]).reset_index(drop=True)


def item_agreement_by_year(ratings: pd.DataFrame, item_ids: Sequence[str]) -> pd.DataFrame:
    """Exact agreement (%) of the given items per year: one row per item, one column per year."""
    pairs = _pairs(ratings)
    pairs = pairs[pairs["item_id"].isin(list(item_ids))].copy()
    if pairs.empty:
        return pd.DataFrame()
    pairs["year"] = pd.to_datetime(pairs["review_date"]).dt.year
    table = pairs.groupby(["item_id", "year"])["gap"].apply(lambda g: 100 * float((g == 0).mean())).unstack()
    order = [i for i in item_ids if i in table.index]
    return table.loc[order]
