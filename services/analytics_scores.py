"""Reviews' scores added up by the database: ONE query sums each review's ratings per subscale,
and `scoring.analytics.score_sums` turns the integer sums into exact means and bands (held to the
pure scorer by tests/integration/test_scorers_agree_sql.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, ColumnElement, and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from scales import Scale, ScaleRegistry
from scoring.analytics import score_sums, totals_frame
from services import access
from services.access import Action, Actor
from services.analytics_query import AnySelect, current_final, run_unpinged, scale_problems
from services.database import Database
from services.final_sums import latest_sums
from services.integrity_gate import PAIR_COUNT, PAIRS, SEAL, check_rows
from storage.models import ConsensusRating, Program, Provider, Review

PACK: Final = 1 << 20
"""A subscale's ratings must add up to less than PACK (checked against the loaded scales): its
count and sum then fit a few bits of a packed sum (`_Packing`)."""


@dataclass(frozen=True)
class _Packing:
    """How the subscales' counts and sums come out of the database in few sums: each rating adds
    (rating + unit) * 2**(bits * place) to its group's sum, `place` being its subscale's place
    in the group, so the group's sum holds, `bits` apart, count * unit + sum per subscale. Exact
    while a review's ratings of one subscale add up to less than `unit` and count fewer than
    2**bits / unit (both bounded by the scales' ratings and items), and a group's fields fit 62
    bits. One sum and one CASE per rating instead of one per subscale: a third of one program's
    query on SQLite."""

    unit: int
    bits: int
    groups: tuple[tuple[str, ...], ...]  # subscale ids per packed sum, in place order

    @classmethod
    def of(cls, scales: list[Scale], sub_ids: Sequence[str]) -> _Packing:
        # Bounded by a whole scale (every item of a review in one subscale): more than enough.
        most_items = max((len(scale.items) for scale in scales), default=1)
        most_rating = max((scale.rating.max for scale in scales), default=1)
        unit = 1 << max(most_items * most_rating, 1).bit_length()
        bits = (most_items * unit + unit - 1).bit_length()
        per_group = max(62 // bits, 1)
        if bits > 62:
            most = most_items * most_rating
            raise ValueError(f"a review's ratings can add up to {most}, too much to pack")
        ids = tuple(sub_ids)
        return cls(unit, bits, tuple(ids[i : i + per_group] for i in range(0, len(ids), per_group)))

    def unpack(self, packed: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
        """`rated_<sub>` and `sum_<sub>` arrays from each group's packed sums (None: nothing)."""
        columns: dict[str, np.ndarray] = {}
        field_mask = (1 << self.bits) - 1
        for group, values in zip(self.groups, packed, strict=True):
            # int(): PostgreSQL's sum of bigints is a numeric (Decimal)
            whole = np.asarray([int(v) if v is not None else 0 for v in values], dtype="int64")
            for place, sub_id in enumerate(group):
                field = (whole >> (self.bits * place)) & field_mask
                columns[f"rated_{sub_id}"], columns[f"sum_{sub_id}"] = np.divmod(field, self.unit)
        return columns


_STATEMENTS: dict[tuple[object, ...], tuple[AnySelect, _Packing]] = {}


@dataclass(frozen=True, eq=False)
class ReviewScores:
    """Reviews' scores as columns (`scoring.analytics.score_sums`: review_totals' columns as
    arrays, plus scale_hash), and the messages about reviews left out. `frame` is the
    review_totals frame, made on first use (a frame costs more than scoring one program)."""

    columns: Mapping[str, np.ndarray]
    problems: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.columns["review_id"])

    @cached_property
    def frame(self) -> pd.DataFrame:
        return totals_frame({**self.columns, "scale_hash": pd.array(self.columns["scale_hash"], dtype=str)})


