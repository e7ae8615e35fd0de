"""Scales and reviews for the property tests that hold the three scorers to one rule set.

The pure scorer (`scoring.score_review`) is the rule; the vectorised one
(`scoring.analytics.review_totals` / `score_sums`) and the SQL one
(`services.analytics_data.review_scores`) must give the same subscale means, totals, banded
value and band for every review. The cases start from every bundled scale and add variants
of each (every total method, other precisions, bands with open ends, gaps, overlaps and
edges off the rounding grid, items regrouped into other subscales), because the bundled
scales use only two of the methods and one grouping each.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from scales import Scale, ScaleRegistry, TotalMethod, load_registry
from scoring import ItemEntry, ReviewScore, score_review

BUNDLED = load_registry()
NOT_RATED = "not rated"  # a row with no rating (consensus "not rated"): missing, as no row at all
ABSENT = "absent"  # no row at all for the item


def _bands(rng: random.Random, low: float, high: float, precision: int) -> list[dict[str, Any]]:
    """1-4 bands over [low, high] at `precision`: edges on and off the rounding grid (a min of
    3.005 at precision 2 holds 3.01 but not 3.00), open ends, and now and then a gap or an
    overlap (the first band that holds the value wins)."""
    step = 10.0**-precision
    cuts = sorted({round(rng.uniform(low, high), precision + rng.choice((0, 0, 1))) for _ in range(3)})
    cuts = cuts[: rng.randint(1, len(cuts)) if rng.random() < 0.9 else 0]
    edges: list[float | None] = [None, *cuts, None]
    bands = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        band: dict[str, Any] = {"label": f"Band {i}"}
        if lo is not None:
            band["min"] = lo
        if hi is not None:
            shift = rng.choice((step, step, 0.0, -step, 2 * step))  # mostly touching, sometimes not
            band["max"] = round(hi - shift, precision + 1)
        bands.append(band)
    if rng.random() < 0.2:  # a closed band on both ends somewhere in the middle, listed first
        a, b = sorted(round(rng.uniform(low, high), precision) for _ in range(2))
        bands.insert(0, {"label": "Narrow", "min": a, "max": b})
    return bands


def _regrouped(rng: random.Random, scale: Scale) -> list[dict[str, Any]]:
    """The scale's items in 1-4 new subscales, reusing the scale's own subscale ids first (so one
    subscale id holds different items in different versions)."""
    ids = [sub.id for sub in scale.subscales] + ["X", "Y", "Z", "W"]
    k = rng.randint(1, min(4, len(scale.items)))
    items = scale.item_ids[:]
    rng.shuffle(items)
    groups = [items[i::k] for i in range(k)]
    order = {item_id: i for i, item_id in enumerate(scale.item_ids)}
    return [
        {"id": ids[i], "name": f"Group {ids[i]}", "items": sorted(group, key=order.__getitem__)}
        for i, group in enumerate(groups)
    ]


def variant(
    scale: Scale,
    *,
    version: str,
    method: TotalMethod,
    precision: int,
    seed: int,
    regroup: bool = False,
    rating: tuple[int, int] | None = None,
) -> Scale:
    """A copy of `scale` under another version with the given total method and precision, its
    own bands, (when `regroup`) its items in other subscales, and (when given) another rating
    range, e.g. 0..4."""
    rng = random.Random(seed)
    data = scale.model_dump(mode="json")
    if rating is not None:
        data["rating"] = {"min": rating[0], "max": rating[1]}
        scale = Scale.model_validate(data)
    n = len(scale.items)
    low, high = scale.rating.min, scale.rating.max
    if method is TotalMethod.SUM:
        low, high = low * n, high * n
    data["version"] = version
    data["scoring"] = {
        **data["scoring"],
        "method": method.value,
        "precision": precision,
        "bands": _bands(rng, low, high, precision),
        "minimum_total": None,
    }
    if regroup:
        data["subscales"] = _regrouped(rng, scale)
        owner = {item_id: sub["id"] for sub in data["subscales"] for item_id in sub["items"]}
        for item in data["items"]:
            item["subscale"] = owner[item["id"]]
    return Scale.model_validate(data)


_SHORT = {TotalMethod.MEAN_OF_ITEMS: "items", TotalMethod.MEAN_OF_SUBSCALE_MEANS: "subs", TotalMethod.SUM: "sum"}


def variants_of(scale: Scale, seed: int) -> list[Scale]:
    """Every total method at precisions 0-3 with the scale's own subscales, and two with its
    items regrouped."""
    out = []
    for i, method in enumerate(TotalMethod):
        for precision in (0, 1, 2, 3):
            out.append(
                variant(
                    scale,
                    version=f"{scale.version}+{_SHORT[method]}{precision}",
                    method=method,
                    precision=precision,
                    seed=seed * 100 + i * 10 + precision,
                )
            )
    for j, method in enumerate((TotalMethod.MEAN_OF_SUBSCALE_MEANS, TotalMethod.SUM)):
        out.append(
            variant(
                scale,
                version=f"{scale.version}+regroup{j}",
                method=method,
                precision=2 - j,
                seed=seed * 100 + 90 + j,
                regroup=True,
            )
        )
    return out


def renamed(scale: Scale, prefix: str) -> Scale:
    """The scale with every item id given a prefix ("ACT." makes H1 "ACT.H1"): ids whose first
    three characters no longer tell their subscale, so the SQL scorer picks subscales by IN lists."""
    data = scale.model_dump(mode="json")
    data["version"] = f"{scale.version}+renamed"
    for item in data["items"]:
        item["id"] = prefix + item["id"]
    for sub in data["subscales"]:
        sub["items"] = [prefix + item_id for item_id in sub["items"]]
    return Scale.model_validate(data)


def registry_of(scales: Sequence[Scale]) -> ScaleRegistry:
    registry = ScaleRegistry()
    for scale in scales:
        registry.add(scale, f"<{scale.key}>")
    assert not registry.problems, registry.problems
    return registry


def with_variants() -> ScaleRegistry:
    """The bundled scales and a fixed set of variants of each (the same every run, so a database
    opened on it keeps one statement cache)."""
    scales = BUNDLED.all()
    return registry_of(
        [*scales, *(v for i, scale in enumerate(scales) for v in variants_of(scale, 7919 * (i + 1)))]
    )


# ---- reviews --------------------------------------------------------------------------------

Entry = int | str  # a rating, NOT_RATED or ABSENT


@dataclass(frozen=True)
class ReviewCase:
    review_id: int
    scale: Scale
    review_date: dt.date
    entries: Mapping[str, Entry]  # every item of the scale

    def __repr__(self) -> str:  # the scale's key, not its whole text, in a falsifying example
        return f"ReviewCase({self.review_id}, {self.scale.key}, {self.review_date}, {dict(self.entries)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints it so
        printer.text(repr(self))

    def rows(self) -> list[tuple[str, int | None]]:
        """(item id, rating or None) for the items that have a row, in the scale's order."""
        return [
            (item_id, value if isinstance(value, int) else None)
            for item_id, value in self.entries.items()
            if value != ABSENT
        ]

    def pure(self) -> ReviewScore:
        given = {item_id: ItemEntry(rating=r) for item_id, r in self.rows() if r is not None}
        return score_review(self.scale, given)


