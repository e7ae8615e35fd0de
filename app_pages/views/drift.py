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

from functools import partial

import streamlit as st

from app_pages.item_links import show_item_links
from app_pages.markup import md
from app_pages.shared import analytics_version, database, identity_banner
from app_pages.views.drift_data import (
    AgencyDrift,
    PairTable,
    ProgramDetail,
    agency_drift,
    day,
    number,
    program_detail,
)
from app_pages.views.plan_marks import MARK_CAPTION, with_plan_marks
from app_pages.widgets import (
    VIEW_PARAM,
    analytics_intro,
    csv_download,
    keep_param,
    page_span,
    page_start,
    section_switch,
    view_switch,
)
from scales import ScaleRegistry
from services.analytics import LOW_RATING, DriftReport
from services.database import Database

PROGRAM_PARAM = "program"
GLANCE_ROWS = 50  # rows of the agency table per page: worst drift first, the rest a page away
EVIDENCE_ROW = 100  # px: rows taller than 4rem wrap their text, about five lines of evidence
SCALE_PARAM = "scale"
AGENCY, PROGRAM = "Agency", "Program"
SECTION_KEY = "drift_section"
GLANCE_KEY, PAGE_KEY = "drift_overview_table", "drift_overview_page"
PICKER_KEY, PICK_KEY = "drift_program_picker", "drift_program_pick"
FALLS, LOW, SCORES = "Items that fell", "Low twice", "Scores over time"  # the Program tab's sections
RATINGS, EVERY_FALL = "Item ratings", "Every fall"


# ---- the agency at a glance ---------------------------------------------------------------------


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
    shown = page_span(
        len(agency.keys), GLANCE_ROWS, PAGE_KEY, "programs"
    )  # which rows: no caption of its own
    # The heading, the three counts and what they mean in one element, not a subheader, three
    # metric cards in columns and a caption (eight elements, drawn on every rerun; see README,
    # Performance).
    st.markdown(
        "### Programs at a glance\n\n"
        f"**{agency.compared:,}** programs compared · **{agency.fell:,}** whose band fell · "
        f"**{agency.with_falls:,}** with falling items\n\n"
        ":small[Programs compared: those with at least two final reviews of a scale, each "
        "program's latest against its previous one on the same scale. A fall is a lower item "
        f"rating; a low is a rating below {LOW_RATING} on both reviews. Choose a row to open its "
        f"program.{' ' + shown if shown else ''}]"
    )
    if agency.fell_names:
        st.error(
            f"Band fell since the previous review: {agency.fell_names}.", icon=":material/trending_down:"
        )
    start = page_start(len(agency.keys), GLANCE_ROWS, PAGE_KEY, caption=False)
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


def choose_program(agency: AgencyDrift, registry: ScaleRegistry) -> tuple[int, str]:
    """The program and scale shown. The program: ?program=ID, else the last one chosen, else the
    one that drifted most; the scale, when the program was reviewed on several: ?scale=, else the
    one it has the most final reviews of. Another is chosen in a popover (or a program by a row
    of the Agency tab): its 1,000 names and the scales are drawn when asked for, not on every
    rerun; the facts under the heading name the program's other scales."""
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
    reviews = dict(agency.scales[chosen])
    scales = list(reviews)
    scale = st.query_params.get(SCALE_PARAM)
    scale = scale if scale in scales else scales[0]
    several = len(scales) > 1
    picker = st.popover(
        "Choose another program or scale" if several else "Choose another program",
        icon=":material/swap_horiz:",
        key=PICKER_KEY,
        on_change="rerun",
    )
    if picker.open:
        picker.selectbox(
            "Program",
            agency.program_ids,
            index=None,
            placeholder="Type a program's name",
            format_func=agency.labels.__getitem__,
            key=PICK_KEY,
            on_change=program_picked,
        )
        if several:
            key = f"drift_scale_{chosen}"
            picker.radio(
                "Scale",
                scales,
                index=scales.index(scale),
                format_func=lambda s: f"{registry.get(s).title} ({reviews[s]} reviews)",
                key=key,
                on_change=scale_picked,
                args=(key,),
            )
    keep_param(PROGRAM_PARAM, str(chosen))
    if several:
        keep_param(SCALE_PARAM, scale)
    else:
        st.query_params.pop(SCALE_PARAM, None)
    st.session_state["drift_current_program"] = chosen
    return chosen, scale


