"""Reviewers' review assignments, shared by starting and amending a review and by services.users.

They run inside the caller's transaction; the access check is the calling service's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import a_role
from domain.vocabulary import Role
from services.audit import AuditLog
from services.errors import NotFound, ValidationProblem
from storage.models import Review, ReviewAssignment, User

__all__ = ["assign_reviewer", "load_user", "reviewer_user"]


def load_user(s: Session, user_id: int) -> User:
    """The user with this id; NotFound when there is none."""
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def reviewer_user(s: Session, email: str) -> User:
    """The active reviewer with this e-mail address (what a review can be assigned to)."""
    key = email.strip().lower() if isinstance(email, str) else ""
    user = s.scalars(select(User).where(User.email == key)).one_or_none()
    if user is None:
        raise ValidationProblem(f"{email!r} is not a registered user (add them with `fidelity users add`)")
    if not user.active:
        raise ValidationProblem(f"{user.email} is deactivated and cannot be assigned to a review")
    if user.role != Role.REVIEWER:
        raise ValidationProblem(
            f"{user.email} is {a_role(user.role)}; only reviewers are assigned to reviews"
        )
    return user


def assign_reviewer(s: Session, review: Review, user: User, log: AuditLog) -> bool:
    """Assign the user to the review (False when already assigned), recorded in its history."""
    found = s.get(ReviewAssignment, (review.id, user.id))
    if found is not None:
        return False
    s.add(ReviewAssignment(review_id=review.id, user_id=user.id, assigned_at=log.at, assigned_by=log.actor))
    saved_review = log.review_id
    log.review_id = review.id
    log("review", "reviewer_assigned", None, user.email)
    log.review_id = saved_review
    s.flush()
    return True
