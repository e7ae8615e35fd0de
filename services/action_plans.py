"""Action plans: the entries a final review opens for its weak items, and their follow-up.

- **Opened at finalize** (`open_at_finalize`, called by services.lifecycle.finalize): every
  item rated at or below the scale's `action_plan_at_or_below` becomes an entry, with its
  rating, evidence and recommendation, the goal (the first rating above the threshold), no
  owner yet, and the due date the scale's `action_plan_due_days` (else 90) after the finalize
  date. A scale without a threshold opens none: the reviewer chooses items (`add_entry`). An
  amendment opens none for items its amended review already has an entry for. Reviews stored
  final at once (imports, the demo) open none by themselves.
- **Followed up** (`update_entry`): status (open, in progress, done, dropped), a dated progress
  note, the owner, steps, goal and due date; by agency admins, reviewers, and the program
  managers of the entry's program (domain.access: Action.UPDATE_PLANS). Every change is audited
  under the review and program. An entry is a row of its own: the final review never changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from domain import action_plans as plans
from domain.checks import UNSET, Unset
from scales import Scale, UnknownScaleError
from services import access
from services.access import Action, Actor
from services.action_plan_views import (
    PlanEntryView,
    PlanEvent,
    PlanNoteView,
    entry_view,
    plan_events,
    plan_order,
)
from services.audit import AuditLog
from services.database import Database
from services.errors import NotFound, StaleWriteError, ValidationProblem
from services.rows import actor_name, consensus_rows, load_review, review_scale, scale_item
from storage.models import (
    ActionPlanEntry,
    ActionPlanNote,
    ConsensusRating,
    Program,
    Provider,
    Review,
    ReviewStatus,
)

__all__ = [
    "add_entry",
    "follow_up",
    "list_entries",
    "open_at_finalize",
    "program_events",
    "review_entries",
    "update_entry",
]


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.datetime.now(dt.UTC).date()


# ---- opening entries ------------------------------------------------------------------------------


def open_at_finalize(
    s: Session, review: Review, scale: Scale, rows: Sequence[ConsensusRating], log: AuditLog
) -> list[ActionPlanEntry]:
    """An entry for every item of the just finalized `review` rated at or below the scale's
    threshold (none without one), in the caller's transaction, each audited."""
    threshold = scale.scoring.action_plan_at_or_below
    by_item = {row.item_id: row for row in rows}
    ratings = [(i, by_item[i].rating if i in by_item else None) for i in scale.item_ids]
    already = _items_in_amended_chain(s, review)
    opened = []
    for item_id in plans.items_at_or_below(ratings, threshold):
        if item_id not in already:
            opened.append(_open(s, review, scale, by_item[item_id], log))
    return opened


def add_entry(
    db: Database,
    review_id: int,
    item_id: str,
    *,
    actor: Actor,
    goal: int | None = None,
    owner: str | None = None,
    steps: str | None = None,
    due_date: dt.date | None = None,
) -> PlanEntryView:
    """A further item of a final review chosen for its plan (by its reviewers or an agency admin)."""
    who = actor_name(actor, Action.ADD_PLAN_ITEMS)
    with db.writing() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.ADD_PLAN_ITEMS, review)
        if review.status != ReviewStatus.FINAL:
            raise ValidationProblem(f"review {review.id} is not final; its action plan opens when it is")
        scale = review_scale(db, review)
        scale_item(scale, item_id)
        existing = s.scalar(
            select(ActionPlanEntry.id).where(
                ActionPlanEntry.review_id == review.id, ActionPlanEntry.item_id == item_id
            )
        )
        if existing is not None:
            raise ValidationProblem(f"item {item_id} is already in the action plan (entry {existing})")
        row = {r.item_id: r for r in consensus_rows(s, review.id)}.get(item_id)
        log = AuditLog(s, who, review_id=review.id, program_id=review.program_id)
        entry = _open(s, review, scale, row, log, item_id=item_id)
        changes: dict[str, Any] = {}
        if goal is not None:
            changes["goal"] = plans.check_goal(goal, scale.rating.min, scale.rating.max)
        if owner is not None:
            changes["owner"] = plans.owner_name(owner)
        if steps is not None:
            changes["steps"] = plans.steps_text(steps)
        if due_date is not None:
            changes["due_date"] = due_date
        for key, value in changes.items():
            log(f"action_plan[{item_id}]", key, getattr(entry, key), value)
            setattr(entry, key, value)
        s.flush()
        return _views(db, s, [entry], _today(None))[0]


