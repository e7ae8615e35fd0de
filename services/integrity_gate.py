"""The integrity gate: every read of final reviews checks each one's ratings seal first.

A final review's seal (storage.integrity.ratings_seal, keyed with the installation's integrity
key) covers what the reads use of it: its program, scale, date, amendment link, every consensus
rating and the stored final score's total and band. The gate recomputes it from the rows as they
are now, in the read's own snapshot, and leaves out each review whose rows no longer match (or
that has no seal) with a warning naming it: someone changed the rows outside the application
(the triggers refuse that, so they were lifted first). `fidelity db check` verifies the full
content checksum of every review; the gate is the cheap check every page, list, export and
report runs.

The database does the gathering: one aggregate per review joins its (item, rating) pairs into
one text (`PAIRS`, with `PAIR_COUNT` to catch an item id that holds a separator), and the review's
sealed values come out of the same row (`HEAD`). A read either adds these columns to its own
grouped query (services.analytics_scores) or runs `gate` with a SELECT of the ids it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
from sqlalchemy import ColumnElement, Float, Integer, Select, String, cast, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from services.database import Database
from storage.integrity import PAIR_SEPARATOR, RATING_SEPARATOR, keyed_digest, seal_text, session_key
from storage.models import ConsensusRating, Program, Review

LEFT_OUT: Final = "fidelity_left_out"
"""A DataFrame's attrs entry: the reviews (LeftOut) the integrity checks left out of it."""


class _ScoreValue(FunctionElement[Any]):
    """A value out of a review's stored final score by JSON path, with the path written into
    the SQL (a bound path needs SQLAlchemy's bind processing, which the plain-driver path of
    services.analytics_query.run_statement skips); what Review.final_score[path].as_<kind>()
    reads."""

    inherit_cache = True
    name = "score_value"

    def __init__(self, path: tuple[str, ...], kind: str):
        self.path = path
        self.kind = kind
        types: dict[str, TypeEngine[Any]] = {"integer": Integer(), "float": Float(), "text": String()}
        self.type = types[kind]
        super().__init__(Review.final_score)

    @property
    def _cache_key_extra(self) -> tuple[Any, ...]:
        return (self.path, self.kind)


@compiles(_ScoreValue)  # SQLite's, and the default
def _sqlite_score(element: _ScoreValue, compiler: SQLCompiler, **kw: Any) -> str:
    path = "$." + ".".join(element.path)
    return f"json_extract({compiler.process(element.clauses, **kw)}, '{path}')"


@compiles(_ScoreValue, "postgresql")
def _postgres_score(element: _ScoreValue, compiler: SQLCompiler, **kw: Any) -> str:
    cast_to = {"integer": "integer", "float": "double precision", "text": "text"}[element.kind]
    path = "{" + ",".join(element.path) + "}"
    return f"CAST(({compiler.process(element.clauses, **kw)} #>> '{path}') AS {cast_to})"


HEAD: Final[tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]] = (
    Review.id,
    Review.program_id,
    Review.scale_id,
    Review.scale_version,
    Review.scale_hash,
    Review.review_date,
    Review.amendment_of,
    _ScoreValue(("total", "sum"), "integer"),
    _ScoreValue(("total", "rated"), "integer"),
    _ScoreValue(("total", "items"), "integer"),
    _ScoreValue(("total", "mean"), "float"),
    _ScoreValue(("band",), "text"),
)
"""The review's sealed values (storage.integrity.SEAL_HEAD's order), as SQL columns."""
SEAL: Final = Review.ratings_seal


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


PAIRS: Final = _JoinedPairs(
    ConsensusRating.item_id
    + literal_column(f"'{RATING_SEPARATOR}'")
    + func.coalesce(cast(ConsensusRating.rating, String), literal_column("''"))
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


def expected_seal(key: str | None, head: Sequence[Any], pairs: str | None, count: int) -> str | None:
    """The seal the review's values and its aggregated pairs give, or None when the pairs do not
    split into `count` rows (an item id holding a separator)."""
    parts = pairs.split(PAIR_SEPARATOR) if pairs else []
    if len(parts) != count or any(part.count(RATING_SEPARATOR) != 1 for part in parts):
        return None
    return keyed_digest(key, seal_text(head, parts))


def check_rows(key: str | None, rows: Iterable[Sequence[Any]]) -> GateResult:
    """The gate over rows of (*HEAD, seal, pairs, pair count, program name): a review fails
    when its stored seal is missing or is not the one its values give."""
    found: dict[int, LeftOut] = {}
    width = len(HEAD)
    for row in rows:
        head = row[:width]
        seal, pairs, count, program = row[width : width + 4]
        if seal is None or seal != expected_seal(key, head, pairs, int(count or 0)):
            review_id = int(head[0])
            message = warning(review_id, program, head[5])
            found[review_id] = LeftOut(review_id, int(head[1]), str(head[2]), message)
    return GateResult(found)


def gate_statement(reviews: Select[Any] | Sequence[int]) -> Select[Any]:
    """The gate's query over the final reviews among `reviews` (a one-column SELECT of review ids,
    or the ids): one row per review with its sealed values, its pairs aggregated, its program's
    name."""
    ids = list(reviews) if isinstance(reviews, Sequence) else reviews.correlate(None).scalar_subquery()
    return (
        select(*HEAD, SEAL, PAIRS, PAIR_COUNT, Program.name)
        .join(Program, Program.id == Review.program_id)
        .outerjoin(ConsensusRating, ConsensusRating.review_id == Review.id)
        .where(Review.id.in_(ids), Review.status == "final")
        .group_by(Review.id, Program.id)
    )


def gate(s: Session, reviews: Select[Any] | Sequence[int]) -> GateResult:
    """Check the final reviews among `reviews` (a SELECT of review ids, the read's own filter, or
    the ids) in the read's session `s`, with one query."""
    if isinstance(reviews, Sequence) and not reviews:
        return GateResult()
    return check_rows(session_key(s), s.execute(gate_statement(reviews)).all())


def gate_db(db: Database, reviews: Select[Any] | Sequence[int]) -> GateResult:
    """`gate` in a read of its own."""
    with db.reading() as s:
        return gate(s, reviews)


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
