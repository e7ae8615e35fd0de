"""Programs (the teams that are reviewed): find them, add one, correct one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, database, identity_banner
from app_pages.widgets import show_error
from domain.vocabulary import NAME_LENGTH, ProgramModel
from services.access import Action
from services.database import Database
from services.errors import FidelityError
from services.reviews import ProgramView, create_program, list_programs, list_providers, update_program

MODELS = [m.value for m in ProgramModel]
ALL = "All"
NO_PROVIDER = ""
EARLIEST = dt.date(1980, 1, 1)
LATEST = dt.date(2100, 12, 31)

ADD_KEYS = {
    "name": "programs_add_name",
    "provider": "programs_add_provider",
    "new_provider": "programs_add_new_provider",
    "region": "programs_add_region",
    "model": "programs_add_model",
    "active_from": "programs_add_active_from",
    "active_to": "programs_add_active_to",
}
ADD_DEFAULTS: dict[str, Any] = {
    "name": "",
    "provider": NO_PROVIDER,
    "new_provider": "",
    "region": "",
    "model": MODELS[0],
    "active_from": None,
    "active_to": None,
}
EDIT_KEYS = {field: key.replace("programs_add_", "programs_edit_") for field, key in ADD_KEYS.items()}
EDIT_CHOICE = "programs_edit_choice"
EDIT_LOADED = "programs_edit_loaded"  # the program whose saved values the edit form shows
ADD_RESULT = "programs_add_result"
EDIT_RESULT = "programs_edit_result"


def _provider_from(keys: dict[str, str]) -> str | None:
    """A new provider name wins over the one picked from the list."""
    new = (st.session_state.get(keys["new_provider"]) or "").strip()
    return new or st.session_state.get(keys["provider"]) or None


def _form_values(keys: dict[str, str]) -> dict[str, Any]:
    state = st.session_state
    return {
        "name": state.get(keys["name"], ""),
        "provider": _provider_from(keys),
        "region": state.get(keys["region"]) or None,
        "model": state.get(keys["model"]) or None,
        "active_from": state.get(keys["active_from"]),
        "active_to": state.get(keys["active_to"]),
    }


def _add_program() -> None:
    """Form callback: runs before the page is drawn, so it may reset the form's fields."""
    try:
        program = create_program(database(), actor=actor(), **_form_values(ADD_KEYS))
    except FidelityError as exc:
        st.session_state[ADD_RESULT] = ("error", exc.problems, None)
        return
    st.session_state[ADD_RESULT] = ("saved", [f"Added program **{md(program.name)}**."], program.id)
    for field, key in ADD_KEYS.items():
        st.session_state[key] = ADD_DEFAULTS[field]
    st.session_state[EDIT_CHOICE] = program.id  # ready to correct it straight away


def _load_edit_form(program: ProgramView) -> None:
    state = st.session_state
    state[EDIT_KEYS["name"]] = program.name
    state[EDIT_KEYS["provider"]] = program.provider or NO_PROVIDER
    state[EDIT_KEYS["new_provider"]] = ""
    state[EDIT_KEYS["region"]] = program.region or ""
    state[EDIT_KEYS["model"]] = program.model
    state[EDIT_KEYS["active_from"]] = program.active_from
    state[EDIT_KEYS["active_to"]] = program.active_to
    state[EDIT_LOADED] = program.id


def _update_program(program_id: int) -> None:
    try:
        program = update_program(database(), program_id, actor=actor(), **_form_values(EDIT_KEYS))
    except FidelityError as exc:
        st.session_state[EDIT_RESULT] = ("error", exc.problems, None)
        return
    st.session_state[EDIT_RESULT] = ("saved", [f"Saved the changes to **{md(program.name)}**."], None)
    _load_edit_form(program)


def _show_result(key: str) -> None:
    """The outcome of the last submit of a form, shown once."""
    result = st.session_state.pop(key, None)
    if result is None:
        return
    kind, messages, program_id = result
    for message in messages:
        if kind == "saved":
            st.success(message, icon=":material/check_circle:")
        else:
            st.error(md(message), icon=":material/error:")
    if program_id is not None:
        st.page_link(
            "app_pages/reviews.py",
            label="Start a review of this program",
            icon=":material/arrow_forward:",
            query_params={"program": str(program_id)},
        )


def _date_text(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _programs_table(programs: list[ProgramView]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "provider": p.provider or "",
                "region": p.region or "",
                "model": p.model or "",
                "active from": _date_text(p.active_from),
                "active to": _date_text(p.active_to),
            }
            for p in programs
        ],
        columns=["name", "provider", "region", "model", "active from", "active to"],
    )


def _program_fields(keys: dict[str, str], providers: list[str]) -> None:
    """The fields shared by the add and edit forms."""
    st.text_input(
        "Program name", key=keys["name"], placeholder="e.g. Riverside ACT Team", max_chars=NAME_LENGTH
    )
    left, right = st.columns(2)
    left.selectbox(
        "Provider",
        [NO_PROVIDER, *providers],
        key=keys["provider"],
        format_func=lambda p: p or "— none —",
        help="The organization that runs the program.",
    )
    right.text_input(
        "…or a new provider",
        key=keys["new_provider"],
        placeholder="Type a provider not in the list",
        max_chars=NAME_LENGTH,
        help="When filled in, this provider is added and used instead of the one picked on the left.",
    )
    left, right = st.columns(2)
    left.text_input("Region", key=keys["region"], placeholder="e.g. North", max_chars=NAME_LENGTH)
    right.radio(
        "Model",
        MODELS,
        key=keys["model"],
        horizontal=True,
        help="ACT programs are reviewed on the DACTS, IDDT programs on the IDDT scale.",
    )
    left, right = st.columns(2)
    left.date_input(
        "Active from", key=keys["active_from"], min_value=EARLIEST, max_value=LATEST, help="Optional."
    )
    right.date_input(
        "Active to",
        key=keys["active_to"],
        min_value=EARLIEST,
        max_value=LATEST,
        help="Optional: leave empty while the program runs.",
    )


