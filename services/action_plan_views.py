"""What the action-plan services return: frozen views of plan entries and their notes, the
events the drift chart marks, and the table a CSV export writes (callers keep them after the
session has closed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from domain.action_plans import CLOSED, PlanStatus, is_overdue
from reports.plan_lines import PlanLine
from storage.models import ActionPlanEntry, ActionPlanNote, Program, Review

__all__ = [
    "PlanEntryView",
    "PlanEvent",
    "PlanNoteView",
    "entries_table",
    "entry_view",
    "plan_events",
    "plan_order",
    "report_lines",
]


@dataclass(frozen=True)
class PlanNoteView:
    at: dt.datetime
    by: str
    status: str
    text: str | None


@dataclass(frozen=True)
class PlanEntryView:
    """One plan entry as the pages, the CLI and the PDF show it."""

    id: int
    review_id: int
    review_date: dt.date
    program_id: int
    program: str
    provider: str | None
    scale_id: str
    item_id: str
    item_name: str
    rating: int | None
    evidence: str | None
    recommendation: str | None
    goal: int
    steps: str | None
    owner: str | None
    due_date: dt.date
    status: str
    opened_at: dt.datetime
    opened_by: str
    closed_at: dt.datetime | None
    updated_at: dt.datetime
    updated_by: str
    version: int
    overdue: bool
    notes: tuple[PlanNoteView, ...] = ()

    @property
    def closed(self) -> bool:
        return PlanStatus(self.status) in CLOSED

    def to_dict(self) -> dict[str, object]:
        """The entry for `fidelity plans list --json` (dates as ISO text)."""
        return {
            "id": self.id,
            "program": self.program,
            "provider": self.provider,
            "review": self.review_id,
            "review_date": self.review_date.isoformat(),
            "scale": self.scale_id,
            "item": self.item_id,
            "item_name": self.item_name,
            "rating": self.rating,
            "goal": self.goal,
            "recommendation": self.recommendation,
            "steps": self.steps,
            "owner": self.owner,
            "due_date": self.due_date.isoformat(),
            "status": self.status,
            "overdue": self.overdue,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "notes": [
                {"at": n.at.isoformat(), "by": n.by, "status": n.status, "text": n.text} for n in self.notes
            ],
        }


@dataclass(frozen=True)
class PlanEvent:
    """An entry opened or closed (done, dropped) on a day: what the drift chart marks."""

    on: dt.date
    kind: str  # "opened", "done", "dropped"
    item_id: str
    entry_id: int


def entry_view(
    row: ActionPlanEntry,
    review: Review,
    program: Program,
    item_name: str,
    notes: Iterable[ActionPlanNote],
    today: dt.date,
) -> PlanEntryView:
    return PlanEntryView(
        id=row.id,
        review_id=row.review_id,
        review_date=review.review_date,
        program_id=row.program_id,
        program=program.name,
        provider=program.provider.name if program.provider else None,
        scale_id=review.scale_id,
        item_id=row.item_id,
        item_name=item_name,
        rating=row.rating,
        evidence=row.evidence,
        recommendation=row.recommendation,
        goal=row.goal,
        steps=row.steps,
        owner=row.owner,
        due_date=row.due_date,
        status=row.status,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        version=row.version,
        overdue=is_overdue(row.due_date, row.status, today),
        notes=tuple(PlanNoteView(n.at, n.by, n.status, n.text) for n in notes),
    )


def plan_order(entry: PlanEntryView) -> tuple[bool, dt.date, str, str]:
    """Overdue first, then by due date (then program and item)."""
    return (not entry.overdue, entry.due_date, entry.program, entry.item_id)


def plan_events(entries: Iterable[PlanEntryView]) -> list[PlanEvent]:
    """When each entry was opened and, if it is, closed; in date order."""
    events = []
    for e in entries:
        events.append(PlanEvent(e.opened_at.date(), "opened", e.item_id, e.id))
        if e.closed_at is not None:
            events.append(PlanEvent(e.closed_at.date(), e.status, e.item_id, e.id))
    return sorted(events, key=lambda ev: (ev.on, ev.entry_id, ev.kind != "opened"))


def entries_table(entries: Sequence[PlanEntryView]) -> pd.DataFrame:
    """One row per entry, the columns a CSV export and the Action plans page show."""
    columns = [
        "id", "provider", "program", "review date", "item", "item name", "rating", "goal",
        "recommendation", "steps", "owner", "due date", "status", "overdue", "latest note",
    ]  # fmt: skip
    rows = [
        [
            e.id,
            e.provider or "",
            e.program,
            e.review_date.isoformat(),
            e.item_id,
            e.item_name,
            e.rating,
            e.goal,
            e.recommendation or "",
            e.steps or "",
            e.owner or "",
            e.due_date.isoformat(),
            e.status,
            "yes" if e.overdue else "",
            _latest_note(e),
        ]
        for e in entries
    ]
    return pd.DataFrame(rows, columns=columns)


def _latest_note(entry: PlanEntryView) -> str:
    for note in reversed(entry.notes):
        if note.text:
            return f"{note.at:%Y-%m-%d}: {note.text}"
    return ""


def report_lines(entries: Sequence[PlanEntryView]) -> tuple[PlanLine, ...]:
    """The entries as the PDF's action plan section prints them."""
    return tuple(
        PlanLine(
            item_id=e.item_id,
            item_name=e.item_name,
            rating=e.rating,
            goal=e.goal,
            owner=e.owner,
            due_date=e.due_date,
            status=e.status,
            overdue=e.overdue,
            steps=e.steps,
            latest_note=_latest_note(e) or None,
        )
        for e in entries
    )
