"""Cross-field rules of a scale definition, each problem tied to the field it is about."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Context, Decimal, localcontext

from scales.schema import Compute, Interval, Scale, TotalMethod

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def check_scale(scale: Scale) -> list[Problem]:
    problems: list[Problem] = []
    low, high = scale.rating.min, scale.rating.max
    if low >= high:
        problems.append((("rating",), f"rating min {low} must be below max {high}"))
        return problems

    problems += _check_membership(scale)
    for i, item in enumerate(scale.items):
        at: Loc = ("items", i)
        missing = [r for r in range(low, high + 1) if r not in item.anchors]
        if missing:
            listed = ", ".join(str(r) for r in missing)
            problems.append(((*at, "anchors"), f"missing anchor for rating {listed}"))
        for r in item.anchors:
            if not low <= r <= high:
                problems.append(((*at, "anchors", r), f"anchor {r} is outside ratings {low}..{high}"))
        if item.minimum is not None and not low <= item.minimum <= high:
            problems.append(((*at, "minimum"), f"minimum {item.minimum} is outside {low}..{high}"))
        if item.compute is not None:
            problems += _check_compute(scale, i)

    scoring = scale.scoring
    labels = [b.label for b in scoring.bands]
    for j, label in enumerate(labels):
        if label in labels[:j]:
            problems.append((("scoring", "bands", j, "label"), f"duplicate band label '{label}'"))
    problems += check_bands(scoring.bands, scoring.precision, ("scoring", "bands"))
    if scoring.action_plan_at_or_below is not None and not low <= scoring.action_plan_at_or_below <= high:
        problems.append((("scoring", "action_plan_at_or_below"), f"must be a rating in {low}..{high}"))
    minimum_total = scoring.minimum_total
    if (
        scoring.method is not TotalMethod.SUM
        and minimum_total is not None
        and not low <= minimum_total <= high
    ):
        problems.append((("scoring", "minimum_total"), f"must lie in {low}..{high}"))
    problems += _check_conditions(scale)
    return problems


def _check_conditions(scale: Scale) -> list[Problem]:
    """A required mean lies in the rating range; a required sum in what the items can add up to."""
    problems: list[Problem] = []
    low, high = scale.rating.min, scale.rating.max
    n = len(scale.items)
    for k, condition in enumerate(scale.scoring.conditions):
        lowest, highest = (low * n, high * n) if condition.measure is TotalMethod.SUM else (low, high)
        if not lowest <= condition.at_least <= highest:
            problems.append(
                (
                    ("scoring", "conditions", k, "at_least"),
                    f"a required {condition.measure.value} must lie in {lowest}..{highest}",
                )
            )
    return problems


def _check_membership(scale: Scale) -> list[Problem]:
    problems: list[Problem] = []
    item_index: dict[str, int] = {}
    for i, item in enumerate(scale.items):
        if item.id in item_index:
            problems.append(
                (("items", i, "id"), f"duplicate item id '{item.id}' (also items[{item_index[item.id]}])")
            )
        else:
            item_index[item.id] = i

    subscale_ids: dict[str, int] = {}
    listed_in: dict[str, str] = {}
    for j, sub in enumerate(scale.subscales):
        if sub.id in subscale_ids:
            problems.append((("subscales", j, "id"), f"duplicate subscale id '{sub.id}'"))
        subscale_ids.setdefault(sub.id, j)
        for k, item_id in enumerate(sub.items):
            at: Loc = ("subscales", j, "items", k)
            if item_id not in item_index:
                problems.append((at, f"subscale {sub.id} lists unknown item '{item_id}'"))
            elif item_id in listed_in:
                problems.append(
                    (at, f"item {item_id} is listed in subscales {listed_in[item_id]} and {sub.id}")
                )
            else:
                listed_in[item_id] = sub.id

    for i, item in enumerate(scale.items):
        if item.subscale not in subscale_ids:
            problems.append((("items", i, "subscale"), f"unknown subscale '{item.subscale}'"))
        elif item.id not in listed_in:
            problems.append(
                (
                    ("items", i),
                    f"item {item.id} is in no subscale: add it to the items of subscale {item.subscale}",
                )
            )
        elif listed_in[item.id] != item.subscale:
            problems.append(
                (
                    ("items", i, "subscale"),
                    f"item says subscale {item.subscale} but is listed in subscale {listed_in[item.id]}",
                )
            )
    return problems


def _check_compute(scale: Scale, index: int) -> list[Problem]:
    compute = scale.items[index].compute
    assert compute is not None
    at: Loc = ("items", index, "compute")
    return [
        *_check_compute_inputs(compute, at),
        *_check_band_ratings(compute, scale.rating.min, scale.rating.max, at),
        *check_bands(compute.bands, compute.precision, (*at, "bands")),
    ]


def _check_compute_inputs(compute: Compute, at: Loc) -> list[Problem]:
    """Input names are unique with min <= max; the value's numerator and denominator name
    inputs; `per` is positive."""
    problems: list[Problem] = []
    names = [inp.name for inp in compute.inputs]
    for k, inp in enumerate(compute.inputs):
        if inp.name in names[:k]:
            problems.append(((*at, "inputs", k, "name"), f"duplicate input name '{inp.name}'"))
        if inp.min is not None and inp.max is not None and inp.min > inp.max:
            problems.append(((*at, "inputs", k, "min"), f"min {inp.min} is above max {inp.max}"))
    for part in ("numerator", "denominator"):
        name = getattr(compute.value, part)
        if name is not None and name not in names:
            problems.append(((*at, "value", part), f"'{name}' is not one of the inputs ({', '.join(names)})"))
    if compute.value.per <= 0:
        problems.append(((*at, "value", "per"), "per must be greater than 0"))
    return problems


def _check_band_ratings(compute: Compute, low: int, high: int, at: Loc) -> list[Problem]:
    """`decides` lists at least two ratings on the scale; each band gives an allowed rating,
    no two the same, rising or falling steadily."""
    problems: list[Problem] = []
    allowed = set(compute.decides) if compute.decides is not None else set(range(low, high + 1))
    if compute.decides is not None:
        bad = [r for r in compute.decides if not low <= r <= high]
        if bad or len(compute.decides) < 2:
            problems.append(((*at, "decides"), f"must list at least two ratings in {low}..{high}"))
    ratings = [band.rating for band in compute.bands]
    for j, rating in enumerate(ratings):
        if rating not in allowed:
            problems.append(((*at, "bands", j, "rating"), f"rating {rating} is not one of {sorted(allowed)}"))
        elif rating in ratings[:j]:
            problems.append(((*at, "bands", j, "rating"), f"rating {rating} appears in two bands"))
    steps = [b - a for a, b in itertools.pairwise(ratings)]
    if steps and not (all(s > 0 for s in steps) or all(s < 0 for s in steps)):
        problems.append(((*at, "bands"), "ratings must rise (or fall) steadily from band to band"))
    return problems


def check_bands(bands: Sequence[Interval], precision: int, at: Loc) -> list[Problem]:
    """Bands must be ascending, closed, contiguous at `precision`, and cover every value."""
    with localcontext(_WIDE):  # a finite float up to 1.8e308, quantized to 6 places, is exact here
        return _check_bands(bands, precision, at)


_WIDE = Context(prec=400)


def _check_bands(bands: Sequence[Interval], precision: int, at: Loc) -> list[Problem]:
    step = Decimal(1).scaleb(-precision)
    problems = _check_band_values(bands, precision, step, at)
    if bands[0].min is not None:
        problems.append(((*at, 0, "min"), "the first band must have no min, so every lower value is covered"))
    if bands[-1].max is not None:
        problems.append(
            ((*at, len(bands) - 1, "max"), "the last band must have no max, so every higher value is covered")
        )
    for j in range(1, len(bands)):
        problem = _band_join_problem(bands[j - 1], bands[j], j, step, at)
        if problem is not None:
            problems.append(problem)
    return problems


def _exact(value: float) -> Decimal:
    return Decimal(str(value))


def _check_band_values(bands: Sequence[Interval], precision: int, step: Decimal, at: Loc) -> list[Problem]:
    """Each band's min and max have no more decimals than `precision`, and min <= max."""
    problems: list[Problem] = []
    for j, band in enumerate(bands):
        for side in ("min", "max"):
            value = getattr(band, side)
            if value is not None and _exact(value) != _exact(value).quantize(step):
                problems.append(
                    ((*at, j, side), f"{value} has more decimals than the precision ({precision})")
                )
        if band.min is not None and band.max is not None and band.min > band.max:
            problems.append(((*at, j, "min"), f"min {band.min} is above max {band.max} (unordered)"))
    return problems


def _band_join_problem(prev: Interval, cur: Interval, j: int, step: Decimal, at: Loc) -> Problem | None:
    """What is wrong where band j-1 (`prev`) meets band j (`cur`), if anything: band j must
    start one step above where band j-1 ends."""
    if prev.max is None:
        return ((*at, j - 1, "max"), "only the last band may have no max")
    if cur.min is None:
        return ((*at, j, "min"), "only the first band may have no min")
    if prev.min is not None and cur.min < prev.min:
        return ((*at, j, "min"), "bands are not in ascending order of value")
    if cur.min <= prev.max:
        return ((*at, j, "min"), f"overlaps bands[{j - 1}]: min {cur.min} is not above its max {prev.max}")
    if _exact(cur.min) - _exact(prev.max) != step:
        expected = (_exact(prev.max) + step).quantize(step)
        return ((*at, j, "min"), f"leaves a gap between {prev.max} and {cur.min} (expected min {expected})")
    return None
