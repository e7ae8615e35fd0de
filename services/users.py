"""Users, their roles and program scopes, and reviewers' review assignments.

Everything here but `actor_for_email` is for agency admins (services.access.Action.MANAGE_USERS);
every change writes audit rows in its own transaction, as the review workflow does. A user
is identified by the e-mail address their identity provider signs them in with, stored
lower-case. Users are never deleted, only deactivated, so the audit log's names stay meaningful.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import checks
from services import assignments
from services.access import ROLE_TEXT, Action, Actor, a_role, require, require_review
from services.audit import AuditLog
from services.database import Database
from services.errors import NotFound, ValidationProblem
from services.rows import actor_name, load_review, lock_review
from storage.models import (
    PERSON_LENGTH,
    Program,
    Review,
    ReviewAssignment,
    ReviewStatus,
    Role,
    User,
    UserProgram,
)

__all__ = [
    "UserView",
    "actor_for_email",
    "add_user",
    "assign_reviewer",
    "get_user",
    "list_users",
    "normalize_email",
    "parse_role",
    "program_ids_by_name",
    "review_reviewers",
    "set_active",
    "set_programs",
    "set_role",
    "unassign_reviewer",
]

# Deliberately loose: the identity provider has verified the address; this catches typing slips.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str | None
    role: Role
    active: bool
    programs: tuple[str, ...]  # a program manager's programs, by name
    program_ids: tuple[int, ...]
    reviews: tuple[int, ...]  # the open (not final) reviews a reviewer is assigned to
    created_at: dt.datetime
    created_by: str

    @property
    def role_text(self) -> str:
        return ROLE_TEXT[self.role]


# ---- sign-in ----------------------------------------------------------------------------------


def normalize_email(email: object) -> str:
    """The stored form of an e-mail address: trimmed, lower-case; refused unless it looks like one."""
    text = email.strip().lower() if isinstance(email, str) else ""
    if not text:
        raise ValidationProblem("an e-mail address is required")
    if not _EMAIL.fullmatch(text):
        raise ValidationProblem(f"{text!r} is not an e-mail address")
    if len(text) > PERSON_LENGTH:  # it is what the audit log records for the user
        raise ValidationProblem(f"{text} is longer than {PERSON_LENGTH} characters")
    return text


def actor_for_email(db: Database, email: str) -> Actor | None:
    """The Actor of the active user signed in with this e-mail address; None when no active
    user has it (the app then shows "not registered" and nothing else)."""
    try:
        key = normalize_email(email)
    except ValidationProblem:
        return None
    with db.reading() as s:
        user = s.scalars(select(User).where(User.email == key)).one_or_none()
        if user is None or not user.active:
            return None
        programs = frozenset(s.scalars(select(UserProgram.program_id).where(UserProgram.user_id == user.id)))
        return Actor(
            name=user.email,
            role=Role(user.role),
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            program_ids=programs if user.role == Role.PROGRAM_MANAGER else frozenset(),
        )


# ---- reading ----------------------------------------------------------------------------------


def list_users(db: Database, *, actor: Actor, include_inactive: bool = True) -> list[UserView]:
    """Every user by e-mail address."""
    require(actor, Action.MANAGE_USERS)
    with db.reading() as s:
        query = select(User).order_by(User.email)
        if not include_inactive:
            query = query.where(User.active)
        return [_view(s, user) for user in s.scalars(query)]


def get_user(db: Database, email: str, *, actor: Actor) -> UserView:
    require(actor, Action.MANAGE_USERS)
    with db.reading() as s:
        return _view(s, _user(s, email))


def review_reviewers(db: Database, review_id: int, *, actor: Actor) -> list[str]:
    """The e-mail addresses of the reviewers assigned to a review (for whoever may open it)."""
    require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        require_review(s, actor, Action.READ_REVIEW, review)
        return _reviewers(s, review.id)


def program_ids_by_name(db: Database, names: Iterable[str], *, actor: Actor) -> list[int]:
    """The ids of the programs with these exact names; one problem per unknown name."""
    require(actor, Action.MANAGE_USERS)
    wanted = [n.strip() for n in names if n and n.strip()]
    with db.reading() as s:
        found = dict(s.execute(select(Program.name, Program.id).where(Program.name.in_(wanted))).all())
    unknown = [f"no program named {name!r}" for name in dict.fromkeys(wanted) if name not in found]
    if unknown:
        raise ValidationProblem(unknown)
    return [found[name] for name in dict.fromkeys(wanted)]


# ---- changing ---------------------------------------------------------------------------------


def add_user(
    db: Database,
    email: str,
    *,
    role: Role | str,
    actor: Actor,
    name: str | None = None,
    program_ids: Sequence[int] = (),
) -> UserView:
    """Register a user. A program manager needs at least one program; other roles take none."""
    who = actor_name(actor, Action.MANAGE_USERS)
    key = normalize_email(email)
    role = parse_role(role)
    display = checks.optional_name(name, "name", PERSON_LENGTH)
    _check_programs(role, program_ids)
    with db.writing() as s:
        if s.scalar(select(User.id).where(User.email == key)) is not None:
            raise ValidationProblem(f"{key} is already registered (change their role or programs instead)")
        log = AuditLog(s, who)
        user = User(email=key, name=display, role=role.value, active=True, created_by=who)
        user.created_at = user.updated_at = log.at
        s.add(user)
        s.flush()
        programs = _replace_programs(s, user, program_ids, log)
        log(_entity(user), "created", None, {"role": role.value, "name": display, "programs": programs})
        return _view(s, user)


def set_role(
    db: Database,
    email: str,
    role: Role | str,
    *,
    actor: Actor,
    program_ids: Sequence[int] | None = None,
) -> UserView:
    """Change a user's role. Becoming a program manager needs `program_ids`; leaving that role
    drops the program scope."""
    who = actor_name(actor, Action.MANAGE_USERS)
    role = parse_role(role)
    with db.writing() as s:
        user = _user(s, email, lock=True)
        log = AuditLog(s, who)
        if role != Role.AGENCY_ADMIN:
            _keep_an_admin(s, user)
        if role == Role.PROGRAM_MANAGER:
            current = list(s.scalars(select(UserProgram.program_id).where(UserProgram.user_id == user.id)))
            wanted = current if program_ids is None else list(program_ids)
            _check_programs(role, wanted)
        else:
            _check_programs(role, program_ids or ())
            wanted = []
        if user.role != role.value:
            log(_entity(user), "role", user.role, role.value)
            user.role = role.value
            user.updated_at = log.at
        _replace_programs(s, user, wanted, log)
        return _view(s, user)


def set_programs(db: Database, email: str, program_ids: Sequence[int], *, actor: Actor) -> UserView:
    """A program manager's programs (replacing the ones they had)."""
    who = actor_name(actor, Action.MANAGE_USERS)
    with db.writing() as s:
        user = _user(s, email, lock=True)
        _check_programs(Role(user.role), program_ids)
        _replace_programs(s, user, program_ids, AuditLog(s, who))
        return _view(s, user)