@st.composite
def entries(draw: st.DrawFn, scale: Scale) -> dict[str, Entry]:
    """Every item rated, not rated, or absent; mostly rated, sometimes all rated (a complete sum
    scale has a band), never all absent (a review has at least one row)."""
    rated = st.integers(scale.rating.min, scale.rating.max)
    style = draw(st.sampled_from(["complete", "complete", "mostly", "sparse"]))
    if style == "complete":
        out: dict[str, Entry] = {item_id: draw(rated) for item_id in scale.item_ids}
    else:
        weights = [rated] * (8 if style == "mostly" else 1) + [st.just(NOT_RATED), st.just(ABSENT)]
        out = {item_id: draw(st.one_of(*weights)) for item_id in scale.item_ids}
    if all(v == ABSENT for v in out.values()):
        out[draw(st.sampled_from(scale.item_ids))] = NOT_RATED
    return out


@st.composite
def reviews(draw: st.DrawFn, scales: Sequence[Scale], *, first_id: int = 1, most: int = 6) -> list[ReviewCase]:
    """1..most reviews of one program on scales drawn from `scales`, with distinct ids."""
    n = draw(st.integers(1, most))
    out = []
    for i in range(n):
        scale = draw(st.sampled_from(list(scales)))
        day = dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 2000)))
        out.append(ReviewCase(first_id + i, scale, day, draw(entries(scale))))
    return out


