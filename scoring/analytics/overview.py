"""The agency overview: every program's latest review of one scale, ranked and compared."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scales.loader import ScaleRegistry
from scales.schema import Scale
from scoring.analytics.columns import ITEM_MEAN_COLUMNS, LOW_RATING, TOTAL_COLUMNS, DateLike
from scoring.analytics.frame import (
    PreparedRatings,
    and_list,
    empty_frame,
    item_union,
    prepare_ratings,
    versions_in_order,
)
from scoring.analytics.totals import score_reviews


@dataclass(frozen=True, eq=False)
class AgencyOverview:
    """Every program's latest review of one scale, ranked, with the state's weak spots.

    `programs`: one row per program (the review_totals columns plus `rank`), best first:
    total mean descending, then program name. `distribution`: band, band_level, programs,
    share, in band order (every band, plus a row with band None when some have none).
    `item_means`: item_id, item_name, subscale, mean, n (programs that rated it), low (rated
    below LOW_RATING), lowest mean first. `item_matrix`: item x program_id ratings, items in
    scale order and programs in rank order. `below_full`: the programs whose latest review is
    not in the scale's top band (or has no band).
    """

    scale_id: str
    programs: pd.DataFrame
    distribution: pd.DataFrame
    item_means: pd.DataFrame
    item_matrix: pd.DataFrame
    below_full: pd.DataFrame
    versions: tuple[str, ...]
    shared_items: tuple[str, ...]  # the items item_means and item_matrix use
    note: str


def agency_overview(
    ratings: pd.DataFrame,
    registry: ScaleRegistry,
    scale_id: str,
    *,
    region: str | Collection[str] | None = None,
    provider: str | Collection[str] | None = None,
    date_from: DateLike | None = None,
    date_to: DateLike | None = None,
) -> AgencyOverview:
    """The latest review of `scale_id` of each program, among reviews in the window.

    `region` and `provider` take one name or several; `date_from` and `date_to` are inclusive.
    Totals and bands are each scored on the review's own scale version; when the latest reviews
    use different versions, item means and the item matrix use only the item ids every one of
    those versions defines, and the note says so.
    """
    data = prepare_ratings(ratings, scale_id=scale_id)
    reviews = data.reviews
    if region is not None:
        reviews = reviews.loc[reviews["region"].isin(_names(region))]
    if provider is not None:
        reviews = reviews.loc[reviews["provider"].isin(_names(provider))]
    if date_from is not None:
        reviews = reviews.loc[reviews["review_date"].dt.normalize() >= pd.Timestamp(date_from).normalize()]
    if date_to is not None:
        reviews = reviews.loc[reviews["review_date"].dt.normalize() <= pd.Timestamp(date_to).normalize()]
    latest = reviews.drop_duplicates("program_id", keep="last")  # reviews are in date order
    if latest.empty:
        return _empty_overview(scale_id, registry)

    data = PreparedRatings(
        rows=data.rows.loc[data.rows["review_id"].isin(latest["review_id"])], reviews=latest
    )
    scored = score_reviews(data, registry)
    totals = scored.totals
    programs = totals.assign(_name=totals["program"].astype(object).where(totals["program"].notna(), ""))
    programs = programs.sort_values(
        ["total_mean", "_name", "program_id"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    ).drop(columns="_name")
    programs.insert(0, "rank", np.arange(1, len(programs) + 1))
    programs = programs.reset_index(drop=True)

    versions = versions_in_order(registry, scale_id, programs["scale_version"])
    reference = registry.get(scale_id, versions[-1])

    tops = pd.Series({v: len(registry.get(scale_id, v).scoring.bands) - 1 for v in versions}, dtype="int64")
    top_level = programs["scale_version"].map(tops)
    below_full = programs.loc[programs["band_level"].isna() | (programs["band_level"] != top_level)]

    distribution = _distribution(programs, [registry.get(scale_id, v) for v in reversed(versions)])

    version_scales = [registry.get(scale_id, v) for v in versions]
    shared = tuple(i for i in reference.item_ids if all(s.has_item(i) for s in version_scales))
    rows = scored.rows.loc[scored.rows["item_id"].isin(shared)]
    item_meta = item_union([reference]).set_index("item_id").loc[list(shared)]
    item_means = _item_means(rows, item_meta)
    item_matrix = _item_matrix(rows, shared, programs["program_id"])
    note = ""
    if len(versions) > 1:
        left_out = sorted({i for s in version_scales for i in s.item_ids} - set(shared))
        note = (
            f"Latest reviews use {scale_id} {and_list(versions)}: item means use the {len(shared)} items "
            f"all these versions share"
            + (f" (left out: {', '.join(left_out)})" if left_out else "")
            + "; each total and band is scored on the review's own version."
        )
    return AgencyOverview(
        scale_id=scale_id,
        programs=programs,
        distribution=distribution,
        item_means=item_means,
        item_matrix=item_matrix,
        below_full=below_full.reset_index(drop=True),
        versions=versions,
        shared_items=shared,
        note=note,
    )


def _item_matrix(rows: pd.DataFrame, items: tuple[str, ...], program_ids: pd.Series) -> pd.DataFrame:
    """Item x program ratings (Int64; NA: not rated or no row), items and programs in the given
    order. Placed with numpy: `pivot` unstacks an Int64 column one program at a time (0.2 s for
    1,000 programs). Each program has one review here, so each (item, program) has one row."""
    columns = pd.Index(program_ids, name="program_id")
    index = pd.Index(list(items), name="item_id")
    item_at = index.get_indexer(rows["item_id"])
    program_at = columns.get_indexer(rows["program_id"])
    rating = rows["rating"].astype("Int64")
    rated = rating.notna().to_numpy(dtype=bool) & (item_at >= 0) & (program_at >= 0)
    values = np.zeros((len(columns), len(index)), dtype="int64")  # a program's column is contiguous
    missing = np.ones((len(columns), len(index)), dtype=bool)
    values[program_at[rated], item_at[rated]] = rating.to_numpy(dtype="int64", na_value=0)[rated]
    missing[program_at[rated], item_at[rated]] = False
    data = {j: pd.arrays.IntegerArray(values[j], missing[j]) for j in range(len(columns))}
    matrix = pd.DataFrame(data, index=index)
    matrix.columns = columns
    return matrix


def _names(value: str | Collection[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _distribution(programs: pd.DataFrame, scales_newest_first: list[Scale]) -> pd.DataFrame:
    labels = list(dict.fromkeys(b.label for s in scales_newest_first for b in s.scoring.bands))
    counts = programs["band"].value_counts()
    frame = pd.DataFrame(
        {
            "band": pd.Series(labels, dtype=object),
            "band_level": np.arange(len(labels), dtype="int64"),
            "programs": [int(counts.get(label, 0)) for label in labels],
        }
    )
    unbanded = int(programs["band"].isna().sum())
    if unbanded:
        extra = pd.DataFrame(
            {"band": pd.Series([None], dtype=object), "band_level": [-1], "programs": [unbanded]}
        )
        frame = pd.concat([frame, extra], ignore_index=True)
    frame["band_level"] = pd.array(frame["band_level"].where(frame["band_level"] >= 0), dtype="Int64")
    total = int(frame["programs"].sum())
    frame["share"] = frame["programs"] / total if total else np.nan
    return frame


def _item_means(rows: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    rated = rows.loc[rows["rating"].notna()]
    grouped = rated.groupby("item_id")["rating"]
    stats = pd.DataFrame(
        {
            "mean": grouped.sum().astype("float64") / grouped.count(),
            "n": grouped.count(),
            "low": (rated["rating"] < LOW_RATING).groupby(rated["item_id"]).sum(),
        }
    ).reindex(items.index)
    out = items.loc[:, ["item_name", "subscale"]].copy()
    out["mean"] = stats["mean"].astype("float64")
    out["n"] = stats["n"].fillna(0).astype("int64")
    out["low"] = stats["low"].fillna(0).astype("int64")
    out["_pos"] = np.arange(len(out))
    out = out.rename_axis("item_id").reset_index()
    out = out.sort_values(["mean", "_pos"], na_position="last", kind="stable")
    return out.loc[:, list(ITEM_MEAN_COLUMNS)].reset_index(drop=True)


def _empty_overview(scale_id: str, registry: ScaleRegistry) -> AgencyOverview:
    try:
        scales = [registry.get(scale_id)]
    except LookupError:
        scales = []
    empty_programs = empty_frame(("rank", *TOTAL_COLUMNS))
    return AgencyOverview(
        scale_id=scale_id,
        programs=empty_programs,
        distribution=_distribution(empty_frame(("band",)), scales),
        item_means=empty_frame(ITEM_MEAN_COLUMNS),
        item_matrix=pd.DataFrame(dtype="Int64"),
        below_full=empty_programs.copy(),
        versions=(),
        shared_items=(),
        note=f"No finalized {scale_id} reviews match the filters.",
    )
