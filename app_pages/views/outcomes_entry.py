"""The Outcomes page's data entry: a program's values of one period (a form with one field per
measure, saved when *Save* is pressed, all or nothing), a file import (checked first, nothing
written on any problem) and the agency's measures (agency admins).

Values are read from the database on every run, and the program and period are kept in the URL
(?program=, ?period=), so a reload, a second tab or a restart shows what is saved. The form
sends its values only with its button (a value typed and not saved is said to be unsaved).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, database
from app_pages.widgets import show_error
from services.access import Action, Scope, scope_of
from services.database import Database
from services.errors import FidelityError, ValidationProblem
from services.outcome_import import import_outcomes, plan_outcomes, read_outcome_file
from services.outcomes import (
    Better,
    MeasureView,
    Period,
    PeriodKind,
    Unit,
    list_measures,
    list_values,
    parse_period,
    save_measure,
    save_values,
)
from services.programs import list_programs

__all__ = ["enter_values", "import_values", "measures_editor"]

SAVED_KEY = "outcomes_saved"


def _last_month() -> str:
    first = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    return Period(first.replace(day=1), PeriodKind.MONTH).label


def _enterable(db: Database) -> dict[int, str]:
    """The programs the acting user may enter outcomes for."""
    who = actor()
    programs = list_programs(db, actor=who)
    if scope_of(who, Action.ENTER_OUTCOMES) is Scope.OWN_PROGRAMS:
        programs = [p for p in programs if p.id in who.program_ids]
    return {p.id: p.name for p in programs}


def enter_values(db: Database, measures: list[MeasureView]) -> None:
    programs = _enterable(db)
    if not programs:
        st.info("You may enter outcomes for your own programs, and none is assigned to you.")
        return
    ids = list(programs)
    wanted = st.query_params.get("program")
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in programs else 0
    left, right = st.columns(2)
    program_id = left.selectbox(
        "Program",
        ids,
        index=index,
        format_func=lambda i: programs[i],
        key="outcomes_enter_program",
        on_change=lambda: st.query_params.update(program=str(st.session_state["outcomes_enter_program"])),
    )
    text = right.text_input(
        "Period",
        value=st.query_params.get("period") or _last_month(),
        key="outcomes_enter_period",
        help="A month (2025-03) or a quarter (2025-Q1).",
    )
    try:
        period = parse_period(text)
    except ValidationProblem as exc:
        show_error(exc)
        return
    st.query_params.update(program=str(program_id), period=period.label)
    stored = {
        v.measure: v for v in list_values(db, actor=actor(), program_id=int(program_id)) if v.period == period
    }
    form_key = f"outcomes_form_{program_id}_{period.label}"
    with st.form(form_key):
        st.markdown(f"**{md(programs[int(program_id)])}**, {period.kind.value} {period.label}")
        entered: dict[str, float | None] = {}
        for m in measures:
            saved = stored.get(m.key)
            entered[m.key] = st.number_input(
                m.label,
                min_value=0.0,
                max_value=100.0 if m.unit is Unit.PERCENT else None,
                value=None if saved is None else saved.value,
                step=1.0,
                format="%.1f" if m.unit is Unit.PERCENT else "%g",
                placeholder="no value",
                key=f"{form_key}_{m.key}",
                help=f"Last saved by {saved.updated_by}" if saved else None,
            )
        submitted = st.form_submit_button("Save", type="primary", icon=":material/save:")
    if submitted:
        changes = {k: v for k, v in entered.items() if (stored[k].value if k in stored else None) != v}
        try:
            count = save_values(db, int(program_id), period, changes, actor=actor())
        except FidelityError as exc:
            show_error(exc)
            return
        st.session_state[SAVED_KEY] = f"Saved {count} change(s) at {dt.datetime.now():%H:%M:%S}."
        st.rerun()
    if SAVED_KEY in st.session_state:
        st.success(st.session_state.pop(SAVED_KEY), icon=":material/check:")
    st.caption("An empty field has no value; emptying a saved one removes it. Press Save to store the form.")


def import_values(db: Database) -> None:
    st.markdown(
        "A **.csv** or **.xlsx** file with the columns `program` and `period` (a month `2025-03` or "
        "a quarter `2025-Q1`), then one column per measure, headed by its key. Every row is "
        "checked first; any problem is shown by row and column and nothing is imported."
    )
    measures = list_measures(db, actor=actor())
    st.caption("Measure keys: " + ", ".join(f"`{m.key}`" for m in measures))
    upload = st.file_uploader("Outcome file", type=["csv", "xlsx"], key="outcomes_upload")
    if upload is None:
        return
    try:
        frame = read_outcome_file(upload.getvalue(), upload.name)
        plan = plan_outcomes(db, frame, actor=actor())
    except FidelityError as exc:
        st.error("Nothing was imported.")
        show_error(exc)
        return
    if plan.problems:
        st.error(f"{len(plan.problems)} problem(s); nothing was imported.", icon=":material/error:")
        for problem in plan.problems:
            st.markdown(f"- {md(str(problem))}")
        return
    st.info(f"The file holds {plan.text}.", icon=":material/fact_check:")
    if st.button("Import", type="primary", key="outcomes_import"):
        try:
            done = import_outcomes(db, frame, actor=actor(), source=upload.name)
        except FidelityError as exc:
            show_error(exc)
            return
        st.success(f"Imported {done.text}.", icon=":material/check:")


def measures_editor(db: Database) -> None:
    measures = list_measures(db, actor=actor(), include_inactive=True)
    st.dataframe(
        [
            {
                "Key": m.key,
                "Name": m.name,
                "Unit": m.unit.value,
                "Better": m.better.value,
                "Tracked": m.active,
            }
            for m in measures
        ],
        hide_index=True,
        key="outcomes_measures",
    )
    options: list[int | None] = [None, *(m.id for m in measures)]
    by_id = {m.id: m for m in measures}
    chosen = st.selectbox(
        "Add or change",
        options,
        format_func=lambda i: "A new measure" if i is None else by_id[i].name,
        key="outcomes_measure_choice",
    )
    current = by_id.get(chosen) if chosen is not None else None
    units, betters = [u.value for u in Unit], [b.value for b in Better]
    with st.form(f"outcomes_measure_form_{chosen}"):
        key = st.text_input("Key (the import file's column)", value=current.key if current else "")
        name = st.text_input("Name", value=current.name if current else "")
        unit = st.selectbox("Unit", units, index=units.index(current.unit.value) if current else 0)
        better = st.selectbox("Better", betters, index=betters.index(current.better.value) if current else 0)
        active = st.checkbox("Tracked", value=current.active if current else True)
        submitted = st.form_submit_button("Save measure", type="primary")
    if submitted:
        try:
            save_measure(
                database(),
                actor=actor(),
                key=key,
                name=name,
                unit=unit,
                better=better,
                active=active,
                measure_id=chosen,
            )
        except FidelityError as exc:
            show_error(exc)
            return
        st.session_state[SAVED_KEY] = f"Saved the measure {name}."
        st.rerun()
    if SAVED_KEY in st.session_state:
        st.success(st.session_state.pop(SAVED_KEY), icon=":material/check:")