def _open(
    s: Session,
    review: Review,
    scale: Scale,
    row: ConsensusRating | None,
    log: AuditLog,
    *,
    item_id: str | None = None,
) -> ActionPlanEntry:
    item = item_id or (row.item_id if row is not None else "")
    rating = row.rating if row is not None else None
    entry = ActionPlanEntry(
        review_id=review.id,
        program_id=review.program_id,
        item_id=item,
        rating=rating,
        evidence=row.evidence if row is not None else None,
        recommendation=row.recommendation if row is not None else None,
        goal=plans.default_goal(rating, scale.scoring.action_plan_at_or_below, scale.rating.max),
        due_date=plans.default_due_date(log.at.date(), scale.scoring.action_plan_due_days),
        status=plans.PlanStatus.OPEN.value,
        opened_at=log.at,
        opened_by=log.actor,
        updated_at=log.at,
        updated_by=log.actor,
    )
    s.add(entry)
    s.flush()
    opened = {"entry": entry.id, "rating": rating, "goal": entry.goal, "due_date": entry.due_date}
    log(f"action_plan[{item}]", "opened", None, opened)
    return entry


def _items_in_amended_chain(s: Session, review: Review) -> set[str]:
    """The items that the reviews this one amends (directly or further back) have entries for."""
    items: set[str] = set()
    earlier = review.amendment_of
    while earlier is not None:
        items.update(s.scalars(select(ActionPlanEntry.item_id).where(ActionPlanEntry.review_id == earlier)))
        earlier = s.scalar(select(Review.amendment_of).where(Review.id == earlier))
    return items


# ---- following up ---------------------------------------------------------------------------------


def update_entry(
    db: Database,
    entry_id: int,
    *,
    actor: Actor,
    status: str | Unset = UNSET,
    note: str | None = None,
    owner: str | Unset | None = UNSET,
    steps: str | Unset | None = UNSET,
    goal: int | Unset = UNSET,
    due_date: dt.date | Unset = UNSET,
    expected_version: int | None = None,
    today: dt.date | None = None,
) -> PlanEntryView:
    """Change an entry's status, owner, steps, goal or due date and/or add a dated progress note.
    `expected_version`: the version the caller showed; a newer one is refused as stale."""
    who = actor_name(actor, Action.UPDATE_PLANS)
    with db.writing() as s:
        entry = s.scalars(
            select(ActionPlanEntry).where(ActionPlanEntry.id == entry_id).with_for_update()
        ).one_or_none()
        if entry is None:
            raise NotFound(f"no action plan entry with id {entry_id}")
        access.require_program(actor, Action.UPDATE_PLANS, entry.program_id)
        if expected_version is not None and entry.version != expected_version:
            raise StaleWriteError(
                f"action plan entry {entry.id} was changed by {entry.updated_by} since you opened it; "
                "reload to see the change"
            )
        review = s.get_one(Review, entry.review_id)
        changes = _changes(db, review, status, owner, steps, goal, due_date)
        text = plans.note_text(note)
        if not text and not any(getattr(entry, k) != v for k, v in changes.items()):
            raise ValidationProblem(f"nothing to change in action plan entry {entry.id}")
        log = AuditLog(s, who, review_id=entry.review_id, program_id=entry.program_id)
        what = f"action_plan[{entry.item_id}]"
        status_changed = changes.get("status", entry.status) != entry.status
        for key, value in changes.items():
            log(what, key, getattr(entry, key), value)
            setattr(entry, key, value)
        if "status" in changes:
            closed = plans.PlanStatus(entry.status) in plans.CLOSED
            if closed and entry.closed_at is None:
                entry.closed_at = log.at
            elif not closed:
                entry.closed_at = None
        entry.updated_at, entry.updated_by = log.at, log.actor
        if text or status_changed:  # the dated progress record: each note and each change of status
            s.add(ActionPlanNote(entry_id=entry.id, at=log.at, by=log.actor, status=entry.status, text=text))
        if text:
            log(what, "note", None, text)
        s.flush()
        return _views(db, s, [entry], _today(today))[0]


