"""Checksums of finalized reviews.

When a review becomes final, a keyed digest (HMAC-SHA256 with FIDELITY_INTEGRITY_KEY, see
`keyed_digest`; plain SHA-256 without a key) of its content (the review's fields, raters, every
rater's ratings and the consensus) is stored with it. Showing or exporting a final review
recomputes it from the rows as they are now: a difference means the rows were changed
outside the application (the triggers refuse that, so someone disabled them or edited the
file), and the review must not be shown or exported as if it were the finalized record.

The content is canonical JSON (sorted keys, no spaces, ISO dates), built from plain values
so that bulk writers (the benchmark generator) can compute the same checksum without ORM
objects. Changing what goes into it invalidates every stored checksum: don't, or add a
versioned prefix and keep the old recipe for old reviews.

A stored checksum says how it was made by its prefix: "hmac-sha256:" (keyed) or "sha256:"
(plain). A plain one is verified as plain SHA-256 even when a key is configured, so a review
finalized before the key was set is told apart from a tampered one (`fidelity db check`
reports it as not keyed; `fidelity db rekey` keys it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from storage.models import ConsensusRating, RaterRating, Review

PREFIX = "sha256:"
KEYED_PREFIX = "hmac-sha256:"


def keyed_digest(key: str | None, text: str) -> str:
    """The digest every integrity record uses: HMAC-SHA256 of `text` with `key`
    ("hmac-sha256:<hex>"), or, with no key configured, plain SHA-256 ("sha256:<hex>"), which
    anyone who can write the database can recompute (README, Integrity)."""
    data = text.encode("utf-8")
    if key is None:
        return PREFIX + hashlib.sha256(data).hexdigest()
    return KEYED_PREFIX + hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()


SESSION_KEY = "fidelity_integrity_key"
"""The Session.info entry holding the database's integrity key (services.database.Database)."""


def session_key(s: Session) -> str | None:
    """The integrity key of the Database `s` belongs to (None: no key, or not a Database's session:
    its digests are then plain and fail a keyed check, never the other way round)."""
    key = s.info.get(SESSION_KEY)
    return key if isinstance(key, str) else None


def is_keyed(digest: str | None) -> bool:
    """Whether a stored digest was made with a key (its prefix says so)."""
    return digest is not None and digest.startswith(KEYED_PREFIX)


OK = "ok"
MISSING = "missing"  # no digest stored
MISMATCH = "mismatch"  # the content does not match the digest: changed outside the application
NOT_KEYED = "not keyed"  # a plain digest that matches, while a key is configured
NO_KEY = "keyed, no key"  # a keyed digest, while no key is configured: cannot be verified


def digest_status(key: str | None, text: str, stored: str | None) -> str:
    """How `stored` relates to `text` under `key`: OK, or why not (the constants above).

    A plain digest is checked as plain SHA-256 even when a key is configured, so a record from
    before the key (NOT_KEYED) is told apart from a changed one (MISMATCH); both fail while a
    key is configured, since anyone can recompute a plain digest. Constant-time comparison."""
    if stored is None:
        return MISSING
    if is_keyed(stored):
        if key is None:
            return NO_KEY
        return OK if hmac.compare_digest(keyed_digest(key, text), stored) else MISMATCH
    if not hmac.compare_digest(keyed_digest(None, text), stored):
        return MISMATCH
    return OK if key is None else NOT_KEYED


REVIEW_FIELDS = (
    "id", "program_id", "scale_id", "scale_version", "scale_hash", "review_date", "review_end_date",
    "review_type", "strengths", "summary", "recommendations", "amendment_of", "amendment_number",
    "amendment_reason", "final_score", "finalized_at", "finalized_by",
)  # fmt: skip
CONSENSUS_FIELDS = (
    "item_id", "rating", "rating_source", "inputs", "evidence", "recommendation", "data_sources",
    "not_rated_reason",
)  # fmt: skip
RATER_FIELDS = ("rater", "item_id", "rating", "rating_source", "inputs", "note", "data_sources")
SET_ONLY_FIELDS = ("override_reason",)
"""Rating fields added after checksums were first stored: in a row's content only when set, so a
checksum stored before them stays valid (CONSENSUS_FIELDS and RATER_FIELDS read them too)."""


