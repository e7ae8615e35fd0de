"""Checking a field copy back in on the agency server, and settling its conflicts.

Each of the rater's ratings in the field export is merged by global id against what it was at
check-out (the server keeps that, `field_checkouts.ratings`; a later export of the same
checkout is compared with what the earlier check-in left):

- changed in the field only: the field's value is saved (audited, as a save by the person
  checking in);
- changed on the server only, or on neither side: the server's value stays;
- changed on both sides to different values: a **conflict**, stored (`field_conflicts`) until
  the reviewer chooses the server's or the field's value (`settle_conflict`); never overwritten.

A package is refused, with its reason and nothing changed, when it was tampered with (its
checksum, or a checkout this server did not issue), is for another rater, for a scale whose
hash differs, for a review finalized meanwhile, was already checked in (replayed), or is older
than one already checked in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import checks
from domain.vocabulary import EVIDENCE_LENGTH, RatingSource, ReviewStatus
from exchange.field_package import (
    CHECKOUT,
    FIELD_EXPORT,
    PackageError,
    describe,
    package_kind,
    read_package,
    values,
)
from scales import Scale
from services import access, blind
from services.access import Action, Actor
from services.audit import AuditLog, rating_fields
from services.database import Database
from services.errors import StaleWriteError, ValidationProblem
from services.field_checkout import FieldCopyView, open_package, rating_entry
from services.rows import actor_name, clock, lock_review, rater_rows, review_scale, scale_item
from services.scores import resolve
from storage.models import FieldCheckin, FieldCheckout, FieldConflict, RaterRating, Review

__all__ = [
    "CheckinResult",
    "ConflictView",
    "checkin_package",
    "pending_conflicts",
    "receive_package",
    "settle_conflict",
]

SERVER, FIELD = "server", "field"


@dataclass(frozen=True)
class ConflictView:
    """One entry changed on both sides: the two values side by side, who and when."""

    id: int
    review_id: int
    rater: str
    item_id: str
    item_name: str
    server: str  # the value in words (exchange.field_package.describe)
    server_by: str
    server_at: str
    field: str
    field_by: str
    field_at: str
    choice: str | None  # None while pending


@dataclass(frozen=True)
class CheckinResult:
    review_id: int
    rater: str
    merged: list[str]  # item ids saved from the field
    unchanged: int
    conflicts: list[ConflictView]

    @property
    def summary(self) -> str:
        conflicts = f"; {len(self.conflicts)} conflict(s) to settle" if self.conflicts else ""
        return (
            f"review {self.review_id}: {len(self.merged)} rating(s) of {self.rater} merged from the field, "
            f"{self.unchanged} unchanged{conflicts}"
        )


def receive_package(
    db: Database, text: str | bytes, *, actor: Actor, name: str = "package"
) -> CheckinResult | FieldCopyView:
    """What the Import page does with a review package: a checkout is opened here as a field
    copy (a laptop), a field export is checked in (the agency server)."""
    if package_kind(text) == CHECKOUT:
        return open_package(db, text, actor=actor, name=name)
    return checkin_package(db, text, actor=actor, name=name)


def checkin_package(db: Database, text: str | bytes, *, actor: Actor, name: str = "package") -> CheckinResult:
    """Merge a field export into the review it was checked out from; PackageError (or another
    FidelityError) with the reason when refused, and then nothing is written."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    package = read_package(text, name=name, kind=FIELD_EXPORT)
    with db.writing() as s:
        checkout = s.scalars(
            select(FieldCheckout).where(FieldCheckout.global_id == package["checkout_id"])
        ).one_or_none()
        if checkout is None or checkout.checksum != package["checkout_checksum"]:
            raise PackageError(f"{name}: refused, it names a checkout this server did not issue")
        review = lock_review(s, checkout.review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        _refusals(s, review, checkout, package, actor, name)
        who = blind.require_may_rate(review, actor, checkout.rater)
        scale = review_scale(db, review)
        log = AuditLog(s, who, review_id=review.id)
        record = FieldCheckin(
            global_id=package["package_id"],
            checkout_id=checkout.id,
            export_number=package["export_number"],
            checksum=package["checksum"],
            exported_at=dt.datetime.fromisoformat(package["exported_at"]),
            checked_in_at=log.at,
            checked_in_by=who,
            ratings={},
            outcome={},
        )
        s.add(record)
        s.flush()
        merged, unchanged, conflicts, states = _merge(s, scale, review, checkout, package, record, log)
        record.ratings = states
        record.outcome = {"merged": merged, "unchanged": unchanged, "conflicts": len(conflicts)}
        log(
            "field",
            "checked_in",
            None,
            {"package": record.global_id, "rater": checkout.rater, **record.outcome},
        )
        s.flush()
        views = [_conflict_view(c, scale) for c in conflicts]
        return CheckinResult(review.id, checkout.rater, merged, unchanged, views)


def _refusals(
    s: Session, review: Review, checkout: FieldCheckout, package: dict[str, Any], actor: Actor, name: str
) -> None:
    """PackageError for each reason a check-in is refused (checked before anything is written)."""
    if review.status == ReviewStatus.FINAL:
        at = "" if review.finalized_at is None else f" at {clock(review.finalized_at)}"
        raise PackageError(
            f"{name}: refused, review {review.id} was finalized{at} after it was checked out; the field "
            "ratings can go into an amendment only"
        )
    rater = package["rater"].get("name")
    acting = blind.acting_rater(review, actor)
    if rater != checkout.rater or (acting is not None and acting != checkout.rater):
        raise PackageError(
            f"{name}: refused, it is for rater {checkout.rater} (checked out for them), not for "
            f"{acting if acting is not None and acting != checkout.rater else rater}"
        )
    if package["scale"].get("hash") != review.scale_hash or review.global_id != package["review"].get(
        "global_id"
    ):
        raise PackageError(
            f"{name}: refused, it was rated on scale {package['scale'].get('id')} "
            f"{package['scale'].get('version')} with hash {package['scale'].get('hash')}, but review "
            f"{review.id} is on hash {review.scale_hash}"
        )
    done = s.scalars(
        select(FieldCheckin).where(FieldCheckin.global_id == package["package_id"])
    ).one_or_none()
    if done is not None:
        raise PackageError(
            f"{name}: refused, this package was already checked in at {clock(done.checked_in_at)} by "
            f"{done.checked_in_by}; nothing changed"
        )
    newer = s.scalars(
        select(FieldCheckin)
        .join(FieldCheckout, FieldCheckout.id == FieldCheckin.checkout_id)
        .where(FieldCheckout.review_id == review.id, FieldCheckout.rater == checkout.rater)
        .where(
            (FieldCheckout.checked_out_at > checkout.checked_out_at)
            | (
                (FieldCheckin.checkout_id == checkout.id)
                & (FieldCheckin.export_number >= package["export_number"])
            )
        )
        .order_by(FieldCheckin.id.desc())
        .limit(1)
    ).one_or_none()
    if newer is not None:
        raise PackageError(
            f"{name}: refused, it is older (export {package['export_number']}, exported "
            f"{clock(dt.datetime.fromisoformat(package['exported_at']))}) than export {newer.export_number} "
            f"checked in at {clock(newer.checked_in_at)}; export the field copy again to bring its "
            "newest state"
        )


def _base_states(s: Session, checkout: FieldCheckout) -> dict[str, dict[str, Any]]:
    """Per rating global id, what the server and the field last agreed on: the check-out, then
    what each earlier check-in of this checkout left."""
    states = {
        gid: {"version": v["version"], "values": values(v["entry"])} for gid, v in checkout.ratings.items()
    }
    earlier = s.scalars(
        select(FieldCheckin)
        .where(FieldCheckin.checkout_id == checkout.id)
        .order_by(FieldCheckin.export_number)
    )
    for checkin in earlier:
        states.update(checkin.ratings)
    return states


def _merge(
    s: Session,
    scale: Scale,
    review: Review,
    checkout: FieldCheckout,
    package: dict[str, Any],
    record: FieldCheckin,
    log: AuditLog,
) -> tuple[list[str], int, list[FieldConflict], dict[str, Any]]:
    base = _base_states(s, checkout)
    rows = rater_rows(s, review.id, checkout.rater)
    by_gid = {row.global_id: row for row in rows}
    by_item = {row.item_id: row for row in rows}
    merged: list[str] = []
    conflicts: list[FieldConflict] = []
    states: dict[str, Any] = {}
    unchanged = 0
    for entry in package["ratings"]:
        gid, item = entry["global_id"], scale_item(scale, entry["item_id"]).id
        known = base.get(gid)
        field_values = values(entry)
        if known is not None and field_values == known["values"]:
            unchanged += 1  # not changed in the field since the last agreement
            continue
        row = by_gid.get(gid) or by_item.get(item)
        server_values = values(None if row is None else rating_entry(row))
        server_changed = (row is None) != (known is None) or (
            row is not None and (row.global_id != gid or known is None or row.version != known["version"])
        )
        if server_values == field_values:
            unchanged += 1
        elif not server_changed:
            row = _apply(s, scale, review, checkout.rater, row, gid, item, field_values, log)
            merged.append(item)
        else:
            conflicts.append(_conflict(s, review, checkout.rater, row, gid, item, entry, record))
            continue
        states[gid] = {"version": 0 if row is None else row.version, "values": field_values}
    for c in conflicts:
        log(f"rating[{c.item_id}][rater={c.rater}]", "field_conflict", c.server["values"], c.field["values"])
    return merged, unchanged, conflicts, states


def _conflict(
    s: Session,
    review: Review,
    rater: str,
    row: RaterRating | None,
    gid: str,
    item: str,
    entry: dict[str, Any],
    record: FieldCheckin,
) -> FieldConflict:
    """The conflict row, an earlier pending one of the same entry superseded by it."""
    for older in s.scalars(
        select(FieldConflict).where(
            FieldConflict.review_id == review.id,
            FieldConflict.rater == rater,
            FieldConflict.item_id == item,
            FieldConflict.resolved_at.is_(None),
        )
    ):
        older.resolved_at, older.resolved_by, older.choice = (
            record.checked_in_at,
            record.checked_in_by,
            "superseded",
        )
    server = {"values": values(None), "version": 0, "updated_by": "-", "updated_at": None}
    if row is not None:
        entry_now = rating_entry(row)
        server = {"values": values(entry_now), "version": row.version, **_who(entry_now)}
    conflict = FieldConflict(
        checkin_id=record.id,
        review_id=review.id,
        rater=rater,
        item_id=item,
        rating_global_id=gid if row is None else row.global_id,
        server=server,
        field={"values": values(entry), **_who(entry)},
    )
    s.add(conflict)
    s.flush()
    return conflict


def _who(entry: dict[str, Any]) -> dict[str, Any]:
    return {"updated_by": entry["updated_by"], "updated_at": entry["updated_at"]}


def _apply(
    s: Session,
    scale: Scale,
    review: Review,
    rater: str,
    row: RaterRating | None,
    gid: str,
    item_id: str,
    given: dict[str, Any],
    log: AuditLog,
) -> RaterRating:
    """Save the field's values into the rater's row (created with the field's global id), through
    the same checks as a save in the app, each changed field audited."""
    item = scale_item(scale, item_id)
    if row is None:
        row = RaterRating(
            global_id=gid, review_id=review.id, rater=rater, item_id=item.id, updated_by=log.actor
        )
        s.add(row)
    before = rating_fields(row)
    rating = given["rating"] if given["source"] == RatingSource.RATED else None
    resolved = resolve(item, scale, row, rating, given["inputs"], given["override_reason"])
    row.rating, row.rating_source, row.inputs = resolved.rating, resolved.source, resolved.inputs
    row.override_reason = resolved.override_reason
    row.note = checks.optional_text(given["note"], "note", EVIDENCE_LENGTH)
    row.data_sources = checks.data_sources(given["data_sources"])
    after = rating_fields(row)
    for key in after:
        log(f"rating[{item.id}][rater={rater}]", key, before[key], after[key])
    row.updated_at, row.updated_by = log.at, log.actor
    s.flush()
    return row


# ---- conflicts -------------------------------------------------------------------------------------


def pending_conflicts(db: Database, review_id: int, *, actor: Actor) -> list[ConflictView]:
    """The review's conflicts still waiting for a choice, oldest first (the acting rater's only,
    when the actor rates as one)."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        review = s.get(Review, review_id)
        if review is None:
            return []
        access.require_review(s, actor, Action.READ_REVIEW, review)
        visible = blind.visible_raters(review, actor)
        scale = review_scale(db, review)
        rows = s.scalars(
            select(FieldConflict)
            .where(FieldConflict.review_id == review_id, FieldConflict.resolved_at.is_(None))
            .order_by(FieldConflict.id)
        )
        return [_conflict_view(c, scale) for c in rows if c.rater in visible]


def settle_conflict(db: Database, conflict_id: int, choice: str, *, actor: Actor) -> ConflictView:
    """Keep the server's value or take the field's (audited); StaleWriteError when the server's
    rating changed again since the check-in (reload and choose again)."""
    if choice not in (SERVER, FIELD):
        raise ValidationProblem(f"choose {SERVER!r} or {FIELD!r}, not {choice!r}")
    actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        conflict = s.get(FieldConflict, conflict_id)
        if conflict is None:
            raise ValidationProblem(f"no field conflict with id {conflict_id}")
        review = lock_review(s, conflict.review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        if review.status == ReviewStatus.FINAL:
            raise ValidationProblem(f"review {review.id} is final; its conflicts can no longer be settled")
        who = blind.require_may_rate(review, actor, conflict.rater)
        if conflict.resolved_at is not None:
            raise ValidationProblem(
                f"this conflict ({conflict.item_id}) was already settled by {conflict.resolved_by}: "
                f"{conflict.choice}"
            )
        scale = review_scale(db, review)
        log = AuditLog(s, who, review_id=review.id)
        row = _current_row(s, conflict)
        if (0 if row is None else row.version) != conflict.server["version"]:
            raise StaleWriteError(
                f"{conflict.item_id}: the server's rating changed again since the check-in; reload and "
                "choose again"
            )
        if choice == FIELD:
            field = conflict.field["values"]
            _apply(
                s, scale, review, conflict.rater, row, conflict.rating_global_id, conflict.item_id, field, log
            )
        entity = f"rating[{conflict.item_id}][rater={conflict.rater}]"
        log(entity, "field_conflict_settled", None, f"kept the {choice}'s value")
        conflict.resolved_at, conflict.resolved_by, conflict.choice = log.at, who, choice
        s.flush()
        return _conflict_view(conflict, scale)


def _current_row(s: Session, conflict: FieldConflict) -> RaterRating | None:
    rows = rater_rows(s, conflict.review_id, conflict.rater)
    return next((r for r in rows if r.item_id == conflict.item_id), None)


def _conflict_view(c: FieldConflict, scale: Scale) -> ConflictView:
    def when(value: str | None) -> str:
        return "-" if not value else clock(dt.datetime.fromisoformat(value))

    return ConflictView(
        id=c.id,
        review_id=c.review_id,
        rater=c.rater,
        item_id=c.item_id,
        item_name=scale.item(c.item_id).name if scale.has_item(c.item_id) else c.item_id,
        server=describe(c.server["values"]),
        server_by=c.server["updated_by"],
        server_at=when(c.server["updated_at"]),
        field=describe(c.field["values"]),
        field_by=c.field["updated_by"],
        field_at=when(c.field["updated_at"]),
        choice=c.choice,
    )
