"""The stored final sums (storage.final_sums): written when a review becomes final, and read by
the agency dashboard (each program's latest final review of a scale) by key, their seal
recomputed on every read as the integrity gate does for the ratings.

A review whose stored sums fail their seal is left out with the gate's warning; when a review
shown has no stored sums (a scale version the registry did not have when they were stored),
the caller falls back to adding up the ratings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
from sqlalchemy import bindparam, func, literal_column, select, true
from sqlalchemy.orm import aliased

from scales import Scale
from services import access
from services.access import Action, Actor
from services.analytics_query import current_final, run_unpinged
from services.database import Database
from services.integrity_gate import warning
from storage.final_sums import SUBSCALE_SEPARATOR, SumsSeals, parse_subscales, sums_of, sums_seal
from storage.models import FinalReviewSums, Program, Provider, Review

HEAD: Final = ("id", "program_id", "scale_id", "scale_version", "scale_hash", "review_date", "amendment_of")


def sums_row(
    key: str | None, head: Sequence[Any], scale: Scale, pairs: Iterable[tuple[str, int | None]]
) -> dict[str, Any]:
    """The final review's `final_review_sums` row from its (item id, rating) pairs as written:
    `head` is its HEAD values (the review id first)."""
    subscales = [(sub.id, frozenset(sub.items)) for sub in scale.subscales]
    rated, total, text = sums_of(subscales, pairs)
    seal = sums_seal(key, head, rated, total, text)
    return {"review_id": head[0], "rated": rated, "total_sum": total, "subscales": text, "seal": seal}


def latest_sums(db: Database, *, actor: Actor, scale_id: str) -> tuple[dict[str, Any], list[str]] | None:
    """Each visible program's latest current final review of `scale_id`, with its stored sums as
    the columns `scoring.analytics.score_sums` reads (review columns, scale_hash, rated,
    total_sum, rated_<sub>, sum_<sub>), in review date, id order; and the warnings of the reviews
    left out because their sums' seal failed. None when a review has no stored sums."""
    programs = access.visible_program_ids(actor, Action.READ_ANALYTICS)
    params: dict[str, Any] = {"scale_id": scale_id}
    if programs is not None:
        # The scope as ONE parameter (a JSON array on SQLite, an array on PostgreSQL): the
        # statement stays the same for every user, so it is compiled once, not per call.
        ids = sorted(programs)
        params["program_ids"] = json.dumps(ids) if db.dialect == "sqlite" else ids
    statement = _latest_statement(db.dialect, limited=programs is not None)
    rows: Sequence[Any] | None = []  # a scope of no program: nothing to read
    if programs is None or programs:
        rows = run_unpinged(db, statement, params)  # compiled once, run on the driver
    assert rows is not None, "the statement has no IN list to expand"
    if any(row[-1] is None for row in rows):
        return None
    seals = SumsSeals(db.integrity_key)  # the key's bytes once; one one-shot HMAC per row
    matching = seals.matching(
        ((row[0], row[1], row[5], row[6], row[8], row[7], row[9]), row[10], row[11], row[12], row[13])
        for row in rows  # head: id, program id, scale id, version, scale hash, date, amendment_of
    )
    kept: list[Sequence[Any]] = []
    warnings: list[str] = []
    for row, matches in zip(rows, matching, strict=True):
        if matches:
            kept.append(row)
        else:  # every row is checked and every failing one named
            warnings.append(warning(row[0], row[2], row[7]))
    names = ("review_id", "program_id", "program", "provider", "region", "scale_id", "scale_version",
             "review_date", "scale_hash")  # fmt: skip
    columns: dict[str, Any] = {name: [] for name in names}
    if kept:
        values = list(zip(*kept, strict=True))
        columns = dict(zip(names, (list(v) for v in values[:9]), strict=True))
        columns["rated"] = np.asarray(values[10], dtype="int64")
        columns["total_sum"] = np.asarray(values[11], dtype="int64")
        columns.update(subscale_columns(values[12]))
    else:
        columns["rated"] = columns["total_sum"] = np.zeros(0, dtype="int64")
    return columns, warnings


_SHAPES: dict[tuple[str, ...], re.Pattern[str]] = {}
"""The pattern of a texts' shape (its subscale ids in order), compiled once."""
_NOT_DIGITS: Final = {c: " " for c in range(128) if not chr(c).isdigit()}


