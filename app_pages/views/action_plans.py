"""Action plans: the open plan entries of every program the viewer may see, overdue first then by
due date, with filters (provider, program, item, owner), a CSV export, and the status, owner
and a dated progress note edited in place by those allowed (agency admins, reviewers, and the
program managers of the entry's program: services.action_plans checks it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.markup import md
from app_pages.page_cache import session_kept
from app_pages.shared import VERSION_MAX_AGE, actor, allowed, database, identity_banner
from app_pages.widgets import attempt, csv_download, show_error, show_feedback
from domain.action_plans import NOTE_LENGTH, PlanStatus
from services import action_plans
from services.access import Action
from services.action_plan_views import PlanEntryView, entries_table
from services.errors import FidelityError

ALL = "All"
FEEDBACK = "plans_feedback"
ENTRIES = "plans_entries"  # see _entries


@dataclass
class _Shown:
    """What one choice of filters shows: the entries, their table (and as Arrow, which
    `st.dataframe` would otherwise convert on every rerun) and the entry chooser's labels."""

    entries: list[PlanEntryView]
    table: pd.DataFrame
    arrow: pa.Table
    labels: dict[int, str]


@dataclass
class _Listing:
    """The entries listed and what is made from them, kept with them (see `_entries`)."""

    entries: list[PlanEntryView]
    options: dict[str, list[str]] = field(default_factory=dict)  # each filter's choices
    shown: dict[tuple[str, ...], _Shown] = field(default_factory=dict)  # by the filters chosen

    def choices(self, name: str, values: Callable[[PlanEntryView], str | None]) -> list[str]:
        if name not in self.options:
            self.options[name] = [ALL, *sorted({v for e in self.entries if (v := values(e))})]
        return self.options[name]

    def filtered(self, chosen: tuple[str, str, str, str]) -> _Shown:
        if chosen not in self.shown:
            provider, program, item, owner = chosen
            entries = [
                e
                for e in self.entries
                if provider in (ALL, e.provider)
                and program in (ALL, e.program)
                and item in (ALL, e.item_id)
                and owner in (ALL, e.owner)
            ]
            table = entries_table(entries)
            arrow = pa.Table.from_pandas(table, preserve_index=False)
            self.shown[chosen] = _Shown(entries, table, arrow, {e.id: _entry_label(e) for e in entries})
        return self.shown[chosen]


def _filtered(listing: _Listing) -> _Shown:
    provider_col, program_col, item_col, owner_col = st.columns(4)
    with provider_col:
        provider = st.selectbox(
            "Provider", listing.choices("provider", lambda e: e.provider), key="plans_provider"
        )
    with program_col:
        program = st.selectbox(
            "Program", listing.choices("program", lambda e: e.program), key="plans_program"
        )
    with item_col:
        item = st.selectbox("Item", listing.choices("item", lambda e: e.item_id), key="plans_item")
    with owner_col:
        owner = st.selectbox("Owner", listing.choices("owner", lambda e: e.owner), key="plans_owner")
    return listing.filtered((str(provider), str(program), str(item), str(owner)))


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


def _editor(shown: _Shown) -> None:
    st.subheader("Update an entry")
    chosen = st.selectbox(
        "Entry",
        shown.entries,
        format_func=lambda e: shown.labels[e.id],
        key="plans_entry",
        help="Overdue first, then by due date.",
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


def _entries(statuses: tuple[str, ...] | None) -> _Listing:
    """The entries listed, kept in the session for `VERSION_MAX_AGE` (every click reruns the
    page): a save through this server (this session's or another's) reads them again at once,
    another process's change shows within that second. Kept per viewer, filter and day (the
    overdue flags change at midnight)."""
    db = database()
    who, today = actor(), dt.datetime.now(dt.UTC).date()
    return session_kept(
        ENTRIES,
        (who, statuses, today),
        db.writes,
        lambda: _Listing(action_plans.list_entries(db, actor=who, statuses=statuses, today=today)),
        max_age=VERSION_MAX_AGE,
    )


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
        listing = _entries(None if show_closed else ("open", "in progress"))
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    if not listing.entries:
        st.info("No open action plan entries.", icon=":material/task_alt:")
        return
    shown = _filtered(listing)
    overdue = sum(e.overdue for e in shown.entries)
    open_col, overdue_col = st.columns(2)
    open_col.metric("Entries shown", len(shown.entries))
    overdue_col.metric("Overdue", overdue)
    st.dataframe(shown.arrow, hide_index=True, width="stretch", key="plans_table")
    csv_download(shown.table, "Download CSV", "action-plans.csv", key="plans_csv")
    if shown.entries and allowed(Action.UPDATE_PLANS):
        _editor(shown)
