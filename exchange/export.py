"""Exports of stored reviews: tables for spreadsheets (CSV, XLSX) and one review as a review file.

`reviews_table` has one row per review (scores as they were finalized), `item_ratings_table`
one row per item rating, `wide_table` one row per review with one column per item (the layout
`fidelity import` reads back). Spreadsheet writers neutralise formula injection: a text cell
that starts with =, +, -, @, a tab or a carriage return gets a leading single quote, so a
spreadsheet shows it as text instead of running it.

`review_export_json` writes a review as a review file (DESIGN.md section 4) that
`fidelity review import` (services.review_import) stores back as an identical review.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, selectinload

from scales import Scale, UnknownScaleError
from services import access
from services import reviews as svc
from services.access import Actor
from services.database import Database
from services.errors import FidelityError, IntegrityFailure, ValidationProblem
from storage.integrity import failing_reviews
from storage.models import ConsensusRating, Program, Review, ReviewStatus

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

REVIEW_COLUMNS: tuple[str, ...] = (
    "review_id",
    "program_id",
    "program",
    "provider",
    "region",
    "scale",
    "version",
    "review_date",
    "review_end_date",
    "review_type",
    "status",
    "amendment_of",
    "amendment_number",
    "amended_by",
    "finalized_at",
    "total_sum",
    "total_mean",
    "mean_of_subscale_means",
    "rated",
    "items",
    "banded_value",
    "band",
)
"""The fixed columns of `reviews_table`; one `<subscale id>_mean` column per subscale follows."""

ITEM_COLUMNS: tuple[str, ...] = (
    "review_id",
    "program",
    "review_date",
    "scale",
    "version",
    "item_id",
    "item_name",
    "subscale",
    "rating",
    "source",
    "evidence",
    "recommendation",
    "not_rated_reason",
)

WIDE_COLUMNS: tuple[str, ...] = (
    "program", "provider", "region", "date", "scale", "version", "type", "raters",
)  # fmt: skip
"""The metadata columns of the wide layout (exchange.historical reads the same names)."""


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
        reviews = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
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
        reviews = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
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
        reviews = _reviews(s, actor=actor, scale_id=scale_id, program_id=program_id, status=status)
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
    return frame


def wide_template(scale: Scale) -> str:
    """The header line of the wide layout for one scale (CSV text), for agencies to fill in."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([*WIDE_COLUMNS, *scale.item_ids])
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Writers: formula injection neutralised
# --------------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula, prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell (and column name) neutralised."""
    result = frame.copy()
    for column in result.columns:
        if result[column].dtype == object or pd.api.types.is_string_dtype(result[column]):
            result[column] = result[column].map(neutralise, na_action="ignore")
    result.columns = [neutralise(str(c)) for c in result.columns]
    return result


def table_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, which Excel needs to read UTF-8), neutralised."""
    text = neutralised(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def tables_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per frame (header row frozen, bold), neutralised."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        safe = neutralised(frame)
        sheet.append([_xlsx_value(str(c)) for c in safe.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for values in safe.itertuples(index=False, name=None):
            sheet.append([_xlsx_value(v) for v in values])
        for cell in sheet[1]:
            width = min(max(len(str(cell.value)) + 2, 10), 40)
            sheet.column_dimensions[get_column_letter(cell.column)].width = width
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_tables(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write to `path` by its suffix: .csv (the first sheet only) or .xlsx (every sheet)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        data = table_csv(next(iter(sheets.values())))
    elif suffix == ".xlsx":
        data = tables_xlsx(sheets)
    else:
        raise ValidationProblem(f"{target}: write a .csv or an .xlsx file, not {suffix or 'no suffix'}")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise ValidationProblem(f"{target}: cannot write: {exc.strerror}") from None


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes | dt.date):  # numpy scalars
        return value.item()
    if isinstance(value, str):  # a worksheet cannot hold control characters: openpyxl refuses the file
        return _XLSX_ILLEGAL.sub("\ufffd", value)
    return value


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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


_NOT_YAML_PRINTABLE = re.compile(r"[\x7f-\x9f\ufffe\uffff]")


def dump_review_json(data: Mapping[str, Any]) -> str:
    """JSON text of a review file that YAML (which reads review files) reads back unchanged:
    characters YAML would not print as they are (such as U+0085) are written as \\u escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _reviews(
    s: Session, *, actor: Actor, scale_id: str | None, program_id: int | None, status: str | None
) -> list[Review]:
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
        query = query.where(Review.status == svc._status(status))
    reviews = list(s.scalars(query).unique())
    failing = failing_reviews(s, reviews)
    if failing:  # an export is a record: refuse it rather than pass on altered reviews
        raise IntegrityFailure([svc.integrity_message(review_id) for review_id in failing])
    return reviews


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
            scale = svc._review_scale(db, review)
            scores[review.id] = svc._score(scale, consensus.get(review.id, {}).values()).to_dict()
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
