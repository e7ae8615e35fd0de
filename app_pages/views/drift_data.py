"""What the Drift page draws, made once per change of the data and shared by every session of
the server process (app_pages/page_cache.py): every program's drift, one program's detail, their
tables and charts. A rerun looks these up; it computes nothing over the agency's programs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from app_pages.charts import arrow_spec, item_heatmap, score_trend
from app_pages.markup import md
from app_pages.page_cache import page_cache
from app_pages.views.final_read import checked, read_final
from scales import ScaleRegistry
from services.analytics import (
    LOW_RATING,
    DriftReport,
    ItemSeries,
    ProgramSeries,
    drift,
    drift_overview,
    item_series,
    program_series,
)
from services.database import Database
from services.report_data import safe_filename

NAMED_FALLS = 10  # programs named in the "band fell" alert; the table lists them all
ROW_FACTS = [  # an overview row's facts the page shows of the chosen program
    *("program_id", "scale_id", "program", "provider", "region"),
    *("reviews", "review_date", "band", "review_id"),
]


@dataclass(frozen=True, eq=False)
class AgencyDrift:
    """Every program's drift and what the page draws of it, made once per change of the data:
    a rerun looks things up and draws them, it computes nothing over the 1,000 programs."""

    overview: pd.DataFrame  # drift_overview: a row per program and scale, worst drift first
    table: pa.Table  # the agency table as shown (Arrow: a page of it is a slice, not a conversion)
    problems: list[str]
    compared: int  # programs with two final reviews of a scale
    fell: int
    with_falls: int
    fell_names: str  # the programs whose band fell, for the alert ("" when none)
    program_ids: list[int]  # the picker's options, by name
    labels: dict[int, str]
    scales: dict[int, list[tuple[str, int]]]  # program -> its scales and final reviews, most first
    rows: dict[tuple[int, str], dict[str, Any]]  # (program, scale) -> its overview row
    keys: list[tuple[int, str]]  # (program, scale) of each row of the table, in its order


# Cached per process: shared, not copied on every rerun (the pages only read them).
@page_cache(spinner="Comparing every program's latest reviews…", max_entries=4)
def agency_drift(url: str, version: str, _db: Database) -> AgencyDrift:
    """drift_overview of every program and what the page shows of it: from each program's two
    latest final reviews of each scale (all the overview compares)."""
    ratings, problems = checked(read_final(_db, latest=2, evidence=False), _db.registry)
    overview = drift_overview(ratings, _db.registry)
    compared = overview.loc[overview["band_direction"].notna()]
    fell = compared.loc[compared["band_direction"] == "fell"]
    named = fell.iloc[:NAMED_FALLS]
    names = ", ".join(
        f"**{md(p)}** ({s.upper()})" for p, s in zip(named["program"], named["scale_id"], strict=True)
    )
    if len(fell) > NAMED_FALLS:
        names += f" and {len(fell) - NAMED_FALLS} more (first in the table)"
    program_ids, labels = program_choices(overview)
    by_reviews = overview.sort_values(["reviews", "review_date"], ascending=[False, False])
    scales: dict[int, list[tuple[str, int]]] = {}
    for program_id, scale_id, reviews in by_reviews.loc[:, ["program_id", "scale_id", "reviews"]].itertuples(
        index=False, name=None
    ):
        scales.setdefault(int(program_id), []).append((str(scale_id), int(reviews)))
    rows = {
        (int(row["program_id"]), str(row["scale_id"])): row
        for row in overview.loc[:, ROW_FACTS].to_dict("records")
    }
    return AgencyDrift(
        overview=overview,
        table=pa.Table.from_pandas(glance_table(overview), preserve_index=False),
        problems=problems,
        compared=len(compared),
        fell=len(fell),
        with_falls=int((compared["falls"].fillna(0) > 0).sum()),
        fell_names=names,
        program_ids=program_ids,
        labels=labels,
        scales=scales,
        rows=rows,
        keys=[(int(p), str(s)) for p, s in zip(overview["program_id"], overview["scale_id"], strict=True)],
    )


@dataclass(frozen=True, eq=False)
class ProgramDetail:
    """One program's drift on one scale and what the page draws of it, made once per change of
    the data: its drift report, score and item series, their charts and the tables of falls."""

    report: DriftReport
    series: ProgramSeries
    items: ItemSeries
    falls: PairTable
    low: PairTable
    every_fall: PairTable
    file_stem: str  # the downloads' names: "falls-<file_stem>.csv"
    problems: list[str]  # reviews of the program left out (the integrity gate, a changed scale file)
    registry: ScaleRegistry
    scale_id: str
    program: str  # its name, for the charts' titles

    @cached_property
    def charts(self) -> ProgramCharts:
        """The charts, made when a section that draws one is first opened and kept with the rest
        (the object is shared, never copied: app_pages.page_cache): the sections opened first
        draw none, and making both specs was a quarter of a first run after a data change."""
        return program_charts(self.series, self.items, self.registry, self.scale_id, self.program)


@page_cache(spinner="Loading the program's reviews…", max_entries=32)
def program_detail(
    url: str, version: str, program_id: int, scale_id: str, program: str, _db: Database
) -> ProgramDetail:
    """One program's drift on a scale: from its reviews of the scale only."""
    ratings, problems = checked(read_final(_db, program_id=program_id, scale_id=scale_id), _db.registry)
    registry = _db.registry
    series = program_series(ratings, registry, program_id, scale_id=scale_id)
    items = item_series(ratings, registry, program_id, scale_id=scale_id)
    report = drift(ratings, registry, program_id, scale_id=scale_id)
    return ProgramDetail(
        report=report,
        series=series,
        items=items,
        falls=pair_view(report.falls),
        low=pair_view(report.consecutive_low),
        every_fall=pair_view(report.all_falls, dated=True),
        file_stem=slug(f"{program}-{scale_id}"),
        problems=problems,
        registry=registry,
        scale_id=scale_id,
        program=program,
    )


