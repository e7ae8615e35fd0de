"""Action plans on SQLite and PostgreSQL: the entries a finalize opens (exactly the items at or
below the scale's threshold), who may update them, overdue on fixed dates, the audit rows, and
that the final review stays as it was."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from pypdf import PdfReader

from reports.plan_section import PLAN_HEADING
from services import action_plans as plans
from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Actor, Role
from services.database import Database
from services.errors import AccessDenied, StaleWriteError, ValidationProblem
from services.report_data import stored_review_pdf

DATE = dt.date(2026, 3, 14)
# DACTS 1.0 opens a plan entry for every item rated 2 or lower (no due days: 90 by default).
LOW = {"H2": 2, "S10": 1}  # at the threshold and below it
EDGE = {"H3": 3}  # threshold + 1: no entry


def finalized_review(db: Database, program_id: int, ratings: dict[str, int], *, day: dt.date = DATE) -> int:
    """A DACTS review of the program finalized with every item at 4 but `ratings`; S9 not rated."""
    review = svc.start_review(
        db, program_id, "dacts", "1.0", day, "follow-up", ["ana", "ben"], actor=LOCAL_ADMIN
    )
    svc.open_consensus(db, review.id, "the test agrees directly", actor=LOCAL_ADMIN)
    view = svc.get_review(db, review.id, actor=LOCAL_ADMIN)
    scale = db.registry.get("dacts", "1.0")
    for item_id in scale.item_ids:
        if item_id == "S9":
            svc.mark_not_rated(db, review.id, "S9", "no records", expected_version=0, actor=LOCAL_ADMIN)
            continue
        svc.save_consensus(
            db,
            review.id,
            item_id,
            rating=ratings.get(item_id, 4),
            evidence=f"evidence for {item_id}",
            recommendation=f"improve {item_id}" if item_id in ratings else None,
            expected_version=view.consensus_version(item_id),
            actor=LOCAL_ADMIN,
        )
    svc.finalize(db, review.id, actor=LOCAL_ADMIN)
    return review.id


@dataclass
class Agency:
    db: Database
    own: svc.ProgramView
    other: svc.ProgramView
    manager: Actor
    reviewer: Actor
    admin: Actor


@pytest.fixture
def agency(db: Database) -> Agency:
    own = svc.create_program(db, "Own ACT Team", provider="Own Provider", model="ACT", actor=LOCAL_ADMIN)
    other = svc.create_program(
        db, "Other ACT Team", provider="Other Provider", model="ACT", actor=LOCAL_ADMIN
    )
    users.add_user(db, "pm@example.org", role=Role.PROGRAM_MANAGER, program_ids=[own.id], actor=LOCAL_ADMIN)
    users.add_user(db, "rev@example.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.add_user(db, "admin@example.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    found = [users.actor_for_email(db, e) for e in ("pm@example.org", "rev@example.org", "admin@example.org")]
    assert all(found)
    return Agency(db, own, other, *found)  # type: ignore[arg-type]


def test_finalize_opens_an_entry_for_exactly_the_items_at_or_below_the_threshold(agency: Agency) -> None:
    db = agency.db
    review_id = finalized_review(db, agency.own.id, LOW | EDGE)
    entries = plans.review_entries(db, review_id, actor=LOCAL_ADMIN)
    assert [e.item_id for e in entries] == ["H2", "S10"]  # not H3 (3), nor S9 (not rated)
    h2 = entries[0]
    assert (h2.rating, h2.goal, h2.status, h2.owner) == (2, 3, "open", None)
    assert (h2.evidence, h2.recommendation) == ("evidence for H2", "improve H2")
    assert h2.due_date == h2.opened_at.date() + dt.timedelta(days=90)
    assert entries[1].goal == 3  # the first rating above the threshold, for a 1 too
    # The final review is unchanged by its plan: it still verifies and shows.
    assert svc.get_review(db, review_id, actor=LOCAL_ADMIN).status == "final"
    history = svc.audit_trail(db, review_id, actor=LOCAL_ADMIN)
    assert sum(1 for row in history if row.entity.startswith("action_plan[") and row.field == "opened") == 2


def test_a_review_with_nothing_at_or_below_the_threshold_opens_no_entry(agency: Agency) -> None:
    review_id = finalized_review(agency.db, agency.own.id, EDGE)
    assert plans.review_entries(agency.db, review_id, actor=LOCAL_ADMIN) == []


def test_program_manager_updates_only_their_own_programs_plans(agency: Agency) -> None:
    db = agency.db
    own = plans.review_entries(db, finalized_review(db, agency.own.id, LOW), actor=LOCAL_ADMIN)[0]
    other = plans.review_entries(db, finalized_review(db, agency.other.id, LOW), actor=LOCAL_ADMIN)[0]

    updated = plans.update_entry(
        db, own.id, status="in progress", note="Hired a second nurse", owner="Dana Ruiz", actor=agency.manager
    )
    assert (updated.status, updated.owner, updated.closed_at) == ("in progress", "Dana Ruiz", None)
    assert [(n.by, n.status, n.text) for n in updated.notes] == [
        ("pm@example.org", "in progress", "Hired a second nurse")
    ]
    with pytest.raises(AccessDenied, match="not one of your programs"):
        plans.update_entry(db, other.id, status="done", actor=agency.manager)
    # The manager sees their own programs' entries only.
    assert {e.program for e in plans.list_entries(db, actor=agency.manager)} == {"Own ACT Team"}
    # Reviewers and admins update any program's entries.
    done = plans.update_entry(db, other.id, status="done", note="Met", actor=agency.reviewer)
    assert done.status == "done" and done.closed_at is not None
    reopened = plans.update_entry(db, other.id, status="open", actor=agency.admin)
    assert reopened.closed_at is None
    # Every change is in the review's history, under who made it.
    trail = svc.audit_trail(db, own.review_id, actor=LOCAL_ADMIN)
    changes = {(r.actor, r.field) for r in trail if r.entity == "action_plan[H2]"}
    assert {("pm@example.org", "status"), ("pm@example.org", "owner"), ("pm@example.org", "note")} <= changes


def test_bad_updates_are_refused_and_change_nothing(agency: Agency) -> None:
    db = agency.db
    entry = plans.review_entries(db, finalized_review(db, agency.own.id, LOW), actor=LOCAL_ADMIN)[0]
    with pytest.raises(
        ValidationProblem, match="status 'finished' is not one of: open, in progress, done, dropped"
    ):
        plans.update_entry(db, entry.id, status="finished", actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match="goal 9 must be a rating from 1 to 5"):
        plans.update_entry(db, entry.id, goal=9, actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match="nothing to change"):
        plans.update_entry(db, entry.id, status="open", actor=LOCAL_ADMIN)
    plans.update_entry(db, entry.id, status="in progress", actor=LOCAL_ADMIN)
    with pytest.raises(StaleWriteError):
        plans.update_entry(db, entry.id, status="done", expected_version=entry.version, actor=LOCAL_ADMIN)
    after = plans.review_entries(db, entry.review_id, actor=LOCAL_ADMIN)[0]
    assert (after.status, after.goal) == ("in progress", 3)


def test_only_reviewers_and_admins_add_items_to_a_plan(agency: Agency) -> None:
    db = agency.db
    review_id = finalized_review(db, agency.own.id, LOW | EDGE)
    with pytest.raises(AccessDenied):
        plans.add_entry(db, review_id, "H3", actor=agency.manager)
    with pytest.raises(AccessDenied, match="not assigned to you"):
        plans.add_entry(db, review_id, "H3", actor=agency.reviewer)
    added = plans.add_entry(db, review_id, "H3", goal=4, owner="Dana Ruiz", actor=LOCAL_ADMIN)
    assert (added.item_id, added.rating, added.goal, added.owner) == ("H3", 3, 4, "Dana Ruiz")
    with pytest.raises(ValidationProblem, match="already in the action plan"):
        plans.add_entry(db, review_id, "H3", actor=LOCAL_ADMIN)


def test_overdue_first_on_a_fixed_day(agency: Agency) -> None:
    db = agency.db
    first = finalized_review(db, agency.own.id, LOW)
    entries = plans.review_entries(db, first, actor=LOCAL_ADMIN)
    plans.update_entry(db, entries[1].id, due_date=dt.date(2027, 1, 10), actor=LOCAL_ADMIN)
    plans.update_entry(db, entries[0].id, due_date=dt.date(2027, 1, 20), actor=LOCAL_ADMIN)
    today = dt.date(2027, 1, 20)  # the first is due today: not overdue yet
    listed = plans.list_entries(db, actor=LOCAL_ADMIN, today=today)
    assert [(e.item_id, e.overdue) for e in listed] == [("S10", True), ("H2", False)]
    assert [e.item_id for e in plans.list_entries(db, actor=LOCAL_ADMIN, overdue_only=True, today=today)] == [
        "S10"
    ]
    plans.update_entry(db, entries[1].id, status="done", actor=LOCAL_ADMIN)
    assert plans.list_entries(db, actor=LOCAL_ADMIN, overdue_only=True, today=today) == []
    later = plans.list_entries(db, actor=LOCAL_ADMIN, today=dt.date(2027, 1, 21))
    assert [(e.item_id, e.overdue) for e in later] == [("H2", True)]  # done ones are not listed


def test_the_next_review_shows_the_earlier_plan_and_an_amendment_opens_no_duplicates(agency: Agency) -> None:
    db = agency.db
    first = finalized_review(db, agency.own.id, LOW)
    second = finalized_review(db, agency.own.id, {"H2": 3}, day=dt.date(2027, 3, 1))
    shown = plans.follow_up(db, second, actor=agency.manager)
    assert [(e.item_id, e.goal, e.review_id) for e in shown] == [("H2", 3, first), ("S10", 3, first)]
    assert plans.follow_up(db, first, actor=LOCAL_ADMIN) == []

    amendment = svc.amend(db, first, "typo", actor=LOCAL_ADMIN)
    svc.finalize(db, amendment.id, actor=LOCAL_ADMIN)
    assert plans.review_entries(db, amendment.id, actor=LOCAL_ADMIN) == []
    events = plans.program_events(db, agency.own.id, actor=agency.manager)
    assert [e.kind for e in events] == ["opened", "opened"]


def test_the_plan_is_a_section_of_the_pdf_report_and_a_review_without_one_has_none(agency: Agency) -> None:
    db = agency.db
    with_plan = finalized_review(db, agency.own.id, LOW)
    entry = plans.review_entries(db, with_plan, actor=LOCAL_ADMIN)[0]
    plans.update_entry(db, entry.id, owner="Dana Ruiz", note="Hiring a second nurse", actor=LOCAL_ADMIN)
    text = pdf_text(stored_review_pdf(db, with_plan, actor=agency.manager, charts=False))
    section = text[text.index(PLAN_HEADING) :]
    for expected in ("H2", "S10", "Dana Ruiz", "Hiring a second nurse", "open"):
        assert expected in section, expected
    without = finalized_review(db, agency.other.id, EDGE)
    assert PLAN_HEADING not in pdf_text(stored_review_pdf(db, without, actor=LOCAL_ADMIN, charts=False))


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages).split())