def _changes(
    db: Database,
    review: Review,
    status: str | Unset,
    owner: str | Unset | None,
    steps: str | Unset | None,
    goal: int | Unset,
    due_date: dt.date | Unset,
) -> dict[str, Any]:
    """The checked new values of the fields given."""
    changes: dict[str, Any] = {}
    if not isinstance(status, Unset):
        changes["status"] = plans.plan_status(status).value
    if not isinstance(owner, Unset):
        changes["owner"] = plans.owner_name(owner)
    if not isinstance(steps, Unset):
        changes["steps"] = plans.steps_text(steps)
    if not isinstance(goal, Unset):
        scale = review_scale(db, review)
        changes["goal"] = plans.check_goal(goal, scale.rating.min, scale.rating.max)
    if not isinstance(due_date, Unset):
        if not isinstance(due_date, dt.date):
            raise ValidationProblem(f"due date {due_date!r} must be a date")
        changes["due_date"] = due_date
    return changes


# ---- reading --------------------------------------------------------------------------------------


def list_entries(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    provider: str | None = None,
    item_id: str | None = None,
    owner: str | None = None,
    statuses: Sequence[str] | None = tuple(plans.OPEN),
    overdue_only: bool = False,
    today: dt.date | None = None,
) -> list[PlanEntryView]:
    """The entries the actor may see (open ones unless `statuses` says; None: all), filtered,
    overdue first, then by due date."""
    day = _today(today)
    query = _entries_query(actor)
    if program_id is not None:
        query = query.where(ActionPlanEntry.program_id == program_id)
    if item_id:
        query = query.where(ActionPlanEntry.item_id == item_id)
    if owner:
        query = query.where(ActionPlanEntry.owner == owner)
    if statuses is not None:
        query = query.where(ActionPlanEntry.status.in_([plans.plan_status(x).value for x in statuses]))
    if overdue_only:
        query = query.where(
            ActionPlanEntry.due_date < day,
            ActionPlanEntry.status.in_([x.value for x in plans.OPEN]),
        )
    # Plain columns, not ORM objects: the Action plans page lists every open entry on each
    # rerun, and loading the reviews (with their JSON) and entries as objects cost ~40 ms.
    columns = query.with_only_columns(
        *(getattr(ActionPlanEntry, name) for name in _ENTRY_COLUMNS),
        Review.review_date,
        Review.scale_id,
        Review.scale_version,
        Program.name,
        Provider.name,
    ).outerjoin(Provider, Provider.id == Program.provider_id)
    with db.reading() as s:
        rows = s.execute(columns).all()
        notes: dict[int, list[PlanNoteView]] = {row[0]: [] for row in rows}
        if notes:
            found = (
                select(
                    ActionPlanNote.entry_id,
                    ActionPlanNote.at,
                    ActionPlanNote.by,
                    ActionPlanNote.status,
                    ActionPlanNote.text,
                )
                .where(ActionPlanNote.entry_id.in_(list(notes)))
                .order_by(ActionPlanNote.id)
            )
            for entry_id, at, by, status, text in s.execute(found):
                notes[entry_id].append(PlanNoteView(at, by, status, text))
    names: dict[tuple[str, str, str], str] = {}
    views = []
    for row in rows:
        fields = dict(zip(_ENTRY_COLUMNS, row[: len(_ENTRY_COLUMNS)], strict=True))
        review_date, scale_id, scale_version, program, provider_name = row[len(_ENTRY_COLUMNS) :]
        key = (scale_id, scale_version, fields["item_id"])
        if key not in names:
            names[key] = _scale_item_name(db, scale_id, scale_version, fields["item_id"])
        views.append(
            PlanEntryView(
                **fields,
                review_date=review_date,
                program=program,
                provider=provider_name,
                scale_id=scale_id,
                item_name=names[key],
                overdue=plans.is_overdue(fields["due_date"], fields["status"], day),
                notes=tuple(notes[fields["id"]]),
            )
        )
    if provider:
        views = [v for v in views if v.provider == provider]
    return sorted(views, key=plan_order)


