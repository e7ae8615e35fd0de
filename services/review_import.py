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

from services import reviews as svc
from services.access import Action, Actor
from services.database import Database
from services.errors import ValidationProblem
from services.review_file import ReviewFile
from storage.models import ConsensusRating, Program, ProgramModel, Review, ReviewStatus, ReviewType


@dataclass(frozen=True)
class ImportResult:
    review: svc.ReviewView
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
    who = svc._actor(actor, Action.IMPORT)
    name = svc._required_text(program or review_file.program, "program name (--program)", svc.NAME_LENGTH)
    if review_file.date is None:
        raise ValidationProblem("the review file has no date; a stored review needs one (date: 2026-03-14)")
    scale = review_file.scale
    registry_scale = svc._registry_scale(db, scale.id, scale.version)
    if registry_scale.content_hash != scale.content_hash:
        raise ValidationProblem(
            f"the file was read with a different {scale.id} {scale.version} than is loaded"
        )
    digest = review_digest(review_file)
    with db.writing() as s:
        log = svc._Log(s, who)
        found = s.scalars(select(Program).where(Program.name == name)).one_or_none()
        program_created = found is None
        if found is None:
            model = scale.model.upper() if scale.model and scale.model.upper() in set(ProgramModel) else None
            found = Program(
                name=name,
                provider=svc._provider(
                    s, svc._optional_text(review_file.provider, "provider", svc.NAME_LENGTH), log
                ),
                region=svc._optional_text(review_file.region, "region", svc.NAME_LENGTH),
                model=model,
                created_at=log.at,
                updated_at=log.at,
            )
            s.add(found)
            s.flush()
            log.program_id = found.id
            log(f"program[{found.id}]", "created", None, svc._program_fields(found))
        else:
            svc._check_model(found, scale)
            existing = _existing_import(s, found, review_file, digest)
            if existing is not None:
                view = svc._review_view(s, existing, registry_scale)
                return ImportResult(view, created=False, program_created=False, review_type_inferred=False)
        log.program_id = found.id

        inferred = False
        if review_type is None and review_file.review_type is None:
            earlier = s.scalar(select(Review.id).where(Review.program_id == found.id).limit(1))
            kind = ReviewType.BASELINE.value if earlier is None else ReviewType.FOLLOW_UP.value
            inferred = True
        else:
            kind = svc._review_type(review_type or review_file.review_type or "")
        svc._check_review_dates(review_file.date, review_file.end_date)

        review = svc._new_review(s, found, scale, review_file.date, review_file.end_date, kind, log)
        review.strengths = svc._optional_text(review_file.strengths, "strengths")
        review.summary = svc._optional_text(review_file.summary, "summary")
        review.recommendations = svc._optional_text(review_file.recommendations, "recommendations")
        review.import_digest = digest
        log(
            "review",
            "created",
            None,
            {**svc._review_fields(review), "imported_from": source or "a review file"},
        )
        for rater in svc._rater_names(review_file.raters):
            svc._add_rater(s, review, rater, log)

        rows = []
        for item in scale.items:
            entry = review_file.entries.get(item.id)
            notes = review_file.notes.get(item.id)
            resolved = svc._Resolved(None, None, None)
            if entry is not None:
                base = ConsensusRating(rating=None, rating_source=None, inputs=None)
                resolved = svc._resolve(item, scale, base, entry.rating, entry.inputs)
            texts = [notes.evidence, notes.note] if notes is not None else []
            evidence = "\n\n".join(t.strip() for t in texts if t and t.strip()) or None
            reason = None
            if resolved.rating is None:
                reason = (
                    notes.not_rated_reason if notes is not None else None
                ) or "not rated in the review file"
            row = ConsensusRating(
                review_id=review.id,
                item_id=item.id,
                rating=resolved.rating,
                rating_source=resolved.source,
                inputs=resolved.inputs,
                evidence=evidence,
                recommendation=svc._optional_text(notes.recommendation if notes else None, "recommendation"),
                data_sources=svc._sources(notes.data_sources if notes else None),
                not_rated_reason=reason,
                updated_at=log.at,
                updated_by=who,
            )
            s.add(row)
            rows.append(row)
            after = svc._consensus_fields(row)
            for key, value in after.items():
                log(f"consensus[{item.id}]", key, None, value)
        log("review", "status", ReviewStatus.DRAFT.value, ReviewStatus.CONSENSUS.value)
        review.status = ReviewStatus.CONSENSUS
        s.flush()
        svc._finalize(s, review, scale, rows, log)
        view = svc._review_view(s, review, scale)
    return ImportResult(view, created=True, program_created=program_created, review_type_inferred=inferred)


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
