"""Agreement statistics against figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from scoring.agreement_stats import (
    RATER_COLUMNS,
    item_agreement,
    pair_agreement,
    rater_drift,
    review_agreement,
    weighted_kappa,
)

# Two raters, four items on a 1-3 scale: A = 1 2 3 3, B = 1 3 3 2.
# Both raters' marginals are 1: 1/4, 2: 1/4, 3: 1/2. Two items differ by one step, so the
# observed weighted disagreement is (1 + 1) / 4 = 0.5 with either weighting.
# Linear weights |i - j|, expected disagreement sum p_A(i) p_B(j) |i - j|:
#   i=1: 1/16·1 + 1/8·2 = 0.3125; i=2: 1/16·1 + 1/8·1 = 0.1875; i=3: 1/8·2 + 1/8·1 = 0.375
#   total 0.875, so kappa = 1 - 0.5 / 0.875 = 3/7.
# Quadratic weights (i - j)²: 1/16 + 1/8·4 + 1/16 + 1/8 + 1/8·4 + 1/8 = 1.375, kappa = 1 - 0.5/1.375 = 7/11.
A = [1, 2, 3, 3]
B = [1, 3, 3, 2]


def test_linear_weighted_kappa_matches_the_hand_computed_value() -> None:
    kappa = weighted_kappa(A, B, 1, 3, "linear")
    assert kappa.value == pytest.approx(3 / 7)
    assert kappa.text() == "0.43 (linear weights)"


def test_quadratic_weighted_kappa_matches_the_hand_computed_value() -> None:
    assert weighted_kappa(A, B, 1, 3, "quadratic").value == pytest.approx(7 / 11)


def test_ratings_the_scale_allows_but_nobody_gave_do_not_change_kappa() -> None:
    # Unused categories have no marginal mass: the same 3/7 on a 1-5 scale.
    assert weighted_kappa(A, B, 1, 5, "linear").value == pytest.approx(3 / 7)


def test_one_rating_leaves_kappa_undefined_and_says_why() -> None:
    kappa = weighted_kappa([3], [3], 1, 5)
    assert kappa.value is None
    assert kappa.text() == "undefined: fewer than two items rated by both raters"


def test_identical_ratings_leave_kappa_undefined_never_nan() -> None:
    kappa = weighted_kappa([4, 4, 4], [4, 4, 4], 1, 5)
    assert kappa.value is None
    assert "nan" not in kappa.text().lower() and kappa.text().startswith(
        "undefined: every rating is the same"
    )


def test_review_agreement_counts_only_items_both_raters_rated() -> None:
    items = ["a", "b", "c", "d", "e"]
    result = review_agreement(
        items,
        ("X", "Y"),
        {"a": 1, "b": 2, "c": 3, "d": 3, "e": 2},
        {"a": 1, "b": 3, "c": 3, "d": 2, "e": None},
        1,
        3,
    )
    assert (result.counts.compared, result.counts.exact, result.counts.within_one) == (4, 2, 4)
    assert result.kappa.value == pytest.approx(3 / 7)
    assert result.summary() == (
        "4 items rated by both · exact 50% · within one 100% · weighted kappa 0.43 (linear weights)"
    )


def test_a_review_nobody_has_rated_says_so() -> None:
    result = review_agreement(["a"], ("X", "Y"), {}, {}, 1, 5)
    assert result.summary() == "no item rated by both raters yet"


def frame(rows: list[tuple[int, str, str, int | None, int | None]], year: int = 2025) -> pd.DataFrame:
    data = [
        (r, dt.date(year, 1, 1), "s", item, rater, rating, consensus)
        for r, item, rater, rating, consensus in rows
    ]
    out = pd.DataFrame(data, columns=list(RATER_COLUMNS))
    out["rating"] = out["rating"].astype("Float64")
    out["consensus"] = out["consensus"].astype("Float64")
    return out


def test_items_with_the_lowest_agreement_come_first() -> None:
    rows = []
    for review in (1, 2):
        rows += [(review, "easy", "X", 4, 4), (review, "easy", "Y", 4, 4)]
        rows += [(review, "hard", "X", 4, 4), (review, "hard", "Y", 2 if review == 1 else 3, 4)]
        rows += [(review, "mid", "X", 3, 3), (review, "mid", "Y", 3 if review == 1 else 4, 3)]
    items = item_agreement(frame(rows))
    assert list(items["item_id"]) == ["hard", "mid", "easy"]
    assert list(items["exact_pct"]) == [0.0, 50.0, 100.0]
    assert list(items["mean_gap"]) == [1.5, 0.5, 0.0]


def test_pair_agreement_pools_the_items_of_the_pairs_reviews() -> None:
    rows = [(1, item, "X", a, a) for item, a in zip("abcd", A, strict=True)]
    rows += [(1, item, "Y", b, b) for item, b in zip("abcd", B, strict=True)]
    pairs = pair_agreement(frame(rows), 1, 3)
    assert list(pairs[["rater_a", "rater_b", "reviews", "items"]].iloc[0]) == ["X", "Y", 1, 4]
    assert pairs["kappa"].iloc[0] == pytest.approx(3 / 7)
    assert pairs["exact_pct"].iloc[0] == 50.0


def test_a_rater_above_the_consensus_shows_a_positive_mean_difference() -> None:
    rows = [(1, "a", "X", 5, 4), (1, "b", "X", 4, 4), (1, "a", "Y", 4, 4), (1, "b", "Y", 4, 4)]
    drift = rater_drift(frame(rows))
    x = drift[drift["rater"] == "X"].iloc[0]
    assert (x["year"], x["items"], x["exact_pct"], x["mean_difference"]) == (2025, 2, 50.0, 0.5)