def set_active(db: Database, email: str, active: bool, *, actor: Actor) -> UserView:
    """Deactivate a user (they can no longer sign in; their history stays) or reactivate them."""
    who = actor_name(actor, Action.MANAGE_USERS)
    with db.writing() as s:
        user = _user(s, email, lock=True)
        if not active:
            _keep_an_admin(s, user)
        if user.active != active:
            log = AuditLog(s, who)
            log(_entity(user), "active", user.active, active)
            user.active = active
            user.updated_at = log.at
        return _view(s, user)


def assign_reviewer(db: Database, review_id: int, email: str, *, actor: Actor) -> list[str]:
    """Assign a reviewer to a review (they may then rate, agree and finalize it); returns the
    review's reviewers. Assigning someone already assigned changes nothing."""
    who = actor_name(actor, Action.MANAGE_USERS)
    with db.writing() as s:
        review = lock_review(s, review_id)
        user = assignments.reviewer_user(s, email)
        assignments.assign_reviewer(s, review, user, AuditLog(s, who, review_id=review.id))
        return _reviewers(s, review.id)


def unassign_reviewer(db: Database, review_id: int, email: str, *, actor: Actor) -> list[str]:
    """Take a reviewer off a review (their ratings stay); returns the review's reviewers."""
    who = actor_name(actor, Action.MANAGE_USERS)
    key = normalize_email(email)
    with db.writing() as s:
        review = lock_review(s, review_id)
        user = _user(s, key)
        found = s.get(ReviewAssignment, (review.id, user.id))
        if found is None:
            raise ValidationProblem(f"{key} is not assigned to review {review.id}")
        s.delete(found)
        AuditLog(s, who, review_id=review.id)("review", "reviewer_unassigned", key, None)
        s.flush()
        return _reviewers(s, review.id)


