"""Each final review's rating sums, stored when it becomes final (final reviews never change),
so the agency dashboard reads them with an index seek instead of adding up every rating.

A row of `final_review_sums` holds how many items were rated and their sum, and per subscale
the same in one compact text ("H=11/34;O=7/22;S=10/34"), with a seal: a keyed digest (the
integrity key, as every seal) of the review's sealed values (storage.integrity.SEAL_HEAD's
first seven) and the sums. Every read of the stored sums recomputes the seal
(services.final_sums), so a sum edited outside the application is never shown; `fidelity db
check` also recomputes the sums from the ratings and compares them; `fidelity db rekey`
writes them again from the ratings (verified by their own seal first) under the new key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import Connection

from storage.integrity import KEYED_PREFIX, PREFIX, keyed_digest

SUMS_VERSION: Final = "final-sums-1"
SUBSCALE_SEPARATOR: Final = ";"
Subscales = Sequence[tuple[str, Collection[str]]]
"""A scale's subscales in order: (subscale id, its item ids)."""

SUMS = sa.table(
    "final_review_sums",
    sa.column("review_id", sa.Integer()),
    sa.column("rated", sa.Integer()),
    sa.column("total_sum", sa.Integer()),
    sa.column("subscales", sa.Text()),
    sa.column("seal", sa.Text()),
)
_REVIEWS = sa.table(
    "reviews",
    *(sa.column(name, sa.Integer()) for name in ("id", "program_id", "amendment_of")),
    *(sa.column(name, sa.Text()) for name in ("scale_id", "scale_version", "scale_hash", "status")),
    sa.column("review_date", sa.Date()),
)
_RATINGS = sa.table(
    "consensus_ratings",
    sa.column("review_id", sa.Integer()),
    sa.column("item_id", sa.Text()),
    sa.column("rating", sa.Integer()),
)


def sums_of(subscales: Subscales, pairs: Iterable[tuple[str, int | None]]) -> tuple[int, int, str]:
    """(items rated, their sum, the subscales' text) of a review's (item id, rating) pairs."""
    ratings = {item_id: rating for item_id, rating in pairs if rating is not None}
    parts = []
    for sub_id, items in subscales:
        values = [ratings[i] for i in items if i in ratings]
        parts.append(f"{sub_id}={len(values)}/{sum(values)}")
    return len(ratings), sum(ratings.values()), SUBSCALE_SEPARATOR.join(parts)


def parse_subscales(text: str) -> dict[str, tuple[int, int]]:
    """subscale id -> (rated, sum) of a stored subscales text."""
    found: dict[str, tuple[int, int]] = {}
    for part in text.split(SUBSCALE_SEPARATOR) if text else ():
        sub_id, counts = part.rsplit("=", 1)
        rated, total = counts.split("/", 1)
        found[sub_id] = (int(rated), int(total))
    return found


def sums_seal(key: str | None, head: Sequence[Any], rated: int, total_sum: int, subscales: str) -> str:
    """The seal of a review's stored sums: `head` is its id, program id, scale id, version,
    scale hash, review date and amendment_of (SEAL_HEAD's first seven)."""
    review_id, program_id, scale_id, version, digest, day, amendment_of = head
    values = [
        SUMS_VERSION,
        int(review_id),
        int(program_id),
        str(scale_id),
        str(version),
        None if digest is None else str(digest),
        day.isoformat() if isinstance(day, dt.date) else str(day),
        None if amendment_of is None else int(amendment_of),
        int(rated),
        int(total_sum),
        str(subscales),
    ]
    return keyed_digest(key, json.dumps(values, separators=(",", ":"), ensure_ascii=False))


def seal_matches(
    key: str | None, head: Sequence[Any], rated: Any, total_sum: Any, subscales: Any, seal: Any
) -> bool:
    if seal is None or rated is None or total_sum is None or subscales is None:
        return False
    return hmac.compare_digest(str(seal), sums_seal(key, head, rated, total_sum, subscales))


# The C string encoder json.dumps(ensure_ascii=False) itself uses, so SumsSeals' text is its text.
_json_string: Any = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


_VERIFIED: set[tuple[Any, ...]] = set()
"""Every (key, sealed values, seal) SumsSeals found matching in this process. A seal is a pure
function of the key and the values, so the same inputs verify again without the text and the
HMAC; any changed value or seal (or another key) is another entry and is checked in full.
Bounded: emptied when full."""
_VERIFIED_MAX: Final = 200_000


