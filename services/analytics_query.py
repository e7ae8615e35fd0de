"""What the analytics queries share: the current final reviews, a statement run as plain SQL
on the driver (cheaper than SQLAlchemy's per-call work for one program's rows), and the check
that each review's scale version is loaded with the content it was rated on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, Select, select
from sqlalchemy.orm import aliased

from scales import ScaleRegistry
from services.database import Database
from storage.models import Review, ReviewStatus

AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
"""A SELECT of any columns."""


def current_final() -> list[ColumnElement[bool]]:
    """Final reviews that no final amendment replaces."""
    newer = aliased(Review)
    replaced = (
        select(newer.id)
        .where(newer.amendment_of == Review.id, newer.status == ReviewStatus.FINAL.value)
        .exists()
    )
    return [Review.status == ReviewStatus.FINAL.value, ~replaced]


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


_COMPILED: dict[tuple[int, str], tuple[AnySelect, str, tuple[str, ...] | None, dict[str, Any]]] = {}


def run_statement(
    engine: Engine,
    statement: AnySelect,
    params: dict[str, Any],
    *,
    postgres_settings: Sequence[tuple[str, str]] = (),
) -> Sequence[Any] | None:
    """The statement's rows, as the driver gives them, or None when SQLAlchemy must run it (IN
    lists expanded at execution). Compiled once per statement and dialect, then run as plain
    SQL on the pool's driver connection: for one program's few rows, SQLAlchemy's per-call work
    (the cache key walks the whole statement, the result wrapper, SQLite's explicit BEGIN) took
    longer than the query. One SELECT needs no transaction: it reads one snapshot in autocommit.
    `postgres_settings` (name, value) hold for this statement alone on PostgreSQL (set in a
    transaction of its own, which the pool's rollback ends), and are ignored elsewhere."""
    key = (id(statement), engine.dialect.name)
    found = _COMPILED.get(key)
    if found is None or found[0] is not statement:
        compiled = statement.compile(dialect=engine.dialect)
        if "POSTCOMPILE" in compiled.string:
            return None
        positions = None if compiled.positiontup is None else tuple(compiled.positiontup)
        found = (statement, compiled.string, positions, dict(compiled.params))
        _COMPILED[key] = found
    _statement, sql, order, defaults = found
    bound = _bound({**defaults, **params}, order)
    raw = engine.raw_connection()  # checked out as engine.connect() does (pre-ping included)
    try:
        driver = raw.driver_connection
        # SQLite's connections are in autocommit already (we BEGIN ourselves, storage/db.py);
        # psycopg's would open a transaction, and its rollback on return is a round trip.
        autocommit = getattr(driver, "autocommit", None)
        local = bool(postgres_settings) and engine.dialect.name == "postgresql"
        if local:
            autocommit = None  # the settings need the transaction
        if autocommit is False and driver is not None:
            try:
                driver.autocommit = True
            except Exception:  # already in a transaction: the pool's rollback on return ends it
                autocommit = None
        try:
            cursor = raw.cursor()
            try:
                if local:
                    calls = ", ".join("set_config(%s, %s, true)" for _ in postgres_settings)
                    cursor.execute(f"SELECT {calls}", [v for pair in postgres_settings for v in pair])
                cursor.execute(sql, bound)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            if autocommit is False and driver is not None:
                driver.autocommit = False
    finally:
        raw.close()  # back to the pool


def run_unpinged(
    db: Database, statement: AnySelect, params: dict[str, Any], **options: Any
) -> Sequence[Any] | None:
    """`run_statement` on the pool that pings nothing first (PostgreSQL: one round trip less, a
    tenth of a millisecond, as much as one program's query), asking once more on a connection
    the server dropped (a restart): as analytics_data.data_version does."""
    engine = db.unpinged_engine
    try:
        return run_statement(engine, statement, params, **options)
    except engine.dialect.loaded_dbapi.Error:
        engine.dispose()
        return run_statement(engine, statement, params, **options)


def run_in(connection: Connection, statement: AnySelect) -> Sequence[Any]:
    """The statement's rows as the driver gives them (tuples), in `connection`'s transaction (a
    read's own): for plain columns, which SQLAlchemy does not convert, a Row object per row is pure
    cost. IN lists are written out (no cache: a statement made for one read)."""
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    order = None if compiled.positiontup is None else tuple(compiled.positiontup)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(compiled.string, _bound(compiled.construct_params(), order))
        return cursor.fetchall()
    finally:
        cursor.close()


def _bound(values: Mapping[str, Any], order: tuple[str, ...] | None) -> Any:
    """The parameters as the driver takes them: positional (SQLite) or by name (psycopg)."""
    return tuple(values[name] for name in order) if order else values
