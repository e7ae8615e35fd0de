"""Taking a review to the field: check out a review package on the agency server, open it on a
laptop (its own database, no network), and export the field copy to bring it back.

The package's format is exchange.field_package (docs/field-package.md); checking it back in
is services.field_sync. Every step is one transaction with its audit rows.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import acting_for
from domain.vocabulary import ReviewStatus, ReviewType
from exchange.field_package import (
    CHECKOUT,
    FIELD_EXPORT,
    FORMAT,
    FORMAT_VERSION,
    PackageError,
    package_text,
    read_package,
    sealed,
)
from services import access, blind
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import ValidationProblem
from services.lifecycle import check_integrity
from services.programs import provider_row
from services.rows import (
    actor_name,
    clock,
    consensus_rows,
    load_review,
    lock_review,
    rater_rows,
    require_editable,
    review_scale,
)
from services.users import actor_for_email
from storage.models import (
    FieldCheckout,
    FieldCopy,
    Program,
    RaterRating,
    Review,
    ReviewRater,
    User,
    new_global_id,
)

__all__ = [
    "CheckedOut",
    "FieldCopyView",
    "checkout_review",
    "export_field_copy",
    "field_copy",
    "open_package",
    "rating_entry",
]


@dataclass(frozen=True)
class CheckedOut:
    """A package written: its text, a file name to offer, and for whom."""

    text: str
    filename: str
    review_id: int
    rater: str
    package_id: str


@dataclass(frozen=True)
class FieldCopyView:
    """A review on this installation that is a field copy: where it came from."""

    review_id: int
    rater: str
    origin: str
    server_review_id: int
    checked_out_at: str  # "14:05 UTC on 2026-03-14"
    checked_out_by: str
    program: str
    exports: int
    previous_final: dict[str, Any] | None

    @property
    def summary(self) -> str:
        """What the Import page says once the package is open."""
        return f"Opened as review {self.review_id} on this computer. {self.banner}"

    @property
    def banner(self) -> str:
        """What the app says above the review."""
        return (
            f"This review is a field copy: review {self.server_review_id} of {self.program}, checked "
            f"out from {self.origin} by {self.checked_out_by} at {self.checked_out_at} for rater "
            f"{self.rater}. Ratings saved here stay on this computer until you export the field copy "
            "and the agency server checks it in."
        )


def rating_entry(row: RaterRating) -> dict[str, Any]:
    """One rater's rating as a package carries it."""
    return {
        "global_id": row.global_id,
        "item_id": row.item_id,
        "version": row.version,
        "rating": row.rating,
        "source": row.rating_source,
        "inputs": row.inputs,
        "override_reason": row.override_reason,
        "note": row.note,
        "data_sources": row.data_sources,
        "updated_at": row.updated_at.isoformat(),
        "updated_by": row.updated_by,
    }


# ---- the agency server: check out ---------------------------------------------------------------


