"""Drift: how each program's fidelity changed over time, and what fell since its previous review.

Two tabs. *Agency* answers "which programs drift, and on which items" for the whole agency at
once (a row opens that program). *Program* shows one program (from ?program=ID, so Compare and
Results can link here) in detail: its band change, then in sections the items that fell with
the evidence from both reviews and the items rated low twice in a row, its scores over time
against the band thresholds with every item rating as a heatmap, and every earlier fall.

Only the open tab and section are drawn: a rerun (each click) draws one part of the page, not
all of it (see README, Performance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.charts import arrow_spec, item_heatmap, score_trend
from app_pages.markup import md
from app_pages.page_cache import page_cache
from app_pages.shared import analytics_version, database, final_ratings, identity_banner
from app_pages.widgets import VIEW_PARAM, analytics_intro, csv_download, page_start, view_tabs
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

PROGRAM_PARAM = "program"
GLANCE_ROWS = 50  # rows of the agency table per page: worst drift first, the rest a page away
EVIDENCE_ROW = 100  # px: rows taller than 4rem wrap their text, about five lines of evidence
NAMED_FALLS = 10  # programs named in the "band fell" alert; the table lists them all
SCALE_PARAM = "scale"
AGENCY, PROGRAM = "Agency", "Program"
SECTION_KEY = "drift_section"
GLANCE_KEY = "drift_overview_table"
PICKER_KEY, PICK_KEY = "drift_program_picker", "drift_program_pick"
FALLS, LOW, SCORES = "Items that fell", "Low twice", "Scores over time"  # the Program tab's sections
RATINGS, EVERY_FALL = "Item ratings", "Every fall"


# ---- data: loaded once per change of the data, shared by every rerun and session ----------------


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
    ratings, problems = final_ratings(url, version, _db, latest=2, evidence=False)
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
    charts: ProgramCharts
    falls: PairTable
    low: PairTable
    every_fall: PairTable
    file_stem: str  # the downloads' names: "falls-<file_stem>.csv"


@page_cache(spinner="Loading the program's reviews…", max_entries=32)
def program_detail(
    url: str, version: str, program_id: int, scale_id: str, program: str, _db: Database
) -> ProgramDetail:
    """One program's drift on a scale: from its reviews of the scale only."""
    ratings, _problems = final_ratings(url, version, _db, program_id=program_id, scale_id=scale_id)
    registry = _db.registry
    series = program_series(ratings, registry, program_id, scale_id=scale_id)
    items = item_series(ratings, registry, program_id, scale_id=scale_id)
    report = drift(ratings, registry, program_id, scale_id=scale_id)
    return ProgramDetail(
        report=report,
        series=series,
        items=items,
        charts=program_charts(series, items, registry, scale_id, program),
        falls=pair_view(report.falls),
        low=pair_view(report.consecutive_low),
        every_fall=pair_view(report.all_falls, dated=True),
        file_stem=slug(f"{program}-{scale_id}"),
    )


def day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def number(value: object, places: int) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.{places}f}"


def slug(text: str) -> str:
    """A download's file name part: letters, digits and "-", short enough for any file system."""
    return safe_filename(text, None, suffix="").lower()


# ---- the agency at a glance ---------------------------------------------------------------------


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


def open_program(keys: list[tuple[int, str]]) -> None:
    """A row chosen in the agency table opens its program in the Program tab: a callback, as
    it runs before the tabs are drawn (the only time the open tab can be changed)."""
    rows = st.session_state[GLANCE_KEY].selection.rows
    if not rows:
        return
    program_id, scale_id = keys[rows[0]]
    st.session_state["drift_current_program"] = program_id
    st.query_params[PROGRAM_PARAM] = str(program_id)
    st.query_params[SCALE_PARAM] = scale_id
    st.session_state["drift_view"] = PROGRAM
    st.query_params[VIEW_PARAM] = PROGRAM


