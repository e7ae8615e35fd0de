"""The demo's action plans: the entries its finalized DACTS reviews opened, followed up as a
program would (owners, due dates, progress notes), so the Action plans page shows open, overdue
and done entries at once.

Every review the demo finalizes through the workflow (each program's latest two) opens its
entries the way the app does (services.action_plans). Here each gets an owner at the program
and a due date 90 days after its review; the entries of a program's earlier review are mostly
done (some dropped, some still in progress and so overdue), those of its latest review open or
in progress. Written with update_entry, so each change is audited like a person's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from services import action_plans
from services.access import Actor
from services.action_plan_views import PlanEntryView
from services.database import Database

__all__ = ["DEMO_OWNERS", "PlanCounts", "follow_up_demo_plans"]

DEMO_OWNERS: Final = ("Team leader (demo)", "Program director (demo)", "Nurse lead (demo)")
_DUE_DAYS: Final = 90

_EARLIER_NOTES: Final[dict[str, str | None]] = {
    "done": "Goal met: the change is in the team's routine (demo note).",
    "dropped": "Dropped: the state waived this item for the year (demo note).",
    "in progress": "Started, then stalled when the team lead left (demo note).",
}
_LATEST_NOTES: Final[dict[str, str | None]] = {
    "in progress": "First steps taken; a plan is agreed with the team (demo note).",
    "open": None,
}


@dataclass(frozen=True)
class PlanCounts:
    open: int
    overdue: int
    closed: int


def follow_up_demo_plans(
    db: Database, programs: Sequence[str], *, actor: Actor, today: dt.date
) -> PlanCounts:
    """Give the demo programs' entries owners, due dates and statuses; return what stands."""
    entries = [
        e
        for e in action_plans.list_entries(db, actor=actor, statuses=None, today=today)
        if e.program in programs
    ]
    by_program: dict[str, list[PlanEntryView]] = {}
    for entry in entries:
        by_program.setdefault(entry.program, []).append(entry)
    for p, program in enumerate(sorted(by_program)):
        mine = sorted(by_program[program], key=lambda e: (e.review_date, e.item_id))
        latest = max(e.review_date for e in mine)
        for k, entry in enumerate(mine):
            if entry.review_date < latest:
                status = ("done", "done", "in progress", "dropped")[(k + p) % 4]
                note = _EARLIER_NOTES[status]
            else:
                status = ("open", "in progress")[(k + p) % 2]
                note = _LATEST_NOTES[status]
            action_plans.update_entry(
                db,
                entry.id,
                actor=actor,
                owner=DEMO_OWNERS[(k + p) % len(DEMO_OWNERS)],
                due_date=entry.review_date + dt.timedelta(days=_DUE_DAYS),
                status=status,
                note=note,
                today=today,
            )
    after = [
        e
        for e in action_plans.list_entries(db, actor=actor, statuses=None, today=today)
        if e.program in programs
    ]
    return PlanCounts(
        open=sum(not e.closed for e in after),
        overdue=sum(e.overdue for e in after),
        closed=sum(e.closed for e in after),
    )
