"""Action plans: the open plan entries of every program the viewer may see, overdue first then by
due date, with filters (provider, program, item, owner), a CSV export, and the status, owner
and a dated progress note edited in place by those allowed (agency admins, reviewers, and the
program managers of the entry's program: services.action_plans checks it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
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
FILTERS = "plans_filters"  # the filters chosen, kept while the popover (and its widgets) is closed
POPOVER = "plans_filter_box"
# (label, widget key, the entry's value) of each filter; their order is Chosen's
FILTER_FIELDS: tuple[tuple[str, str, Callable[[PlanEntryView], str | None]], ...] = (
    ("Provider", "plans_provider", lambda e: e.provider),
    ("Program", "plans_program", lambda e: e.program),
    ("Item", "plans_item", lambda e: e.item_id),
    ("Owner", "plans_owner", lambda e: e.owner),
)
CLOSED_KEY = "plans_closed"


@dataclass(frozen=True)
class Chosen:
    """The filters chosen: whether done and dropped entries are listed too, and one value (or
    ALL) per field of FILTER_FIELDS."""

    closed: bool = False
    values: tuple[str, ...] = (ALL,) * len(FILTER_FIELDS)


@dataclass
class _Shown:
    """What one choice of filters shows: the entries, their table (and as Arrow, which
    `st.dataframe` would otherwise convert on every rerun) and the table's key."""

    entries: list[PlanEntryView]
    table: pd.DataFrame
    arrow: pa.Table
    key: str


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

    def in_force(self, chosen: Chosen) -> tuple[str, ...]:
        """The filters that apply: a value no longer among the choices (an owner whose entries
        are all closed, say) filters nothing, and the popover's label does not name it."""
        return tuple(
            value if value in self.choices(key, values) else ALL
            for value, (_, key, values) in zip(chosen.values, FILTER_FIELDS, strict=True)
        )

    def filtered(self, values: tuple[str, ...]) -> _Shown:
        if values not in self.shown:
            entries = [
                e
                for e in self.entries
                if all(v in (ALL, get(e)) for v, (_, _, get) in zip(values, FILTER_FIELDS, strict=True))
            ]
            table = entries_table(entries)
            arrow = pa.Table.from_pandas(table, preserve_index=False)
            self.shown[values] = _Shown(entries, table, arrow, table_key(e.id for e in entries))
        return self.shown[values]


def table_key(ids: Iterable[int]) -> str:
    """The table's key, made of the entries it lists in their order: a chosen row is a position,
    so when the list changes (a save closes an entry, a filter) the choice starts again rather
    than landing on the entry that moved into that position."""
    return f"plans_table_{hash(tuple(ids)) & 0xFFFFFFFF:08x}"


def _chosen() -> Chosen:
    found = st.session_state.get(FILTERS)
    return found if isinstance(found, Chosen) else Chosen()


def _keep_filters() -> None:
    """Keep the filters beyond the popover's widgets, which are gone once it closes (a callback
    of each widget)."""
    state, before = st.session_state, _chosen()
    st.session_state[FILTERS] = Chosen(
        closed=bool(state.get(CLOSED_KEY, before.closed)),
        values=tuple(
            str(state.get(key, value))
            for value, (_, key, _) in zip(before.values, FILTER_FIELDS, strict=True)
        ),
    )


def _filter_label(chosen: Chosen, values: tuple[str, ...]) -> str:
    """The popover's label names the filters in force, so a closed popover still says what the
    table leaves out ("Filters: done and dropped too · Owner: Dana")."""
    parts = ["done and dropped too"] if chosen.closed else []
    parts += [f"{label}: {md(v)}" for v, (label, _, _) in zip(values, FILTER_FIELDS, strict=True) if v != ALL]
    return "Filters: " + " · ".join(parts) if parts else "Filters"


def _filters(listing: _Listing, chosen: Chosen) -> _Shown:
    """The filters in a popover whose widgets are drawn only while it is open (four selectboxes
    and a toggle on every rerun cost more than the rest of the page's widgets together)."""
    values = listing.in_force(chosen)
    label = _filter_label(chosen, values)
    box = st.popover(label, icon=":material/filter_alt:", key=POPOVER, on_change="rerun")
    if box.open:
        box.toggle(
            "Also done and dropped entries", value=chosen.closed, key=CLOSED_KEY, on_change=_keep_filters
        )
        for value, (label, key, get) in zip(values, FILTER_FIELDS, strict=True):
            options = listing.choices(key, get)
            box.selectbox(label, options, index=options.index(value), key=key, on_change=_keep_filters)
    return listing.filtered(values)


def _details(entry: PlanEntryView) -> str:
    """The entry as one Markdown text: what was rated, the evidence, recommendation and steps,
    and its progress notes (user text through `md`, the labels bold)."""
    rating = "not rated" if entry.rating is None else f"rated {entry.rating}"
    late = " — OVERDUE" if entry.overdue else ""
    lines = [
        f"#### Update entry #{entry.id}: {md(entry.program)}",
        f"**{md(entry.item_id)} {md(entry.item_name)}** — {rating} at the review of {entry.review_date}, "
        f"goal {entry.goal}; due {entry.due_date}, {md(entry.status)}{late}",
    ]
    for label, text in (
        ("Evidence", entry.evidence),
        ("Recommendation", entry.recommendation),
        ("Steps", entry.steps),
    ):
        if text:
            lines.append(f"**{label}:** {md(text)}")
    if entry.notes:
        notes = (
            f"{note.at:%Y-%m-%d} {note.by}: {note.status}" + (f" — {note.text}" if note.text else "")
            for note in entry.notes
        )
        lines.append("**Progress notes**\n\n" + "\n".join(f"- {md(note)}" for note in notes))
    return "\n\n".join(lines)


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


def _editor(chosen: PlanEntryView) -> None:
    """The entry chosen in the table: its details, and its status, owner and a note to save."""
    st.markdown(_details(chosen))
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
    chosen = _chosen()
    try:
        listing = _entries(None if chosen.closed else ("open", "in progress"))
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    shown = _filters(listing, chosen)  # drawn even with no entries: "done and dropped too" is there
    if not listing.entries:
        st.info("No open action plan entries.", icon=":material/task_alt:")
        return
    editable = allowed(Action.UPDATE_PLANS)
    rows: list[int] = []  # the row chosen, if any
    overdue = sum(e.overdue for e in shown.entries)
    # The counts and what the list is in one element, not two metric cards in columns and a
    # caption (six elements on every rerun; README, Performance).
    st.markdown(
        f"**{len(shown.entries):,}** entries shown · **{overdue:,}** overdue\n\n"
        ":small[Each final review opens an entry for every item rated at or below its scale's "
        "action-plan threshold (DACTS: 2 or lower). Entries of the programs you may see, overdue "
        "first, then by due date."
        + (" Choose an entry's row to update it.]" if editable and shown.entries else "]")
    )
    if not editable or not shown.entries:
        st.dataframe(shown.arrow, hide_index=True, width="stretch", key="plans_table")
    else:  # the entry to update is chosen by its row: no chooser listing every entry again
        event = st.dataframe(
            shown.arrow,
            hide_index=True,
            width="stretch",
            key=shown.key,
            on_select="rerun",
            selection_mode="single-row",
        )
        rows = event.selection.rows
    csv_download(shown.table, "Download CSV", "action-plans.csv", key="plans_csv")
    if rows and rows[0] < len(shown.entries):
        _editor(shown.entries[rows[0]])
    show_feedback(FEEDBACK)  # under the form, or alone once a save took the entry off the list