class SumsSeals:
    """`seal_matches` for many rows under one key, with the least work per row: the key's bytes
    once, the sealed text formatted directly (exactly json.dumps' text of sums_seal's values,
    held to it by tests/unit/test_final_sums_seal.py) and one one-shot HMAC per row, once per
    process for the same values and seal (`_VERIFIED`: the dashboard reads the same final
    reviews' sums on every call)."""

    def __init__(self, key: str | None) -> None:
        self._key = None if key is None else key.encode("utf-8")
        self._prefix = PREFIX if key is None else KEYED_PREFIX
        self._head = '["' + SUMS_VERSION + '",'

    def text(self, head: Sequence[Any], rated: Any, total_sum: Any, subscales: Any) -> str:
        """json.dumps(values, separators=(",", ":"), ensure_ascii=False) of sums_seal's values."""
        review_id, program_id, scale_id, version, digest, day, amendment_of = head
        q = _json_string
        return (
            f"{self._head}{int(review_id)},{int(program_id)},{q(str(scale_id))},{q(str(version))},"
            f"{'null' if digest is None else q(str(digest))},"
            f"{q(day.isoformat() if isinstance(day, dt.date) else str(day))},"
            f"{'null' if amendment_of is None else int(amendment_of)},"
            f"{int(rated)},{int(total_sum)},{q(str(subscales))}]"
        )

    def matches(self, head: Sequence[Any], rated: Any, total_sum: Any, subscales: Any, seal: Any) -> bool:
        """Whether `seal` is the seal of these stored sums of the review with `head`."""
        if seal is None or rated is None or total_sum is None or subscales is None:
            return False
        seen = (self._key, tuple(head), rated, total_sum, subscales, seal)
        if seen in _VERIFIED:
            return True
        if not self._verify(head, rated, total_sum, subscales, seal):
            return False  # not remembered: a failing row is checked in full every time
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED.add(seen)
        return True

    def matching(self, rows: Iterable[tuple[Sequence[Any], Any, Any, Any, Any]]) -> list[bool]:
        """`matches` of each (head, rated, total_sum, subscales, seal), in one call: a read of a
        hundred programs' sums called `matches` a hundred times."""
        key, verified = self._key, _VERIFIED
        found: list[bool] = []
        for head, rated, total_sum, subscales, seal in rows:
            if (key, tuple(head), rated, total_sum, subscales, seal) in verified:
                found.append(True)
            else:  # the full check (it remembers a match)
                found.append(self.matches(head, rated, total_sum, subscales, seal))
        return found

    def _verify(self, head: Sequence[Any], rated: Any, total_sum: Any, subscales: Any, seal: Any) -> bool:
        data = self.text(head, rated, total_sum, subscales).encode("utf-8")
        if self._key is None:
            digest = hashlib.sha256(data).hexdigest()
        else:
            digest = hmac.digest(self._key, data, "sha256").hex()
        # bytes: a seal edited to non-ASCII text is a mismatch, not a TypeError
        return hmac.compare_digest(str(seal).encode("utf-8"), (self._prefix + digest).encode("ascii"))


def computed_sums(
    conn: Connection, key: str | None, scales: Mapping[tuple[str, str], Subscales]
) -> dict[int, dict[str, Any]]:
    """Every final review's sums row as it should be, from its consensus ratings now (reviews of a
    scale version not in `scales` are left out: their subscales are unknown)."""
    final = _REVIEWS.c.status == "final"
    pairs: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    query = sa.select(_RATINGS.c.review_id, _RATINGS.c.item_id, _RATINGS.c.rating).join(
        _REVIEWS, _REVIEWS.c.id == _RATINGS.c.review_id
    )
    for review_id, item_id, rating in conn.execute(query.where(final)):
        pairs[review_id].append((item_id, rating))
    head = [_REVIEWS.c[name] for name in ("id", "program_id", "scale_id", "scale_version", "scale_hash")]
    head += [_REVIEWS.c.review_date, _REVIEWS.c.amendment_of]
    rows: dict[int, dict[str, Any]] = {}
    for review in conn.execute(sa.select(*head).where(final)):
        subscales = scales.get((review[2], review[3]))
        if subscales is None:
            continue
        rated, total, text = sums_of(subscales, pairs[review[0]])
        seal = sums_seal(key, tuple(review), rated, total, text)
        rows[review[0]] = {
            "review_id": review[0],
            "rated": rated,
            "total_sum": total,
            "subscales": text,
            "seal": seal,
        }
    return rows


def store_missing(conn: Connection, key: str | None, scales: Mapping[tuple[str, str], Subscales]) -> int:
    """Store the sums of every final review that has none yet; how many were stored."""
    have = set(conn.execute(sa.select(SUMS.c.review_id)).scalars())
    rows = [row for review_id, row in computed_sums(conn, key, scales).items() if review_id not in have]
    if rows:
        conn.execute(SUMS.insert(), rows)
    return len(rows)


def rewrite_all(conn: Connection, key: str | None, scales: Mapping[tuple[str, str], Subscales]) -> int:
    """Every final review's sums written again from its ratings, sealed under `key` (re-keying)."""
    conn.execute(SUMS.delete())
    return store_missing(conn, key, scales)


def problems(conn: Connection, key: str | None, scales: Mapping[tuple[str, str], Subscales]) -> list[str]:
    """One line per final review whose stored sums are missing, differ from its ratings, or whose
    seal does not verify under `key`."""
    expected = computed_sums(conn, key, scales)
    stored = {row.review_id: row for row in conn.execute(sa.select(SUMS))}
    found: list[str] = []
    for review_id, row in sorted(expected.items()):
        have = stored.get(review_id)
        if have is None:
            found.append(f"review {review_id}: its stored rating sums are missing")
        elif (have.rated, have.total_sum, have.subscales) != (
            row["rated"],
            row["total_sum"],
            row["subscales"],
        ):
            found.append(f"review {review_id}: its stored rating sums differ from its ratings")
        elif not have.seal or not hmac.compare_digest(str(have.seal), row["seal"]):
            found.append(f"review {review_id}: the seal of its stored rating sums does not verify")
    return found


def scale_subscales(scales: Iterable[Any]) -> dict[tuple[str, str], Subscales]:
    """(scale id, version) -> its subscales, for loaded scales.Scale objects."""
    return {(s.id, s.version): tuple((sub.id, frozenset(sub.items)) for sub in s.subscales) for s in scales}
