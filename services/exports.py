"""Exports of stored reviews: the tables for spreadsheets and one review as a review file.

`reviews_table` has one row per review (scores as they were finalized), `item_ratings_table`
one row per item rating, `wide_table` one row per review with one column per item (the layout
`fidelity import` reads back). Only the reviews the actor may open are exported; a final review
that fails its integrity checks (its ratings seal, services.integrity_gate, or its content
checksum) is left out and listed in the table's attrs (`left_out(frame)`), and the others are
exported. One review's export (`review_export_json`) refuses a failing review.

`review_export_json` writes a review as a review file (DESIGN.md section 4) that
`fidelity review import` (services.review_import) stores back as an identical review.

The formats (CSV and XLSX writers that neutralise formula injection, the review file's JSON
text, the wide template, FHIR and REDCap) are in exchange/; the names the app and the CLI use
are re-exported here, so that they import services only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from domain import checks
from exchange.export import (
    FORMULA_PREFIXES,
    ITEM_COLUMNS,
    REVIEW_COLUMNS,
    WIDE_COLUMNS,
    dump_review_json,
    neutralise,
    neutralised,
    table_csv,
    tables_xlsx,
    wide_template,
    write_tables,
)
from exchange.fhir import (
    review_to_questionnaire_response,
    scale_to_questionnaire,
)
from exchange.redcap import RedcapError, scale_to_redcap
from exchange.redcap_dictionary import redcap_to_scale, scale_to_yaml
from scales import UnknownScaleError
from services import access
from services import reviews as svc
from services.access import Actor
from services.database import Database
from services.errors import FidelityError
from services.integrity_gate import LEFT_OUT, LeftOut, gate, left_out
from services.rows import review_scale
from services.scores import score_rows
from storage.integrity import failing_reviews, session_key
from storage.models import ConsensusRating, Program, Review, ReviewStatus

__all__ = [  # read from the database here, and the formats of exchange/
    "FORMULA_PREFIXES",
    "ITEM_COLUMNS",
    "REVIEW_COLUMNS",
    "WIDE_COLUMNS",
    "RedcapError",
    "dump_review_json",
    "item_ratings_table",
    "left_out",
    "neutralise",
    "neutralised",
    "redcap_to_scale",
    "review_export_json",
    "review_to_questionnaire_response",
    "reviews_table",
    "scale_to_questionnaire",
    "scale_to_redcap",
    "scale_to_yaml",
    "table_csv",
    "tables_xlsx",
    "wide_table",
    "wide_template",
    "write_tables",
]


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def reviews_table(
    db: Database,
    *,
    actor: Actor,
    scale_id: str | None = None,
    program_id: int | None = None,
    status: str | None = ReviewStatus.FINAL.value,
) -> pd.DataFrame:
    """One row per review (by default only final ones), oldest first.

    Only the reviews the actor may open are included. Final reviews carry the score stored
    when they were finalized (the record); other reviews are scored from their consensus so
    far. Subscale means follow the fixed columns as `<subscale id>_mean`, for every subscale
    of the scales in the table.
    """
    with db.reading() as s:
        reviews, dropped = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
        amended_by = _amended_by(s, [r.id for r in reviews])
        scores = _scores(db, s, reviews)
    records: list[dict[str, Any]] = []
    subscale_columns: dict[str, None] = {}
    for review in reviews:
        score = scores.get(review.id) or {}
        total = score.get("total") or {}
        record: dict[str, Any] = {
            "review_id": review.id,
            "program_id": review.program_id,
            "program": review.program.name,
            "provider": None if review.program.provider is None else review.program.provider.name,
            "region": review.program.region,
            "scale": review.scale_id,
            "version": review.scale_version,
            "review_date": review.review_date,
            "review_end_date": review.review_end_date,
            "review_type": review.review_type,
            "status": review.status,
            "amendment_of": review.amendment_of,
            "amendment_number": review.amendment_number,
            "amended_by": amended_by.get(review.id),
            "finalized_at": _utc_text(review.finalized_at),
            "total_sum": total.get("sum"),
            "total_mean": total.get("mean"),
            "mean_of_subscale_means": total.get("mean_of_subscale_means"),
            "rated": total.get("rated"),
            "items": total.get("items"),
            "banded_value": score.get("banded_value"),
            "band": score.get("band"),
        }
        for sub_id, sub in (score.get("subscales") or {}).items():
            column = f"{sub_id}_mean"
            subscale_columns[column] = None
            record[column] = sub.get("mean")
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[*REVIEW_COLUMNS, *subscale_columns])
    whole = ("program_id", "amendment_of", "amendment_number", "amended_by", "total_sum", "rated", "items")
    for column in whole:
        frame[column] = frame[column].astype("Int64")
    for column in ("total_mean", "mean_of_subscale_means", "banded_value", *subscale_columns):
        frame[column] = frame[column].astype("Float64")
    frame.attrs[LEFT_OUT] = dropped
    return frame


def item_ratings_table(
    db: Database,
    *,
    actor: Actor,
    scale_id: str | None = None,
    program_id: int | None = None,
    status: str | None = ReviewStatus.FINAL.value,
) -> pd.DataFrame:
    """One row per (review, item) in scale order: the consensus rating, its source, the evidence,
    recommendation and why an item was not rated. Items without a consensus row have rating NA."""
    records: list[dict[str, Any]] = []
    with db.reading() as s:
        reviews, dropped = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
        consensus = _consensus_by_review(s, [r.id for r in reviews])
        for review in reviews:
            rows = consensus.get(review.id, {})
            for item_id, item_name, subscale in _item_order(db, review, rows):
                row = rows.get(item_id)
                records.append(
                    {
                        "review_id": review.id,
                        "program": review.program.name,
                        "review_date": review.review_date,
                        "scale": review.scale_id,
                        "version": review.scale_version,
                        "item_id": item_id,
                        "item_name": item_name,
                        "subscale": subscale,
                        "rating": None if row is None else row.rating,
                        "source": None if row is None else row.rating_source,
                        "evidence": None if row is None else row.evidence,
                        "recommendation": None if row is None else row.recommendation,
                        "not_rated_reason": None if row is None else row.not_rated_reason,
                    }
                )
    frame = pd.DataFrame.from_records(records, columns=list(ITEM_COLUMNS))
    frame["review_id"] = frame["review_id"].astype("Int64")
    frame["rating"] = frame["rating"].astype("Int64")
    frame.attrs[LEFT_OUT] = dropped
    return frame


def wide_table(
    db: Database,
    *,
    actor: Actor,
    scale_id: str | None = None,
    program_id: int | None = None,
    status: str | None = ReviewStatus.FINAL.value,
) -> pd.DataFrame:
    """The layout `fidelity import` reads: one row per review with program, provider, region,
    date, scale, version, type, raters and one column per item id (blank = not rated)."""
    records: list[dict[str, Any]] = []
    item_columns: dict[str, None] = {}
    with db.reading() as s:
        reviews, dropped = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
        consensus = _consensus_by_review(s, [r.id for r in reviews])
        for review in reviews:
            rows = consensus.get(review.id, {})
            record: dict[str, Any] = {
                "program": review.program.name,
                "provider": None if review.program.provider is None else review.program.provider.name,
                "region": review.program.region,
                "date": review.review_date,
                "scale": review.scale_id,
                "version": review.scale_version,
                "type": review.review_type,
                "raters": "; ".join(r.rater for r in review.raters) or None,
            }
            for item_id, _name, _sub in _item_order(db, review, rows):
                item_columns[item_id] = None
                row = rows.get(item_id)
                record[item_id] = None if row is None else row.rating
            records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[*WIDE_COLUMNS, *item_columns])
    for column in item_columns:
        frame[column] = frame[column].astype("Int64")
    frame.attrs[LEFT_OUT] = dropped
    return frame


# --------------------------------------------------------------------------------------------
# One review as a review file
# --------------------------------------------------------------------------------------------


def review_export_json(db: Database, review_id: int, *, actor: Actor) -> dict[str, Any]:
    """The review as a review file (DESIGN.md section 4) with its consensus ratings.

    Importing it (`fidelity review import`, services.review_import) into another database
    gives the same review: program, provider, region, dates, type, raters, each item's
    rating (or computed inputs), evidence, recommendation, data sources and not-rated
    reason, and the review's strengths, summary and recommendations. Raters' individual
    ratings, ids, amendment links and the audit trail are not part of a review file.
    Inputs that were saved but never completed (so they gave no rating) are left out: a
    review file refuses incomplete inputs.
    """
    view = svc.get_review(db, review_id, actor=actor)
    scale = db.registry.get(view.scale_id, view.scale_version)
    items: dict[str, dict[str, Any]] = {}
    for item in scale.items:
        c = view.consensus.get(item.id)
        entry: dict[str, Any] = {"rating": None if c is None else c.rating}
        if c is not None:
            if c.inputs and c.pending is None:
                entry["inputs"] = dict(c.inputs)
            for key in ("evidence", "recommendation"):
                value = getattr(c, key)
                if value:
                    entry[key] = value
            if c.data_sources:
                entry["data_sources"] = list(c.data_sources)
            if c.rating is None and c.not_rated_reason:
                entry["not_rated_reason"] = c.not_rated_reason
        items[item.id] = entry
    data: dict[str, Any] = {
        "scale": view.scale_id,
        "version": view.scale_version,
        "program": view.program.name,
        "provider": view.program.provider,
        "region": view.program.region,
        "date": view.review_date.isoformat(),
        "end_date": None if view.review_end_date is None else view.review_end_date.isoformat(),
        "type": view.review_type,
        "raters": list(view.raters),
        "items": items,
        "strengths": view.strengths,
        "summary": view.summary,
        "recommendations": view.recommendations,
    }
    return {key: value for key, value in data.items() if value is not None}


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _reviews(
    s: Session, *, actor: Actor, scale_id: str | None, program_id: int | None, status: str | None
) -> tuple[list[Review], tuple[LeftOut, ...]]:
    """The reviews to export, and the warning of each final review left out."""
    query = (
        select(Review)
        .join(Review.program)
        .options(contains_eager(Review.program).selectinload(Program.provider), selectinload(Review.raters))
        .order_by(Review.review_date, Review.id)
    )
    visible = access.review_filter(actor)  # the reviews the actor may open, as list_reviews
    if visible is not None:
        query = query.where(visible)
    if scale_id is not None:
        query = query.where(Review.scale_id == scale_id)
    if program_id is not None:
        query = query.where(Review.program_id == program_id)
    if status is not None:
        query = query.where(Review.status == checks.review_status(status))
    reviews = list(s.scalars(query).unique())
    by_id = {r.id: r for r in reviews}
    # An export is a record: a final review whose ratings fail their seal (the integrity gate)
    # or whose content fails its checksum is left out and listed, never passed on altered; the
    # others are exported.
    dropped: dict[int, LeftOut] = {}
    for chunk in _chunks([r.id for r in reviews if r.status == ReviewStatus.FINAL]):
        dropped.update(gate(s, chunk).left_out)
    for review_id in failing_reviews(s, [r for r in reviews if r.id not in dropped], session_key(s)):
        review = by_id[review_id]
        message = checksum_warning(review_id, review.program.name, review.review_date)
        dropped[review_id] = LeftOut(review_id, review.program_id, review.scale_id, message)
    return [r for r in reviews if r.id not in dropped], tuple(dropped.values())


def checksum_warning(review_id: int, program: str, review_date: dt.date) -> str:
    """What an export says of a review left out because its content fails its checksum."""
    return (
        f"review {review_id} of {program}, {review_date.isoformat()}, is left out: its content does not "
        "match the checksum taken when it was finalized (changed outside the application); run "
        "`fidelity db check`"
    )


def _amended_by(s: Session, ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = s.execute(select(Review.amendment_of, Review.id).where(Review.amendment_of.in_(chunk)))
        found.update({old: new for old, new in rows if old is not None})
    return found


def _consensus_by_review(s: Session, ids: Sequence[int]) -> dict[int, dict[str, ConsensusRating]]:
    found: dict[int, dict[str, ConsensusRating]] = {}
    for chunk in _chunks(ids):
        for row in s.scalars(select(ConsensusRating).where(ConsensusRating.review_id.in_(chunk))):
            found.setdefault(row.review_id, {})[row.item_id] = row
    return found


def _scores(db: Database, s: Session, reviews: Sequence[Review]) -> dict[int, dict[str, Any] | None]:
    """The stored final score, or the live score of an open review (None if it cannot be scored)."""
    scores: dict[int, dict[str, Any] | None] = {}
    open_reviews = [r for r in reviews if r.final_score is None]
    consensus = _consensus_by_review(s, [r.id for r in open_reviews])
    for review in reviews:
        if review.final_score is not None:
            scores[review.id] = dict(review.final_score)
            continue
        try:
            scale = review_scale(db, review)
            scores[review.id] = score_rows(scale, consensus.get(review.id, {}).values()).to_dict()
        except FidelityError:
            scores[review.id] = None
    return scores


def _item_order(
    db: Database, review: Review, rows: Mapping[str, ConsensusRating]
) -> Iterable[tuple[str, str | None, str | None]]:
    """(item id, name, subscale) in the scale's order; stored items only if the scale is gone."""
    try:
        scale = db.registry.get(review.scale_id, review.scale_version)
    except UnknownScaleError:
        return [(item_id, None, None) for item_id in sorted(rows)]
    return [(item.id, item.name, item.subscale) for item in scale.items]


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _utc_text(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
