"""The vectorised scorer (scoring.analytics) gives what the pure scorer (scoring.score_review)
gives, for every bundled scale and variants of each: every total method, precisions 0-3,
bands with open ends, gaps, overlaps and edges off the rounding grid, regrouped subscales,
items rated, not rated (a row without a rating) and absent (no row). The SQL scorer is held
to the same rule in tests/integration/test_scorers_agree_sql.py."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scales import Scale, TotalMethod
from scoring.analytics import review_totals, subscale_means, totals_from_sums
from tests.unit.scorer_cases import (
    BUNDLED,
    ReviewCase,
    assert_agrees,
    assert_subscales_agree,
    ratings_frame,
    registry_of,
    reviews,
    variant,
    with_variants,
)

SCALES = BUNDLED.all()
VARIANTS = with_variants()


def check(cases: list[ReviewCase], registry_scales: list[Scale]) -> None:
    registry = registry_of(registry_scales)
    frame = ratings_frame(cases)
    totals = review_totals(frame, registry)
    assert sorted(totals["review_id"]) == [case.review_id for case in cases]
    by_id = {case.review_id: case for case in cases}
    for row in totals.to_dict("records"):
        assert_agrees(row, by_id[int(row["review_id"])], where="review_totals")
    assert_subscales_agree(subscale_means(frame, registry), cases, where="subscale_means")

    # The sums path (what the database adds up) scores the same sums the same way.
    sums = totals.loc[:, ["review_id", "program_id", "program", "provider", "region"]].copy()
    sums["scale_id"], sums["scale_version"] = totals["scale_id"], totals["scale_version"]
    sums["review_date"] = totals["review_date"]
    sums["rated"], sums["total_sum"] = totals["rated"], totals["total_sum"]
    for case in cases:
        at = sums["review_id"] == case.review_id
        for sub in case.scale.subscales:
            rated = [r for item_id, r in case.rows() if r is not None and item_id in sub.items]
            sums.loc[at, f"rated_{sub.id}"] = len(rated)
            sums.loc[at, f"sum_{sub.id}"] = sum(rated)
    for row in totals_from_sums(sums, registry).to_dict("records"):
        assert_agrees(row, by_id[int(row["review_id"])], where="totals_from_sums")


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_bundled_scales_score_alike(data: st.DataObject) -> None:
    cases = data.draw(reviews(SCALES))
    check(cases, SCALES)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_method_precision_band_and_grouping_scores_alike(data: st.DataObject) -> None:
    """Reviews on several versions of one scale at once (as a program's history has them)."""
    base = data.draw(st.sampled_from(SCALES))
    versions = [s for s in VARIANTS.versions(base.id)]
    chosen = data.draw(st.lists(st.sampled_from(versions), min_size=1, max_size=4, unique_by=lambda s: s.version))
    cases = data.draw(reviews(chosen, most=8))
    check(cases, [*SCALES, *chosen])


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(SCALES),
    st.sampled_from(list(TotalMethod)),
    st.integers(0, 3),
    st.integers(0, 10**6),
    st.booleans(),
    st.sampled_from([None, (0, 4), (1, 10), (0, 100)]),
    st.data(),
)
def test_drawn_variants_score_alike(
    base: Scale,
    method: TotalMethod,
    precision: int,
    seed: int,
    regroup: bool,
    rating: tuple[int, int] | None,
    data: st.DataObject,
) -> None:
    """Bands, groupings and rating ranges drawn afresh each time, beyond the fixed set the
    database test uses."""
    scale = variant(
        base, version="9.9", method=method, precision=precision, seed=seed, regroup=regroup, rating=rating
    )
    cases = data.draw(reviews([scale], most=4))
    check(cases, [scale])


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: s.key)
def test_a_review_with_nothing_rated_has_no_mean_and_no_band(scale: Scale) -> None:
    case = ReviewCase(1, scale, pd.Timestamp("2024-01-01").date(), {i: "not rated" for i in scale.item_ids})
    check([case], [scale])
    row = review_totals(ratings_frame([case]), registry_of([scale])).iloc[0]
    assert pd.isna(row["total_mean"]) and row["band"] is None and int(row["rated"]) == 0