def checkout_review(
    db: Database, review_id: int, *, actor: Actor, rater_email: str | None = None
) -> CheckedOut:
    """The review package of `review_id` for the acting rater (or, for an agency admin, the
    rater with `rater_email`): recorded (and audited) so its check-in can be merged."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    rater_actor = actor if rater_email is None else _rater_actor(db, rater_email, actor)
    with db.writing() as s:
        review = lock_review(s, review_id)
        access.require_review(s, actor, Action.EDIT_REVIEW, review)
        if rater_actor is not actor:
            access.require_review(s, rater_actor, Action.EDIT_REVIEW, review)
        require_editable(review)
        rater = _checkout_rater(review, rater_actor, rater_email)
        blind.require_may_rate(review, actor if rater_email is None else acting_for(actor, rater), rater)
        scale = review_scale(db, review)
        log = AuditLog(s, who, review_id=review.id)
        rows = rater_rows(s, review.id, rater)
        package_id = new_global_id()
        package = sealed(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "kind": CHECKOUT,
                "package_id": package_id,
                "created_at": log.at.isoformat(),
                "origin": f"the agency server ({db.display_url})",
                "scale": {
                    "id": scale.id,
                    "version": scale.version,
                    "title": scale.title,
                    "hash": scale.content_hash,
                    "definition": scale.model_dump(mode="json"),
                },
                "program": _program_entry(review.program),
                "review": _review_entry(review),
                "rater": _rater_entry(s, rater, rater_actor, rater_email),
                "ratings": [rating_entry(row) for row in sorted(rows, key=lambda r: r.id)],
                "previous_final": _previous_final(s, review),
            }
        )
        s.add(
            FieldCheckout(
                global_id=package_id,
                review_id=review.id,
                rater=rater,
                scale_hash=scale.content_hash,
                checksum=package["checksum"],
                ratings={row.global_id: _state(row) for row in rows},
                checked_out_at=log.at,
                checked_out_by=who,
            )
        )
        log("field", "checked_out", None, {"rater": rater, "package": package_id, "ratings": len(rows)})
        s.flush()
        filename = f"review-{review.id}-{_slug(rater)}-{log.at:%Y%m%d-%H%M%S}.fidelity-package.json"
        return CheckedOut(package_text(package), filename, review.id, rater, package_id)


def _state(row: RaterRating) -> dict[str, Any]:
    entry = rating_entry(row)
    return {"item_id": row.item_id, "version": row.version, "entry": entry}


def _rater_actor(db: Database, email: str, actor: Actor) -> Actor:
    access.require(actor, Action.MANAGE_USERS)  # naming someone else: an agency admin only
    found = actor_for_email(db, email)
    return found if found is not None else acting_for(actor, email.strip())


def _checkout_rater(review: Review, rater_actor: Actor, rater_email: str | None) -> str:
    rater = blind.acting_rater(review, rater_actor)
    if rater is None:
        named = rater_email or rater_actor.email or rater_actor.name
        raters = ", ".join(r.rater for r in review.raters)
        raise ValidationProblem(f"{named} is not a rater on review {review.id} (raters: {raters})")
    return rater


def _program_entry(program: Program) -> dict[str, Any]:
    return {
        "global_id": program.global_id,
        "name": program.name,
        "model": program.model,
        "region": program.region,
        "provider": None if program.provider is None else program.provider.name,
    }


def _review_entry(review: Review) -> dict[str, Any]:
    return {
        "global_id": review.global_id,
        "id": review.id,
        "review_date": review.review_date.isoformat(),
        "review_end_date": None if review.review_end_date is None else review.review_end_date.isoformat(),
        "review_type": review.review_type,
        "status": review.status,
    }


def _rater_entry(s: Session, rater: str, rater_actor: Actor, email: str | None) -> dict[str, Any]:
    user = None if rater_actor.user_id is None else s.get(User, rater_actor.user_id)
    return {
        "name": rater,
        "email": rater_actor.email or email,
        "display_name": None if user is None else user.name,
        "user_global_id": None if user is None else user.global_id,
    }


def _previous_final(s: Session, review: Review) -> dict[str, Any] | None:
    """The program's latest final review of the scale before this one, for context."""
    query = (
        select(Review)
        .where(
            Review.program_id == review.program_id,
            Review.scale_id == review.scale_id,
            Review.status == ReviewStatus.FINAL,
            Review.id != review.id,
            Review.review_date <= review.review_date,
        )
        .order_by(Review.review_date.desc(), Review.id.desc())
        .limit(1)
    )
    previous = s.scalars(query).one_or_none()
    if previous is None:
        return None
    check_integrity(s, previous)  # a changed final review is never handed out as context
    score = previous.final_score or {}
    return {
        "global_id": previous.global_id,
        "id": previous.id,
        "review_date": previous.review_date.isoformat(),
        "scale_version": previous.scale_version,
        "total_mean": score.get("total", {}).get("mean"),
        "band": score.get("band"),
        "consensus": {row.item_id: row.rating for row in consensus_rows(s, previous.id)},
    }


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40] or "rater"


# ---- the laptop: open and export ------------------------------------------------------------------


def open_package(db: Database, text: str | bytes, *, actor: Actor, name: str = "package") -> FieldCopyView:
    """Load a checkout package into this installation's database as a field copy (a draft review
    with that rater's ratings, their global ids kept). Opening the same package again changes
    nothing and returns the copy."""
    who = actor_name(actor, Action.START_REVIEW)
    package = read_package(text, name=name, kind=CHECKOUT)
    scale_info = package["scale"]
    try:
        scale = db.registry.get(scale_info["id"], scale_info["version"])
    except KeyError:
        scale = None
    if scale is None or scale.content_hash != scale_info["hash"]:
        found = "is not installed here" if scale is None else f"differs here (hash {scale.content_hash})"
        raise PackageError(
            f"{name}: scale {scale_info['id']} {scale_info['version']} (hash {scale_info['hash']}) {found}; "
            "install the agency's scale file (FIDELITY_SCALES_DIRS) before opening the package"
        )
    with db.writing() as s:
        existing = s.scalars(
            select(FieldCopy).where(FieldCopy.checkout_global_id == package["package_id"])
        ).one_or_none()
        if existing is not None:
            return _copy_view(existing, package)
        entry = package["review"]
        if s.scalars(select(Review.id).where(Review.global_id == entry["global_id"])).first() is not None:
            raise PackageError(
                f"{name}: review {entry['id']} of {package['program']['name']} is already on this computer "
                "from an earlier package; export that field copy and check it in first"
            )
        log = AuditLog(s, who)
        program = _local_program(s, package["program"], log)
        review = Review(
            global_id=entry["global_id"],
            program_id=program.id,
            scale_id=scale.id,
            scale_version=scale.version,
            scale_hash=scale.content_hash,
            review_date=dt.date.fromisoformat(entry["review_date"]),
            review_end_date=None
            if entry["review_end_date"] is None
            else dt.date.fromisoformat(entry["review_end_date"]),
            review_type=ReviewType(entry["review_type"]),
            status=ReviewStatus.DRAFT,
            amendment_number=0,
            created_at=log.at,
            created_by=who,
            updated_at=log.at,
        )
        s.add(review)
        s.flush()
        log.review_id, log.program_id = review.id, program.id
        rater = package["rater"]["name"]
        s.add(ReviewRater(review_id=review.id, rater=rater, added_at=log.at, added_by=who))
        s.flush()
        for rating in package["ratings"]:
            s.add(_local_rating(review, rater, rating))
        copy = FieldCopy(
            review_id=review.id,
            checkout_global_id=package["package_id"],
            origin=package["origin"],
            rater=rater,
            package=text if isinstance(text, str) else text.decode("utf-8"),
            opened_at=log.at,
            exports=0,
        )
        s.add(copy)
        log("field", "opened", None, {"package": package["package_id"], "from": package["origin"]})
        s.flush()
        return _copy_view(copy, package)


