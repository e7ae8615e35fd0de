"""Finalized reviews from the database, as the frame `scoring.analytics` reads.

`finalized_ratings` loads every final review's consensus ratings with ONE query (no loop over
programs or reviews); `data_version` is a cheap fingerprint of that data, for the pages to key
their caches on; `drift_overview` is every program's latest-against-previous comparison at once
(the agency-wide view of `scoring.analytics.drift`, vectorised).

When a final review has been amended and the amendment is final too, only the amendment counts:
it replaces the review it corrects. An amendment still in progress does not count yet.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from scales import Scale, ScaleRegistry
from scoring.analytics import LOW_RATING, RATING_COLUMNS, review_totals, score_sums, totals_frame
from services import access
from services.access import Action, Actor
from services.database import Database
from storage.models import AnalyticsChanges, ConsensusRating, Program, Provider, Review, ReviewStatus

FRAME_COLUMNS: Final[tuple[str, ...]] = (*RATING_COLUMNS, "scale_hash")
"""RATING_COLUMNS plus scale_hash (the content hash of the scale file the review was rated on)."""

OVERVIEW_COLUMNS: Final[tuple[str, ...]] = (
    "program_id",
    "program",
    "provider",
    "region",
    "scale_id",
    "reviews",
    "previous_review_id",
    "previous_review_date",
    "review_id",
    "review_date",
    "previous_band",
    "band",
    "band_direction",
    "previous_value",
    "value",
    "falls",
    "fallen_items",
    "largest_fall",
    "low_twice",
    "low_items",
)
"""Columns of `drift_overview`: one row per (program, scale) with at least one final review."""


def finalized_ratings(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    scale_id: str | None = None,
    latest: int | None = None,
    evidence: bool = True,
    reviewed_from: dt.date | None = None,
    reviewed_to: dt.date | None = None,
) -> pd.DataFrame:
    """One row per (final review, item) in the RATING_COLUMNS shape, plus scale_hash.

    Final reviews only, of the programs the actor's analytics scope covers (a program manager:
    their own); a final review replaced by a final amendment is left out. Rows are in
    review_date, review_id and item order; `rating` is Int64 (NA: not rated), `review_date`
    datetime64.

    The database does the narrowing: `program_id` and `scale_id` keep one program's or one
    scale's reviews, `reviewed_from` and `reviewed_to` (inclusive) the reviews dated in that
    window, `latest=k` each program's k latest of those reviews of each scale (and adds the
    column `final_reviews`: how many of them the program has of that scale), and
    `evidence=False` leaves the evidence text in the database (the column is None).
    """
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    where = _current_final()
    if visible is not None:
        where.append(visible)
    if program_id is not None:
        where.append(Review.program_id == program_id)
    if scale_id is not None:
        where.append(Review.scale_id == scale_id)
    if reviewed_from is not None:
        where.append(Review.review_date >= reviewed_from)
    if reviewed_to is not None:
        where.append(Review.review_date <= reviewed_to)
    columns: list[Any] = [
        Review.id,
        Program.id,
        Program.name,
        Provider.name,
        Program.region,
        Review.scale_id,
        Review.scale_version,
        Review.review_date,
        ConsensusRating.item_id,
        ConsensusRating.rating,
        ConsensusRating.evidence if evidence else null(),
        Review.scale_hash,
    ]
    query = (
        select(*columns)
        .join(Program, Program.id == Review.program_id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .join(ConsensusRating, ConsensusRating.review_id == Review.id)
    )
    names = list(FRAME_COLUMNS)
    if latest is not None:
        partition = (Review.program_id, Review.scale_id)
        ranked = (
            select(
                Review.id.label("id"),
                func.row_number()
                .over(partition_by=partition, order_by=(Review.review_date.desc(), Review.id.desc()))
                .label("k"),
                func.count().over(partition_by=partition).label("n"),
            )
            .join(Program, Program.id == Review.program_id)
            .where(*where)
            .subquery("ranked")
        )
        query = (
            query.add_columns(ranked.c.n).join(ranked, ranked.c.id == Review.id).where(ranked.c.k <= latest)
        )
        names.append("final_reviews")
    else:
        query = query.where(*where)
    query = query.order_by(Review.review_date, Review.id, ConsensusRating.id)
    with db.reading() as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame.from_records(rows, columns=names, coerce_float=False)
    frame["review_id"] = frame["review_id"].astype("int64")
    frame["program_id"] = frame["program_id"].astype("int64")
    frame["rating"] = pd.array(frame["rating"], dtype="Int64")
    frame["review_date"] = pd.to_datetime(frame["review_date"])
    for column in ("program", "provider", "region", "evidence"):
        frame[column] = pd.Series(
            frame[column].to_numpy(dtype=object, na_value=None), index=frame.index, dtype=object
        )
    return frame


def review_date_spans(db: Database, *, actor: Actor) -> dict[str, tuple[dt.date, dt.date]]:
    """scale id -> the dates of the first and the last current final review of it the actor may
    see (what a page's date filter offers), from one small aggregate query."""
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    query = select(Review.scale_id, func.min(Review.review_date), func.max(Review.review_date)).where(
        *_current_final()
    )
    if visible is not None:
        query = query.join(Program, Program.id == Review.program_id).where(visible)
    with db.reading() as s:
        rows = s.execute(query.group_by(Review.scale_id)).all()
    return {str(scale_id): (first, last) for scale_id, first, last in rows}


def data_version(db: Database, *, max_age: float = 0.0) -> str:
    """A fingerprint of what `finalized_ratings` reads: one primary-key lookup.

    Triggers (migration 0004) count every change of what the analytics read (a review that
    becomes final, a final amendment replacing one included, every change of a program or a
    provider), in the transaction that makes it, and stamp the time; final reviews can be
    neither changed nor deleted.

    `max_age` (seconds): the version read less than that long ago is given again without asking
    the database, unless something was written through `db` since (the pages' reruns, which
    each asked it: a change made by this process shows at once, one made by another process, the
    CLI or a second server, within `max_age`).
    """
    writes = db.writes
    seen = db.version_seen
    if max_age > 0 and seen is not None and seen[2] == writes and time.monotonic() - seen[1] < max_age:
        return seen[0]
    engine = db.unpinged_engine  # one SELECT on the driver, no ping first
    try:
        rows = _run(engine, _DATA_VERSION, {})
    except engine.dialect.loaded_dbapi.Error:
        # A pooled connection the server closed (a restart): drop the pool's and ask once more.
        engine.dispose()
        rows = _run(engine, _DATA_VERSION, {})
    assert rows is not None and len(rows) == 1, "analytics_changes holds one row (migration 0004)"
    counter, changed_at = rows[0]
    version = f"{counter}|{changed_at}"  # a fingerprint: the driver's own form of the time will do
    db.version_seen = (version, time.monotonic(), writes)  # `writes` from before the read
    return version


_DATA_VERSION = select(AnalyticsChanges.counter, AnalyticsChanges.changed_at)


def scale_problems(ratings: pd.DataFrame, registry: ScaleRegistry) -> tuple[pd.DataFrame, list[str]]:
    """The rows whose scale version is loaded with the content they were rated on, and one
    message per scale version that is missing or whose file has changed since (those reviews
    are left out, as the Results page refuses to score them)."""
    if ratings.empty:
        return ratings, []
    keys = ratings.loc[:, ["scale_id", "scale_version", "scale_hash"]].drop_duplicates()
    bad: list[tuple[str, str, str]] = []
    problems: list[str] = []
    for scale_id, version, digest in keys.itertuples(index=False, name=None):
        reviews = ratings.loc[
            (ratings["scale_id"] == scale_id)
            & (ratings["scale_version"] == version)
            & (ratings["scale_hash"] == digest),
            "review_id",
        ].nunique()
        if (scale_id, version) not in registry.scales:
            bad.append((scale_id, version, digest))
            problems.append(
                f"{reviews} review(s) rated on {scale_id} {version} are left out: that scale version is "
                "not among the loaded scales (restore its file or add its folder to FIDELITY_SCALES_DIRS)."
            )
        elif digest and registry.get(scale_id, version).content_hash != digest:
            bad.append((scale_id, version, digest))
            problems.append(
                f"{reviews} review(s) rated on {scale_id} {version} are left out: the scale file has "
                "changed since they were rated (a published version must never change)."
            )
    if not bad:
        return ratings, []
    drop = pd.MultiIndex.from_tuples(bad)
    key = pd.MultiIndex.from_frame(ratings.loc[:, ["scale_id", "scale_version", "scale_hash"]])
    return ratings.loc[~key.isin(drop)].reset_index(drop=True), problems


def drift_overview(
    ratings: pd.DataFrame, registry: ScaleRegistry, *, low_below: int = LOW_RATING
) -> pd.DataFrame:
    """Every program's latest review of each scale against its previous one, all at once.

    The same comparison as `scoring.analytics.drift` (items rated on both reviews; a fall is
    a lower rating; a low is a rating below `low_below` on both; the band change compares band
    levels), computed with merges over the whole frame instead of one call per program.
    `ratings` needs only each program's two latest reviews of each scale (finalized_ratings with
    latest=2, whose `final_reviews` column then gives `reviews`).
    Columns OVERVIEW_COLUMNS; `band_direction` is "fell", "rose", "same", "unknown" (a review
    without a band) or None (only one review). Sorted with the band falls first, then by
    number of falls, then program name.
    """
    if ratings.empty:
        return pd.DataFrame({col: pd.Series([], dtype=object) for col in OVERVIEW_COLUMNS})
    totals = review_totals(ratings, registry)  # one row per review, by date then id
    group = totals.groupby(["program_id", "scale_id"], sort=False)
    totals["_from_end"] = group.cumcount(ascending=False)
    totals["reviews"] = group["review_id"].transform("size")
    if "final_reviews" in ratings.columns:  # finalized_ratings(latest=2) counts what it left out
        counts = ratings.drop_duplicates("review_id").set_index("review_id")["final_reviews"]
        totals["reviews"] = totals["review_id"].map(counts).astype("int64")
    keep = ["program_id", "scale_id", "review_id", "review_date", "band", "band_level", "banded_value"]
    latest = totals.loc[totals["_from_end"] == 0, [*keep, "program", "provider", "region", "reviews"]]
    previous = totals.loc[totals["_from_end"] == 1, keep].rename(
        columns={c: f"previous_{c}" for c in keep if c not in ("program_id", "scale_id")}
    )
    out = latest.merge(previous, on=["program_id", "scale_id"], how="left")

    level_now = out["band_level"].astype("Float64")
    level_before = out["previous_band_level"].astype("Float64")
    direction = np.select(
        [
            (level_now < level_before).fillna(False).to_numpy(dtype=bool),
            (level_now > level_before).fillna(False).to_numpy(dtype=bool),
            (level_now == level_before).fillna(False).to_numpy(dtype=bool),
        ],
        ["fell", "rose", "same"],
        default="unknown",
    ).astype(object)
    direction[out["previous_review_id"].isna().to_numpy()] = None
    out["band_direction"] = direction

    # Items of the latest review against the same items of the previous one.
    pairs = out.loc[out["previous_review_id"].notna(), ["review_id", "previous_review_id"]]
    pairs = pairs.astype("int64")
    rated = ratings.loc[ratings["rating"].notna(), ["review_id", "item_id", "rating"]]
    now = rated.merge(pairs, on="review_id")
    before = rated.rename(columns={"review_id": "previous_review_id", "rating": "previous_rating"})
    compared = now.merge(before, on=["previous_review_id", "item_id"])
    compared["change"] = (compared["rating"] - compared["previous_rating"]).astype("int64")
    compared["_pos"] = _item_positions(ratings, compared, registry)

    falls = compared.loc[compared["change"] < 0].sort_values(["review_id", "change", "_pos"], kind="stable")
    fall_stats = falls.groupby("review_id").agg(
        falls=("item_id", "size"),
        fallen_items=("item_id", ", ".join),
        largest_fall=("change", "min"),
    )
    low = compared.loc[(compared["rating"] < low_below) & (compared["previous_rating"] < low_below)]
    low = low.sort_values(["review_id", "_pos"], kind="stable")
    low_stats = low.groupby("review_id").agg(low_twice=("item_id", "size"), low_items=("item_id", ", ".join))
    out = out.merge(fall_stats, left_on="review_id", right_index=True, how="left")
    out = out.merge(low_stats, left_on="review_id", right_index=True, how="left")
    has_pair = out["previous_review_id"].notna()
    for column in ("falls", "low_twice"):
        out[column] = out[column].where(~has_pair | out[column].notna(), 0)
        out[column] = pd.array(out[column], dtype="Int64")
    out["largest_fall"] = pd.array(out["largest_fall"], dtype="Int64")
    text_columns = ("fallen_items", "low_items", "program", "provider", "region", "band", "previous_band")
    for column in (*text_columns, "band_direction"):
        out[column] = pd.Series(
            out[column].to_numpy(dtype=object, na_value=None), index=out.index, dtype=object
        )
    out["previous_review_id"] = pd.array(out["previous_review_id"], dtype="Int64")
    out = out.rename(columns={"banded_value": "value", "previous_banded_value": "previous_value"})

    severity = np.where(out["band_direction"] == "fell", 0, 1)
    out = out.assign(_severity=severity, _falls=out["falls"].fillna(-1).astype("int64"))
    out = out.sort_values(
        ["_severity", "_falls", "program", "scale_id"], ascending=[True, False, True, True], kind="stable"
    )
    return out.loc[:, list(OVERVIEW_COLUMNS)].reset_index(drop=True)


def _item_positions(ratings: pd.DataFrame, compared: pd.DataFrame, registry: ScaleRegistry) -> np.ndarray:
    """Each compared item's position in its review's scale version (for the scale's item order)."""
    if compared.empty:
        return np.zeros(0, dtype="int64")
    versions = ratings.drop_duplicates("review_id").set_index("review_id")[["scale_id", "scale_version"]]
    keys = versions.loc[compared["review_id"]]
    position = np.zeros(len(compared), dtype="int64")
    for (scale_id, version), index in keys.groupby(["scale_id", "scale_version"]).indices.items():
        order = {item_id: i for i, item_id in enumerate(registry.get(scale_id, version).item_ids)}
        position[index] = compared["item_id"].iloc[index].map(order).fillna(len(order)).to_numpy()
    return position


# ---- scores added up by the database ------------------------------------------------------------

PACK: Final = 1 << 20
"""Each subscale's count and sum come from ONE SQL sum of (rating + PACK): count * PACK + sum,
exact while a subscale's ratings add up to less than PACK (checked against the loaded scales)."""
_STATEMENTS: dict[tuple[object, ...], tuple[Select[Any], tuple[str, ...]]] = {}


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
        frame = totals_frame(self.columns)
        frame["scale_hash"] = pd.Series(self.columns["scale_hash"], dtype=str)
        return frame


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
    """
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    statement, sub_ids = _scores_statement(
        db.registry,
        program=program_id is not None,
        scale=scale_id,
        latest=latest is not None,
        visible=visible,
    )
    params = {"program_id": program_id, "scale_id": scale_id}
    params = {k: v for k, v in params.items() if v is not None}
    # A statement built for one actor's scope is run once: only the shared ones are kept.
    rows = _run(db.engine, statement, params) if visible is None else None
    if rows is None:
        # One statement needs no transaction around it; on PostgreSQL that saves the BEGIN and
        # ROLLBACK round trips, which cost more than one program's query.
        engine = (
            db.engine if db.dialect == "sqlite" else db.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        with engine.connect() as conn:
            rows = conn.execute(statement, params).all()
    names = [*_SCORE_HEAD, *(f"_packed_{s}" for s in sub_ids)]
    columns: dict[str, Any] = (
        dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)) if rows else {}
    )
    columns = {name: columns.get(name, []) for name in names}
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
    for sub_id in sub_ids:
        packed = np.asarray([v or 0 for v in columns.pop(f"_packed_{sub_id}")], dtype="int64")
        columns[f"rated_{sub_id}"], columns[f"sum_{sub_id}"] = np.divmod(packed, PACK)
    for name in ("rated", "total_sum"):
        columns[name] = np.asarray([v or 0 for v in columns[name]], dtype="int64")
    dates = columns["review_date"]
    columns["review_date"] = np.array(dates, dtype="datetime64[ns]")  # dates, or ISO text on SQLite
    scored = score_sums(columns, db.registry)
    scored["scale_hash"] = np.array(columns["scale_hash"], dtype=object)  # the query's order is the result's
    return ReviewScores(scored, tuple(problems))


_COMPILED: dict[tuple[int, str], tuple[Select[Any], str, tuple[str, ...] | None, dict[str, Any]]] = {}


def _run(engine: Engine, statement: Select[Any], params: dict[str, Any]) -> Sequence[Any] | None:
    """The statement's rows, as the driver gives them, or None when SQLAlchemy must run it (IN
    lists expanded at execution). Compiled once per statement and dialect, then run as plain
    SQL on the pool's driver connection: for one program's few rows, SQLAlchemy's per-call work
    (the cache key walks the whole statement, the result wrapper, SQLite's explicit BEGIN) took
    longer than the query. One SELECT needs no transaction: it reads one snapshot in autocommit."""
    key = (id(statement), engine.dialect.name)
    found = _COMPILED.get(key)
    if found is None or found[0] is not statement:
        compiled = statement.compile(dialect=engine.dialect)
        if "POSTCOMPILE" in compiled.string:
            return None
        found = (statement, compiled.string, compiled.positiontup, dict(compiled.params))
        _COMPILED[key] = found
    _statement, sql, order, defaults = found
    values = {**defaults, **params}
    bound = tuple(values[name] for name in order) if order else values
    raw = engine.raw_connection()  # checked out as engine.connect() does (pre-ping included)
    try:
        driver = raw.driver_connection
        # SQLite's connections are in autocommit already (we BEGIN ourselves, storage/db.py);
        # psycopg's would open a transaction, and its rollback on return is a round trip.
        autocommit = getattr(driver, "autocommit", None)
        if autocommit is False:
            try:
                driver.autocommit = True
            except Exception:  # already in a transaction: the pool's rollback on return ends it
                autocommit = None
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, bound)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            if autocommit is False:
                driver.autocommit = False
    finally:
        raw.close()  # back to the pool


_SCORE_HEAD: Final = (
    "review_id",
    "program_id",
    "program",
    "provider",
    "region",
    "scale_id",
    "scale_version",
    "review_date",
    "scale_hash",
    "rated",
    "total_sum",
)


def _current_final() -> list[ColumnElement[bool]]:
    """Final reviews that no final amendment replaces."""
    newer = aliased(Review)
    replaced = (
        select(newer.id)
        .where(newer.amendment_of == Review.id, newer.status == ReviewStatus.FINAL.value)
        .exists()
    )
    return [Review.status == ReviewStatus.FINAL.value, ~replaced]


def _scores_statement(
    registry: ScaleRegistry,
    *,
    program: bool,
    scale: str | None,
    latest: int | None,
    visible: ColumnElement[bool] | None,
) -> tuple[Select[Any], tuple[str, ...]]:
    """The sums query and its subscale ids (those of `scale` when given, else of every loaded
    scale); built once per set of scales and filters, since building it costs more than running
    it for one program."""
    key = (tuple((k, s.content_hash) for k, s in registry.scales.items()), program, scale, latest)
    if visible is None and key in _STATEMENTS:
        return _STATEMENTS[key]
    membership, needs_review = _subscale_membership(
        [s for s in registry.scales.values() if scale is None or s.id == scale]
    )
    where = _current_final()
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
        func.count(rating).label("rated"),
        func.sum(rating).label("total_sum"),
        *(
            func.sum(case((chosen, rating + PACK))).label(f"packed_{i}")
            for i, chosen in enumerate(membership.values())
        ),
    )
    if latest:
        # The latest reviews first, then only their ratings: started from the few ranked
        # reviews, the database reads their ratings by index instead of scanning them all.
        order = func.row_number().over(
            partition_by=(Review.program_id, Review.scale_id),
            order_by=(Review.review_date.desc(), Review.id.desc()),
        )
        ranked = select(Review.id.label("id"), order.label("k"))
        if visible is not None:
            ranked = ranked.join(Program, Program.id == Review.program_id)
        ranked = ranked.where(*where).subquery("ranked")
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
        select(
            Review.id,
            Program.id,
            Program.name,
            Provider.name,
            Program.region,
            Review.scale_id,
            Review.scale_version,
            Review.review_date,
            Review.scale_hash,
            sums.c.rated,
            sums.c.total_sum,
            *(sums.c[f"packed_{i}"] for i in range(len(membership))),
        )
        .select_from(sums)
        .join(Review, Review.id == sums.c.review_id)
        .join(Program, Program.id == Review.program_id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .order_by(Review.review_date, Review.id)
    )
    if visible is None:
        _STATEMENTS[key] = (query, tuple(membership))
    return query, tuple(membership)


def _subscale_membership(scales: list[Scale]) -> tuple[dict[str, ColumnElement[bool]], bool]:
    """subscale id -> the condition that a consensus rating's item is in it, over the given
    scales, as cheap as the scales allow: when the first few characters of an item id tell its
    subscale in every scale (DACTS H1, O1, S1; IDDT I1; GOI G1), a prefix test; when the item
    id alone does, an IN list; otherwise the scale version as well (then the second value is
    True: the conditions name the review's columns)."""
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
            head = func.substr(item, 1, length)
            return {
                sub_id: head == found[0] if len(found) == 1 else head.in_(sorted(found))
                for sub_id, found in prefixes.items()
            }, False
    owner = {}
    if all(owner.setdefault(i, s) == s for _, _, i, s in pairs):
        items: dict[str, list[str]] = {}
        for item_id, sub_id in owner.items():
            items.setdefault(sub_id, []).append(item_id)
        return {sub_id: item.in_(found) for sub_id, found in items.items()}, False
    members: dict[str, list[ColumnElement[bool]]] = {}
    for scale in scales:
        for sub in scale.subscales:
            members.setdefault(sub.id, []).append(
                and_(Review.scale_id == scale.id, Review.scale_version == scale.version, item.in_(sub.items))
            )
    return {sub_id: or_(*conditions) for sub_id, conditions in members.items()}, True