def program_picked() -> None:
    """The program chosen in the popover is shown, and the popover closes (a callback: it runs
    before the popover is drawn)."""
    chosen = st.session_state.get(PICK_KEY)
    if chosen is not None:
        st.session_state["drift_current_program"] = chosen
        st.query_params[PROGRAM_PARAM] = str(chosen)
        st.query_params.pop(SCALE_PARAM, None)
    st.session_state[PICKER_KEY] = False


def scale_picked(key: str) -> None:
    """The scale chosen in the popover is shown, and the popover closes."""
    st.query_params[SCALE_PARAM] = st.session_state[key]
    st.session_state[PICKER_KEY] = False


def other_scales(agency: AgencyDrift, program_id: int, shown: str, registry: ScaleRegistry) -> str:
    """The program's other scales and their reviews, for its facts ("" when it has one)."""
    others = [f"{n} on {registry.get(s).title}" for s, n in agency.scales[program_id] if s != shown]
    return f"; also {', '.join(others)} (choose above)" if others else ""


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


PAIR_COLUMNS = {  # only what the defaults get wrong: each configured column costs every rerun
    "name": st.column_config.TextColumn("name", width=150),
    "change": st.column_config.NumberColumn("change", format="%+d"),
    "evidence before": st.column_config.TextColumn("evidence before", width=260),  # both fit beside the items
    "evidence after": st.column_config.TextColumn("evidence after", width=260),
}


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


def scores_over_time(detail: ProgramDetail) -> None:
    """The program's total and subscale scores over time against the band thresholds."""
    series = detail.series
    trend, marked = with_plan_marks(detail.charts.trend, detail.report.program_id)
    st.vega_lite_chart(spec=trend, width="stretch", key="drift_trend_chart")
    if marked:
        st.caption(MARK_CAPTION)
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
    everything, shown = detail.report.all_falls, detail.every_fall
    if not shown.rows:
        st.success("No item rating fell between any two consecutive reviews.", icon=":material/check_circle:")
        return
    reviews = shown.reviews
    st.markdown(
        f"**{shown.rows} falls** between consecutive final reviews, "
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
    program_id, scale_id = choose_program(agency, db.registry)
    row = agency.rows[(program_id, scale_id)]
    program = str(row["program"])
    also = other_scales(agency, program_id, scale_id, db.registry)
    facts = {
        "Provider": row["provider"] or "—",
        "Region": row["region"] or "—",
        "Final reviews": f"{int(row['reviews'])} on {db.registry.get(scale_id).title}{also}",
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
    for problem in detail.problems:  # this program's reviews left out (the agency's are shown above)
        if problem not in agency.problems:
            st.warning(problem, icon=":material/warning:")
    report = detail.report
    if report.previous_review_id is None:
        st.info("This program has one final review: drift needs two.", icon=":material/info:")
        scores_over_time(detail)  # all there is to show of one review
        item_ratings(detail)
        return
    scale = db.registry.get(str(report.scale_id), report.scale_version)
    band_alert(report, scale.scoring.precision)  # names both reviews' dates
    show_item_links([scale], db.registry)  # items matched across versions although their ids differ
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
    sections[section_switch(list(sections), SECTION_KEY)](detail)  # only the open section is drawn


def render() -> None:
    """Draw the Drift page (one run of it): only the open tab and section."""
    identity_banner()
    st.title("Drift")

    db = database()
    version = analytics_version(db)  # the data's fingerprint and the viewer's scope
    agency = agency_drift(db.url, version, db)
    analytics_intro(agency.problems, empty=agency.overview.empty)

    # A link to one program (?program=ID, from Compare or Results) opens it; else the agency.
    view = view_switch(
        [AGENCY, PROGRAM], "drift_view", default=PROGRAM if PROGRAM_PARAM in st.query_params else AGENCY
    )
    if view == AGENCY:
        glance(agency)
    else:
        one_program(agency, db, version)
