"""What every page shares: the database and scales (one per process), the acting user,
the review a page works on (kept in the URL so a reload returns to it), and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from scales import ScaleRegistry
from services.analytics_data import finalized_ratings, scale_problems
from services.database import Database, open_database
from services.errors import FidelityError, StaleWriteError
from services.reviews import ReviewSummary, ReviewView, get_review, list_reviews
from services.settings import get_registry, get_settings

LOCAL_ACTOR = "local admin"
T = TypeVar("T")


def scale_registry() -> ScaleRegistry:
    return get_registry()  # cached per set of scale folders


def database() -> Database:
    """One engine per server process and URL; migrated to the newest schema on first use."""
    return _database_for(get_settings().database_url)


@st.cache_resource(show_spinner="Opening the database…")
def _database_for(url: str) -> Database:
    return open_database(url, registry=scale_registry())


def actor() -> str:
    """Who is acting. Without sign-in configured, everyone is the single local admin."""
    return LOCAL_ACTOR


def identity_banner() -> None:
    db = database()
    st.sidebar.caption(
        f"Signed in as **{actor()}** (no sign-in configured: single local user) · database `{db.display_url}`"
    )


def show_error(exc: FidelityError) -> None:
    icon = ":material/sync_problem:" if isinstance(exc, StaleWriteError) else ":material/error:"
    for problem in exc.problems:
        st.error(problem, icon=icon)


def attempt(action: Callable[[], T], *, feedback_key: str) -> T | None:
    """Run a service call; a refusal is kept in session state to show beside the field."""
    try:
        result = action()
    except FidelityError as exc:
        st.session_state[feedback_key] = ("error", exc.problems)
        return None
    st.session_state[feedback_key] = ("saved", dt.datetime.now().strftime("%H:%M:%S"))
    return result


def show_feedback(feedback_key: str) -> None:
    """The visible save state of a field: saved at a time, or the refusal in words."""
    state = st.session_state.get(feedback_key)
    if state is None:
        return
    kind, payload = state
    if kind == "saved":
        st.caption(f":green[:material/cloud_done: Saved at {payload}]")
    elif kind == "done":
        st.caption(f":green[:material/cloud_done: {payload}]")
    else:
        for problem in payload:
            st.error(problem, icon=":material/error:")


def review_label(r: ReviewSummary) -> str:
    score = ""
    if r.total_mean is not None:
        score = f" · mean {r.total_mean:.2f}" + (f" · {r.band}" if r.band else "")
    amend = f" (amendment {r.amendment_number})" if r.amendment_number else ""
    return (
        f"#{r.id} {r.program} · {r.scale_id} {r.scale_version} · {r.review_date}{amend} · {r.status}{score}"
    )


def choose_review(*, statuses: tuple[str, ...] | None = None, label: str = "Review") -> ReviewView | None:
    """The review this page works on: from the URL (?review=ID), else picked from a list."""
    db = database()
    reviews = [r for r in list_reviews(db) if statuses is None or r.status in statuses]
    if not reviews:
        return None
    ids = [r.id for r in reviews]
    wanted = st.query_params.get("review") or st.session_state.get("current_review")
    try:
        wanted_id = int(wanted) if wanted is not None else None
    except ValueError:
        wanted_id = None
    if wanted_id not in ids:
        wanted_id = ids[0]
    by_id = {r.id: r for r in reviews}
    chosen = st.selectbox(
        label, ids, index=ids.index(wanted_id), format_func=lambda i: review_label(by_id[i]), key=None
    )
    st.query_params["review"] = str(chosen)
    st.session_state["current_review"] = chosen
    try:
        return get_review(db, chosen)
    except FidelityError as exc:
        show_error(exc)
        return None


_UNSEEN = object()


def sync_widget(key: str, saved: Any) -> None:
    """Show the database's value in a widget: on first sight, and whenever the database
    changes under it (another window saved). An entry this session could not save stays
    on screen, with its error, until the user fixes it."""
    known = f"{key}|db"
    if key not in st.session_state or st.session_state.get(known, _UNSEEN) != saved:
        st.session_state[key] = saved
    st.session_state[known] = saved


@st.cache_data(show_spinner="Loading final reviews…", max_entries=4)
def final_ratings(url: str, version: str, _db: Database) -> tuple[pd.DataFrame, list[str]]:
    """Every final review's ratings in one query, without reviews whose scale file is missing or
    changed; cached per database URL and data version (so one query per change of the data)."""
    return scale_problems(finalized_ratings(_db), _db.registry)


def csv_download(frame: pd.DataFrame, label: str, file_name: str, key: str) -> None:
    st.download_button(
        label,
        data=frame.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        on_click="ignore",
    )