def glance(agency: AgencyDrift) -> None:
    st.subheader("Programs at a glance")
    st.caption(
        "Each program's latest final review against its previous one on the same scale. "
        f"A fall is a lower item rating; a low is a rating below {LOW_RATING} on both reviews. "
        "Choose a row to open its program."
    )
    a, b, c = st.columns(3)
    a.metric(
        "Programs compared",
        agency.compared,
        help="Programs with at least two final reviews of a scale.",
        border=True,
    )
    b.metric("Band fell", agency.fell, border=True)
    c.metric("Programs with falling items", agency.with_falls, border=True)
    if agency.fell_names:
        st.error(
            f"Band fell since the previous review: {agency.fell_names}.", icon=":material/trending_down:"
        )
    start = page_start(len(agency.keys), GLANCE_ROWS, "drift_overview_page", "programs")
    st.dataframe(
        agency.table.slice(start, GLANCE_ROWS),
        hide_index=True,
        width="stretch",
        key=GLANCE_KEY,
        on_select=partial(open_program, agency.keys[start : start + GLANCE_ROWS]),
        selection_mode="single-row",
        column_config={
            "reviews": st.column_config.NumberColumn("reviews", width="small"),
            "falls": st.column_config.NumberColumn("falls", width="small"),
            "items that fell": st.column_config.TextColumn("items that fell", width="medium"),
        },
    )
    csv_download(agency.overview, "Download the overview (CSV)", "drift-overview.csv", "drift_overview_csv")


# ---- one program --------------------------------------------------------------------------------


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


def choose_program(agency: AgencyDrift) -> int:
    """The program shown: ?program=ID, else the last one chosen, else the one that drifted most.
    Another is chosen by name in a popover (or by a row of the Agency tab)."""
    worst = agency.keys[0][0]  # the overview lists the worst drift first
    wanted = st.query_params.get(PROGRAM_PARAM) or st.session_state.get("drift_current_program")
    try:
        chosen = int(wanted) if wanted is not None else worst
    except ValueError:
        chosen = worst
    if chosen not in agency.labels:
        if wanted is not None:
            st.warning(
                f"No program with id {wanted} has a final review; showing another.", icon=":material/info:"
            )
        chosen = worst
    picker = st.popover(
        "Choose another program", icon=":material/swap_horiz:", key=PICKER_KEY, on_change="rerun"
    )
    if picker.open:  # 1,000 names are drawn when asked for, not on every rerun
        picker.selectbox(
            "Program",
            agency.program_ids,
            index=None,
            placeholder="Type a program's name",
            format_func=agency.labels.__getitem__,
            key=PICK_KEY,
            on_change=program_picked,
        )
    st.query_params[PROGRAM_PARAM] = str(chosen)
    st.session_state["drift_current_program"] = chosen
    return chosen


def program_picked() -> None:
    """The program chosen in the popover is shown, and the popover closes (a callback: it runs
    before the popover is drawn)."""
    chosen = st.session_state.get(PICK_KEY)
    if chosen is not None:
        st.session_state["drift_current_program"] = chosen
        st.query_params[PROGRAM_PARAM] = str(chosen)
        st.query_params.pop(SCALE_PARAM, None)
    st.session_state[PICKER_KEY] = False


def choose_scale(agency: AgencyDrift, program_id: int, registry: ScaleRegistry) -> str:
    """The scale shown, when the program was reviewed on several: ?scale=, else the one it has
    the most final reviews of."""
    choices = agency.scales[program_id]
    if len(choices) == 1:
        st.query_params.pop(SCALE_PARAM, None)
        return choices[0][0]
    reviews = dict(choices)
    scales = list(reviews)
    wanted = st.query_params.get(SCALE_PARAM)
    chosen = st.radio(
        "Scale",
        scales,
        index=scales.index(wanted) if wanted in scales else 0,
        horizontal=True,
        format_func=lambda s: f"{registry.get(s).title} ({reviews[s]} reviews)",
        key=f"drift_scale_{program_id}",
    )
    st.query_params[SCALE_PARAM] = chosen
    return chosen


