"""Drift: what changed between a program's latest review of a scale and its previous one."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scales.loader import ScaleRegistry
from scales.schema import Scale
from scoring.analytics.columns import DRIFT_COLUMNS, LOW_RATING, Direction
from scoring.analytics.frame import empty_frame, no_reviews_note, program_ratings, text_column
from scoring.analytics.totals import score_reviews


@dataclass(frozen=True)
class BandChange:
    """How the band moved from the previous review to the latest one."""

    previous_band: str | None
    band: str | None
    direction: Direction  # "unknown" when either review has no band (an incomplete sum scale)
    previous_value: float | None  # the totals the bands read, rounded as the scale says
    value: float | None


@dataclass(frozen=True, eq=False)
class DriftReport:
    """A program's latest review against its previous review of the same scale.

    `compared`, `falls`, `consecutive_low` and `all_falls` have the columns DRIFT_COLUMNS: the
    item, both ratings, `change` (rating - previous_rating), both reviews' ids, dates and
    versions, and the evidence from both. Only items rated on both reviews are compared.
    """

    program_id: int
    scale_id: str | None
    review_id: int | None
    previous_review_id: int | None
    review_date: pd.Timestamp | None
    previous_review_date: pd.Timestamp | None
    scale_version: str | None
    previous_scale_version: str | None
    shared_items: tuple[str, ...]  # item ids both versions define, in the latest version's order
    not_shared: tuple[str, ...]  # item ids only one of the two versions defines
    compared: pd.DataFrame  # every shared item rated on both reviews
    falls: pd.DataFrame  # items whose rating fell, largest fall first
    consecutive_low: pd.DataFrame  # items rated below LOW_RATING on both reviews
    band_change: BandChange | None
    all_falls: pd.DataFrame  # falls of every consecutive pair of reviews, oldest pair first
    note: str
    # (item of the latest version, the item of the previous version it replaces) when the id
    # changed (Item.replaces): those are compared with each other, as one item.
    mapped_items: tuple[tuple[str, str], ...] = ()

    @property
    def mixed_versions(self) -> bool:
        return (
            self.previous_scale_version is not None
            and self.scale_version is not None
            and self.previous_scale_version != self.scale_version
        )


def drift(
    ratings: pd.DataFrame,
    registry: ScaleRegistry,
    program_id: int,
    *,
    scale_id: str | None = None,
    low_below: int = LOW_RATING,
) -> DriftReport:
    """What changed between a program's latest review and its previous one of the same scale.

    Reviews are ordered by review_date, then review_id. The scale is `scale_id`, or by default
    the scale of the program's latest review. Reviews on different versions are compared only
    on the item ids both versions define, and the note says so.
    """
    data, scale_id = program_ratings(ratings, program_id, scale_id)
    n_reviews = len(data.reviews)
    if n_reviews < 2 or scale_id is None:
        return _short_drift(program_id, scale_id, data.reviews)

    scored = score_reviews(data, registry)
    rows = scored.rows
    reviews = data.reviews.loc[:, ["review_id", "review_date", "scale_version"]].reset_index(drop=True)
    previous = reviews.shift(1).rename(columns=lambda c: f"previous_{c}")
    pairs = pd.concat([reviews, previous], axis=1).iloc[1:]
    pairs["previous_review_id"] = pairs["previous_review_id"].astype("int64")

    rated = rows.loc[rows["rating"].notna()]
    current = rated.loc[
        :, ["review_id", "item_id", "item_name", "subscale", "position", "rating", "evidence"]
    ]
    current = current.merge(pairs, on="review_id", how="inner")
    current["match_id"] = _match_ids(current, scored.scales, scale_id)
    before = rated.loc[:, ["review_id", "item_id", "rating", "evidence"]].rename(
        columns={
            "review_id": "previous_review_id",
            "item_id": "match_id",
            "rating": "previous_rating",
            "evidence": "previous_evidence",
        }
    )
    compared_all = current.merge(before, on=["previous_review_id", "match_id"], how="inner")
    compared_all = compared_all.drop(columns="match_id")
    compared_all["change"] = (compared_all["rating"] - compared_all["previous_rating"]).astype("Int64")

    last, prev = reviews.iloc[-1], reviews.iloc[-2]
    last_id, prev_id = int(last["review_id"]), int(prev["review_id"])
    compared = _pair_frame(
        compared_all.loc[compared_all["review_id"] == last_id].sort_values("position", kind="stable")
    )
    falls = _pair_frame(
        compared_all.loc[(compared_all["review_id"] == last_id) & (compared_all["change"] < 0)].sort_values(
            ["change", "position"], kind="stable"
        )
    )
    low = compared.loc[(compared["rating"] < low_below) & (compared["previous_rating"] < low_below)]
    all_falls = _pair_frame(
        compared_all.loc[compared_all["change"] < 0].sort_values(
            ["review_date", "review_id", "change", "position"], kind="stable"
        )
    )

    totals = scored.totals.set_index("review_id")
    band_change = _band_change(totals.loc[prev_id], totals.loc[last_id])

    scale_now = scored.scales[(scale_id, str(last["scale_version"]))]
    scale_before = scored.scales[(scale_id, str(prev["scale_version"]))]
    mapped = mapped_items(scale_before, scale_now)
    before_ids = set(scale_before.item_ids) | {new for new, _old in mapped}
    now_ids = set(scale_now.item_ids) | {old for _new, old in mapped}
    shared = tuple(i for i in scale_now.item_ids if i in before_ids)
    not_shared = tuple(i for i in scale_before.item_ids if i not in now_ids) + tuple(
        i for i in scale_now.item_ids if i not in before_ids
    )
    note = _drift_note(scale_before, scale_now, prev, last, shared, len(compared), mapped)
    return DriftReport(
        program_id=program_id,
        scale_id=scale_id,
        review_id=last_id,
        previous_review_id=prev_id,
        review_date=last["review_date"],
        previous_review_date=prev["review_date"],
        scale_version=str(last["scale_version"]),
        previous_scale_version=str(prev["scale_version"]),
        shared_items=shared,
        not_shared=not_shared,
        compared=compared,
        falls=falls,
        consecutive_low=low.reset_index(drop=True),
        band_change=band_change,
        all_falls=all_falls,
        note=note,
        mapped_items=mapped,
    )


def mapped_items(before: Scale, now: Scale) -> tuple[tuple[str, str], ...]:
    """(new id, old id) of each item of `now` that replaces an item `before` has (and `before`
    does not have the new id): the two are one item across the versions."""
    if before.version == now.version:
        return ()
    return tuple(
        (new, old) for new, old in now.item_map.items() if before.has_item(old) and not before.has_item(new)
    )


def _match_ids(current: pd.DataFrame, scales: dict[tuple[str, str], Scale], scale_id: str) -> list[str]:
    """The id each current rating is matched with on the previous review: its own, or the id it
    replaces when the previous review was rated on a version that has that one instead."""
    links: dict[tuple[str, str, str], str] = {}
    for (sid, version), scale in scales.items():
        if sid != scale_id or not scale.item_map:
            continue
        for (sid_before, version_before), before in scales.items():
            if sid_before == scale_id:
                for new, old in mapped_items(before, scale):
                    links[(version, version_before, new)] = old
    if not links:
        return current["item_id"].astype(str).tolist()
    return [
        links.get((str(v), str(pv), str(i)), str(i))
        for v, pv, i in zip(
            current["scale_version"], current["previous_scale_version"], current["item_id"], strict=True
        )
    ]


def _pair_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return empty_frame(DRIFT_COLUMNS)
    out = frame.loc[:, list(DRIFT_COLUMNS)].reset_index(drop=True)
    out["previous_evidence"] = text_column(out["previous_evidence"])
    out["evidence"] = text_column(out["evidence"])
    return out


def _day(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _short_drift(program_id: int, scale_id: str | None, reviews: pd.DataFrame) -> DriftReport:
    """The report for a program with no review, or only one, of the scale."""
    only = reviews.iloc[-1] if len(reviews) == 1 else None
    if only is None:
        note = no_reviews_note(scale_id) + " Drift needs two reviews."
    else:
        note = (
            f"Only one {scale_id} review ({_day(only['review_date'])}): drift needs two reviews "
            "of the same scale."
        )
    return DriftReport(
        program_id=program_id,
        scale_id=scale_id,
        review_id=None if only is None else int(only["review_id"]),
        previous_review_id=None,
        review_date=None if only is None else only["review_date"],
        previous_review_date=None,
        scale_version=None if only is None else str(only["scale_version"]),
        previous_scale_version=None,
        shared_items=(),
        not_shared=(),
        compared=empty_frame(DRIFT_COLUMNS),
        falls=empty_frame(DRIFT_COLUMNS),
        consecutive_low=empty_frame(DRIFT_COLUMNS),
        band_change=None,
        all_falls=empty_frame(DRIFT_COLUMNS),
        note=note,
    )


def _band_change(before: pd.Series, after: pd.Series) -> BandChange:
    def value(row: pd.Series) -> float | None:
        return None if pd.isna(row["banded_value"]) else float(row["banded_value"])

    def label(row: pd.Series) -> str | None:
        return None if pd.isna(row["band"]) else str(row["band"])

    direction: Direction = "unknown"
    if not pd.isna(before["band_level"]) and not pd.isna(after["band_level"]):
        a, b = int(before["band_level"]), int(after["band_level"])
        direction = "fell" if b < a else "rose" if b > a else "same"
    return BandChange(
        previous_band=label(before),
        band=label(after),
        direction=direction,
        previous_value=value(before),
        value=value(after),
    )


def _drift_note(
    before: Scale,
    now: Scale,
    prev: pd.Series,
    last: pd.Series,
    shared: tuple[str, ...],
    compared: int,
    mapped: tuple[tuple[str, str], ...] = (),
) -> str:
    dates = f"the review of {_day(last['review_date'])} against that of {_day(prev['review_date'])}"
    if before.version == now.version:
        note = f"{now.id} {now.version}: {dates}, on all {len(shared)} items."
    else:
        olds, news = {old for _new, old in mapped}, {new for new, _old in mapped}
        only_before = [i for i in before.item_ids if not now.has_item(i) and i not in olds]
        only_now = [i for i in now.item_ids if not before.has_item(i) and i not in news]
        left_out = [f"{', '.join(only_before)} only in {before.version}"] if only_before else []
        left_out += [f"{', '.join(only_now)} only in {now.version}"] if only_now else []
        note = f"{now.id} {before.version} and {now.version} compared on the {len(shared)} items they share"
        note += f" ({'; '.join(left_out)})" if left_out else ""
        if mapped:
            pairs = ", ".join(f"{new} ({now.version}) with {old} ({before.version})" for new, old in mapped)
            note += f"; matched across the versions although their ids changed: {pairs}"
        note += f": {dates}."
    unrated = len(shared) - compared
    if unrated:
        note += f" {unrated} of these items {'was' if unrated == 1 else 'were'} not rated on both reviews."
    return note
