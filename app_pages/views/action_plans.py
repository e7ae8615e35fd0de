"""Action plans: the open plan entries of every program the viewer may see, overdue first then by
due date, with filters (provider, program, item, owner), a CSV export, and the status, owner
and a dated progress note edited in place by those allowed (agency admins, reviewers, and the
program managers of the entry's program: services.action_plans checks it)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, database, identity_banner
from app_pages.widgets import attempt, csv_download, show_error, show_feedback
from domain.action_plans import NOTE_LENGTH, PlanStatus
from services import action_plans
from services.access import Action
from services.action_plan_views import PlanEntryView, entries_table
from services.errors import FidelityError

ALL = "All"
FEEDBACK = "plans_feedback"


def _choice(label: str, values: Sequence[str], key: str) -> str:
    options = [ALL, *sorted({v for v in values if v})]
    return str(st.selectbox(label, options, key=key))


def _filtered(entries: list[PlanEntryView]) -> list[PlanEntryView]:
    provider_col, program_col, item_col, owner_col = st.columns(4)
    with provider_col:
        provider = _choice("Provider", [e.provider or "" for e in entries], "plans_provider")
    with program_col:
        program = _choice("Program", [e.program for e in entries], "plans_program")
    with item_col:
        item = _choice("Item", [e.item_id for e in entries], "plans_item")
    with owner_col:
        owner = _choice("Owner", [e.owner or "" for e in entries], "plans_owner")
    return [
        e
        for e in entries
        if provider in (ALL, e.provider)
        and program in (ALL, e.program)
        and item in (ALL, e.item_id)
        and owner in (ALL, e.owner)
    ]


def _entry_label(e: PlanEntryView) -> str:
    late = " — OVERDUE" if e.overdue else ""
    return f"#{e.id} {e.program} · {e.item_id} {e.item_name} · due {e.due_date} · {e.status}{late}"


def _details(entry: PlanEntryView) -> None:
    rating = "not rated" if entry.rating is None else f"rated {entry.rating}"
    st.markdown(
        md(
            f"**{entry.item_id} {entry.item_name}** — {rating} at the review of {entry.review_date}, "
            f"goal {entry.goal}"
        )
    )
    for label, text in (
        ("Evidence", entry.evidence),
        ("Recommendation", entry.recommendation),
        ("Steps", entry.steps),
    ):
        if text:
            st.markdown(md(f"**{label}:** {text}"))
    if entry.notes:
        st.markdown("**Progress notes**")
        for note in entry.notes:
            text = f" — {note.text}" if note.text else ""
            st.markdown(md(f"- {note.at:%Y-%m-%d} {note.by}: {note.status}{text}"))


def _save(entry: PlanEntryView) -> None:
    status = st.session_state[f"plans_status_{entry.id}"]
    owner = st.session_state[f"plans_owner_{entry.id}"]
    note = st.session_state[f"plans_note_{entry.id}"]
    saved = attempt(
        lambda: action_plans.update_entry(
            database(),
            entry.id,
            actor=actor(),
            status=status,
            owner=owner,
            note=note,
            expected_version=entry.version,
        ),
        feedback_key=FEEDBACK,
    )
    if saved is not None:
        st.session_state[f"plans_note_{entry.id}"] = ""


def _editor(entries: list[PlanEntryView]) -> None:
    st.subheader("Update an entry")
    chosen = st.selectbox(
        "Entry", entries, format_func=_entry_label, key="plans_entry", help="Overdue first, then by due date."
    )
    if chosen is None:
        return
    _details(chosen)
    statuses = [s.value for s in PlanStatus]
    with st.form(f"plans_form_{chosen.id}"):
        st.selectbox("Status", statuses, index=statuses.index(chosen.status), key=f"plans_status_{chosen.id}")
        st.text_input(
            "Owner (a person at the program)", value=chosen.owner or "", key=f"plans_owner_{chosen.id}"
        )
        st.text_area(
            "Progress note (dated and signed when saved)",
            max_chars=NOTE_LENGTH,
            key=f"plans_note_{chosen.id}",
        )
        st.form_submit_button("Save", type="primary", on_click=_save, args=(chosen,))
    show_feedback(FEEDBACK)


def render() -> None:
    identity_banner()
    st.title("Action plans")
    if not allowed(Action.READ_PLANS):
        st.error("Your role does not see action plans.", icon=":material/block:")
        st.stop()
    st.caption(
        "Each final review opens an entry for every item rated at or below its scale's action-plan "
        "threshold (DACTS: 2 or lower). Open entries of the programs you may see, overdue first, then "
        "by due date."
    )
    show_closed = st.toggle("Also done and dropped entries", key="plans_closed")
    try:
        entries = action_plans.list_entries(
            database(), actor=actor(), statuses=None if show_closed else ("open", "in progress")
        )
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    if not entries:
        st.info("No open action plan entries.", icon=":material/task_alt:")
        return
    shown = _filtered(entries)
    overdue = sum(e.overdue for e in shown)
    open_col, overdue_col = st.columns(2)
    open_col.metric("Entries shown", len(shown))
    overdue_col.metric("Overdue", overdue)
    table = entries_table(shown)
    st.dataframe(table, hide_index=True, width="stretch", key="plans_table")
    csv_download(table, "Download CSV", "action-plans.csv", key="plans_csv")
    if shown and allowed(Action.UPDATE_PLANS):
        _editor(shown)