def band_alert(report: DriftReport, precision: int) -> None:
    change = report.band_change
    if change is None:
        return
    when = f"review of {day(report.review_date)} against that of {day(report.previous_review_date)}"
    values = f"({number(change.previous_value, precision)} → {number(change.value, precision)})"
    if change.direction == "fell":
        st.error(
            f"**Band fell: {change.previous_band} → {change.band}** {values}, {when}.",
            icon=":material/trending_down:",
        )
    elif change.direction == "rose":
        st.success(
            f"**Band rose: {change.previous_band} → {change.band}** {values}, {when}.",
            icon=":material/trending_up:",
        )
    elif change.direction == "same":
        st.info(f"Band unchanged: **{change.band}** {values}, {when}.", icon=":material/trending_flat:")
    else:
        st.warning(
            f"Band change unknown: {change.previous_band or 'no band'} → {change.band or 'no band'} "
            "(a sum is banded only when every item is rated).",
            icon=":material/help:",
        )


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


PAIR_COLUMNS = {  # only what the defaults get wrong: each configured column costs every rerun
    "name": st.column_config.TextColumn("name", width=150),
    "change": st.column_config.NumberColumn("change", format="%+d"),
    "evidence before": st.column_config.TextColumn("evidence before", width=260),  # both fit beside the items
    "evidence after": st.column_config.TextColumn("evidence after", width=260),
}


@dataclass(frozen=True, eq=False)
class PairTable:
    """Items with both reviews' ratings and evidence, as the page shows them."""

    table: pa.Table
    rows: int
    caption: str  # which review is "before" and which "after"


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
    return PairTable(pa.Table.from_pandas(table, preserve_index=False), len(table), caption)


def evidence(pairs: PairTable, key: str) -> None:
    """Each item with both ratings and the evidence from both reviews, side by side: one table
    (a row per item, its text wrapped; a longer cell opens on double click), not a card each."""
    st.dataframe(
        pairs.table,
        hide_index=True,
        width="stretch",
        height="content" if pairs.rows <= 12 else "auto",
        row_height=EVIDENCE_ROW,
        key=key,
        column_config=PAIR_COLUMNS,
    )


def fallen_items(detail: ProgramDetail) -> None:
    """The items that fell since the previous review, with the evidence from both reviews."""
    falls = detail.report.falls
    if falls.empty:
        st.success("No item rating fell since the previous review.", icon=":material/check_circle:")
        return
    n = len(falls)
    st.markdown(
        f"**{n} item{'s' if n != 1 else ''} fell** since the previous review: "
        + ", ".join(f"{i} ({int(c):+d})" for i, c in zip(falls["item_id"], falls["change"], strict=True))
        + f". {detail.falls.caption}"
    )
    evidence(detail.falls, "drift_falls")
    csv_download(
        falls,
        "Download the falls (CSV)",
        f"falls-{detail.file_stem}.csv",
        "drift_falls_csv",
    )


def low_twice(detail: ProgramDetail) -> None:
    """The items rated below LOW_RATING on both reviews, with the evidence from both."""
    low = detail.report.consecutive_low
    if low.empty:
        st.success(f"No item was rated below {LOW_RATING} on both reviews.", icon=":material/check_circle:")
        return
    st.warning(
        f"**Rated below {LOW_RATING} on both reviews:** "
        + ", ".join(f"{i} {name}" for i, name in zip(low["item_id"], low["item_name"], strict=True))
        + f". {detail.low.caption}",
        icon=":material/priority_high:",
    )
    evidence(detail.low, "drift_low")
    csv_download(
        low,
        "Download the low items (CSV)",
        f"low-twice-{detail.file_stem}.csv",
        "drift_low_csv",
    )


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


def scores_over_time(detail: ProgramDetail) -> None:
    """The program's total and subscale scores over time against the band thresholds."""
    series = detail.series
    st.vega_lite_chart(spec=detail.charts.trend, width="stretch", key="drift_trend_chart")
    if series.note:
        st.caption(series.note)
    csv_download(
        series.values,
        "Download the scores over time (CSV)",
        f"scores-{detail.file_stem}.csv",
        "drift_trend_csv",
    )


