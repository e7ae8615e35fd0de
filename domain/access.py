"""Who may do what: the acting user (`Actor`) and the one policy every service checks.

Every service call takes `actor=`. The UI and the CLI only build the Actor (the CLI and an app
without sign-in use LOCAL_ADMIN; a signed-in user's comes from services.users.actor_for_email);
the services decide, so a page that forgot to hide a button still cannot do what the role may
not. A refusal is AccessDenied with one line saying why.

The policy is POLICY below: for each action, the roles that may take it and over what scope.
Pure: the decisions that need the database (a review's assignment, query filters) are in
services.access, which re-exports everything here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from domain.errors import AccessDenied, ValidationProblem
from domain.vocabulary import PERSON_LENGTH, Role

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
    "local_admin",
    "require",
    "require_program",
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
    # The rater an agency admin acts for (the app without sign-in: chosen on the Rate page); a
    # signed-in reviewer always acts as the rater named like them (services.blind).
    rater: str | None = None

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


def acting_for(actor: Actor, rater: str | None) -> Actor:
    """The actor acting for `rater` (None: for no rater), e.g. the local admin entering Ana's ratings."""
    return dataclasses.replace(actor, rater=rater)


ROLE_TEXT: Final[Mapping[Role, str]] = MappingProxyType(
    {
        Role.AGENCY_ADMIN: "agency admin",
        Role.REVIEWER: "reviewer",
        Role.PROGRAM_MANAGER: "program manager",
    }
)


def a_role(role: Role | str) -> str:
    """ "an agency admin", "a reviewer"...: the role with its article, for messages."""
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
    CHECK_INTEGRITY = "check or re-key the database's tamper evidence"
    READ_PLANS = "see action plans"
    UPDATE_PLANS = "update action plans"
    ADD_PLAN_ITEMS = "add items to a review's action plan"
    AUTHOR_SCALES = "author, import or publish scales"
    READ_OUTCOMES = "see outcomes"
    ENTER_OUTCOMES = "enter or import outcomes"
    MANAGE_MEASURES = "add or change outcome measures"


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
        Action.CHECK_INTEGRITY: {_ADMIN: Scope.ALL},
        # Action plans (services.action_plans): a program manager follows up their own programs'.
        Action.READ_PLANS: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        Action.UPDATE_PLANS: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        # Choosing further items for a final review's plan: the reviewers of that review.
        Action.ADD_PLAN_ITEMS: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ASSIGNED},
        # Drafts are the admins' work in progress; a published scale is offered to every reviewer.
        Action.AUTHOR_SCALES: {_ADMIN: Scope.ALL},
        # Outcomes are a program's own figures: its manager enters them (for their programs only),
        # reviewers read them beside the fidelity they rate; the measure list is the agency's.
        Action.READ_OUTCOMES: {_ADMIN: Scope.ALL, _REVIEWER: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        Action.ENTER_OUTCOMES: {_ADMIN: Scope.ALL, _MANAGER: Scope.OWN_PROGRAMS},
        Action.MANAGE_MEASURES: {_ADMIN: Scope.ALL},
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


# ---- scope check on one program --------------------------------------------------------------


def require_program(actor: Actor, action: Action, program_id: int) -> None:
    """AccessDenied unless the action is allowed on this program."""
    scope = require(actor, action)
    if scope is Scope.OWN_PROGRAMS and program_id not in actor.program_ids:
        raise AccessDenied(f"Not allowed: program {program_id} is not one of your programs.")