def _local_program(s: Session, entry: dict[str, Any], log: AuditLog) -> Program:
    program = s.scalars(select(Program).where(Program.global_id == entry["global_id"])).one_or_none()
    if program is not None:
        return program
    if s.scalars(select(Program.id).where(Program.name == entry["name"])).first() is not None:
        raise PackageError(
            f"a different program named {entry['name']!r} is already on this computer; the package's "
            "program cannot be added next to it"
        )
    program = Program(
        global_id=entry["global_id"],
        name=entry["name"],
        model=entry["model"],
        region=entry["region"],
        provider=provider_row(s, entry["provider"], log),
        created_at=log.at,
        updated_at=log.at,
    )
    s.add(program)
    s.flush()
    return program


def _local_rating(review: Review, rater: str, entry: dict[str, Any]) -> RaterRating:
    return RaterRating(
        global_id=entry["global_id"],
        review_id=review.id,
        rater=rater,
        item_id=entry["item_id"],
        rating=entry["rating"],
        rating_source=entry["source"],
        inputs=entry["inputs"],
        override_reason=entry["override_reason"],
        note=entry["note"],
        data_sources=entry["data_sources"],
        updated_at=dt.datetime.fromisoformat(entry["updated_at"]),
        updated_by=entry["updated_by"],
    )


def field_copy(db: Database, review_id: int, *, actor: Actor) -> FieldCopyView | None:
    """Where the review came from when it is a field copy on this installation (else None)."""
    access.require(actor, Action.READ_REVIEW)
    with db.reading() as s:
        copy = s.get(FieldCopy, review_id)
        if copy is None:
            return None
        return _copy_view(copy, read_package(copy.package, kind=CHECKOUT))


def _copy_view(copy: FieldCopy, package: dict[str, Any]) -> FieldCopyView:
    return FieldCopyView(
        review_id=copy.review_id,
        rater=copy.rater,
        origin=copy.origin,
        server_review_id=package["review"]["id"],
        checked_out_at=clock(dt.datetime.fromisoformat(package["created_at"])),
        checked_out_by=package["rater"]["email"] or package["rater"]["name"],
        program=package["program"]["name"],
        exports=copy.exports,
        previous_final=package["previous_final"],
    )


def export_field_copy(db: Database, review_id: int, *, actor: Actor) -> CheckedOut:
    """The field copy's ratings as a field-export package, numbered (audited): the agency server
    checks it in (services.field_sync.checkin_package)."""
    who = actor_name(actor, Action.EDIT_REVIEW)
    with db.writing() as s:
        review = load_review(s, review_id)
        copy = s.get(FieldCopy, review_id)
        if copy is None:
            raise ValidationProblem(f"review {review_id} is not a field copy; only field copies are exported")
        checkout = read_package(copy.package, kind=CHECKOUT)
        copy.exports += 1
        log = AuditLog(s, who, review_id=review.id)
        package_id = new_global_id()
        rows = rater_rows(s, review.id, copy.rater)
        base = {entry["global_id"]: entry["version"] for entry in checkout["ratings"]}
        ratings = [{**rating_entry(row), "version": base.get(row.global_id, 0)} for row in rows]
        package = sealed(
            {
                **{key: checkout[key] for key in ("format", "format_version", "program", "review", "rater")},
                **{key: checkout[key] for key in ("scale", "previous_final")},
                "kind": FIELD_EXPORT,
                "package_id": package_id,
                "created_at": log.at.isoformat(),
                "origin": f"a field copy on {socket.gethostname()}",
                "ratings": sorted(ratings, key=lambda e: e["item_id"]),
                "checkout_id": checkout["package_id"],
                "checkout_checksum": checkout["checksum"],
                "export_number": copy.exports,
                "exported_at": log.at.isoformat(),
            }
        )
        log("field", "exported", None, {"package": package_id, "export": copy.exports, "ratings": len(rows)})
        s.flush()
        server_id, slug = checkout["review"]["id"], _slug(copy.rater)
        filename = f"review-{server_id}-{slug}-field-{copy.exports}.fidelity-package.json"
        return CheckedOut(package_text(package), filename, review.id, copy.rater, package_id)
