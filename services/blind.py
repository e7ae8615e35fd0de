"""Independent ("blind") rating: who rates as whom, submitting, and when raters' ratings show.

The rules, enforced here for every caller (the pages only follow them):

- A signed-in reviewer rates only as themselves: the review's rater named like them (their
  e-mail address or their name). An agency admin may act for a rater (`Actor.rater`; without
  sign-in the local admin chooses on the Rate page whom they act for); an admin acting for no
  rater (the CLI, data entry from paper forms) may enter any rater's ratings.
- Saves are recorded under the acting person: the signed-in user's e-mail, or the rater the
  local admin acts for.
- Until the consensus is open, a rater's ratings are shown only to that rater: an actor acting
  as a rater never reads another rater's ratings, a reviewer who is not a rater reads none, and
  comparing raters (what the Consensus page shows) is refused for everyone.
- The consensus opens when every rater has submitted, or when an agency admin opens it with a
  reason (audited). Final reviews and amendments are always open.
- Submitting (audited) locks the rater's ratings; an agency admin may reopen them with a
  reason (audited), which closes the consensus again unless an admin opened it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import checks
from domain.vocabulary import Role
from services import access
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import AccessDenied, ValidationProblem
from services.rows import (
    actor_name,
    assigned_rater,
    clock,
    load_review,
    lock_review,
    require_editable,
    review_scale,
)
from storage.models import RaterRating, Review, ReviewRater, ReviewStatus

__all__ = [
    "RaterProgress",
    "RatingState",
    "acting_rater",
    "consensus_open",
    "open_consensus",
    "rating_state",
    "reopen_ratings",
    "require_consensus_open",
    "require_may_rate",
    "submit_ratings",
    "visible_raters",
]


@dataclass(frozen=True)
class RaterProgress:
    """One rater's progress: how many items they rated, and whether they submitted."""

    rater: str
    rated: int
    unrated: int
    submitted_at: str | None  # "14:05 UTC on 2026-03-14"
    submitted_by: str | None

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None


@dataclass(frozen=True)
class RatingState:
    """Where a review stands between rating and consensus, as the acting person sees it."""

    review_id: int
    raters: tuple[RaterProgress, ...]
    acting_rater: str | None  # the rater the actor rates as (None: no rater)
    consensus_open: bool
    opened_by: str | None  # an agency admin who opened the consensus early, and why
    open_reason: str | None

    def progress(self, rater: str) -> RaterProgress | None:
        return next((p for p in self.raters if p.rater == rater), None)

    @property
    def waiting_for(self) -> list[str]:
        """The raters who have not submitted yet."""
        return [p.rater for p in self.raters if not p.submitted]


# ---- who rates as whom -------------------------------------------------------------------------


def acting_rater(review: Review, actor: Actor) -> str | None:
    """The rater the actor rates as on this review (None: no rater); AccessDenied when a
    signed-in reviewer asks to act for someone else."""
    names = [r.rater for r in review.raters]
    own = {v.casefold() for v in (actor.email, actor.display_name, actor.name) if v}
    mine = next((name for name in names if name.casefold() in own), None) if actor.user_id else None
    if mine is not None or actor.role != Role.AGENCY_ADMIN:
        if actor.rater is not None and mine is not None and actor.rater != mine:
            raise AccessDenied(f"Not allowed: you rate as {mine} only, not as {actor.rater}.")
        return mine
    return None if actor.rater is None else assigned_rater(review, actor.rater)


def require_may_rate(review: Review, actor: Actor, rater: str) -> str:
    """The name saves record for the actor entering `rater`'s ratings; AccessDenied when they
    may not rate as that rater, ValidationProblem when the rater has submitted."""
    acting = acting_rater(review, actor)
    if actor.role != Role.AGENCY_ADMIN and acting is None:
        raise AccessDenied(
            f"Not allowed: you are not a rater on review {review.id}; its raters are "
            f"{', '.join(r.rater for r in review.raters)} (an agency admin can add you by your name)."
        )
    if acting is not None and acting != rater:
        raise AccessDenied(f"Not allowed: you rate as {acting}; {rater}'s ratings are theirs to enter.")
    row = _rater_row(review, rater)
    if row.submitted_at is not None:
        raise ValidationProblem(
            f"{rater} submitted their ratings at {clock(row.submitted_at)}; they are locked "
            "(an agency admin can reopen them)"
        )
    if actor.user_id is None and acting is not None:
        return acting  # the local admin entering a rater's ratings: recorded as that rater
    return checks.required_text(actor.name, "actor (who is making the change)")


# ---- who sees whose ratings --------------------------------------------------------------------


def consensus_open(review: Review) -> bool:
    """Every rater submitted, an admin opened it, or the review is final or an amendment."""
    if review.status == ReviewStatus.FINAL or review.amendment_of is not None:
        return True
    if review.consensus_opened_at is not None:
        return True
    return bool(review.raters) and all(r.submitted_at is not None for r in review.raters)


def visible_raters(review: Review, actor: Actor) -> set[str]:
    """The raters whose ratings the actor may read now."""
    everyone = {r.rater for r in review.raters}
    if consensus_open(review):
        return everyone
    acting = acting_rater(review, actor)
    if acting is not None:
        return {acting}
    return everyone if actor.role == Role.AGENCY_ADMIN else set()


