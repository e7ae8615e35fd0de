"""Properties that hold for every bundled scale, whatever the ratings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scales import Scale, load_registry
from scoring import ItemEntry, score_review

SCALES = load_registry().all()


@st.composite
def rated_review(draw: st.DrawFn) -> tuple[Scale, dict[str, int | None]]:
    scale = draw(st.sampled_from(SCALES))
    ratings = {
        item_id: draw(st.one_of(st.none(), st.integers(scale.rating.min, scale.rating.max)))
        for item_id in scale.item_ids
    }
    return scale, ratings


def score(scale: Scale, ratings: dict[str, int | None]):
    return score_review(scale, {k: ItemEntry(rating=v) for k, v in ratings.items()})


def band_rank(scale: Scale, band: str | None) -> int:
    labels = [b.label for b in scale.scoring.bands]  # ascending by value
    return -1 if band is None else labels.index(band)


@settings(max_examples=300, deadline=None)
@given(rated_review(), st.data())
def test_raising_one_rating_never_lowers_the_total_or_its_band(
    review: tuple[Scale, dict[str, int | None]], data: st.DataObject
) -> None:
    scale, ratings = review
    raisable = [k for k, v in ratings.items() if v is not None and v < scale.rating.max]
    if not raisable:
        return
    item_id = data.draw(st.sampled_from(raisable))
    before = score(scale, ratings)
    raised = dict(ratings)
    raised[item_id] = data.draw(st.integers(ratings[item_id] + 1, scale.rating.max))  # type: ignore[operator]
    after = score(scale, raised)
    assert after.total.sum > before.total.sum
    assert after.total.mean is not None and before.total.mean is not None
    assert after.total.mean > before.total.mean
    assert band_rank(scale, after.band) >= band_rank(scale, before.band)


@settings(max_examples=300, deadline=None)
@given(rated_review())
def test_total_mean_lies_within_the_rating_range(review: tuple[Scale, dict[str, int | None]]) -> None:
    scale, ratings = review
    result = score(scale, ratings)
    if result.total.rated == 0:
        assert result.total.mean is None and result.band is None
        return
    assert scale.rating.min <= result.total.mean <= scale.rating.max
    assert result.missing == [k for k, v in ratings.items() if v is None]
    for sub in result.subscales.values():
        assert sub.mean is None or scale.rating.min <= sub.mean <= scale.rating.max
    if result.total.complete or scale.scoring.method.value != "sum":
        assert result.band is not None
