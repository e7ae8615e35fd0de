"""The vectorised scorer (scoring.analytics.review_totals, what the analytics and the bench's
scoring figure use) gives each review exactly what the per-review scorer
(scoring.score_review) gives, on one frame of mixed data: several scales at once, computed
items rated from their inputs, items not rated (a row with no rating) and items with no row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scales import Item, Scale
from scoring import ItemEntry, ItemRatingError, rate_item, score_review
from scoring.analytics import review_totals
from tests.unit.scorer_cases import ABSENT, BUNDLED, NOT_RATED, ReviewCase, assert_agrees, ratings_frame
from tests.unit.test_computed_items import inputs_for

SCALES = ("dacts", "goi", "iddt", "se", "fpe")


def _entries(scale: Scale, n: int) -> tuple[dict[str, int | str], dict[str, ItemEntry]]:
    """Every item of the scale: computed items from inputs, the others rated, with every 5th
    (shifted by n) not rated and every 7th absent; and the entries the pure scorer takes."""
    frame_entries: dict[str, int | str] = {}
    pure: dict[str, ItemEntry] = {}
    for k, item in enumerate(scale.items):
        if (k + n) % 7 == 6:
            frame_entries[item.id] = ABSENT
            continue
        if (k + n) % 5 == 4:
            frame_entries[item.id] = NOT_RATED
            continue
        rule = item.compute
        if rule is not None and not rule.decides:
            entry = _computed_entry(scale, item, n)
            rating = rate_item(item, entry, scale.rating).rating
            assert rating is not None
        else:
            rating = scale.rating.min + (k * 3 + n) % (scale.rating.max - scale.rating.min + 1)
            entry = ItemEntry(rating=rating)
        frame_entries[item.id] = rating
        pure[item.id] = entry
    return frame_entries, pure


def _computed_entry(scale: Scale, item: Item, n: int) -> ItemEntry:
    """Inputs that the item accepts, a different value for different n."""
    values = [Decimal(v) for v in (1, 2, 3, 4, 5, 10, 25, 40, 50, 60, 75, 90, 100, 150)]
    for value in values[n % len(values) :] + values[: n % len(values)]:
        try:
            entry = ItemEntry(inputs=inputs_for(item, value))
            rate_item(item, entry, scale.rating)
        except (ItemRatingError, pytest.skip.Exception):
            continue
        return entry
    raise AssertionError(f"{item.id}: no inputs accepted")


def test_vectorised_scoring_equals_the_per_review_scorer_on_mixed_data() -> None:
    cases: list[ReviewCase] = []
    pure_scores = {}
    review_id = 0
    for n in range(12):
        for scale_id in SCALES:
            scale = BUNDLED.get(scale_id)
            review_id += 1
            entries, pure = _entries(scale, n)
            cases.append(
                ReviewCase(review_id, scale, dt.date(2024, 1, 1) + dt.timedelta(days=n * 31), entries)
            )
            pure_scores[review_id] = score_review(scale, pure)
    computed = [i for i in BUNDLED.get("dacts").items if i.compute is not None and not i.compute.decides]
    assert computed, "DACTS has computed items"
    totals = review_totals(ratings_frame(cases), BUNDLED)
    assert sorted(totals["review_id"]) == list(range(1, review_id + 1))
    by_id = {case.review_id: case for case in cases}
    for row in totals.to_dict("records"):
        case = by_id[int(row["review_id"])]
        # the pure scorer of the rows as stored agrees with the pure scorer of the inputs ...
        assert case.pure().total.sum == pure_scores[case.review_id].total.sum
        assert case.pure().band == pure_scores[case.review_id].band
        # ... and the vectorised scorer with both
        assert_agrees(row, case, where="review_totals on mixed data")