def review_scores(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    scale_id: str | None = None,
    latest: int | None = None,
) -> ReviewScores:
    """Every current final review's scores, in review_date, review_id order: the review_totals
    columns (total, band, subscale means as `sub_<id>`) plus scale_hash, leaving out (with a
    message each) the reviews whose scale version is missing or changed (see `scale_problems`).

    ONE query, in which the database adds up each review's ratings per subscale: no rating row
    leaves the database, and `scoring.analytics.score_sums` turns the integer sums into exact
    means and bands. `program_id` and `scale_id` narrow it down; `latest=k` keeps each
    program's k latest reviews of each scale (1: the agency dashboard). The same reviews as
    `finalized_ratings`: final ones the actor may see, amendments in place of what they replace.
    The integrity gate runs on the same rows: the query also reads each review's sealed values
    and joins its (item, rating) pairs; a review whose seal fails is left out, with its warning
    first in `problems`.
    """
    if latest == 1 and program_id is None and scale_id is not None:
        # The dashboard: each program's latest review, its sums stored when it became final.
        stored = latest_sums(db, actor=actor, scale_id=scale_id)
        if stored is not None:
            return _scored(db, stored[0], stored[1])
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    statement, packing = _scores_statement(
        db.registry,
        program=program_id is not None,
        scale=scale_id,
        latest=latest is not None,
        visible=visible,
    )
    params = {"program_id": program_id, "scale_id": scale_id}
    params = {k: v for k, v in params.items() if v is not None}
    # A statement built for one actor's scope is run once: only the shared ones are kept.
    every = program_id is None and latest is None  # every review's ratings added up
    settings = _EVERY_REVIEW_SETTINGS if every else ()
    rows = run_unpinged(db, statement, params, postgres_settings=settings) if visible is None else None
    if rows is None:
        # One statement needs no transaction around it; on PostgreSQL that saves the BEGIN and
        # ROLLBACK round trips, which cost more than one program's query.
        engine = (
            db.engine if db.dialect == "sqlite" else db.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        with engine.connect() as conn:
            rows = conn.execute(statement, params).all()
    # The integrity gate, over the seal columns the same query read (its rows are in the gate's
    # layout): failing reviews left out.
    checked = check_rows(db.integrity_key, rows, whole=False)  # no stored score read
    failing = checked.failing
    if failing:
        rows = [row for row in rows if row[0] not in failing]
    width = len(_SCORE_ROW)
    values = list(zip(*rows, strict=True)) if rows else [()] * (width + len(packing.groups))
    columns: dict[str, Any] = {
        name: list(found)
        for name, found in zip(_SCORE_ROW, values[:width], strict=True)
        if not name.startswith("_gate")
    }
    columns.update(packing.unpack(values[width:]))
    return _scored(db, columns, list(checked.warnings))


def _scored(db: Database, columns: dict[str, Any], warnings: Sequence[str]) -> ReviewScores:
    """ReviewScores of the reviews' sums (REVIEW_COLUMNS, scale_hash, rated, total_sum,
    rated_<sub> and sum_<sub>), leaving out those whose scale version is missing or changed."""
    keys = list(zip(columns["scale_id"], columns["scale_version"], columns["scale_hash"], strict=True))
    known = db.registry.scales
    bad = {
        key
        for key in set(keys)
        if (key[0], key[1]) not in known or (key[2] and known[(key[0], key[1])].content_hash != key[2])
    }
    problems: list[str] = []
    if bad:
        frame = pd.DataFrame(
            {k: columns[k] for k in ("review_id", "scale_id", "scale_version", "scale_hash")}
        )
        problems = scale_problems(frame, db.registry)[1]
        keep = [key not in bad for key in keys]
        columns = {
            name: [v for v, k in zip(values, keep, strict=True) if k] for name, values in columns.items()
        }
    for name in columns:
        values = columns[name]
        if isinstance(values, np.ndarray) and values.dtype == np.int64:
            continue  # the stored sums come as integer arrays already
        if name in ("rated", "total_sum") or name.startswith(("rated_", "sum_")):
            columns[name] = np.asarray([v or 0 for v in values], dtype="int64")
    dates = columns["review_date"]
    columns["review_date"] = np.array(list(dates), dtype="datetime64[ns]")  # dates, or ISO text on SQLite
    scored = score_sums(columns, db.registry)
    scored["scale_hash"] = np.array(columns["scale_hash"], dtype=object)  # the query's order is the result's
    return ReviewScores(scored, (*warnings, *problems))


_EVERY_REVIEW_SETTINGS: Final = (("max_parallel_workers_per_gather", "0"), ("jit", "off"))
"""PostgreSQL's settings for the query over every review's ratings: a parallel plan computed
the sums once in every worker (string_agg, the gate's pairs, is not split across workers
before PostgreSQL 16): three times the work for the same rows; and compiling it (JIT, its
estimate is high) took a quarter of a second it never gave back."""


_SCORE_ROW: Final = (
    # What services.integrity_gate.check_rows reads first: HEAD, the seal, the pairs and their
    # count, the program's name.
    "review_id",
    "program_id",
    "scale_id",
    "scale_version",
    "scale_hash",
    "review_date",
    "_gate_amendment_of",
    "_gate_seal",
    "_gate_pairs",
    "_gate_pair_count",
    "program",
    # then the rest of the review's columns, and its sums
    "provider",
    "region",
    "rated",
    "total_sum",
)


def _scores_statement(
    registry: ScaleRegistry,
    *,
    program: bool,
    scale: str | None,
    latest: int | None,
    visible: ColumnElement[bool] | None,
) -> tuple[AnySelect, _Packing]:
    """The sums query and how its subscale sums are packed (the subscales of `scale` when given,
    else of every loaded scale); built once per set of scales and filters, since building it
    costs more than running it for one program."""
    key = (_registry_key(registry), program, scale, latest)
    if visible is None and key in _STATEMENTS:
        return _STATEMENTS[key]
    scored = [s for s in registry.scales.values() if scale is None or s.id == scale]
    membership, needs_review, by_prefix = _subscale_membership(scored)
    packing = _Packing.of(scored, list(membership))
    where = current_final()
    if visible is not None:
        where.append(visible)
    if program:
        where.append(Review.program_id == bindparam("program_id"))
    if scale:
        where.append(Review.scale_id == bindparam("scale_id"))
    # The sums per review first (grouped by the review alone, which the database walks in
    # order), then the review's and program's columns joined to each sum: grouping by those
    # too would make the database sort every rating row with them.
    rating = ConsensusRating.rating
    aggregates = (
        PAIRS.label("pairs"),
        PAIR_COUNT.label("pair_count"),
        func.count(rating).label("rated"),
        func.sum(rating).label("total_sum"),
        *(
            func.sum(
                (rating + literal_column(str(packing.unit)))
                * _place_values(group, packing, membership, by_prefix)
            ).label(f"packed_{i}")
            for i, group in enumerate(packing.groups)
        ),
    )
    if latest:
        # The latest reviews first, then only their ratings: started from the few ranked
        # reviews, the database reads their ratings by index instead of scanning them all.
        order = func.row_number().over(
            partition_by=(Review.program_id, Review.scale_id),
            order_by=(Review.review_date.desc(), Review.id.desc()),
        )
        ranking = select(Review.id.label("id"), order.label("k"))
        if visible is not None:
            ranking = ranking.join(Program, Program.id == Review.program_id)
        ranked = ranking.where(*where).subquery("ranked")
        inner = (
            select(ranked.c.id.label("review_id"), *aggregates)
            .select_from(ranked)
            .join(ConsensusRating, ConsensusRating.review_id == ranked.c.id)
            # k IN (1, ..., latest) as literals: PostgreSQL then expects few reviews and reads their
            # ratings by index (for "k <= latest" or a parameter it plans to read every rating).
            .where(ranked.c.k.in_([literal_column(str(i)) for i in range(1, int(latest) + 1)]))
        )
        if needs_review:  # the subscale conditions name the scale version
            inner = inner.join(Review, Review.id == ranked.c.id)
        sums = inner.group_by(ranked.c.id).subquery("sums")
    else:
        inner = select(Review.id.label("review_id"), *aggregates).join(
            ConsensusRating, ConsensusRating.review_id == Review.id
        )
        if visible is not None:
            inner = inner.join(Program, Program.id == Review.program_id)
        sums = inner.where(*where).group_by(Review.id).subquery("sums")
    query = (
        select(  # the columns of _SCORE_ROW, then the packed subscale sums
            Review.id,
            Program.id,
            Review.scale_id,
            Review.scale_version,
            Review.scale_hash,
            Review.review_date,
            Review.amendment_of,
            SEAL,
            sums.c.pairs,
            sums.c.pair_count,
            Program.name,
            Provider.name,
            Program.region,
            sums.c.rated,
            sums.c.total_sum,
            *(sums.c[f"packed_{i}"] for i in range(len(packing.groups))),
        )
        .select_from(sums)
        .join(Review, Review.id == sums.c.review_id)
        .join(Program, Program.id == Review.program_id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .order_by(Review.review_date, Review.id)
    )
    if visible is None:
        _STATEMENTS[key] = (query, packing)
    return query, packing


def _place_values(
    group: tuple[str, ...],
    packing: _Packing,
    membership: Mapping[str, ColumnElement[bool]],
    by_prefix: tuple[ColumnElement[Any], dict[str, str]] | None,
) -> ColumnElement[Any]:
    """Per rating, 2**(bits * place) of its subscale in `group` (NULL outside the group): with
    one item id prefix per subscale, one CASE on the prefix (computed once per rating);
    otherwise one WHEN per subscale. Written as literals: bigints on PostgreSQL."""
    place_value: dict[str, ColumnElement[Any]] = {
        sub_id: _BigInteger(literal_column(str(1 << (packing.bits * place))))
        for place, sub_id in enumerate(group)
    }
    if by_prefix is not None:
        head, owner = by_prefix
        whens = {prefix: place_value[sub_id] for prefix, sub_id in owner.items() if sub_id in place_value}
        return case(whens, value=head)
    return case(*((membership[sub_id], value) for sub_id, value in place_value.items()))


class _BigInteger(FunctionElement[int]):
    """An integer literal as a 64-bit integer: CAST on PostgreSQL (whose small literals are
    32-bit, so the packed products would overflow), as it is on SQLite (whose integers are)."""

    type = BigInteger()
    name = "big_integer"
    inherit_cache = True


@compiles(_BigInteger)  # SQLite's, and the default
def _plain_integer(element: _BigInteger, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_BigInteger, "postgresql")
def _postgres_big_integer(element: _BigInteger, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BIGINT)"


_REGISTRY_KEYS: dict[int, tuple[ScaleRegistry, tuple[tuple[Any, Scale], ...], tuple[Any, ...]]] = {}


def _registry_key(registry: ScaleRegistry) -> tuple[Any, ...]:
    """The loaded scales as a statement key: (id, version) and content hash of each, remade only
    when the registry holds other scale objects (their hashes cost more than one program's read
    to collect; a scale is frozen, so its hash never changes)."""
    items = tuple(registry.scales.items())
    found = _REGISTRY_KEYS.get(id(registry))
    if found is not None and found[0] is registry and found[1] == items:  # the same objects
        return found[2]
    key = tuple((k, s.content_hash) for k, s in items)
    if len(_REGISTRY_KEYS) >= 16:  # a few registries per process (tests make more)
        _REGISTRY_KEYS.clear()
    _REGISTRY_KEYS[id(registry)] = (registry, items, key)
    return key


def _subscale_membership(
    scales: list[Scale],
) -> tuple[dict[str, ColumnElement[bool]], bool, tuple[ColumnElement[Any], dict[str, str]] | None]:
    """subscale id -> the condition that a consensus rating's item is in it, over the given
    scales, as cheap as the scales allow: when the first few characters of an item id tell its
    subscale in every scale (DACTS H1, O1, S1; IDDT I1; GOI G1), a prefix test; when the item
    id alone does, an IN list; otherwise the scale version as well (then the second value is
    True: the conditions name the review's columns). The third value, for a prefix test: the
    prefix expression and prefix -> subscale id (one CASE on it tells a rating's subscale)."""
    pairs: list[tuple[str, str, str, str]] = []  # (scale id, version, item id, subscale id)
    for scale in scales:
        sid, version = scale.id, scale.version
        most = scale.rating.max * max((len(sub.items) for sub in scale.subscales), default=0)
        if most >= PACK:
            raise ValueError(f"{sid} {version}: a subscale's ratings can add up to {most}, too much to pack")
        pairs += [(sid, version, item, sub.id) for sub in scale.subscales for item in sub.items]
    item = ConsensusRating.item_id
    for length in (1, 2, 3):
        owner: dict[str, str] = {}
        if all(owner.setdefault(i[:length], s) == s for _, _, i, s in pairs):
            prefixes: dict[str, list[str]] = {}
            for prefix, sub_id in owner.items():
                prefixes.setdefault(sub_id, []).append(prefix)
            head = func.substr(item, literal_column("1"), literal_column(str(length)))
            return (
                {
                    sub_id: head == found[0] if len(found) == 1 else head.in_(sorted(found))
                    for sub_id, found in prefixes.items()
                },
                False,
                (head, owner),
            )
    owner = {}
    if all(owner.setdefault(i, s) == s for _, _, i, s in pairs):
        items: dict[str, list[str]] = {}
        for item_id, sub_id in owner.items():
            items.setdefault(sub_id, []).append(item_id)
        return {sub_id: item.in_(found) for sub_id, found in items.items()}, False, None
    members: dict[str, list[ColumnElement[bool]]] = {}
    for scale in scales:
        for sub in scale.subscales:
            members.setdefault(sub.id, []).append(
                and_(Review.scale_id == scale.id, Review.scale_version == scale.version, item.in_(sub.items))
            )
    return {sub_id: or_(*conditions) for sub_id, conditions in members.items()}, True, None