# ---- page -----------------------------------------------------------------------------------


def _programs_list(db: Database, everything: list[ProgramView], providers: list[str], managing: bool) -> None:
    """Every program the actor may see, searched and filtered."""
    st.subheader("All programs" if allowed(Action.START_REVIEW) else "Your programs")
    if not everything:
        st.info(
            "No programs yet — add one below." if managing else "No programs to show yet.",
            icon=":material/info:",
        )
        return
    regions = sorted({p.region for p in everything if p.region})
    for key, options in (("programs_filter_provider", providers), ("programs_filter_region", regions)):
        if st.session_state.get(key, ALL) not in (ALL, *options):  # e.g. renamed since it was picked
            st.session_state[key] = ALL
    search_col, provider_col, region_col, model_col = st.columns([2, 1, 1, 1])
    search = search_col.text_input(
        "Search by name", key="programs_search", placeholder="Part of the program's name"
    )
    provider_filter = provider_col.selectbox("Provider", [ALL, *providers], key="programs_filter_provider")
    region_filter = region_col.selectbox("Region", [ALL, *regions], key="programs_filter_region")
    model_filter = model_col.selectbox("Model", [ALL, *MODELS], key="programs_filter_model")
    try:
        shown = list_programs(
            db,
            actor=actor(),
            search=search or None,
            provider=None if provider_filter == ALL else provider_filter,
            region=None if region_filter == ALL else region_filter,
            model=None if model_filter == ALL else model_filter,
        )
    except FidelityError as exc:
        show_error(exc)
        shown = []
    if shown:
        shown = sorted(shown, key=lambda p: (p.created_at, p.id), reverse=True)  # one just added is in sight
        event = st.dataframe(
            _programs_table(shown),
            hide_index=True,
            width="stretch",
            key="programs_table",
            on_select="rerun",
            selection_mode="single-row",
        )
        st.caption(f"{len(shown)} of {len(everything)} program(s), newest first.")
        if allowed(Action.START_REVIEW):
            _start_link(shown, event.selection.rows)
    else:
        st.info(
            "No programs match these filters — clear the search or pick “All”.", icon=":material/search_off:"
        )


def _start_link(shown: list[ProgramView], rows: list[int]) -> None:
    """A link to start a review of the program selected in the table (or the only one shown),
    which the Reviews page preselects."""
    picked = shown[rows[0]] if rows and rows[0] < len(shown) else (shown[0] if len(shown) == 1 else None)
    if picked is None:
        st.caption("Select a program's row to start a review of it.")
        return
    st.page_link(
        "app_pages/reviews.py",
        label=md(f"Start a review of {picked.name}"),  # names may hold Markdown characters
        icon=":material/arrow_forward:",
        query_params={"program": str(picked.id)},
    )


def _add_form(providers: list[str]) -> None:
    st.subheader("Add a program")
    with st.form("programs_add_form", border=True):
        _program_fields(ADD_KEYS, providers)
        st.form_submit_button("Add program", type="primary", icon=":material/add:", on_click=_add_program)
    _show_result(ADD_RESULT)


def _edit_form(everything: list[ProgramView], providers: list[str]) -> None:
    st.subheader("Edit a program")
    by_id = {p.id: p for p in everything}
    if st.session_state.get(EDIT_CHOICE) not in by_id:
        st.session_state[EDIT_CHOICE] = everything[0].id
    chosen = st.selectbox(
        "Program to edit", list(by_id), key=EDIT_CHOICE, format_func=lambda i: by_id[i].name
    )
    if st.session_state.get(EDIT_LOADED) != chosen or EDIT_KEYS["name"] not in st.session_state:
        _load_edit_form(by_id[chosen])
    with st.form("programs_edit_form", border=True):
        _program_fields(EDIT_KEYS, providers)
        st.form_submit_button(
            "Save changes", type="primary", icon=":material/save:", on_click=_update_program, args=(chosen,)
        )
    _show_result(EDIT_RESULT)


def render() -> None:
    identity_banner()
    st.title("Programs")
    managing = allowed(Action.MANAGE_PROGRAMS)  # an agency admin adds and corrects programs
    if managing:
        st.caption("The teams you review. Add a program here, then start its review on the Reviews page.")
    elif allowed(Action.START_REVIEW):
        st.caption("The teams you review; an agency admin adds and corrects them.")
    else:
        st.caption("Your programs; an agency admin adds and corrects them.")

    db = database()
    for key, value in ADD_DEFAULTS.items():
        st.session_state.setdefault(ADD_KEYS[key], value)
    try:
        everything = list_programs(db, actor=actor())
        providers = list_providers(db, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    _programs_list(db, everything, providers, managing)
    if not managing:
        st.stop()
    _add_form(providers)
    if everything:
        _edit_form(everything, providers)


if __name__ == "__main__":  # run as the page's script by st.navigation (app_pages/navigation.py)
    render()
