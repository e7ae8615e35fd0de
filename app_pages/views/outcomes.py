"""The Outcomes page (Analytics → Outcomes): fidelity beside outcomes.

Tabs: *Agency* (every program's latest fidelity total against an outcome over the months after
it, per scale, with Spearman's rho, its interval and n, and a caution; then every program's
fidelity and outcome over time in small panels), *Program* (one program's fidelity total and
subscales over time above a chosen outcome), and, for those who may, *Enter values*, *Import*
and *Measures* (app_pages/views/outcomes_entry.py).
"""

from __future__ import annotations

import streamlit as st

from app_pages.markup import md
from app_pages.outcome_charts import every_program_chart, outcome_scatter, program_chart
from app_pages.shared import actor, database, identity_banner
from app_pages.views.outcomes_entry import enter_values, import_values, measures_editor
from app_pages.widgets import csv_download, show_error, view_tabs
from services.access import Action, can
from services.database import Database
from services.errors import FidelityError
from services.outcome_analysis import (
    CAUTION,
    DEFAULT_FOLLOWING_MONTHS,
    ScaleComparison,
    agency_comparisons,
    every_program_series,
    outcome_series,
    program_fidelity,
)
from services.outcomes import MeasureView, list_measures
from services.programs import list_programs

AGENCY, PROGRAM, ENTER, IMPORT, MEASURES = "Agency", "Program", "Enter values", "Import", "Measures"
FOLLOWING_NOTE = (
    "**Following period**: the {n} whole calendar months after the month of the review (a review "
    "of 14 March is followed by April to {last}). Each program's point is its latest final review "
    "followed by outcome values in that window (a review too recent to have any is passed over for "
    "the one before it), against the outcome **per month** over the periods that lie wholly inside "
    "the window (days and counts: their sum divided by the months; percentages and caseloads: "
    "their mean). Spearman's rho is computed with scipy (`scipy.stats.spearmanr`); its interval "
    "with Fisher's z and the Bonett–Wright standard error for Spearman's rho."
)
_MONTHS = (
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "January",
    "February",
)


def measure_picker(measures: list[MeasureView], key: str) -> MeasureView:
    by_key = {m.key: m for m in measures}
    chosen = st.selectbox("Outcome", list(by_key), format_func=lambda k: by_key[k].label, key=key, index=0)
    return by_key[chosen or measures[0].key]


def agency_view(db: Database, measures: list[MeasureView]) -> None:
    measure = measure_picker(measures, "outcomes_agency_measure")
    months = int(
        st.number_input(
            "Following period (months after the review)",
            1,
            24,
            DEFAULT_FOLLOWING_MONTHS,
            key="outcomes_months",
        )
    )
    try:
        comparisons, problems = agency_comparisons(db, measure.key, actor=actor(), months=months)
        series, _ = every_program_series(db, measure.key, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        return
    for problem in problems:
        st.warning(problem, icon=":material/warning:")
    if not comparisons:
        st.info("No final reviews yet: run `fidelity demo` or finalize a review.", icon=":material/info:")
        return
    st.warning(CAUTION, icon=":material/psychology_alt:")
    for comparison in comparisons:
        scale_section(comparison)
    st.caption(FOLLOWING_NOTE.format(n=months, last=_MONTHS[months % 12]))
    st.subheader("Every program over time")
    if series.empty:
        st.info("No final reviews or outcome values to draw.")
        return
    chart = every_program_chart(series, outcome_title=f"{measure.name} per month")
    st.vega_lite_chart(spec=chart.to_dict(), width="content", key="outcomes_every_program")


def scale_section(c: ScaleComparison) -> None:
    st.subheader(f"{c.scale_title}: {c.measure.name}")
    r = c.correlation
    if c.points.empty:
        st.info(f"No program rated on {c.scale_id.upper()} has values of this outcome after a review.")
    else:
        st.markdown(
            f"**{md(r.text)}**" + (f" — two-sided p = {r.p_value:.3f}" if r.p_value is not None else "")
        )
        better = "" if c.measure.better.value == "neither" else f" ({c.measure.better.value} is better)"
        chart = outcome_scatter(
            c.points,
            total_title=f"Latest fidelity {c.total_measure.lower()}",
            outcome_title=f"{c.measure.name} per month{better}",
            title=f"{c.scale_id.upper()} programs: fidelity and {c.measure.name.lower()} "
            f"in the {c.months} months after",
            subtitle=[r.text],
        )
        st.vega_lite_chart(spec=chart.to_dict(), width="stretch", key=f"outcomes_scatter_{c.scale_id}")
        shown = (
            c.points.round({"total": 2, "outcome": 1})
            .rename(
                columns={
                    "program": "Program",
                    "review_date": "Review",
                    "total": c.total_measure,
                    "outcome": f"{c.measure.name} per month",
                    "months": "Months with a value",
                }
            )
            .drop(columns=["program_id", "review_id"])
        )
        st.dataframe(shown, hide_index=True, key=f"outcomes_points_{c.scale_id}")
        csv_download(
            c.points,
            "Download CSV",
            f"fidelity-{c.scale_id}-{c.measure.key}.csv",
            key=f"outcomes_csv_{c.scale_id}",
        )
    for reason in c.left_out:
        st.caption(f"Left out: {md(reason)}")


def program_view(db: Database, measures: list[MeasureView]) -> None:
    programs = {p.id: p.name for p in list_programs(db, actor=actor())}
    if not programs:
        st.info("No programs yet.")
        return
    ids = list(programs)
    wanted = st.query_params.get("program")
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in programs else 0
    program_id = st.selectbox(
        "Program",
        ids,
        index=index,
        format_func=lambda i: programs[i],
        key="outcomes_program",
        on_change=lambda: st.query_params.update(program=str(st.session_state["outcomes_program"])),
    )
    measure = measure_picker(measures, "outcomes_program_measure")
    try:
        series, problems = program_fidelity(db, int(program_id), actor=actor())
        outcome = outcome_series(db, int(program_id), measure.key, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        return
    for problem in problems:
        st.warning(problem, icon=":material/warning:")
    if series.values.empty and outcome.empty:
        st.info(f"{programs[int(program_id)]} has no final reviews and no values of this outcome yet.")
        return
    if outcome.empty:
        st.caption(f"No values of {measure.name.lower()} for this program yet.")
    chart = program_chart(
        series.values,
        outcome,
        program=programs[int(program_id)],
        total_title=series.total_measure,
        outcome_title=f"{measure.name} ({measure.unit.value})",
    )
    st.vega_lite_chart(spec=chart.to_dict(), width="content", key="outcomes_program_chart")
    st.caption(
        "Top: the fidelity total (black) and subscale means at each final review. Bottom: the "
        "outcome over each month or quarter, on the same time axis."
    )


def render() -> None:
    identity_banner()
    st.title("Outcomes")
    db = database()
    who = actor()
    try:
        measures = list_measures(db, actor=who)
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    views = {AGENCY: lambda: agency_view(db, measures), PROGRAM: lambda: program_view(db, measures)}
    if can(who, Action.ENTER_OUTCOMES):
        views[ENTER] = lambda: enter_values(db, measures)
        views[IMPORT] = lambda: import_values(db)
    if can(who, Action.MANAGE_MEASURES):
        views[MEASURES] = lambda: measures_editor(db)
    if not measures:
        st.info("No outcome measures are tracked: an agency admin adds them under Measures.")
        views = {k: v for k, v in views.items() if k == MEASURES}
        if not views:
            st.stop()
    for tab, draw in zip(view_tabs(list(views), "outcomes_view"), views.values(), strict=True):
        if tab.open:
            with tab:
                draw()