def subscale_columns(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """`rated_<sub>` and `sum_<sub>` arrays of stored subscales texts (missing: 0). When every
    text has the same subscales in the same order (one scale version: the usual case) the
    numbers are read from all of them at once as bytes; otherwise text by text."""
    found = _same_shape_numbers(texts)
    if found is not None:
        sub_ids, numbers = found
        columns: dict[str, np.ndarray] = {}
        for i, sub_id in enumerate(sub_ids):
            columns[f"rated_{sub_id}"] = numbers[:, i, 0]
            columns[f"sum_{sub_id}"] = numbers[:, i, 1]
        return columns
    subs = [parse_subscales(text) for text in texts]
    columns = {}
    for sub_id in dict.fromkeys(s for found_ in subs for s in found_):
        columns[f"rated_{sub_id}"] = np.asarray([f.get(sub_id, (0, 0))[0] for f in subs], dtype="int64")
        columns[f"sum_{sub_id}"] = np.asarray([f.get(sub_id, (0, 0))[1] for f in subs], dtype="int64")
    return columns


def _same_shape_numbers(texts: Sequence[str]) -> tuple[list[str], np.ndarray] | None:
    """The subscale ids and the (texts x subscales x (rated, sum)) numbers when every text is
    "id=rated/sum;..." with the first one's ids in its order (ASCII); else None. One regular
    expression checks them all, then numpy reads the numbers: parsing 100 texts' 600 numbers
    one by one cost a tenth of the limited user's dashboard."""
    n = len(texts)
    if not n:
        return None
    sub_ids = list(parse_subscales(texts[0]))
    if not sub_ids or any(c.isdigit() for sub_id in sub_ids for c in sub_id):
        return None  # the numbers are read as the texts' digits: an id holding one, text by text
    pattern = _SHAPES.get(tuple(sub_ids))
    if pattern is None:
        number = "[0-9]{1,18}"  # int64 holds 18 digits
        body = SUBSCALE_SEPARATOR.join(f"{re.escape(sub_id)}={number}/{number}" for sub_id in sub_ids)
        pattern = _SHAPES[tuple(sub_ids)] = re.compile(f"(?:{body}\n)*{body}", re.ASCII)
    joined = "\n".join(texts)
    if joined.count("\n") != n - 1 or not joined.isascii() or pattern.fullmatch(joined) is None:
        # (a text holding a newline would read as two)
        return None
    # Only the numbers' digits are left (the ids hold none), one run per number.
    numbers = np.fromstring(joined.translate(_NOT_DIGITS), dtype=np.int64, sep=" ")
    k = len(sub_ids)
    return sub_ids, numbers.reshape(n, k, 2)


_STATEMENTS: dict[tuple[str, bool], Any] = {}


def _latest_statement(dialect: str, *, limited: bool) -> Any:
    """One statement: per program an index seek for its latest current final review of the
    scale, then that review's stored sums by key; `limited`: only the programs whose ids the
    parameter `program_ids` holds. Built once per dialect (SQLite and PostgreSQL take the ids
    differently), so run_statement compiles it once."""
    found = _STATEMENTS.get((dialect, limited))
    if found is not None:
        return found
    head = (Review.id, Review.scale_id, Review.scale_version, Review.review_date, Review.scale_hash)
    newest = (
        select(*head, Review.amendment_of)
        .where(Review.program_id == Program.id, Review.scale_id == bindparam("scale_id"), *current_final())
        .order_by(Review.review_date.desc(), Review.id.desc())
        .limit(1)
    )
    if dialect == "postgresql":
        # LATERAL: PostgreSQL then seeks each program's latest review by the index and reads
        # its sums by key; joined on a scalar subquery it hashed a scan of every review instead.
        shown: Any = newest.lateral("shown")
        start = select().select_from(Program).join(shown, true())
    else:  # SQLite has no LATERAL, and seeks per program with the scalar subquery already
        shown = aliased(Review, name="shown")
        latest = newest.with_only_columns(Review.id).correlate(Program).scalar_subquery()
        start = select().select_from(Program).join(shown, shown.id == latest)
    columns = shown.c if dialect == "postgresql" else shown
    statement = (
        start.add_columns(
            columns.id,
            Program.id,
            Program.name,
            Provider.name,
            Program.region,
            columns.scale_id,
            columns.scale_version,
            columns.review_date,
            columns.scale_hash,
            columns.amendment_of,
            FinalReviewSums.rated,
            FinalReviewSums.total_sum,
            FinalReviewSums.subscales,
            FinalReviewSums.seal,
        )
        .outerjoin(FinalReviewSums, FinalReviewSums.review_id == columns.id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .order_by(columns.review_date, columns.id)
    )
    if limited:
        ids: Any = bindparam("program_ids")
        if dialect == "sqlite":
            statement = statement.where(
                Program.id.in_(select(literal_column("value")).select_from(func.json_each(ids)))
            )
        else:
            statement = statement.where(Program.id == func.any(ids))
    _STATEMENTS[(dialect, limited)] = statement
    return statement