def item_ratings(detail: ProgramDetail) -> None:
    """Every item rating of every final review, as a heatmap."""
    st.vega_lite_chart(spec=detail.charts.heatmap, width="content", key="drift_item_heatmap")
    if detail.items.note:
        st.caption(detail.items.note)
    csv_download(
        detail.charts.items_table,
        "Download the item ratings (CSV)",
        f"items-{detail.file_stem}.csv",
        "drift_items_csv",
    )


def every_fall(detail: ProgramDetail) -> None:
    """Every item rating that fell from one final review to the next, over the program's history."""
    everything = detail.report.all_falls
    if everything.empty:
        st.success("No item rating fell between any two consecutive reviews.", icon=":material/check_circle:")
        return
    reviews = everything["review_id"].nunique()
    st.markdown(
        f"**{len(everything)} falls** between consecutive final reviews, "
        f"at {reviews} review{'s' if reviews != 1 else ''}, oldest first."
    )
    st.dataframe(
        detail.every_fall.table,
        hide_index=True,
        width="stretch",
        key="drift_all_falls",
        column_config=PAIR_COLUMNS,
    )
    csv_download(
        everything,
        "Download every fall (CSV)",
        f"all-falls-{detail.file_stem}.csv",
        "drift_all_falls_csv",
    )


# ---- page ---------------------------------------------------------------------------------------


def one_program(agency: AgencyDrift, db: Database, version: str) -> None:
    """The Program tab: the program and scale chosen, its facts and band change, then one
    section at a time (what changed, over time, every fall)."""
    program_id = choose_program(agency)
    scale_id = choose_scale(agency, program_id, db.registry)
    row = agency.rows[(program_id, scale_id)]
    program = str(row["program"])
    facts = {
        "Provider": row["provider"] or "—",
        "Region": row["region"] or "—",
        "Final reviews": f"{int(row['reviews'])} on {db.registry.get(scale_id).title}",
        "Latest": f"{day(row['review_date'])} · {row['band'] or 'no band'}",
    }
    heading = f"### {md(agency.labels[program_id])}\n\n"  # one element with the facts (README, Performance)
    st.markdown(heading + "  \n".join(f"**{label}:** {md(value)}" for label, value in facts.items()))
    st.page_link(
        "app_pages/results.py",
        label="Results of the latest review",
        icon=":material/insights:",
        query_params={"review": str(int(row["review_id"]))},
    )

    detail = program_detail(db.url, version, program_id, scale_id, program, db)
    report = detail.report
    if report.previous_review_id is None:
        st.info("This program has one final review: drift needs two.", icon=":material/info:")
        scores_over_time(detail)  # all there is to show of one review
        item_ratings(detail)
        return
    scale = db.registry.get(str(report.scale_id), report.scale_version)
    band_alert(report, scale.scoring.precision)  # names both reviews' dates
    if report.mixed_versions:
        st.info(report.note, icon=":material/difference:")
    elif report.band_change is None:
        st.caption(report.note)
    sections = {
        FALLS: fallen_items,
        LOW: low_twice,
        SCORES: scores_over_time,
        RATINGS: item_ratings,
        EVERY_FALL: every_fall,
    }
    tabs = st.tabs(list(sections), key=SECTION_KEY, on_change="rerun")
    for tab, draw in zip(tabs, sections.values(), strict=True):
        if tab.open:  # only the open section is drawn
            with tab:
                draw(detail)


def render() -> None:
    """Draw the Drift page (one run of it): only the open tab and section."""
    identity_banner()
    st.title("Drift")

    db = database()
    version = analytics_version(db)  # the data's fingerprint and the viewer's scope
    agency = agency_drift(db.url, version, db)
    analytics_intro(agency.problems, empty=agency.overview.empty)

    # A link to one program (?program=ID, from Compare or Results) opens it; else the agency.
    agency_tab, program_tab = view_tabs(
        [AGENCY, PROGRAM], "drift_view", default=PROGRAM if PROGRAM_PARAM in st.query_params else AGENCY
    )
    if agency_tab.open:
        with agency_tab:
            glance(agency)
    if program_tab.open:
        with program_tab:
            one_program(agency, db, version)