# ---- internals --------------------------------------------------------------------------------


def parse_role(value: Role | str) -> Role:
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {"admin": Role.AGENCY_ADMIN, "manager": Role.PROGRAM_MANAGER, "pm": Role.PROGRAM_MANAGER}
    text = aliases[text].value if text in aliases else text
    for role in Role:
        if text == role.value:
            return role
    raise ValidationProblem(f"role must be one of {', '.join(r.value for r in Role)}, got {value!r}")


def _check_programs(role: Role, program_ids: Sequence[int]) -> None:
    if role == Role.PROGRAM_MANAGER and not program_ids:
        raise ValidationProblem("a program manager needs at least one program (--program NAME)")
    if role != Role.PROGRAM_MANAGER and program_ids:
        raise ValidationProblem(
            f"programs are a program manager's scope; {a_role(role)} takes none (leave out --program)"
        )


def _user(s: Session, email: str, *, lock: bool = False) -> User:
    key = normalize_email(email)
    query = select(User).where(User.email == key)
    user = s.scalars(query.with_for_update() if lock else query).one_or_none()
    if user is None:
        raise NotFound(f"no user {key} (add them with `fidelity users add`)")
    return user


def _keep_an_admin(s: Session, user: User) -> None:
    """Refuse to take away the last active agency admin (nobody could manage users then)."""
    if user.role != Role.AGENCY_ADMIN or not user.active:
        return
    others = s.scalar(
        select(func.count(User.id)).where(
            User.role == Role.AGENCY_ADMIN.value, User.active, User.id != user.id
        )
    )
    if not others:
        raise ValidationProblem(
            f"{user.email} is the last active agency admin; make someone else an agency admin first"
        )


def _replace_programs(s: Session, user: User, program_ids: Iterable[int], log: AuditLog) -> list[str]:
    """Set the user's programs, logging the change; returns the program names."""
    wanted = list(dict.fromkeys(program_ids))
    names = dict(s.execute(select(Program.id, Program.name).where(Program.id.in_(wanted))).all())
    missing = [f"no program with id {pid}" for pid in wanted if pid not in names]
    if missing:
        raise ValidationProblem(missing)
    held = s.scalars(select(UserProgram).where(UserProgram.user_id == user.id))
    rows = {row.program_id: row for row in held}
    before = sorted(_program_names(s, list(rows)))
    for program_id, row in rows.items():
        if program_id not in names:
            s.delete(row)
    for program_id in wanted:
        if program_id not in rows:
            s.add(UserProgram(user_id=user.id, program_id=program_id, added_at=log.at, added_by=log.actor))
    after = sorted(names.values())
    if before != after:
        log(_entity(user), "programs", before or None, after or None)
        user.updated_at = log.at
    s.flush()
    return after


def _program_names(s: Session, program_ids: Sequence[int]) -> list[str]:
    if not program_ids:
        return []
    return list(s.scalars(select(Program.name).where(Program.id.in_(program_ids))))


def _reviewers(s: Session, review_id: int) -> list[str]:
    query = (
        select(User.email)
        .join(ReviewAssignment, ReviewAssignment.user_id == User.id)
        .where(ReviewAssignment.review_id == review_id)
        .order_by(User.email)
    )
    return list(s.scalars(query))


def _entity(user: User) -> str:
    return f"user[{user.email}]"


def _view(s: Session, user: User) -> UserView:
    programs = s.execute(
        select(Program.id, Program.name)
        .join(UserProgram, UserProgram.program_id == Program.id)
        .where(UserProgram.user_id == user.id)
        .order_by(Program.name)
    ).all()
    reviews = s.scalars(
        select(ReviewAssignment.review_id)
        .join(Review, Review.id == ReviewAssignment.review_id)
        .where(ReviewAssignment.user_id == user.id, Review.status != ReviewStatus.FINAL.value)
        .order_by(ReviewAssignment.review_id)
    )
    return UserView(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        active=user.active,
        programs=tuple(name for _, name in programs),
        program_ids=tuple(pid for pid, _ in programs),
        reviews=tuple(reviews),
        created_at=user.created_at,
        created_by=user.created_by,
    )