def review_entries(
    db: Database, review_id: int, *, actor: Actor, today: dt.date | None = None
) -> list[PlanEntryView]:
    """A review's own plan, in the scale's item order (the PDF's section, the Results page)."""
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        rows = s.scalars(_entries_query(actor).where(ActionPlanEntry.review_id == review.id)).all()
        views = _views(db, s, rows, _today(today))
        order = _item_order(db, review)
    return sorted(views, key=lambda v: order.get(v.item_id, len(order)))


def follow_up(
    db: Database, review_id: int, *, actor: Actor, today: dt.date | None = None
) -> list[PlanEntryView]:
    """The plan entries of the program's earlier reviews (the newest per item), for showing beside
    this review's new ratings: "goal 4, now 3"."""
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        access.require_program(actor, Action.READ_PLANS, review.program_id)
        query = (
            _entries_query(actor)
            .where(ActionPlanEntry.program_id == review.program_id, Review.review_date < review.review_date)
            .order_by(Review.review_date, ActionPlanEntry.id)
        )
        rows = s.scalars(query).all()
        views = _views(db, s, rows, _today(today))
        order = _item_order(db, review)
    newest = {v.item_id: v for v in views}  # later reviews replace earlier ones
    return sorted(newest.values(), key=lambda v: order.get(v.item_id, len(order)))


def program_events(db: Database, program_id: int, *, actor: Actor) -> list[PlanEvent]:
    """When the program's plan entries were opened and closed: the drift chart's marks."""
    access.require_program(actor, Action.READ_PLANS, program_id)
    with db.reading() as s:
        rows = s.scalars(_entries_query(actor).where(ActionPlanEntry.program_id == program_id)).all()
        views = _views(db, s, rows, _today(None))
    return plan_events(views)


def _entries_query(actor: Actor) -> Select[ActionPlanEntry]:
    """Entries of the programs the actor may see plans of; AccessDenied when none at all."""
    query = (
        select(ActionPlanEntry)
        .join(Review, Review.id == ActionPlanEntry.review_id)
        .join(Program, Program.id == ActionPlanEntry.program_id)
    )
    where = access.program_filter(actor, Action.READ_PLANS)
    return query if where is None else query.where(where)


def _views(db: Database, s: Session, rows: Sequence[ActionPlanEntry], today: dt.date) -> list[PlanEntryView]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    notes: dict[int, list[ActionPlanNote]] = {i: [] for i in ids}
    for note in s.scalars(
        select(ActionPlanNote).where(ActionPlanNote.entry_id.in_(ids)).order_by(ActionPlanNote.id)
    ):
        notes[note.entry_id].append(note)
    reviews = {
        r.id: r
        for r in s.scalars(
            select(Review)
            .where(Review.id.in_({r.review_id for r in rows}))
            .options(selectinload(Review.program).selectinload(Program.provider))
        )
    }
    views = []
    for row in rows:
        review = reviews[row.review_id]
        name = _item_name(db, review, row.item_id)
        views.append(entry_view(row, review, review.program, name, notes[row.id], today))
    return views


def _item_name(db: Database, review: Review, item_id: str) -> str:
    return _scale_item_name(db, review.scale_id, review.scale_version, item_id)


def _scale_item_name(db: Database, scale_id: str, scale_version: str, item_id: str) -> str:
    try:
        scale = db.registry.get(scale_id, scale_version)
    except UnknownScaleError:  # a scale no longer loaded: the plan still shows, by item id
        return item_id
    return scale.item(item_id).name if scale.has_item(item_id) else item_id


# The entry's own columns a PlanEntryView has, by the same names.
_ENTRY_COLUMNS = (
    "id", "review_id", "program_id", "item_id", "rating", "evidence", "recommendation", "goal",
    "steps", "owner", "due_date", "status", "opened_at", "opened_by", "closed_at", "updated_at",
    "updated_by", "version",
)  # fmt: skip


def _item_order(db: Database, review: Review) -> dict[str, int]:
    try:
        scale = db.registry.get(review.scale_id, review.scale_version)
    except UnknownScaleError:  # a scale no longer loaded: entries in id order
        return {}
    return {item_id: i for i, item_id in enumerate(scale.item_ids)}
