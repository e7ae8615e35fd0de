"""The earlier action plan beside a review's new ratings: the Results page's "Action plan
follow-up" table and the Rate page's line under an item ("goal 3, now 2")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.markup import md
from app_pages.page_cache import made_of
from app_pages.shared import actor, allowed, database, kept
from app_pages.widgets import show_error
from services import action_plans
from services.access import Action, Actor
from services.action_plan_views import PlanEntryView, entries_table
from services.database import Database
from services.errors import FidelityError

__all__ = ["goal_and_now", "rate_follow_up", "results_follow_up", "review_plan"]


def _entries(review_id: int) -> list[PlanEntryView]:
    if not allowed(Action.READ_PLANS):
        return []
    try:
        # Kept per change of the data (the plan tables are counted) and per day: "overdue" is
        # today's word, and every rerun of Rate and Results asked for it again.
        return kept(action_plans.follow_up, review_id, today=dt.date.today())
    except FidelityError:  # e.g. a program out of the viewer's scope: no follow-up to show
        return []


def goal_and_now(entry: PlanEntryView, now: int | None) -> str:
    """ "goal 4, now 3": the plan's target beside the item's rating in this review."""
    return f"goal {entry.goal}, now {'not rated yet' if now is None else now}"


def results_follow_up(review_id: int, score: Mapping[str, Any]) -> None:
    """The program's earlier plan entries beside this review's ratings (nothing without any)."""
    entries = _entries(review_id)
    if not entries:
        return
    st.subheader("Action plan follow-up")
    st.caption(
        "The entries earlier reviews of this program opened, beside this review's rating of each item."
    )
    # Kept while the entries and the score are the kept reads' same values (pandas to Arrow on
    # each rerun cost more than the rest of this section).
    table = made_of(FOLLOW_UP_TABLE, (entries, score), lambda: _follow_up_table(entries, score))
    st.dataframe(table, hide_index=True, width="stretch", key="results_plan_follow_up")


def _follow_up_table(entries: list[PlanEntryView], score: Mapping[str, Any]) -> pa.Table:
    """The follow-up rows as an Arrow table."""
    items = score.get("items") or {}
    rows = []
    for e in entries:
        now = (items.get(e.item_id) or {}).get("rating")
        reached = "" if now is None else ("reached" if now >= e.goal else "not yet")
        rows.append(
            {
                "item": f"{e.item_id} {e.item_name}",
                "review": e.review_date.isoformat(),
                "rated then": e.rating,
                "goal and now": goal_and_now(e, now),
                "goal": reached,
                "status": e.status + (" (overdue)" if e.overdue else ""),
                "due": e.due_date.isoformat(),
                "owner": e.owner or "",
            }
        )
    return pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)


FOLLOW_UP_TABLE = "results_follow_up_table"  # session state: the follow-up table (made_of)


def rate_follow_up(review_id: int, item_id: str, now: int | None) -> None:
    """One line under the item when an earlier review put it in the program's action plan."""
    for e in _entries(review_id):
        if e.item_id == item_id:
            st.info(
                md(
                    f"Action plan from the review of {e.review_date}: rated {e.rating}, "
                    f"{goal_and_now(e, now)} ({e.status})."
                ),
                icon=":material/checklist:",
            )


def review_plan(review_id: int, item_names: Mapping[str, str], final: bool, ratings: range) -> None:
    """A final review's own plan entries (a link to the Action plans page to follow them up), and
    for its reviewers and agency admins a choice of further items to add to it."""
    if not final or not allowed(Action.READ_PLANS):
        return
    try:
        entries, table = kept(_review_plan_table, review_id, today=dt.date.today())
    except FidelityError as exc:
        show_error(exc)
        return
    if st.session_state.pop(PLAN_ADDED, False):  # an item was just added: the box stays open
        st.session_state[PLAN_OPEN] = True
    # Drawn only when open: its table and the form to add an item were built on every rerun.
    box = st.expander(
        f"Action plan entries of this review ({len(entries)})", key=PLAN_OPEN, on_change="rerun"
    )
    if not box.open:
        return
    with box:
        if entries:
            st.dataframe(
                table,
                hide_index=True,
                width="stretch",
                key="results_plan_entries",
            )
            st.page_link(
                "app_pages/action_plans.py",
                label="Follow them up on the Action plans page",
                icon=":material/checklist:",
            )
        else:
            st.caption(
                "No plan entries: no item was rated at or below the scale's threshold, and none was chosen."
            )
        if not allowed(Action.ADD_PLAN_ITEMS):
            return
        chosen = {e.item_id for e in entries}
        others = [i for i in item_names if i not in chosen]
        if not others:
            return
        with st.form("results_plan_add"):
            item = st.selectbox(
                "Add an item to the plan", others, format_func=lambda i: f"{i} {item_names[i]}"
            )
            goal = st.number_input(
                "Goal (the rating to reach)",
                min_value=ratings.start,
                max_value=ratings.stop - 1,
                value=ratings.stop - 2,
                step=1,
            )
            if st.form_submit_button("Add to the action plan"):
                try:
                    action_plans.add_entry(database(), review_id, str(item), goal=int(goal), actor=actor())
                except FidelityError as exc:
                    show_error(exc)
                else:
                    # The count in the box's label changes, so the box is a new one: reopen it.
                    st.session_state[PLAN_ADDED] = True
                    st.rerun()


PLAN_OPEN = "results_plan_open"  # the plan entries box's open state
PLAN_ADDED = "results_plan_added"  # an item was added: open the box again on the rerun


def _review_plan_table(
    db: Database, review_id: int, *, actor: Actor, today: dt.date
) -> tuple[list[PlanEntryView], pa.Table]:
    """A review's plan entries and the table the Results page shows of them, made once per change
    of the data and day (kept): shared by every session of the acting user, so never changed."""
    entries = action_plans.review_entries(db, review_id, actor=actor, today=today)
    frame = entries_table(entries).drop(columns=["provider", "program", "review date"])
    return entries, pa.Table.from_pandas(frame, preserve_index=False)
