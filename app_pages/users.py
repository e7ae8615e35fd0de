"""Users (agency admins only): who may sign in, in which role, over which programs; and which
reviewers are assigned to which open reviews."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, auth_configured, database, identity_banner
from app_pages.widgets import show_error
from domain.vocabulary import PERSON_LENGTH
from services.access import ROLE_TEXT, Action, Role
from services.errors import FidelityError
from services.reviews import ProgramView, ReviewStatus, ReviewSummary, list_programs, list_reviews
from services.users import (
    UserView,
    add_user,
    assign_reviewer,
    list_users,
    review_reviewers,
    set_active,
    set_role,
    unassign_reviewer,
)

ROLES = list(Role)
ADD = {
    "email": "users_add_email",
    "name": "users_add_name",
    "role": "users_add_role",
    "programs": "users_add_programs",
}
EDIT_CHOICE = "users_edit_choice"
EDIT_LOADED = "users_edit_loaded"
EDIT = {"role": "users_edit_role", "programs": "users_edit_programs", "active": "users_edit_active"}
ASSIGN_REVIEW = "users_assign_review"
ASSIGN_LOADED = "users_assign_loaded"
ASSIGN_REVIEWERS = "users_assign_reviewers"
ADD_RESULT, EDIT_RESULT, ASSIGN_RESULT = "users_add_result", "users_edit_result", "users_assign_result"


def _role_text(role: Role) -> str:
    return ROLE_TEXT[role].capitalize()


def _users_table(users: list[UserView]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "e-mail": u.email,
                "name": u.name or "",
                "role": ROLE_TEXT[u.role],
                "programs": ", ".join(u.programs),
                "open reviews assigned": ", ".join(f"#{r}" for r in u.reviews),
                "active": u.active,
            }
            for u in users
        ],
        columns=["e-mail", "name", "role", "programs", "open reviews assigned", "active"],
    )


def _show_result(key: str) -> None:
    result = st.session_state.pop(key, None)
    if result is None:
        return
    kind, messages = result
    for message in messages:
        if kind == "saved":
            st.success(message, icon=":material/check_circle:")
        else:
            st.error(md(message), icon=":material/error:")  # messages quote what was typed


def _add() -> None:
    state = st.session_state
    role = state[ADD["role"]]
    try:
        user = add_user(
            database(),
            state.get(ADD["email"]) or "",
            role=role,
            name=state.get(ADD["name"]) or None,
            program_ids=(state.get(ADD["programs"]) or []) if role == Role.PROGRAM_MANAGER else [],
            actor=actor(),
        )
    except FidelityError as exc:
        state[ADD_RESULT] = ("error", exc.problems)
        return
    state[ADD_RESULT] = ("saved", [f"Added **{md(user.email)}** as {ROLE_TEXT[user.role]}."])
    state[ADD["email"]], state[ADD["name"]], state[ADD["programs"]] = "", "", []
    state[EDIT_CHOICE] = user.email


def _load_edit(user: UserView) -> None:
    state = st.session_state
    state[EDIT["role"]] = user.role
    state[EDIT["programs"]] = list(user.program_ids)
    state[EDIT["active"]] = user.active
    state[EDIT_LOADED] = user.email


def _save_edit(email: str) -> None:
    state = st.session_state
    role = state[EDIT["role"]]
    db = database()
    try:
        programs = state.get(EDIT["programs"]) or []
        set_role(
            db, email, role, program_ids=programs if role == Role.PROGRAM_MANAGER else None, actor=actor()
        )
        user = set_active(db, email, bool(state[EDIT["active"]]), actor=actor())
    except FidelityError as exc:
        state[EDIT_RESULT] = ("error", exc.problems)
        return
    state[EDIT_RESULT] = ("saved", [f"Saved **{md(user.email)}**."])
    _load_edit(user)


def _save_assignments(review_id: int, before: list[str]) -> None:
    state = st.session_state
    wanted = list(state.get(ASSIGN_REVIEWERS) or [])
    db = database()
    try:
        for email in wanted:
            if email not in before:
                assign_reviewer(db, review_id, email, actor=actor())
        for email in before:
            if email not in wanted:
                unassign_reviewer(db, review_id, email, actor=actor())
    except FidelityError as exc:
        state[ASSIGN_RESULT] = ("error", exc.problems)
        return
    state[ASSIGN_RESULT] = ("saved", [f"Saved the reviewers of review #{review_id}."])
    state[ASSIGN_LOADED] = None  # reload from the database


def _program_picker(key: str, programs: list[ProgramView]) -> None:
    names = {p.id: p.name for p in programs}
    st.multiselect(
        "Programs (program managers only)",
        list(names),
        key=key,
        format_func=names.__getitem__,
        help="A program manager sees only these programs' final reviews, drift and reports. "
        "Other roles take no programs: this is left out for them.",
    )


def _assignments(users: list[UserView]) -> None:
    st.subheader("Review assignments")
    st.caption("A reviewer sees, rates, agrees and finalizes only the open reviews assigned to them.")
    reviewers = [u.email for u in users if u.role == Role.REVIEWER and u.active]
    open_reviews: list[ReviewSummary] = [
        r for r in list_reviews(database(), actor=actor()) if r.status != ReviewStatus.FINAL
    ]
    if not open_reviews:
        st.info("No open reviews to assign.", icon=":material/info:")
        return
    if not reviewers:
        st.info("No active reviewers yet: add a user with the role reviewer first.", icon=":material/info:")
        return
    by_id = {r.id: r for r in open_reviews}
    if st.session_state.get(ASSIGN_REVIEW) not in by_id:
        st.session_state[ASSIGN_REVIEW] = open_reviews[0].id
    review_id = st.selectbox(
        "Open review",
        list(by_id),
        key=ASSIGN_REVIEW,
        format_func=lambda i: (
            f"#{i} {by_id[i].program} · {by_id[i].scale_id} · {by_id[i].review_date} · {by_id[i].status}"
        ),
    )
    before = review_reviewers(database(), review_id, actor=actor())
    if st.session_state.get(ASSIGN_LOADED) != review_id:
        st.session_state[ASSIGN_REVIEWERS] = [e for e in before if e in reviewers]
        st.session_state[ASSIGN_LOADED] = review_id
    with st.form("users_assign_form", border=True):
        st.multiselect("Assigned reviewers", reviewers, key=ASSIGN_REVIEWERS)
        st.form_submit_button(
            "Save assignments",
            type="primary",
            icon=":material/save:",
            on_click=_save_assignments,
            args=(review_id, before),
        )
    _show_result(ASSIGN_RESULT)


# ---- page -------------------------------------------------------------------------------------


def _add_form(programs: list[ProgramView]) -> None:
    st.subheader("Add a user")
    st.session_state.setdefault(ADD["role"], Role.REVIEWER)
    with st.form("users_add_form", border=True):
        left, right = st.columns(2)
        left.text_input("E-mail address", key=ADD["email"], placeholder="The address they sign in with")
        right.text_input("Name", key=ADD["name"], placeholder="Optional", max_chars=PERSON_LENGTH)
        st.radio("Role", ROLES, key=ADD["role"], format_func=_role_text, horizontal=True)
        _program_picker(ADD["programs"], programs)
        st.form_submit_button("Add user", type="primary", icon=":material/person_add:", on_click=_add)
    _show_result(ADD_RESULT)


def _edit_form(users: list[UserView], programs: list[ProgramView]) -> None:
    st.subheader("Change a user")
    by_email = {u.email: u for u in users}
    if st.session_state.get(EDIT_CHOICE) not in by_email:
        st.session_state[EDIT_CHOICE] = users[0].email
    chosen = st.selectbox("User", list(by_email), key=EDIT_CHOICE)
    if st.session_state.get(EDIT_LOADED) != chosen:
        _load_edit(by_email[chosen])
    with st.form("users_edit_form", border=True):
        st.radio("Role", ROLES, key=EDIT["role"], format_func=_role_text, horizontal=True)
        _program_picker(EDIT["programs"], programs)
        st.checkbox("Active (may sign in)", key=EDIT["active"])
        st.form_submit_button(
            "Save changes", type="primary", icon=":material/save:", on_click=_save_edit, args=(chosen,)
        )
    _show_result(EDIT_RESULT)
    _assignments(users)


def render() -> None:
    identity_banner()
    st.title("Users")
    if not allowed(Action.MANAGE_USERS):  # not in this role's navigation; refused by the services too
        st.error("Only an agency admin manages users.", icon=":material/block:")
        st.stop()
    st.caption(
        "Who may sign in, in which role. Agency admins do everything; reviewers rate the reviews "
        "assigned to them; program managers read their own programs' final reviews, drift and reports."
    )
    if not auth_configured():
        st.info(
            "Sign-in is not configured, so everyone acts as the local admin for now. The users below "
            "take effect once `[auth]` is set in `.streamlit/secrets.toml` (see the README).",
            icon=":material/lock_open:",
        )

    db = database()
    try:
        users = list_users(db, actor=actor())
        programs = list_programs(db, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        st.stop()

    if users:
        st.dataframe(_users_table(users), hide_index=True, width="stretch", key="users_table")
    else:
        st.info("No users yet: add the first agency admin below.", icon=":material/info:")
    _add_form(programs)
    if users:
        _edit_form(users, programs)


if __name__ == "__main__":  # run as the page's script by st.navigation (app_pages/navigation.py)
    render()
