"""Who may do what: the acting user (`Actor`) and the one policy every service checks.

Every service call takes `actor=`. The UI and the CLI only build the Actor (the CLI and an app
without sign-in use LOCAL_ADMIN; a signed-in user's comes from services.users.actor_for_email);
the services decide, so a page that forgot to hide a button still cannot do what the role may
not. A refusal is services.errors.AccessDenied with one line saying why.

The policy is POLICY below: for each action, the roles that may take it and over what scope.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.errors import AccessDenied, ValidationProblem
from storage.models import PERSON_LENGTH, Program, Review, ReviewAssignment, ReviewStatus, Role

__all__ = [
    "LOCAL_ADMIN",
    "POLICY",
    "ROLE_TEXT",
    "Action",
    "Actor",
    "Role",
    "Scope",
    "a_role",
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


@dataclass(frozen=True)
class Actor:
    """The person a service call acts for.

    `name` is what the audit log and the updated_by columns record: the e-mail address of a
    signed-in user, "local admin" without sign-in. `program_ids` is a program manager's scope,
    loaded with the user; review assignments are looked up when a review is touched, so an
    assignment made a moment ago counts at once.
    """

    name: str
    role: Role
    user_id: int | None = None
    email: str | None = None
    display_name: str | None = None
    program_ids: frozenset[int] = frozenset()

    @property
    def role_text(self) -> str:
        return ROLE_TEXT[self.role]

    @property
    def a_role(self) -> str:
        """ "an agency admin", "a reviewer", "a program manager": for messages."""
        return a_role(self.role)

    @property
    def label(self) -> str:
        """How the app shows who is signed in: "Ana Lopez (ana@example.org)"."""
        if self.display_name and self.email and self.display_name != self.email:
            return f"{self.display_name} ({self.email})"
        return self.email or self.name


LOCAL_ADMIN: Final = Actor(name="local admin", role=Role.AGENCY_ADMIN)
"""Everyone, when the app runs without sign-in; and the operator running the `fidelity` CLI."""


def local_admin(name: str | None = None) -> Actor:
    """The local admin, recorded in the audit log under `name` (the CLI uses the login name)."""
    return LOCAL_ADMIN if not name else dataclasses.replace(LOCAL_ADMIN, name=name)


ROLE_TEXT: Final[Mapping[Role, str]] = MappingProxyType(
    {
        Role.AGENCY_ADMIN: "agency admin",
        Role.REVIEWER: "reviewer",
        Role.PROGRAM_MANAGER: "program manager",
    }
)


def a_role(role: Role | str) -> str:
    text = ROLE_TEXT[Role(role)]
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"


class Action(StrEnum):
    """What a service call does, in words that complete "may not …"."""

    READ_PROGRAMS = "see programs"
    MANAGE_PROGRAMS = "add or change programs"
    START_REVIEW = "start reviews"
    READ_REVIEW = "open reviews"
    READ_HISTORY = "see the history of changes"
    EDIT_REVIEW = "rate, agree or finalize reviews"
    AMEND_REVIEW = "amend final reviews"
    READ_ANALYTICS = "see drift and comparisons"
    IMPORT = "import reviews"
    MANAGE_USERS = "manage users and their access"


class Scope(StrEnum):
    """Over what a role may take an action."""

    ALL = "everything"
    OWN_PROGRAMS = "their own programs"
    OWN_FINAL = "their own programs' final reviews"
    ASSIGNED = "the reviews assigned to them"
    ASSIGNED_OR_FINAL = "the reviews assigned to them, and final reviews"


_ADMIN, _REVIEWER, _MANAGER = Role.AGENCY_ADMIN, Role.REVIEWER, Role.PROGRAM_MANAGER

POLICY: Final[Mapping[Action, Mapping[Role, Scope]]] = MappingProxyType(
    {
        Action.READ_PROGRAMS: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        Action.MANAGE_PROGRAMS: {_ADMIN: Scope.ALL},
        # A reviewer who starts a review is assigned to it.
        Action.START_REVIEW: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL},
        # Program managers never see a draft; reviewers see open reviews only when assigned.
        Action.READ_REVIEW: {
            _ADMIN: Scope.ALL,
            _REVIEWER: Scope.ASSIGNED_OR_FINAL,
            _MANAGER: Scope.OWN_FINAL,
        },
        # The history holds every draft value, so it stays with the reviewers.
        Action.READ_HISTORY: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ASSIGNED_OR_FINAL},
        Action.EDIT_REVIEW: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ASSIGNED},
        Action.AMEND_REVIEW: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ASSIGNED},
        # Analytics read final reviews only, so "all" here is every final review.
        Action.READ_ANALYTICS: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        Action.IMPORT: {_ADMIN: Scope.ALL},
        Action.MANAGE_USERS: {_ADMIN: Scope.ALL},
    }
)


# ---- role checks (no database) ----------------------------------------------------------------


def check_actor(actor: object) -> Actor:
    """The actor, refusing anything that is not an Actor with a recordable name."""
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be a services.access.Actor, got {type(actor).__name__}")
    name = actor.name.strip() if isinstance(actor.name, str) else ""
    if not name:
        raise ValidationProblem("actor (who is making the change) is required")
    if len(name) > PERSON_LENGTH:
        raise ValidationProblem(f"actor (who is making the change) is longer than {PERSON_LENGTH} characters")
    return actor


def scope_of(actor: Actor, action: Action) -> Scope | None:
    """The scope over which the actor's role may take the action; None: not at all."""
    return POLICY[action].get(Role(actor.role))


def can(actor: Actor, action: Action) -> bool:
    """Whether the role may take the action on at least something (what the UI shows or hides)."""
    return scope_of(actor, action) is not None


def require(actor: Actor, action: Action) -> Scope:
    """The actor's scope for the action; AccessDenied when the role may not take it at all."""
    scope = scope_of(check_actor(actor), action)
    if scope is None:
        allowed = " and ".join(f"{ROLE_TEXT[r]}s" for r in POLICY[action])
        raise AccessDenied(f"Not allowed: {actor.a_role} may not {action.value} (only {allowed} may).")
    return scope


# ---- scope checks on one program or review ----------------------------------------------------


def require_program(actor: Actor, action: Action, program_id: int) -> None:
    """AccessDenied unless the action is allowed on this program."""
    scope = require(actor, action)
    if scope is Scope.OWN_PROGRAMS and program_id not in actor.program_ids:
        raise AccessDenied(f"Not allowed: program {program_id} is not one of your programs.")


def is_assigned(s: Session, actor: Actor, review_id: int) -> bool:
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
