"""The integrity gate: every read of final reviews checks each one's ratings seal first.

A final review's seal (storage.integrity.ratings_seal, keyed with the installation's integrity
key) covers what the reads use of it: its program, scale, date, amendment link, every consensus
rating and the stored final score's total and band. The gate recomputes it from the rows as they
are now, in the read's own transaction (review_scores: in its own statement), and leaves out each
review whose rows no longer match (or that has no seal) with a warning naming it: someone changed
the rows outside the application (the triggers refuse that, so they were lifted first).
`fidelity db check` verifies the full content checksum of every review; the gate is the cheap
check every page, list, export and report runs.

The database does the gathering: one aggregate per review joins its (item, rating) pairs into
one text (`PAIRS`, with `PAIR_COUNT` to catch an item id that holds a separator), and the review's
sealed values come out of the same row (`HEAD`). A read either adds these columns to its own
grouped query (services.analytics_scores) or runs `gate` with a SELECT of the ids it reads.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
from sqlalchemy import ColumnElement, Select, String, cast, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from services.database import Database
from storage.integrity import PAIR_SEPARATOR, RATING_SEPARATOR, seal_parts, seal_prefix, session_key
from storage.models import ConsensusRating, Program, Review

LEFT_OUT: Final = "fidelity_left_out"
"""A DataFrame's attrs entry: the reviews (LeftOut) the integrity checks left out of it."""


class _ScoreFacts(FunctionElement[str]):
    """The stored final score's values the seal covers (storage.integrity.score_facts: total sum,
    rated, items, mean, band) as one JSON array text, reading the score's JSON once per review
    (a JSON path per value parsed the 4 KB score five times). The paths are written into the SQL:
    a bound path needs SQLAlchemy's bind processing, which the plain-driver path of
    services.analytics_query.run_statement skips."""

    type = String()
    name = "score_facts"
    inherit_cache = True


@compiles(_ScoreFacts)  # SQLite's, and the default
def _sqlite_facts(element: _ScoreFacts, compiler: SQLCompiler, **kw: Any) -> str:
    score = compiler.process(element.clauses, **kw)
    return f"json_extract({score}, {', '.join(repr(p) for p in _PATHS)})"


@compiles(_ScoreFacts, "postgresql")
def _postgres_facts(element: _ScoreFacts, compiler: SQLCompiler, **kw: Any) -> str:
    score = compiler.process(element.clauses, **kw)
    parts = ", ".join(f"j #> '{{{p[2:].replace('.', ',')}}}'" for p in _PATHS)
    # Cast to jsonb once (a scalar subquery per review), then each value is a cheap lookup.
    return f"(SELECT CAST(json_build_array({parts}) AS text) FROM (SELECT CAST({score} AS jsonb) AS j) AS s)"


_PATHS: Final = ("$.total.sum", "$.total.rated", "$.total.items", "$.total.mean", "$.band")
HEAD: Final[tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]] = (
    Review.id,
    Review.program_id,
    Review.scale_id,
    Review.scale_version,
    Review.scale_hash,
    Review.review_date,
    Review.amendment_of,
)
"""The review's sealed values as SQL columns (storage.integrity.SEAL_HEAD's first seven): with
the ratings, what the analytics read and what a seal's ratings part covers."""
SCORE: Final = _ScoreFacts(Review.final_score)
"""The score's sealed values, one JSON array text: what the whole part of a seal adds."""


class _Seal(FunctionElement[str]):
    """The review's stored seal. On SQLite read from the index ix_reviews_id_ratings_seal (the
    column comes after the 4 KB final score, whose overflow pages reading it in the table would
    load: 100 ms over 4,000 reviews); elsewhere the column."""

    type = String()
    name = "ratings_seal"
    inherit_cache = True


@compiles(_Seal, "sqlite")
def _sqlite_seal(element: _Seal, compiler: SQLCompiler, **kw: Any) -> str:
    review_id = compiler.process(element.clauses, **kw)
    return (
        "(SELECT sealed.ratings_seal FROM reviews AS sealed INDEXED BY ix_reviews_id_ratings_seal "
        f"WHERE sealed.id = {review_id})"
    )


