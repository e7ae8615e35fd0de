"""Many reviews stored final at once (the historical import): the rows, audit rows, score,
content checksum, ratings seal and stored sums that `lifecycle.store_final_review` writes for
each review, written a chunk of reviews at a time with one statement per table (executemany)
instead of the ORM's unit of work, and computed from the values in memory by the same recipe
(`lifecycle.final_facts`) instead of read back from the database.

The immutability triggers stay on: a final review refuses new rows, so each review is inserted
at consensus, its raters and consensus rows after it, and then an UPDATE per review (one
executemany) makes it final, as the ORM path does. The audit rows are those the ORM path logs,
in its order per review, linked into the audit hash chain in memory and written by the
caller's BufferedAuditLog (one INSERT per chunk, the chain's lock already held).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from scales import Scale
from services.audit import BufferedAuditLog, consensus_fields, review_fields
from services.errors import ValidationProblem
from services.lifecycle import FinalReviewRecord, final_facts
from storage.bulk import bulk_insert
from storage.integrity import REVIEW_FIELDS, ConsensusValues, session_key
from storage.models import (
    ConsensusRating,
    FinalReviewSums,
    Program,
    Review,
    ReviewRater,
    ReviewStatus,
)

__all__ = ["CHUNK_REVIEWS", "FinalReviewOrder", "store_final_reviews"]

REVIEWS: Table = Review.__table__  # type: ignore[assignment]
RATERS: Table = ReviewRater.__table__  # type: ignore[assignment]
CONSENSUS: Table = ConsensusRating.__table__  # type: ignore[assignment]
SUMS: Table = FinalReviewSums.__table__  # type: ignore[assignment]

CHUNK_REVIEWS = 250
"""Reviews per chunk: about 7,000 consensus rows and 8,000 audit rows per statement; a chunk's
rows are held in memory until it is written, so a larger chunk saves little and costs memory."""

# The ORM counts a review's versions: inserted as a draft (1), moved to consensus (2), made final
# (3), one more when raters were added (their collection changed); a consensus row is inserted
# once (1). The same numbers are written here.
CONSENSUS_VERSION, FINAL_VERSION, RATING_VERSION = 2, 3, 1


@dataclass(frozen=True)
class FinalReviewOrder:
    """One review to store final: its program (already stored), scale and checked record."""

    program: Program
    scale: Scale
    record: FinalReviewRecord


def store_final_reviews(
    s: Session, log: BufferedAuditLog, orders: Sequence[FinalReviewOrder], chunk: int | None = None
) -> Iterator[int]:
    """Store every order as a final review in `s`'s transaction, `chunk` (CHUNK_REVIEWS) reviews at a time,
    yielding each review's id once its chunk is written (the caller reports progress).

    What is stored is what store_final_review stores for each order under `log` (its actor
    and time). ValidationProblem, before anything is written, when a record lacks an item of
    its scale."""
    missing = [
        f"item {item.id}: no consensus in the record"
        for order in orders
        for item in order.scale.items
        if item.id not in order.record.items
    ]
    if missing:
        raise ValidationProblem(missing)
    key = session_key(s)
    size = chunk or CHUNK_REVIEWS
    for start in range(0, len(orders), size):
        part = orders[start : start + size]
        s.flush()  # rows the caller added (new programs) are written before these refer to them
        conn = s.connection()
        inserted = [_review_values(order, log) for order in part]
        statement = insert(REVIEWS).returning(REVIEWS.c.id, sort_by_parameter_order=True)
        ids = list(conn.execute(statement, inserted).scalars())
        finals: list[dict[str, Any]] = []
        sums: list[dict[str, Any]] = []
        raters: list[dict[str, Any]] = []
        consensus: list[dict[str, Any]] = []
        for review_id, order, values in zip(ids, part, inserted, strict=True):
            # As it is once final, not added to the session: what review_fields and the checksum read.
            review = Review(**values, id=review_id, finalized_at=log.at, finalized_by=log.actor)
            final, sum_row = _review_rows(key, log, review, order, raters, consensus)
            finals.append(final)
            sums.append(sum_row)
        bulk_insert(conn, RATERS, raters)
        bulk_insert(conn, CONSENSUS, consensus)
        made_final = update(REVIEWS).where(REVIEWS.c.id == bindparam("review_id"))
        conn.execute(made_final, finals)  # after its rows: a final review refuses new ones
        bulk_insert(conn, SUMS, sums)
        log.write()
        yield from ids


def _review_values(order: FinalReviewOrder, log: BufferedAuditLog) -> dict[str, Any]:
    """The review's row as it is inserted (at consensus; the rest is set when it becomes final)."""
    return {
        "program_id": order.program.id,
        "scale_id": order.scale.id,
        "scale_version": order.scale.version,
        "scale_hash": order.scale.content_hash,
        "review_date": order.record.review_date,
        "review_end_date": order.record.review_end_date,
        "review_type": order.record.review_type,
        "status": ReviewStatus.CONSENSUS.value,
        "strengths": order.record.strengths,
        "summary": order.record.summary,
        "recommendations": order.record.recommendations,
        "amendment_number": 0,
        "import_digest": order.record.import_digest,
        "created_at": log.at,
        "created_by": log.actor,
        "updated_at": log.at,
        "version": CONSENSUS_VERSION,
    }


def _review_rows(
    key: str | None,
    log: BufferedAuditLog,
    review: Review,
    order: FinalReviewOrder,
    raters: list[dict[str, Any]],
    consensus: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One review's rater and consensus rows (appended), its audit rows (logged, in the ORM
    path's order), and the values that make it final and its stored sums."""
    scale, record, review_id = order.scale, order.record, review.id
    log.program_id, log.review_id = order.program.id, review_id
    log("review", "created", None, {**review_fields(review), "imported_from": record.imported_from})
    for rater in record.raters:
        raters.append({"review_id": review_id, "rater": rater, "added_at": log.at, "added_by": log.actor})
        log("review", "rater_added", None, rater)
    rows = []
    for item in scale.items:
        row = ConsensusValues(item_id=item.id, **record.items[item.id].columns())
        rows.append(row)
        consensus.append(
            {
                **row.__dict__,
                "review_id": review_id,
                "updated_at": log.at,
                "updated_by": log.actor,
                "version": RATING_VERSION,
            }
        )
        for name, value in consensus_fields(row).items():
            log(f"consensus[{item.id}]", name, None, value)
    log("review", "status", ReviewStatus.DRAFT.value, ReviewStatus.CONSENSUS.value)
    log("review", "status", ReviewStatus.CONSENSUS.value, ReviewStatus.FINAL.value)
    values = {name: getattr(review, name) for name in REVIEW_FIELDS}
    facts = final_facts(key, scale, values, record.raters, rows)
    log("review", "final_score", None, facts.summary)
    final = {
        "review_id": review_id,
        "status": ReviewStatus.FINAL.value,
        "finalized_at": log.at,
        "finalized_by": log.actor,
        "final_score": facts.final_score,
        "content_checksum": facts.content_checksum,
        "ratings_seal": facts.ratings_seal,
        "version": FINAL_VERSION + (1 if record.raters else 0),
    }
    return final, facts.sums
