"""Store a review file (DESIGN.md section 4) as a final consensus review.

Importing is idempotent: the same file imported again for the same program is recognised
(by a digest of its content) and nothing is written. A different file for a program that
already has a review on that scale and date is refused: change a stored review by
amending it, not by importing over it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import checks
from domain.vocabulary import (
    EVIDENCE_LENGTH,
    FINDINGS_LENGTH,
    NAME_LENGTH,
    REASON_LENGTH,
    RECOMMENDATION_LENGTH,
    SUMMARY_LENGTH,
    ProgramModel,
    ReviewType,
)
from scales import Scale
from scales.schema import Item
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import ValidationProblem
from services.lifecycle import ConsensusEntry, FinalReviewRecord, store_final_review
from services.programs import new_program
from services.review_file import ReviewFile
from services.rows import actor_name, check_model, registry_scale
from services.scores import Resolved, resolve
from services.views import ReviewView, review_view
from storage.models import Program, Review


@dataclass(frozen=True)
class ImportResult:
    review: ReviewView
    created: bool  # False when this file had already been imported
    program_created: bool
    review_type_inferred: bool  # the file gave no type: baseline for a program's first review


def import_review_file(
    db: Database,
    review_file: ReviewFile,
    *,
    actor: Actor,
    program: str | None = None,
    review_type: str | None = None,
    source: str | None = None,
) -> ImportResult:
    """Store the file's ratings as the consensus of a new, final review.

    `program` (or else the file's `program:`) names the program, which is created when
    absent, with the file's provider and region. Items the file leaves unrated are stored
    as not rated, with the file's `not_rated_reason` or a note that the file had none.
    """
    who = actor_name(actor, Action.IMPORT)
    name = checks.required_name(program or review_file.program, "program name (--program)", NAME_LENGTH)
    if review_file.date is None:
        raise ValidationProblem("the review file has no date; a stored review needs one (date: 2026-03-14)")
    scale = review_file.scale
    loaded = registry_scale(db, scale.id, scale.version)
    if loaded.content_hash != scale.content_hash:
        raise ValidationProblem(
            f"the file was read with a different {scale.id} {scale.version} than is loaded"
        )
    digest = review_digest(review_file)
    with db.writing() as s:
        log = AuditLog(s, who)
        found = s.scalars(select(Program).where(Program.name == name)).one_or_none()
        program_created = found is None
        if found is None:
            model = scale.model.upper() if scale.model and scale.model.upper() in set(ProgramModel) else None
            found = new_program(
                s, log, name, provider=review_file.provider, region=review_file.region, model=model
            )
        else:
            check_model(found, scale)
            existing = _existing_import(s, found, review_file, digest)
            if existing is not None:
                view = review_view(s, existing, loaded)
                return ImportResult(view, created=False, program_created=False, review_type_inferred=False)
        log.program_id = found.id
        kind, inferred = _review_kind(s, found, review_type, review_file.review_type)
        checks.check_review_dates(review_file.date, review_file.end_date)
        record = FinalReviewRecord(
            review_date=review_file.date,
            review_end_date=review_file.end_date,
            review_type=kind,
            strengths=checks.optional_text(review_file.strengths, "strengths", FINDINGS_LENGTH),
            summary=checks.optional_text(review_file.summary, "summary", SUMMARY_LENGTH),
            recommendations=checks.optional_text(
                review_file.recommendations, "recommendations", FINDINGS_LENGTH
            ),
            raters=checks.rater_names(review_file.raters),
            items={item.id: _consensus_entry(review_file, scale, item) for item in scale.items},
            imported_from=source or "a review file",
            import_digest=digest,
        )
        review = store_final_review(s, log, found, scale, record)
        view = review_view(s, review, scale)
    return ImportResult(view, created=True, program_created=program_created, review_type_inferred=inferred)


def _review_kind(s: Session, program: Program, given: str | None, in_file: str | None) -> tuple[str, bool]:
    """The review's type (the caller's, else the file's), and whether it was inferred: when
    neither gives one, baseline for the program's first review, follow-up after that."""
    if given is not None or in_file is not None:
        return checks.review_type(given or in_file or ""), False
    earlier = s.scalar(select(Review.id).where(Review.program_id == program.id).limit(1))
    return (ReviewType.BASELINE.value if earlier is None else ReviewType.FOLLOW_UP.value), True


def _consensus_entry(review_file: ReviewFile, scale: Scale, item: Item) -> ConsensusEntry:
    """The file's rating (or inputs) of the item as its consensus, with its notes; an item
    without a rating is not rated, for the file's reason or because the file gave none."""
    entry = review_file.entries.get(item.id)
    notes = review_file.notes.get(item.id)
    resolved = Resolved(None, None, None)
    if entry is not None:
        resolved = resolve(item, scale, None, entry.rating, entry.inputs)
    texts = [notes.evidence, notes.note] if notes is not None else []
    evidence = "\n\n".join(t.strip() for t in texts if t and t.strip()) or None
    reason = None
    if resolved.rating is None:
        reason = (notes.not_rated_reason if notes is not None else None) or "not rated in the review file"
    where = f"item {item.id}:"
    try:
        sources = checks.data_sources(notes.data_sources if notes else None)
    except ValidationProblem as exc:
        raise ValidationProblem([f"{where} {p}" for p in exc.problems]) from None
    return ConsensusEntry(
        rating=resolved.rating,
        rating_source=resolved.source,
        inputs=resolved.inputs,
        evidence=checks.optional_text(evidence, f"{where} note and evidence together", EVIDENCE_LENGTH),
        recommendation=checks.optional_text(
            notes.recommendation if notes else None, f"{where} recommendation", RECOMMENDATION_LENGTH
        ),
        data_sources=sources,
        not_rated_reason=checks.optional_text(reason, f"{where} not_rated_reason", REASON_LENGTH),
    )


def review_digest(review_file: ReviewFile) -> str:
    """A digest of what the file says (not its layout), to recognise a repeated import."""
    content: dict[str, Any] = {
        "scale": [review_file.scale.id, review_file.scale.version, review_file.scale.content_hash],
        "date": review_file.date,
        "end_date": review_file.end_date,
        "type": review_file.review_type,
        "raters": review_file.raters,
        "texts": [review_file.strengths, review_file.summary, review_file.recommendations],
        "items": {
            item_id: {
                "rating": entry.rating,
                "inputs": dict(entry.inputs) if entry.inputs else None,
                "notes": review_file.notes[item_id].__dict__ if item_id in review_file.notes else None,
            }
            for item_id, entry in sorted(review_file.entries.items())
        },
    }
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _existing_import(s: Session, program: Program, review_file: ReviewFile, digest: str) -> Review | None:
    """The review this file was already imported as, or None; refuses a conflicting one."""
    assert review_file.date is not None
    same_day = s.scalars(
        select(Review)
        .where(
            Review.program_id == program.id,
            Review.scale_id == review_file.scale.id,
            Review.review_date == review_file.date,
            Review.amendment_of.is_(None),
        )
        .order_by(Review.id)
    ).all()
    for review in same_day:
        if review.import_digest == digest:
            return review
    if same_day:
        ids = ", ".join(str(r.id) for r in same_day)
        raise ValidationProblem(
            f"{program.name} already has a {review_file.scale.id} review dated {review_file.date} "
            f"(review {ids}) with different content; to change a stored review, amend it"
        )
    return None