@compiles(_Seal)  # PostgreSQL's (the seal is in the row, the score out of it), and the default
def _column_seal(element: _Seal, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(Review.__table__.c.ratings_seal, **kw)


SEAL: Final = _Seal(Review.id)


class _JoinedPairs(FunctionElement[str]):
    """An aggregate joining its text argument with PAIR_SEPARATOR: group_concat on SQLite,
    string_agg on PostgreSQL. The separator is written into the SQL (func.aggregate_strings
    would bind it at execution, which keeps a statement off the plain-driver path,
    services.analytics_query.run_statement)."""

    type = String()
    name = "joined_pairs"
    inherit_cache = True


@compiles(_JoinedPairs)  # SQLite's, and the default (str() of a statement)
def _sqlite_pairs(element: _JoinedPairs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, '{PAIR_SEPARATOR}')"


@compiles(_JoinedPairs, "postgresql")
def _postgres_pairs(element: _JoinedPairs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, '{PAIR_SEPARATOR}')"


class _RatingText(FunctionElement[str]):
    """A rating as text, '' when there is none (storage.integrity.rating_pair's form)."""

    type = String()
    name = "rating_text"
    inherit_cache = True


@compiles(_RatingText, "sqlite")
def _sqlite_rating_text(element: _RatingText, compiler: SQLCompiler, **kw: Any) -> str:
    # || turns a number into text as CAST does; a CAST per rating cost a sixth of a program's read.
    return f"ifnull({compiler.process(element.clauses, **kw)}, '')"


@compiles(_RatingText)  # PostgreSQL's, and the default
def _cast_rating_text(element: _RatingText, compiler: SQLCompiler, **kw: Any) -> str:
    rating = compiler.process(element.clauses, **kw)
    return compiler.process(func.coalesce(cast(literal_column(rating), String), literal_column("''")), **kw)


PAIRS: Final = _JoinedPairs(
    ConsensusRating.item_id + literal_column(f"'{RATING_SEPARATOR}'") + _RatingText(ConsensusRating.rating)
)
"""Per review (an aggregate): its consensus rows as storage.integrity.rating_pair writes them."""
PAIR_COUNT: Final = func.count(ConsensusRating.review_id)


@dataclass(frozen=True)
class LeftOut:
    """A final review a read left out, and the warning naming it."""

    review_id: int
    program_id: int
    scale_id: str
    message: str


@dataclass(frozen=True)
class GateResult:
    """The final reviews a read may not use: review id -> LeftOut."""

    left_out: Mapping[int, LeftOut] = field(default_factory=dict)

    @property
    def failing(self) -> frozenset[int]:
        return frozenset(self.left_out)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(x.message for x in self.left_out.values())

    def __bool__(self) -> bool:
        return bool(self.left_out)


def warning(review_id: int, program: str | None, review_date: Any) -> str:
    """What a page, a list or an export says of a review the gate left out."""
    day = review_date.isoformat() if isinstance(review_date, dt.date) else str(review_date)[:10]
    return (
        f"review {review_id} of {program or 'an unknown program'}, {day}, is left out: its ratings do "
        "not match their seal (changed outside the application); run `fidelity db check`"
    )


def expected_seal(
    key: str | None, head: Sequence[Any], score: str | None, pairs: str | None, count: int, *, whole: bool
) -> tuple[str, str | None] | None:
    """The seal parts (storage.integrity.seal_parts) a row's values give: `head` (HEAD), the
    score's values (SCORE's JSON text, read when `whole`) and the aggregated pairs; None when the
    pairs do not split into `count` rows of one item and one rating each (an item id holding a
    separator): each row adds one RATING_SEPARATOR, so a count that differs tells it."""
    parts = pairs.split(PAIR_SEPARATOR) if pairs else []
    if len(parts) != count or (pairs or "").count(RATING_SEPARATOR) != count:
        return None
    facts = None
    if whole:
        facts = json.loads(score) if score else [None] * 5
        if not isinstance(facts, list) or len(facts) != 5:
            return None
    return seal_parts(key, head, parts, facts)


_VERIFIED: dict[tuple[Any, ...], tuple[str, str | None] | None] = {}
"""Memo of `expected_seal` (a pure function of its arguments, all in the key): the pages read
the same reviews again after every change of the data. Bounded: emptied when full."""
_VERIFIED_MAX: Final = 200_000


def check_rows(key: str | None, rows: Iterable[Sequence[Any]], *, whole: bool = True) -> GateResult:
    """The gate over rows of (*HEAD, SCORE when `whole`, seal, pairs, pair count, program name):
    a review fails when its stored seal is missing, made otherwise (with another key, or none),
    or its ratings part (and, when `whole`, its whole part) is not the one its values give."""
    found: dict[int, LeftOut] = {}
    width = len(HEAD) + whole
    prefix = seal_prefix(key)
    memo = _VERIFIED
    for row in rows:
        head = tuple(row[: len(HEAD)])
        score = row[len(HEAD)] if whole else None
        seal, pairs, count, program = row[width : width + 4]
        inputs = (key, head, score, pairs, count, whole)
        expected = memo.get(inputs, _MISSING)
        if expected is _MISSING:
            expected = expected_seal(key, head, score, pairs, int(count or 0), whole=whole)
            if len(memo) >= _VERIFIED_MAX:
                memo.clear()
            memo[inputs] = expected
        if not _matches(seal, prefix, expected):
            review_id = int(head[0])
            message = warning(review_id, program, head[5])
            found[review_id] = LeftOut(review_id, int(head[1]), str(head[2]), message)
    return GateResult(found)


def _matches(seal: str | None, prefix: str, expected: tuple[str, str | None] | None) -> bool:
    if seal is None or expected is None or not seal.startswith(prefix):
        return False
    part, _dot, whole = seal[len(prefix) :].partition(".")
    return part == expected[0] and (expected[1] is None or whole == expected[1])


_MISSING: Final[Any] = object()


def gate_statement(reviews: Select[Any] | Sequence[int], *, whole: bool = True) -> Select[Any]:
    """The gate's query over the final reviews among `reviews` (a one-column SELECT of review ids,
    or the ids): one row per review with its sealed values, its pairs aggregated, its program's
    name."""
    ids = list(reviews) if isinstance(reviews, Sequence) else reviews.correlate(None).scalar_subquery()
    return (
        select(*HEAD, *([SCORE] if whole else []), SEAL, PAIRS, PAIR_COUNT, Program.name)
        .join(Program, Program.id == Review.program_id)
        .outerjoin(ConsensusRating, ConsensusRating.review_id == Review.id)
        .where(Review.id.in_(ids), Review.status == "final")
        .group_by(Review.id, Program.id)
    )


def gate(s: Session, reviews: Select[Any] | Sequence[int], *, whole: bool = True) -> GateResult:
    """Check the final reviews among `reviews` (a SELECT of review ids, the read's own filter, or
    the ids) in the read's session `s`, with one query: their ratings, and with `whole` (a read
    that shows the stored score's total or band) the score's values too."""
    if isinstance(reviews, Sequence) and not reviews:
        return GateResult()
    return check_rows(session_key(s), s.execute(gate_statement(reviews, whole=whole)).all(), whole=whole)


def gate_db(db: Database, reviews: Select[Any] | Sequence[int], *, whole: bool = True) -> GateResult:
    """`gate` in a read of its own."""
    with db.reading() as s:
        return gate(s, reviews, whole=whole)


def left_out(frame: pd.DataFrame) -> list[str]:
    """The warnings of the reviews the integrity checks left out of `frame` (a read's result)."""
    return [x.message for x in frame.attrs.get(LEFT_OUT, ())]


def left_out_of(frame: pd.DataFrame, program_id: int, scale_id: str) -> list[str]:
    """The warnings of the reviews of one program on one scale left out of `frame`."""
    dropped = frame.attrs.get(LEFT_OUT, ())
    return [x.message for x in dropped if x.program_id == program_id and x.scale_id == scale_id]


def mark_left_out(frame: pd.DataFrame, result: GateResult) -> pd.DataFrame:
    """`frame` with the rows of failing reviews (column review_id) dropped and them (LeftOut) in
    its attrs."""
    if result.failing:
        frame = frame.loc[~frame["review_id"].isin(list(result.failing))].reset_index(drop=True)
    frame.attrs[LEFT_OUT] = tuple(result.left_out.values())
    return frame