def require_visible(review: Review, actor: Actor, rater: str) -> None:
    """AccessDenied when the actor may not read `rater`'s ratings yet."""
    if rater not in visible_raters(review, actor):
        raise AccessDenied(
            f"Not allowed: {rater}'s ratings show once every rater has submitted "
            f"(still rating: {', '.join(_waiting(review)) or 'none'})."
        )


def require_consensus_open(review: Review) -> None:
    """AccessDenied until the consensus is open (comparing raters is the consensus' first step)."""
    if not consensus_open(review):
        raise AccessDenied(
            f"Not allowed: the raters' ratings of review {review.id} are compared once every rater "
            f"has submitted (still rating: {', '.join(_waiting(review))}), or an agency admin opens "
            "the consensus with a reason."
        )


# ---- the steps ---------------------------------------------------------------------------------


def rating_state(db: Database, review_id: int, *, actor: Actor) -> RatingState:
    """Each rater's progress and whether the consensus is open (counts only, never ratings)."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = load_review(s, review_id)
        access.require_review(s, actor, Action.READ_REVIEW, review)
        return _state(s, db, review, actor)


def submit_ratings(db: Database, review_id: int, rater: str, *, actor: Actor) -> RatingState:
    """Submit `rater`'s ratings (audited): they are locked from now on. Unrated items may be
    submitted as they are (the count is shown before)."""
    actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        name = assigned_rater(review, rater)
        who = require_may_rate(review, actor, name)
        log = AuditLog(s, who, review_id=review.id)
        row = _rater_row(review, name)
        row.submitted_at, row.submitted_by = log.at, who
        log(f"rater[{name}]", "submitted", None, log.at.isoformat())
        if consensus_open(review) and review.consensus_opened_at is None:
            log("review", "consensus_opened", None, "every rater submitted")
        s.flush()
        return _state(s, db, review, actor)


def reopen_ratings(db: Database, review_id: int, rater: str, reason: str, *, actor: Actor) -> RatingState:
    """An agency admin reopens a rater's submitted ratings, with a reason (audited)."""
    who = _admin(actor, "reopen a rater's submitted ratings")
    reason = checks.required_text(reason, "reason for reopening the ratings")
    with db.writing() as s:
        review = lock_review(s, review_id)
        require_editable(review)
        row = _rater_row(review, assigned_rater(review, rater))
        if row.submitted_at is None:
            raise ValidationProblem(
                f"{row.rater} has not submitted their ratings, so there is nothing to reopen"
            )
        log = AuditLog(s, who, review_id=review.id)
        log(f"rater[{row.rater}]", "reopened", row.submitted_at.isoformat(), reason)
        row.submitted_at, row.submitted_by = None, None
        s.flush()
        return _state(s, db, review, actor)


def open_consensus(db: Database, review_id: int, reason: str, *, actor: Actor) -> RatingState:
    """An agency admin opens the consensus before every rater has submitted, with a reason."""
    who = _admin(actor, "open the consensus before every rater has submitted")
    reason = checks.required_text(reason, "reason for opening the consensus")
    with db.writing() as s:
        review = lock_review(s, review_id)
        require_editable(review)
        if not consensus_open(review):
            log = AuditLog(s, who, review_id=review.id)
            log("review", "consensus_opened", None, reason)
            review.consensus_opened_at, review.consensus_opened_by = log.at, who
            review.consensus_open_reason = reason
            s.flush()
        return _state(s, db, review, actor)


# ---- helpers -----------------------------------------------------------------------------------


def _admin(actor: Actor, what: str) -> str:
    name = actor_name(actor, Action.EDIT_REVIEW)
    if actor.role != Role.AGENCY_ADMIN:
        raise AccessDenied(f"Not allowed: {actor.a_role} may not {what} (only agency admins may).")
    return name


def _rater_row(review: Review, rater: str) -> ReviewRater:
    return next(r for r in review.raters if r.rater == rater)


def _waiting(review: Review) -> list[str]:
    return [r.rater for r in review.raters if r.submitted_at is None]


def _state(s: Session, db: Database, review: Review, actor: Actor) -> RatingState:
    total = len(review_scale(db, review).items)
    rated: dict[str, int] = {}
    query = select(RaterRating.rater).where(
        RaterRating.review_id == review.id, RaterRating.rating.is_not(None)
    )
    for name in s.scalars(query):
        rated[name] = rated.get(name, 0) + 1
    progress = tuple(
        RaterProgress(
            rater=r.rater,
            rated=rated.get(r.rater, 0),
            unrated=total - rated.get(r.rater, 0),
            submitted_at=None if r.submitted_at is None else clock(r.submitted_at),
            submitted_by=r.submitted_by,
        )
        for r in review.raters
    )
    return RatingState(
        review_id=review.id,
        raters=progress,
        acting_rater=acting_rater(review, actor),
        consensus_open=consensus_open(review),
        opened_by=review.consensus_opened_by,
        open_reason=review.consensus_open_reason,
    )