def day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def number(value: object, places: int) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.{places}f}"


def slug(text: str) -> str:
    """A download's file name part: letters, digits and "-", short enough for any file system."""
    return safe_filename(text, None, suffix="").lower()


def band_text(overview: pd.DataFrame) -> pd.Series:
    """Each row's band change in words ("Fair → Not ACT", "Full (unchanged)", "Fair (one review)")."""
    band = overview["band"].fillna("no band").astype(object)
    before = overview["previous_band"].fillna("no band").astype(object)
    direction = overview["band_direction"]
    text = np.where(
        direction.isna(),
        band + " (one review)",
        np.where(direction == "same", band + " (unchanged)", before + " → " + band),
    )
    return pd.Series(text, index=overview.index, dtype=object)


def days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object).fillna("—")


def glance_table(overview: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "program": overview["program"],
            "scale": overview["scale_id"].str.upper(),
            "band": band_text(overview),
            "falls": overview["falls"],
            "items that fell": overview["fallen_items"].fillna(""),
            f"below {LOW_RATING} twice": overview["low_items"].fillna(""),
            "previous review": days(overview["previous_review_date"]),
            "latest review": days(overview["review_date"]),
            "reviews": overview["reviews"],
            "provider": overview["provider"],
        }
    )


def program_choices(overview: pd.DataFrame) -> tuple[list[int], dict[int, str]]:
    """The program picker's ids by name and their labels (made with the agency's data, not for
    each of 1,000 options on every rerun)."""
    names = overview.drop_duplicates("program_id").set_index("program_id")["program"].to_dict()
    ids = sorted((int(i) for i in names), key=lambda i: (str(names[i]).casefold(), i))
    marks = dict.fromkeys(overview.loc[overview["falls"].fillna(0) > 0, "program_id"], " — items fell")
    marks.update(
        dict.fromkeys(overview.loc[overview["band_direction"] == "fell", "program_id"], " — band fell")
    )
    return ids, {i: f"{names[i]}{marks.get(i, '')}" for i in ids}


def pair_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": frame["item_id"],
            "name": frame["item_name"],
            "before": frame["previous_rating"].astype("Int64"),
            "after": frame["rating"].astype("Int64"),
            "change": frame["change"].astype("Int64"),
            "evidence before": frame["previous_evidence"].fillna(""),
            "evidence after": frame["evidence"].fillna(""),
        }
    )


@dataclass(frozen=True, eq=False)
class PairTable:
    """Items with both reviews' ratings and evidence, as the page shows them."""

    table: pa.Table
    rows: int
    caption: str  # which review is "before" and which "after"
    reviews: int = 0  # the reviews the rows are at (counted here, not on every rerun)


def pair_view(frame: pd.DataFrame, *, dated: bool = False) -> PairTable:
    table = pair_table(frame)
    if dated:
        table.insert(0, "review", days(frame["review_date"]))
        table.insert(1, "previous", days(frame["previous_review_date"]))
    caption = ""
    if not frame.empty and not dated:
        caption = (
            f"Evidence before: the review of {day(frame['previous_review_date'].iloc[0])}; "
            f"after: that of {day(frame['review_date'].iloc[0])}."
        )
    reviews = int(frame["review_id"].nunique()) if "review_id" in frame else 0
    return PairTable(pa.Table.from_pandas(table, preserve_index=False), len(table), caption, reviews)


@dataclass(frozen=True, eq=False)
class ProgramCharts:
    """A program's charts as Vega-Lite specs (Altair builds and checks them once per change of
    the data, not on every rerun) and the item table behind the heatmap."""

    trend: dict[str, Any]
    heatmap: dict[str, Any]
    items_table: pd.DataFrame


def program_charts(
    series: ProgramSeries, items: ItemSeries, registry: ScaleRegistry, scale_id: str, program: str
) -> ProgramCharts:
    scale = registry.get(scale_id, series.versions[-1]) if series.versions else registry.get(scale_id)
    low, high = scale.rating.min, scale.rating.max
    n_items = len(scale.items)
    trend = score_trend(
        series.values,
        series.thresholds,
        f"{program}: {scale.title} over time",
        total_title=series.total_measure,
        total_is_mean=series.total_is_mean,
        rating_range=(low, high),
        total_range=None if series.total_is_mean else (n_items * low, n_items * high),
        precision=scale.scoring.precision,
    )
    dates = [day(d) for d in items.reviews["review_date"]]
    repeated = {d for d in dates if dates.count(d) > 1}
    labels = [
        f"{d} (#{rid})" if d in repeated else d
        for d, rid in zip(dates, items.reviews["review_id"], strict=True)
    ]
    matrix = items.matrix.copy()
    matrix.columns = labels
    heatmap = item_heatmap(
        matrix,
        f"{program}: item ratings by review",
        item_names=dict(zip(items.items["item_id"], items.items["item_name"], strict=True)),
        column_title="Review date",
        rating_range=(low, high),
    )
    table = matrix.rename_axis("item").reset_index()
    table.insert(1, "name", items.items["item_name"].to_numpy())
    return ProgramCharts(arrow_spec(trend), arrow_spec(heatmap), table)