def content_checksum(
    key: str | None,
    review: Mapping[str, Any],
    raters: Iterable[str],
    consensus: Iterable[Mapping[str, Any]],
    rater_ratings: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The checksum of a final review's content, from plain values (see REVIEW_FIELDS etc.),
    keyed with `key` (None: plain SHA-256)."""
    return keyed_digest(key, content_text(review, raters, consensus, rater_ratings))


def content_text(
    review: Mapping[str, Any],
    raters: Iterable[str],
    consensus: Iterable[Mapping[str, Any]],
    rater_ratings: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The canonical JSON of a final review's content that its checksum digests."""
    content = {
        "review": {key: review.get(key) for key in REVIEW_FIELDS},
        "raters": sorted(raters),
        "consensus": sorted(
            (_row_content(row, CONSENSUS_FIELDS) for row in consensus),
            key=lambda row: str(row["item_id"]),
        ),
        "rater_ratings": sorted(
            (_row_content(row, RATER_FIELDS) for row in rater_ratings),
            key=lambda row: (str(row["rater"]), str(row["item_id"])),
        ),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


@dataclass(frozen=True)
class ConsensusValues:
    """One consensus row's values as they are written, without an ORM object: what a bulk
    writer (the historical import) scores, checksums and seals, as the ORM path does its rows."""

    item_id: str
    rating: int | None = None
    rating_source: str | None = None
    inputs: dict[str, Any] | None = None
    evidence: str | None = None
    recommendation: str | None = None
    data_sources: list[str] | None = None
    not_rated_reason: str | None = None
    override_reason: str | None = None


def consensus_values(row: ConsensusRating | ConsensusValues) -> dict[str, Any]:
    """A consensus row's values the checksum covers (content_text's `consensus`)."""
    return {key: getattr(row, key) for key in (*CONSENSUS_FIELDS, *SET_ONLY_FIELDS)}


def rater_values(row: RaterRating) -> dict[str, Any]:
    """A rater's rating's values the checksum covers (content_text's `rater_ratings`)."""
    return {key: getattr(row, key) for key in (*RATER_FIELDS, *SET_ONLY_FIELDS)}


def failing_reviews(s: Session, reviews: Sequence[Review], key: str | None) -> list[int]:
    """Ids of the final reviews among `reviews` whose rows no longer match their checksum under
    `key` (or that have none, or one not made with the key configured: digest_status)."""
    finals = [r for r in reviews if r.status == "final"]
    texts = contents(s, finals)
    return [r.id for r in finals if digest_status(key, texts[r.id], r.content_checksum) != OK]


def checksums(s: Session, reviews: Sequence[Review], key: str | None, chunk: int = 500) -> dict[int, str]:
    """Each review's checksum from its rows, keyed with `key`."""
    return {review_id: keyed_digest(key, text) for review_id, text in contents(s, reviews, chunk).items()}


def contents(s: Session, reviews: Sequence[Review], chunk: int = 500) -> dict[int, str]:
    """Each review's content text (content_text) from its rows, read a chunk of reviews at a
    time (two queries each)."""
    found: dict[int, str] = {}
    for start in range(0, len(reviews), chunk):
        part = {r.id: r for r in reviews[start : start + chunk]}
        consensus: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rater_ratings: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in s.scalars(select(ConsensusRating).where(ConsensusRating.review_id.in_(part))):
            consensus[row.review_id].append(consensus_values(row))
        for rrow in s.scalars(select(RaterRating).where(RaterRating.review_id.in_(part))):
            rater_ratings[rrow.review_id].append(rater_values(rrow))
        for review_id, review in part.items():
            found[review_id] = content_text(
                {key: getattr(review, key) for key in REVIEW_FIELDS},
                [r.rater for r in review.raters],
                consensus[review_id],
                rater_ratings[review_id],
            )
    return found


def _row_content(row: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    content = {key: row.get(key) for key in fields}
    content.update({key: row[key] for key in SET_ONLY_FIELDS if row.get(key) is not None})
    return content


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # Aware UTC on both dialects (storage.models.UTCDateTime); microseconds are kept by both.
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot checksum a {type(value).__name__}")


# ---- the ratings seal ------------------------------------------------------------------------
# What every read of final reviews uses (the analytics' ratings, the Reviews list's total and
# band), sealed per review when it becomes final and checked on every read by the services'
# integrity gate (services.integrity_gate): cheap enough for that, unlike the full checksum.

SEAL_VERSION = "ratings-seal-1"
SEAL_HALF = 32  # hex digits of each half of a seal: 128 bits (a truncated HMAC, RFC 2104)
RATING_SEPARATOR = "\x1f"  # between an item id and its rating (control characters: no item id holds one)
PAIR_SEPARATOR = "\x1e"  # between two items
SEAL_HEAD = (
    "id", "program_id", "scale_id", "scale_version", "scale_hash", "review_date", "amendment_of",
    "total_sum", "rated", "items", "mean", "band",
)  # fmt: skip
"""The review's values in the seal, in this order; the last five are the stored final score's."""


def score_facts(final_score: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored final score's values the seal covers (what the Reviews list reads of it)."""
    total = (final_score or {}).get("total") or {}
    return {
        "total_sum": total.get("sum"),
        "rated": total.get("rated"),
        "items": total.get("items"),
        "mean": total.get("mean"),
        "band": (final_score or {}).get("band"),
    }


def rating_pair(item_id: str, rating: int | None) -> str:
    """One consensus row as the seal takes it (and as the gate's SQL writes it): item id, the
    separator, the rating ("" when not rated)."""
    return f"{item_id}{RATING_SEPARATOR}{'' if rating is None else int(rating)}"


def seal_text(head: Sequence[Any], pairs: Iterable[str]) -> str:
    """The canonical text a seal digests: `head` (SEAL_HEAD's first seven values, or all twelve
    with the score's; plain: ints, text, a date or its ISO text, a float mean) as JSON, a
    newline, then every consensus row's `rating_pair`, sorted (so by item id: ids are unique in a
    review), joined by PAIR_SEPARATOR. The two lengths are told apart by the first value."""
    (review_id, program_id, scale_id, version, digest, day, amendment_of, *score) = head
    values = [
        SEAL_VERSION if score else SEAL_VERSION + "/ratings",
        int(review_id),
        int(program_id),
        str(scale_id),
        str(version),
        None if digest is None else str(digest),
        day.isoformat() if isinstance(day, dt.date) else str(day),
        _integer(amendment_of),
    ]
    if score:
        total_sum, rated, items, mean, band = score
        values += [
            _integer(total_sum),
            _integer(rated),
            _integer(items),
            None if mean is None else float(mean),  # an int mean in the JSON reads back as a float in SQL
            None if band is None else str(band),
        ]
    head_text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return head_text + "\n" + PAIR_SEPARATOR.join(sorted(pairs))


def seal_parts(
    key: str | None, head: Sequence[Any], pairs: Sequence[str], facts: Sequence[Any] | None
) -> tuple[str, str | None]:
    """The two halves of a seal: the ratings part (the review's values and ratings, all the
    analytics read) and, given the score's values `facts`, the whole part (those too, which
    the Reviews list reads). Each is the first 128 bits of its keyed digest (hex)."""
    ratings = keyed_digest(key, seal_text(head, pairs)).split(":", 1)[1][:SEAL_HALF]
    if facts is None:
        return ratings, None
    whole = keyed_digest(key, seal_text([*head, *facts], pairs)).split(":", 1)[1][:SEAL_HALF]
    return ratings, whole


def seal_prefix(key: str | None) -> str:
    """A seal's first characters, which say how it was made: "hmac-sha256:" or "sha256:"."""
    return PREFIX if key is None else KEYED_PREFIX


def ratings_seal(
    key: str | None,
    review: Mapping[str, Any],
    ratings: Iterable[tuple[str, int | None]],
    final_score: Mapping[str, Any] | None,
) -> str:
    """The seal of a final review from plain values: `review` has SEAL_HEAD's first seven keys,
    `ratings` is every consensus row's (item id, rating), `final_score` the stored score.
    "<prefix><ratings part>.<whole part>" (seal_parts; 77 characters at most)."""
    facts = score_facts(final_score)
    head = [review[k] for k in SEAL_HEAD[:7]]
    pairs = [rating_pair(i, r) for i, r in ratings]
    part, whole = seal_parts(key, head, pairs, [facts[k] for k in SEAL_HEAD[7:]])
    return f"{seal_prefix(key)}{part}.{whole}"


def final_review_seals(conn: Connection, key: str | None) -> dict[int, str]:
    """Every final review's seal under `key`, from its rows as they are now (two plain
    queries, no ORM objects; lightweight tables, so a migration can use it)."""
    return {review_id: seal for review_id, seal, _stored in _seals(conn, key)}


def resealed(conn: Connection, old_key: str | None, new_key: str | None) -> tuple[dict[int, str], list[int]]:
    """What re-sealing with a new key (`fidelity db rekey`) writes: each final review whose
    stored seal verifies under `old_key`, with its seal under `new_key`; and the ids of those
    that do not verify (left unsealed, so every read goes on leaving them out)."""
    new = final_review_seals(conn, new_key)
    good: dict[int, str] = {}
    failing: list[int] = []
    for review_id, seal, stored in _seals(conn, old_key):
        if stored is not None and hmac.compare_digest(stored, seal):
            good[review_id] = new[review_id]
        else:
            failing.append(review_id)
    return good, failing


def _seals(conn: Connection, key: str | None) -> Iterator[tuple[int, str, str | None]]:
    """(review id, its seal under `key` from its rows now, the seal stored) of every final review."""
    reviews = sa.table(
        "reviews",
        *(sa.column(name, sa.Integer()) for name in ("id", "program_id", "amendment_of")),
        *(sa.column(name, sa.Text()) for name in ("scale_id", "scale_version", "scale_hash", "status")),
        sa.column("review_date", sa.Date()),
        sa.column("final_score", sa.JSON()),
        sa.column("ratings_seal", sa.Text()),
    )
    consensus = sa.table(
        "consensus_ratings",
        sa.column("review_id", sa.Integer()),
        sa.column("item_id", sa.Text()),
        sa.column("rating", sa.Integer()),
    )
    final = reviews.c.status == "final"
    pairs: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    query = sa.select(consensus).join(reviews, reviews.c.id == consensus.c.review_id).where(final)
    for review_id, item_id, rating in conn.execute(query):
        pairs[review_id].append((item_id, rating))
    for row in conn.execute(sa.select(reviews).where(final)).mappings():
        seal = ratings_seal(key, dict(row), pairs[row["id"]], row["final_score"])
        yield row["id"], seal, row["ratings_seal"]


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)