def ratings_frame(cases: Sequence[ReviewCase], program_id: int = 1) -> pd.DataFrame:
    """The RATING_COLUMNS frame of the cases, as services.analytics_data.finalized_ratings gives it."""
    records = [
        (
            case.review_id,
            program_id,
            "Program",
            "Provider",
            None,
            case.scale.id,
            case.scale.version,
            pd.Timestamp(case.review_date),
            item_id,
            rating,
            None,
        )
        for case in cases
        for item_id, rating in case.rows()
    ]
    columns = [
        "review_id",
        "program_id",
        "program",
        "provider",
        "region",
        "scale_id",
        "scale_version",
        "review_date",
        "item_id",
        "rating",
        "evidence",
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["rating"] = pd.array(frame["rating"], dtype="Int64")
    return frame


# ---- the comparison -------------------------------------------------------------------------


def _same_mean(found: object, expected: object, what: str, *, exact: bool = True) -> None:
    if expected is None:
        assert found is None or pd.isna(found), f"{what}: {found!r}, the pure scorer has none"
        return
    assert found is not None and not pd.isna(found), f"{what}: none, the pure scorer has {expected}"
    want = float(expected)  # type: ignore[arg-type]
    if exact:
        assert float(found) == want, f"{what}: {found!r}, the pure scorer has {want!r}"  # type: ignore[arg-type]
    else:
        assert math.isclose(float(found), want, rel_tol=1e-12), f"{what}: {found!r} vs {want!r}"  # type: ignore[arg-type]


def assert_agrees(row: Mapping[str, Any], case: ReviewCase, *, where: str) -> None:
    """One review's totals row (review_totals / review_scores columns) against the pure scorer."""
    expected = case.pure()
    scale = case.scale
    tag = f"{where}: review {case.review_id} ({scale.key}, {scale.scoring.method.value})"
    assert int(row["review_id"]) == case.review_id, tag
    assert str(row["scale_id"]) == scale.id and str(row["scale_version"]) == scale.version, tag
    assert int(row["rated"]) == expected.total.rated, f"{tag}: rated"
    assert int(row["items"]) == expected.total.items, f"{tag}: items"
    assert bool(row["complete"]) == expected.total.complete, f"{tag}: complete"
    assert int(row["total_sum"]) == expected.total.sum, f"{tag}: total_sum"
    _same_mean(row["total_mean"], expected.total.mean, f"{tag}: total_mean")
    # a float sum of float means: within rounding of the exact Fraction
    _same_mean(
        row["mean_of_subscale_means"],
        expected.total.mean_of_subscale_means,
        f"{tag}: mean_of_subscale_means",
        exact=False,
    )
    _same_mean(row["banded_value"], expected.banded_value, f"{tag}: banded_value")
    band = None if row["band"] is None or pd.isna(row["band"]) else row["band"]
    assert band == expected.band, f"{tag}: band {band!r}, the pure scorer has {expected.band!r}"
    labels = [b.label for b in scale.scoring.bands]
    level = row["band_level"]
    level = None if pd.isna(level) or int(level) < 0 else int(level)
    assert level == (None if expected.band is None else labels.index(expected.band)), f"{tag}: band_level"
    for sub in expected.subscales.values():
        _same_mean(row[f"sub_{sub.id}"], sub.mean, f"{tag}: subscale {sub.id}")
    own = {sub.id for sub in scale.subscales}
    for column in row:
        if str(column).startswith("sub_") and str(column)[4:] not in own:
            assert pd.isna(row[column]), f"{tag}: {column} is not a subscale of {scale.key}"


def assert_subscales_agree(frame: pd.DataFrame, cases: Sequence[ReviewCase], *, where: str) -> None:
    """The long subscale_means frame against the pure scorer: one row per (review, subscale)."""
    by_review = {case.review_id: case for case in cases}
    seen: set[tuple[int, str]] = set()
    for row in frame.to_dict("records"):
        case = by_review[int(row["review_id"])]
        sub = case.pure().subscales[str(row["subscale"])]
        tag = f"{where}: review {case.review_id} ({case.scale.key}) subscale {sub.id}"
        assert int(row["rated"]) == sub.rated and int(row["items"]) == sub.items, tag
        assert row["subscale_name"] == sub.name, tag
        _same_mean(row["mean"], sub.mean, tag)
        seen.add((case.review_id, sub.id))
    expected = {(case.review_id, sub.id) for case in cases for sub in case.scale.subscales}
    assert seen == expected, f"{where}: subscale rows {sorted(seen ^ expected)} differ"
