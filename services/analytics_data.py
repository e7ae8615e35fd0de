"""Finalized reviews from the database, as the frame `scoring.analytics` reads.

`finalized_ratings` loads every final review's consensus ratings with ONE query (no loop over
programs or reviews); `data_version` is a cheap fingerprint of that data, for the pages to key
their caches on; `drift_overview` is every program's latest-against-previous comparison at once
(the agency-wide view of `scoring.analytics.drift`, vectorised).

When a final review has been amended and the amendment is final too, only the amendment counts:
it replaces the review it corrects. An amendment still in progress does not count yet.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from scales import ScaleRegistry
from scoring.analytics import LOW_RATING, RATING_COLUMNS, review_totals
from services.database import Database
from storage.models import ConsensusRating, Program, Provider, Review, ReviewStatus

FRAME_COLUMNS: Final[tuple[str, ...]] = (*RATING_COLUMNS, "scale_hash")
"""RATING_COLUMNS plus scale_hash (the content hash of the scale file the review was rated on)."""

OVERVIEW_COLUMNS: Final[tuple[str, ...]] = (
    "program_id",
    "program",
    "provider",
    "region",
    "scale_id",
    "reviews",
    "previous_review_id",
    "previous_review_date",
    "review_id",
    "review_date",
    "previous_band",
    "band",
    "band_direction",
    "previous_value",
    "value",
    "falls",
    "fallen_items",
    "largest_fall",
    "low_twice",
    "low_items",
)
"""Columns of `drift_overview`: one row per (program, scale) with at least one final review."""


def finalized_ratings(db: Database) -> pd.DataFrame:
    """One row per (final review, item) in the RATING_COLUMNS shape, plus scale_hash.

    Final reviews only; a final review replaced by a final amendment is left out. Rows are in
    review_date, review_id and item order; `rating` is Int64 (NA: not rated), `review_date`
    datetime64.
    """
    newer = aliased(Review)
    replaced = (
        select(newer.id)
        .where(newer.amendment_of == Review.id, newer.status == ReviewStatus.FINAL.value)
        .exists()
    )
    query = (
        select(
            Review.id,
            Program.id,
            Program.name,
            Provider.name,
            Program.region,
            Review.scale_id,
            Review.scale_version,
            Review.review_date,
            ConsensusRating.item_id,
            ConsensusRating.rating,
            ConsensusRating.evidence,
            Review.scale_hash,
        )
        .join(Program, Program.id == Review.program_id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .join(ConsensusRating, ConsensusRating.review_id == Review.id)
        .where(Review.status == ReviewStatus.FINAL.value, ~replaced)
        .order_by(Review.review_date, Review.id, ConsensusRating.id)
    )
    with db.reading() as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    frame["review_id"] = frame["review_id"].astype("int64")
    frame["program_id"] = frame["program_id"].astype("int64")
    frame["rating"] = pd.array(frame["rating"], dtype="Int64")
    frame["review_date"] = pd.to_datetime(frame["review_date"])
    for column in ("program", "provider", "region", "evidence"):
        frame[column] = pd.Series(
            frame[column].to_numpy(dtype=object, na_value=None), index=frame.index, dtype=object
        )
    return frame


def data_version(db: Database) -> str:
    """A fingerprint of what `finalized_ratings` reads, from one cheap aggregate query.

    It changes when a review is finalized (or a final amendment replaces one) and when a
    program's name, provider or region changes.
    """
    final = Review.status == ReviewStatus.FINAL.value
    query = select(
        select(func.count(Review.id)).where(final).scalar_subquery(),
        select(func.max(Review.finalized_at)).where(final).scalar_subquery(),
        select(func.max(Review.id)).where(final).scalar_subquery(),
        select(func.count(Program.id)).scalar_subquery(),
        select(func.max(Program.updated_at)).scalar_subquery(),
    )
    with db.reading() as s:
        row = s.execute(query).one()
    return "|".join("" if value is None else str(value) for value in row)


def scale_problems(ratings: pd.DataFrame, registry: ScaleRegistry) -> tuple[pd.DataFrame, list[str]]:
    """The rows whose scale version is loaded with the content they were rated on, and one
    message per scale version that is missing or whose file has changed since (those reviews
    are left out, as the Results page refuses to score them)."""
    if ratings.empty:
        return ratings, []
    keys = ratings.loc[:, ["scale_id", "scale_version", "scale_hash"]].drop_duplicates()
    bad: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for scale_id, version, digest in keys.itertuples(index=False, name=None):
        reviews = ratings.loc[
            (ratings["scale_id"] == scale_id)
            & (ratings["scale_version"] == version)
            & (ratings["scale_hash"] == digest),
            "review_id",
        ].nunique()
        if (scale_id, version) not in registry.scales:
            bad.append((scale_id, version, digest))
            problems.append(
                f"{reviews} review(s) rated on {scale_id} {version} are left out: that scale version is "
                "not among the loaded scales (restore its file or add its folder to FIDELITY_SCALES_DIRS)."
            )
        elif digest and registry.get(scale_id, version).content_hash != digest:
            bad.append((scale_id, version, digest))
            problems.append(
                f"{reviews} review(s) rated on {scale_id} {version} are left out: the scale file has "
                "changed since they were rated (a published version must never change)."
            )
    if not bad:
        return ratings, []
    drop = pd.MultiIndex.from_tuples(bad)
    key = pd.MultiIndex.from_frame(ratings.loc[:, ["scale_id", "scale_version", "scale_hash"]])
    return ratings.loc[~key.isin(drop)].reset_index(drop=True), problems


def drift_overview(
    ratings: pd.DataFrame, registry: ScaleRegistry, *, low_below: int = LOW_RATING
) -> pd.DataFrame:
    """Every program's latest review of each scale against its previous one, all at once.

    The same comparison as `scoring.analytics.drift` (items rated on both reviews; a fall is
    a lower rating; a low is a rating below `low_below` on both; the band change compares band
    levels), computed with merges over the whole frame instead of one call per program.
    Columns OVERVIEW_COLUMNS; `band_direction` is "fell", "rose", "same", "unknown" (a review
    without a band) or None (only one review). Sorted with the band falls first, then by
    number of falls, then program name.
    """
    if ratings.empty:
        return pd.DataFrame({col: pd.Series([], dtype=object) for col in OVERVIEW_COLUMNS})
    totals = review_totals(ratings, registry)  # one row per review, by date then id
    group = totals.groupby(["program_id", "scale_id"], sort=False)
    totals["_from_end"] = group.cumcount(ascending=False)
    totals["reviews"] = group["review_id"].transform("size")
    keep = ["program_id", "scale_id", "review_id", "review_date", "band", "band_level", "banded_value"]
    latest = totals.loc[totals["_from_end"] == 0, [*keep, "program", "provider", "region", "reviews"]]
    previous = totals.loc[totals["_from_end"] == 1, keep].rename(
        columns={c: f"previous_{c}" for c in keep if c not in ("program_id", "scale_id")}
    )
    out = latest.merge(previous, on=["program_id", "scale_id"], how="left")

    level_now = out["band_level"].astype("Float64")
    level_before = out["previous_band_level"].astype("Float64")
    direction = np.select(
        [
            (level_now < level_before).fillna(False).to_numpy(dtype=bool),
            (level_now > level_before).fillna(False).to_numpy(dtype=bool),
            (level_now == level_before).fillna(False).to_numpy(dtype=bool),
        ],
        ["fell", "rose", "same"],
        default="unknown",
    ).astype(object)
    direction[out["previous_review_id"].isna().to_numpy()] = None
    out["band_direction"] = direction

    # Items of the latest review against the same items of the previous one.
    pairs = out.loc[out["previous_review_id"].notna(), ["review_id", "previous_review_id"]]
    pairs = pairs.astype("int64")
    rated = ratings.loc[ratings["rating"].notna(), ["review_id", "item_id", "rating"]]
    now = rated.merge(pairs, on="review_id")
    before = rated.rename(columns={"review_id": "previous_review_id", "rating": "previous_rating"})
    compared = now.merge(before, on=["previous_review_id", "item_id"])
    compared["change"] = (compared["rating"] - compared["previous_rating"]).astype("int64")
    compared["_pos"] = _item_positions(ratings, compared, registry)

    falls = compared.loc[compared["change"] < 0].sort_values(["review_id", "change", "_pos"], kind="stable")
    fall_stats = falls.groupby("review_id").agg(
        falls=("item_id", "size"),
        fallen_items=("item_id", ", ".join),
        largest_fall=("change", "min"),
    )
    low = compared.loc[(compared["rating"] < low_below) & (compared["previous_rating"] < low_below)]
    low = low.sort_values(["review_id", "_pos"], kind="stable")
    low_stats = low.groupby("review_id").agg(low_twice=("item_id", "size"), low_items=("item_id", ", ".join))
    out = out.merge(fall_stats, left_on="review_id", right_index=True, how="left")
    out = out.merge(low_stats, left_on="review_id", right_index=True, how="left")
    has_pair = out["previous_review_id"].notna()
    for column in ("falls", "low_twice"):
        out[column] = out[column].where(~has_pair | out[column].notna(), 0)
        out[column] = pd.array(out[column], dtype="Int64")
    out["largest_fall"] = pd.array(out["largest_fall"], dtype="Int64")
    text_columns = ("fallen_items", "low_items", "program", "provider", "region", "band", "previous_band")
    for column in (*text_columns, "band_direction"):
        out[column] = pd.Series(
            out[column].to_numpy(dtype=object, na_value=None), index=out.index, dtype=object
        )
    out["previous_review_id"] = pd.array(out["previous_review_id"], dtype="Int64")
    out = out.rename(columns={"banded_value": "value", "previous_banded_value": "previous_value"})

    severity = np.where(out["band_direction"] == "fell", 0, 1)
    out = out.assign(_severity=severity, _falls=out["falls"].fillna(-1).astype("int64"))
    out = out.sort_values(
        ["_severity", "_falls", "program", "scale_id"], ascending=[True, False, True, True], kind="stable"
    )
    return out.loc[:, list(OVERVIEW_COLUMNS)].reset_index(drop=True)


def _item_positions(ratings: pd.DataFrame, compared: pd.DataFrame, registry: ScaleRegistry) -> np.ndarray:
    """Each compared item's position in its review's scale version (for the scale's item order)."""
    if compared.empty:
        return np.zeros(0, dtype="int64")
    versions = ratings.drop_duplicates("review_id").set_index("review_id")[["scale_id", "scale_version"]]
    keys = versions.loc[compared["review_id"]]
    position = np.zeros(len(compared), dtype="int64")
    for (scale_id, version), index in keys.groupby(["scale_id", "scale_version"]).indices.items():
        order = {item_id: i for i, item_id in enumerate(registry.get(scale_id, version).item_ids)}
        position[index] = compared["item_id"].iloc[index].map(order).fillna(len(order)).to_numpy()
    return position
