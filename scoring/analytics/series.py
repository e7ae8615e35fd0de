"""One program over time: its totals and subscale means (a line chart) and its item ratings
(a heatmap), on one scale."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scales.loader import ScaleRegistry
from scales.schema import TotalMethod
from scoring.analytics.columns import SERIES_COLUMNS, TOTAL_MEASURES
from scoring.analytics.frame import (
    and_list,
    empty_frame,
    item_union,
    no_reviews_note,
    program_ratings,
    text_column,
    versions_in_order,
)
from scoring.analytics.totals import score_reviews


@dataclass(frozen=True, eq=False)
class ProgramSeries:
    """A program's totals and subscale means over its reviews of one scale, for a line chart.

    `values`: review_id, review_date, scale_version, measure ("Total" or a subscale id),
    measure_name ("Total" or the subscale's name), value, band (on the Total rows). The
    Total is the value the bands read, rounded as the scale says (the total mean for DACTS,
    the sum for IDDT and GOI, NaN for a sum scale review with unrated items).
    `thresholds`: label, min, max of the bands, in the Total's units.
    """

    program_id: int
    scale_id: str | None
    values: pd.DataFrame
    thresholds: pd.DataFrame
    total_measure: str  # what "Total" is, e.g. "Total mean"
    total_is_mean: bool  # True when the Total shares the subscale means' 1..5 axis
    versions: tuple[str, ...]
    note: str


@dataclass(frozen=True, eq=False)
class ItemSeries:
    """Item x review matrix of a program's ratings of one scale (NA = not rated or not an item).

    Rows follow the scale's item order (the latest version's, then items only older versions
    have); columns are review ids in date order, described by `reviews`.
    """

    program_id: int
    scale_id: str | None
    matrix: pd.DataFrame
    items: pd.DataFrame  # item_id, item_name, subscale, in the matrix's row order
    reviews: pd.DataFrame  # review_id, review_date, scale_version, band, in column order
    note: str


def program_series(
    ratings: pd.DataFrame, registry: ScaleRegistry, program_id: int, *, scale_id: str | None = None
) -> ProgramSeries:
    """Total and subscale means of one program over its reviews of one scale (by default the
    scale of its latest review), with the band thresholds to draw."""
    data, scale_id = program_ratings(ratings, program_id, scale_id)
    if data.reviews.empty or scale_id is None:
        return ProgramSeries(
            program_id=program_id,
            scale_id=scale_id,
            values=empty_frame(SERIES_COLUMNS),
            thresholds=empty_frame(("label", "min", "max")),
            total_measure="Total",
            total_is_mean=True,
            versions=(),
            note=no_reviews_note(scale_id),
        )
    scored = score_reviews(data, registry)
    totals, subs = scored.totals, scored.subscales
    latest = scored.scales[_latest_key(data.reviews)]
    total_rows = pd.DataFrame(
        {
            "review_id": totals["review_id"],
            "review_date": totals["review_date"],
            "scale_version": totals["scale_version"],
            "measure": "Total",
            "measure_name": "Total",
            "value": totals["banded_value"],
            "band": totals["band"],
            "_order": -1,
        }
    )
    sub_order = {sub.id: i for i, sub in enumerate(latest.subscales)}
    sub_rows = pd.DataFrame(
        {
            "review_id": subs["review_id"],
            "review_date": subs["review_date"],
            "scale_version": subs["scale_version"],
            "measure": subs["subscale"],
            "measure_name": subs["subscale_name"],
            "value": subs["mean"],
            "band": None,
            "_order": subs["subscale"].map(sub_order).fillna(len(sub_order)),
        }
    )
    values = (
        pd.concat([total_rows, sub_rows], ignore_index=True)
        .sort_values(["review_date", "review_id", "_order", "measure"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    values["band"] = text_column(values["band"])
    thresholds = pd.DataFrame(
        [(band.label, band.min, band.max) for band in latest.scoring.bands], columns=["label", "min", "max"]
    )
    versions = versions_in_order(registry, scale_id, data.reviews["scale_version"])
    note = ""
    if len(versions) > 1:
        note = (
            f"Reviews use {scale_id} {and_list(versions)}: each total is scored on its own version's items; "
            f"band thresholds are those of {scale_id} {latest.version}."
        )
    return ProgramSeries(
        program_id=program_id,
        scale_id=scale_id,
        values=values,
        thresholds=thresholds,
        total_measure=TOTAL_MEASURES[latest.scoring.method],
        total_is_mean=latest.scoring.method is not TotalMethod.SUM,
        versions=versions,
        note=note,
    )


def item_series(
    ratings: pd.DataFrame, registry: ScaleRegistry, program_id: int, *, scale_id: str | None = None
) -> ItemSeries:
    """The item x review matrix of one program's ratings of one scale (by default the scale of
    its latest review), for a heatmap."""
    data, scale_id = program_ratings(ratings, program_id, scale_id)
    if data.reviews.empty or scale_id is None:
        return ItemSeries(
            program_id=program_id,
            scale_id=scale_id,
            matrix=pd.DataFrame(dtype="Int64"),
            items=empty_frame(("item_id", "item_name", "subscale")),
            reviews=empty_frame(("review_id", "review_date", "scale_version", "band")),
            note=no_reviews_note(scale_id),
        )
    scored = score_reviews(data, registry)
    versions = versions_in_order(registry, scale_id, data.reviews["scale_version"])
    ordered = [registry.get(scale_id, v) for v in reversed(versions)]  # newest first
    items = item_union(ordered)
    reviews = scored.totals.loc[:, ["review_id", "review_date", "scale_version", "band"]].reset_index(
        drop=True
    )
    matrix = (
        data.rows.pivot(index="item_id", columns="review_id", values="rating")
        .reindex(index=items["item_id"], columns=reviews["review_id"])
        .astype("Int64")
    )
    note = ""
    if len(versions) > 1:
        only = items.loc[items["in_versions"] < len(versions), "item_id"].tolist()
        note = (
            f"Reviews use {scale_id} {and_list(versions)}; "
            f"{len(items) - len(only)} items are in every version"
        )
        note += f" (not in every version: {', '.join(only)})." if only else "."
    return ItemSeries(
        program_id=program_id,
        scale_id=scale_id,
        matrix=matrix,
        items=items.loc[:, ["item_id", "item_name", "subscale"]],
        reviews=reviews,
        note=note,
    )


def _latest_key(reviews: pd.DataFrame) -> tuple[str, str]:
    last = reviews.iloc[-1]
    return str(last["scale_id"]), str(last["scale_version"])
