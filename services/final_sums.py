"""The stored final sums (storage.final_sums): written when a review becomes final, and read by
the agency dashboard (each program's latest final review of a scale) by key, their seal
recomputed on every read as the integrity gate does for the ratings.

A review whose stored sums fail their seal is left out with the gate's warning; when a review
shown has no stored sums (a scale version the registry did not have when they were stored),
the caller falls back to adding up the ratings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from scales import Scale
from services import access
from services.access import Action, Actor
from services.analytics_query import current_final, run_statement
from services.database import Database
from services.integrity_gate import warning
from storage.final_sums import parse_subscales, seal_matches, sums_of, sums_seal
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


def latest_sums(
    db: Database, *, actor: Actor, scale_id: str
) -> tuple[dict[str, list[Any]], list[str]] | None:
    """Each visible program's latest current final review of `scale_id`, with its stored sums as
    the columns `scoring.analytics.score_sums` reads (review columns, scale_hash, rated,
    total_sum, rated_<sub>, sum_<sub>), in review date, id order; and the warnings of the reviews
    left out because their sums' seal failed. None when a review has no stored sums."""
    visible = access.program_filter(actor, Action.READ_ANALYTICS)
    statement = _latest_statement(visible is not None)
    params: dict[str, Any] = {"scale_id": scale_id}
    if visible is not None:
        statement = statement.where(visible)
    # The shared statement runs compiled once on the driver (analytics_query.run_statement).
    rows = run_statement(db.engine, statement, params) if visible is None else None
    if rows is None:
        engine = db.engine
        if db.dialect != "sqlite":  # one statement: no BEGIN and ROLLBACK round trips
            engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            rows = conn.execute(statement, params).all()
    key = db.integrity_key
    names = ("review_id", "program_id", "program", "provider", "region", "scale_id", "scale_version",
             "review_date", "scale_hash", "rated", "total_sum")  # fmt: skip
    columns: dict[str, list[Any]] = {name: [] for name in names}
    subs: list[dict[str, tuple[int, int]]] = []
    warnings: list[str] = []
    for row in rows:
        rid, pid, program, provider, region, sid, version, day, digest, amendment_of, *stored = row
        rated, total, text, seal = stored
        if seal is None:
            return None
        if not seal_matches(
            key, (rid, pid, sid, version, digest, day, amendment_of), rated, total, text, seal
        ):
            warnings.append(warning(rid, program, day))
            continue
        values = (rid, pid, program, provider, region, sid, version, day, digest, rated, total)
        for name, value in zip(names, values, strict=True):
            columns[name].append(value)
        subs.append(parse_subscales(text))
    for sub_id in dict.fromkeys(s for found in subs for s in found):
        columns[f"rated_{sub_id}"] = [found.get(sub_id, (0, 0))[0] for found in subs]
        columns[f"sum_{sub_id}"] = [found.get(sub_id, (0, 0))[1] for found in subs]
    return columns, warnings


_STATEMENTS: dict[bool, Any] = {}


def _latest_statement(limited: bool) -> Any:
    """One statement: per program an index seek for its latest current final review of the
    scale, then that review's stored sums by key (the scope filter is added by the caller)."""
    if not limited and False in _STATEMENTS:
        return _STATEMENTS[False]
    latest = (
        select(Review.id)
        .where(Review.program_id == Program.id, Review.scale_id == bindparam("scale_id"), *current_final())
        .order_by(Review.review_date.desc(), Review.id.desc())
        .limit(1)
        .correlate(Program)
        .scalar_subquery()
    )
    shown = aliased(Review, name="shown")
    statement = (
        select(
            shown.id,
            Program.id,
            Program.name,
            Provider.name,
            Program.region,
            shown.scale_id,
            shown.scale_version,
            shown.review_date,
            shown.scale_hash,
            shown.amendment_of,
            FinalReviewSums.rated,
            FinalReviewSums.total_sum,
            FinalReviewSums.subscales,
            FinalReviewSums.seal,
        )
        .select_from(Program)
        .join(shown, shown.id == latest)
        .outerjoin(FinalReviewSums, FinalReviewSums.review_id == shown.id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .order_by(shown.review_date, shown.id)
    )
    if not limited:
        _STATEMENTS[False] = statement
    return statement
