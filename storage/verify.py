"""Whole-database checks for `fidelity db check` and `fidelity db rekey`: every final review's
checksum (storage.integrity), read with plain column selects a chunk of reviews at a time, not
as ORM objects, so a database of tens of thousands of reviews is checked in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from storage.integrity import (
    CONSENSUS_FIELDS,
    RATER_FIELDS,
    REVIEW_FIELDS,
    SET_ONLY_FIELDS,
    content_text,
    digest_status,
)
from storage.models import ConsensusRating, RaterRating, Review, ReviewRater, ReviewStatus

REVIEWS: Table = Review.__table__  # type: ignore[assignment]
RATERS: Table = ReviewRater.__table__  # type: ignore[assignment]
CONSENSUS: Table = ConsensusRating.__table__  # type: ignore[assignment]
RATER_RATINGS: Table = RaterRating.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ReviewDigest:
    """One final review's stored checksum and its content text as the rows give it now."""

    review_id: int
    stored: str | None
    text: str

    def status(self, key: str | None) -> str:
        """storage.integrity.digest_status of this review under `key`."""
        return digest_status(key, self.text, self.stored)


def final_review_texts(conn: Connection, chunk: int = 500) -> Iterator[ReviewDigest]:
    """Every final review, in id order, with its content text (storage.integrity.content_text)."""
    last_id = 0
    columns = [REVIEWS.c[name] for name in REVIEW_FIELDS]
    while True:
        reviews = (
            conn.execute(
                select(*columns, REVIEWS.c.content_checksum)
                .where(REVIEWS.c.status == ReviewStatus.FINAL.value, REVIEWS.c.id > last_id)
                .order_by(REVIEWS.c.id)
                .limit(chunk)
            )
            .mappings()
            .all()
        )
        if not reviews:
            return
        ids = [row["id"] for row in reviews]
        raters = _grouped(conn, select(RATERS.c.review_id, RATERS.c.rater).where(RATERS.c.review_id.in_(ids)))
        consensus = _grouped(
            conn,
            select(
                CONSENSUS.c.review_id, *(CONSENSUS.c[n] for n in (*CONSENSUS_FIELDS, *SET_ONLY_FIELDS))
            ).where(CONSENSUS.c.review_id.in_(ids)),
        )
        ratings = _grouped(
            conn,
            select(
                RATER_RATINGS.c.review_id, *(RATER_RATINGS.c[n] for n in (*RATER_FIELDS, *SET_ONLY_FIELDS))
            ).where(RATER_RATINGS.c.review_id.in_(ids)),
        )
        for row in reviews:
            review_id = row["id"]
            text = content_text(
                dict(row),
                [r["rater"] for r in raters[review_id]],
                consensus[review_id],
                ratings[review_id],
            )
            yield ReviewDigest(review_id, row["content_checksum"], text)
        last_id = ids[-1]


def _grouped(conn: Connection, query: Any) -> dict[int, list[Mapping[str, Any]]]:
    found: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        found[row["review_id"]].append(dict(row))
    return found
