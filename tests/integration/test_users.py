"""The users service: registering users, roles, program scopes, review assignments and the
sign-in mapping (e-mail -> Actor), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Role
from services.database import Database
from services.errors import AccessDenied, NotFound, ValidationProblem


def test_a_registered_user_signs_in_by_email_whatever_its_case(
    db: Database, program: svc.ProgramView
) -> None:
    added = users.add_user(
        db,
        "  Pat.Manager@Agency.ORG ",
        role="program_manager",
        name="Pat",
        program_ids=[program.id],
        actor=LOCAL_ADMIN,
    )
    assert (added.email, added.name, added.role, added.programs) == (
        "pat.manager@agency.org",
        "Pat",
        Role.PROGRAM_MANAGER,
        ("Riverside ACT Team",),
    )
    actor = users.actor_for_email(db, "PAT.manager@agency.org")
    assert actor is not None
    assert (actor.name, actor.role, actor.user_id, actor.program_ids) == (
        "pat.manager@agency.org",
        Role.PROGRAM_MANAGER,
        added.id,
        frozenset({program.id}),
    )
    assert actor.label == "Pat (pat.manager@agency.org)"
    assert users.actor_for_email(db, "nobody@agency.org") is None
    assert users.actor_for_email(db, "not an address") is None


def test_a_deactivated_user_cannot_sign_in_until_reactivated(db: Database) -> None:
    users.add_user(db, "rev@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.set_active(db, "rev@agency.org", False, actor=LOCAL_ADMIN)
    assert users.actor_for_email(db, "rev@agency.org") is None
    assert not users.get_user(db, "rev@agency.org", actor=LOCAL_ADMIN).active
    users.set_active(db, "rev@agency.org", True, actor=LOCAL_ADMIN)
    assert users.actor_for_email(db, "rev@agency.org") is not None


@pytest.mark.parametrize(
    ("email", "role", "programs", "message"),
    [
        ("not-an-address", "reviewer", False, "'not-an-address' is not an e-mail address"),
        (
            "a@b.org",
            "wizard",
            False,
            "role must be one of agency_admin, reviewer, program_manager, got 'wizard'",
        ),
        (
            "pm@b.org",
            "program_manager",
            False,
            "a program manager needs at least one program (--program NAME)",
        ),
        ("r@b.org", "reviewer", True, "programs are a program manager's scope; a reviewer takes none"),
        ("x" * 95 + "@b.org", "reviewer", False, "is longer than 100 characters"),
    ],
)
def test_add_user_refuses_what_cannot_work(
    db: Database, program: svc.ProgramView, email: str, role: str, programs: bool, message: str
) -> None:
    with pytest.raises(ValidationProblem) as caught:
        users.add_user(db, email, role=role, program_ids=[program.id] if programs else [], actor=LOCAL_ADMIN)
    assert len(caught.value.problems) == 1 and message in caught.value.problems[0]
    assert users.list_users(db, actor=LOCAL_ADMIN) == []


def test_an_email_is_registered_once(db: Database) -> None:
    users.add_user(db, "rev@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match=re.escape("rev@agency.org is already registered")):
        users.add_user(db, "REV@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)


def test_roles_and_program_scopes_change_together(db: Database, program: svc.ProgramView) -> None:
    other = svc.create_program(db, "Lakeside ACT", model="ACT", actor=LOCAL_ADMIN)
    users.add_user(db, "u@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match="needs at least one program"):
        users.set_role(db, "u@agency.org", Role.PROGRAM_MANAGER, actor=LOCAL_ADMIN)
    user = users.set_role(
        db, "u@agency.org", "manager", program_ids=[program.id, other.id], actor=LOCAL_ADMIN
    )
    assert (user.role, user.programs) == (Role.PROGRAM_MANAGER, ("Lakeside ACT", "Riverside ACT Team"))
    user = users.set_programs(db, "u@agency.org", [other.id], actor=LOCAL_ADMIN)
    assert user.programs == ("Lakeside ACT",)
    user = users.set_role(db, "u@agency.org", Role.REVIEWER, actor=LOCAL_ADMIN)
    assert (user.role, user.programs) == (Role.REVIEWER, ())  # leaving the role drops the scope
    with pytest.raises(ValidationProblem, match="a reviewer takes none"):
        users.set_programs(db, "u@agency.org", [other.id], actor=LOCAL_ADMIN)
    with pytest.raises(NotFound, match=re.escape("no user ghost@agency.org")):
        users.set_role(db, "ghost@agency.org", Role.REVIEWER, actor=LOCAL_ADMIN)
    assert users.program_ids_by_name(db, ["Lakeside ACT"], actor=LOCAL_ADMIN) == [other.id]
    with pytest.raises(ValidationProblem) as caught:
        users.program_ids_by_name(db, ["Nope", "Lakeside ACT", "Nada"], actor=LOCAL_ADMIN)
    assert caught.value.problems == ["no program named 'Nope'", "no program named 'Nada'"]


def test_the_last_active_agency_admin_stays(db: Database) -> None:
    users.add_user(db, "boss@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    for change in (
        lambda: users.set_role(db, "boss@agency.org", Role.REVIEWER, actor=LOCAL_ADMIN),
        lambda: users.set_active(db, "boss@agency.org", False, actor=LOCAL_ADMIN),
    ):
        with pytest.raises(ValidationProblem, match="last active agency admin"):
            change()
    users.add_user(db, "deputy@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    assert not users.set_active(db, "boss@agency.org", False, actor=LOCAL_ADMIN).active


def test_reviewers_are_assigned_to_reviews(db: Database, review: svc.ReviewView) -> None:
    users.add_user(db, "rev@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.add_user(db, "boss@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    assert users.assign_reviewer(db, review.id, "Rev@agency.org", actor=LOCAL_ADMIN) == ["rev@agency.org"]
    assert users.assign_reviewer(db, review.id, "rev@agency.org", actor=LOCAL_ADMIN) == ["rev@agency.org"]
    assert users.get_user(db, "rev@agency.org", actor=LOCAL_ADMIN).reviews == (review.id,)
    with pytest.raises(
        ValidationProblem, match=re.escape("boss@agency.org is an agency admin; only reviewers")
    ):
        users.assign_reviewer(db, review.id, "boss@agency.org", actor=LOCAL_ADMIN)
    with pytest.raises(ValidationProblem, match="not a registered user"):
        users.assign_reviewer(db, review.id, "who@agency.org", actor=LOCAL_ADMIN)
    with pytest.raises(NotFound, match="no review with id 999"):
        users.assign_reviewer(db, 999, "rev@agency.org", actor=LOCAL_ADMIN)
    reviewer = users.actor_for_email(db, "rev@agency.org")
    assert reviewer is not None
    # A reviewer rates only as themselves: the rater named by their e-mail address.
    with pytest.raises(AccessDenied, match="you are not a rater on review"):
        svc.save_rating(db, review.id, "ana", "H2", rating=4, actor=reviewer)
    svc.add_rater(db, review.id, "rev@agency.org", actor=LOCAL_ADMIN)
    svc.save_rating(db, review.id, "rev@agency.org", "H2", rating=4, actor=reviewer)
    assert users.unassign_reviewer(db, review.id, "rev@agency.org", actor=LOCAL_ADMIN) == []
    with pytest.raises(ValidationProblem, match="is not assigned to review"):
        users.unassign_reviewer(db, review.id, "rev@agency.org", actor=LOCAL_ADMIN)
    history = [(e.field, e.old_value, e.new_value) for e in svc.audit_trail(db, review.id, actor=LOCAL_ADMIN)]
    assert ("reviewer_assigned", None, "rev@agency.org") in history
    assert ("reviewer_unassigned", "rev@agency.org", None) in history
    # What the reviewer entered stays, under their e-mail address.
    rating = svc.get_review(db, review.id, actor=LOCAL_ADMIN).ratings["rev@agency.org"]["H2"]
    assert (rating.rating, rating.updated_by) == (4, "rev@agency.org")


def test_user_changes_are_in_the_audit_log(db: Database, program: svc.ProgramView) -> None:
    from sqlalchemy import select

    from storage.models import AuditEntry

    users.add_user(
        db, "pm@agency.org", role=Role.PROGRAM_MANAGER, program_ids=[program.id], actor=LOCAL_ADMIN
    )
    users.set_role(db, "pm@agency.org", Role.REVIEWER, actor=LOCAL_ADMIN)
    with db.reading() as s:
        rows = [
            (e.actor, e.entity, e.field)
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.entity.like("user[%")).order_by(AuditEntry.id)
            )
        ]
    assert rows == [
        ("local admin", "user[pm@agency.org]", "programs"),
        ("local admin", "user[pm@agency.org]", "created"),
        ("local admin", "user[pm@agency.org]", "role"),
        ("local admin", "user[pm@agency.org]", "programs"),
    ]
