"""Who may do what, where the answer needs the database: a review's assignment, and the
actor's scope as a WHERE clause on queries.

The actor, the policy and the decisions without the database are in domain.access; they are
re-exported here, so callers keep one import (`from services.access import Action, Actor`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from domain.access import (
    LOCAL_ADMIN,
    POLICY,
    ROLE_TEXT,
    Action,
    Actor,
    Scope,
    a_role,
    acting_for,
    can,
    check_actor,
    local_admin,
    require,
    require_program,
    scope_of,
)
from domain.errors import AccessDenied
from domain.vocabulary import Role
from storage.models import Program, Review, ReviewAssignment, ReviewStatus

__all__ = [
    "LOCAL_ADMIN",
    "POLICY",
    "ROLE_TEXT",
    "Action",
    "Actor",
    "Role",
    "Scope",
    "a_role",
    "acting_for",
    "can",
    "check_actor",
    "is_assigned",
    "local_admin",
    "program_filter",
    "require",
    "require_program",
    "require_review",
    "review_filter",
    "scope_of",
]


def is_assigned(s: Session, actor: Actor, review_id: int) -> bool:
    """Whether the actor (a signed-in user) is assigned to the review."""
    if actor.user_id is None:
        return False
    query = select(ReviewAssignment.review_id).where(
        ReviewAssignment.review_id == review_id, ReviewAssignment.user_id == actor.user_id
    )
    return s.scalar(query) is not None


def require_review(s: Session, actor: Actor, action: Action, review: Review) -> None:
    """AccessDenied unless the action is allowed on this review (assignment looked up in `s`)."""
    scope = require(actor, action)
    final = review.status == ReviewStatus.FINAL
    what = f"review {review.id}"
    if scope is Scope.ALL:
        return
    if scope in (Scope.OWN_PROGRAMS, Scope.OWN_FINAL) and review.program_id not in actor.program_ids:
        raise AccessDenied(f"Not allowed: {what} is of a program that is not one of your programs.")
    if scope is Scope.OWN_FINAL and not final:
        raise AccessDenied(f"Not allowed: {what} is not final yet; {actor.a_role} sees final reviews only.")
    if scope is Scope.ASSIGNED_OR_FINAL and final:
        return
    if scope in (Scope.ASSIGNED, Scope.ASSIGNED_OR_FINAL) and not is_assigned(s, actor, review.id):
        raise AccessDenied(
            f"Not allowed: {what} is not assigned to you (an agency admin can assign you to it)."
        )


# ---- scope as a filter on queries ------------------------------------------------------------


def program_filter(actor: Actor, action: Action = Action.READ_PROGRAMS) -> ColumnElement[bool] | None:
    """A WHERE clause on Program keeping what the actor may see (None: everything);
    AccessDenied when the role may not take the action at all."""
    scope = require(actor, action)
    if scope in (Scope.OWN_PROGRAMS, Scope.OWN_FINAL):
        return _in_programs(Program.id, actor)
    return None


def visible_program_ids(actor: Actor, action: Action = Action.READ_PROGRAMS) -> frozenset[int] | None:
    """The ids of the programs the actor may see (None: every program): what `program_filter`
    keeps, for a statement that takes them as one parameter instead of an IN list."""
    scope = require(actor, action)
    if scope in (Scope.OWN_PROGRAMS, Scope.OWN_FINAL):
        return frozenset(actor.program_ids)
    return None


def review_filter(actor: Actor, action: Action = Action.READ_REVIEW) -> ColumnElement[bool] | None:
    """A WHERE clause on Review keeping the reviews the actor may see (None: all of them)."""
    scope = require(actor, action)
    final = Review.status == ReviewStatus.FINAL.value
    if scope is Scope.ALL:
        return None
    if scope is Scope.OWN_PROGRAMS:
        return _in_programs(Review.program_id, actor)
    if scope is Scope.OWN_FINAL:
        return and_(_in_programs(Review.program_id, actor), final)
    assigned = _assigned(actor)
    return or_(final, assigned) if scope is Scope.ASSIGNED_OR_FINAL else assigned


def _in_programs(column: InstrumentedAttribute[int], actor: Actor) -> ColumnElement[bool]:
    if not actor.program_ids:
        return false()
    return column.in_(sorted(actor.program_ids))


def _assigned(actor: Actor) -> ColumnElement[bool]:
    if actor.user_id is None:
        return false()
    return exists().where(ReviewAssignment.review_id == Review.id, ReviewAssignment.user_id == actor.user_id)
