"""What a report needs from the database or a review file, and the PDF of a stored review.

reports/ renders `ReportData` and knows nothing of storage; this module gathers it, through
the review services and with their access checks.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pandas as pd

from reports.model import FINAL, ItemDetail, ReportData
from reports.model import safe_filename as safe_filename  # the pages and the CLI name report files
from reports.wording import METHOD_TEXT as METHOD_TEXT  # the Results page words the total as the PDF does
from reports.wording import Working as Working
from reports.wording import computed_working as computed_working
from scoring.agreement_stats import ReviewAgreement
from scoring.analytics import RATING_COLUMNS, ProgramSeries, program_series
from services import reviews as svc
from services.access import Actor
from services.action_plan_views import report_lines
from services.action_plans import review_entries
from services.agreement import review_rater_agreement
from services.analytics_data import finalized_ratings, scale_problems
from services.database import Database
from services.errors import AccessDenied, FidelityError
from services.integrity_gate import LEFT_OUT, left_out_of
from services.review_file import ReviewFile
from services.reviews import ReviewView


def report_pdf(data: ReportData, *, charts: bool = True) -> bytes:
    """The PDF of a report's data (the charts are the slow part)."""
    # Imported here: fpdf2 loads when a report is made, not with a page or at CLI start-up.
    from reports.pdf import render_report

    return render_report(data, charts=charts)


def stored_review_pdf(db: Database, review_id: int, *, actor: Actor, charts: bool = True) -> bytes:
    """The PDF report of a stored review (final: as finalized; otherwise labelled DRAFT), for an
    actor who may open it."""
    return report_pdf(from_stored_review(db, review_id, actor=actor, drift=charts), charts=charts)


def review_file_pdf(review_file: ReviewFile, *, source: str | None = None, charts: bool = True) -> bytes:
    """The PDF report of a review file (no database)."""
    return report_pdf(from_review_file(review_file, source=source), charts=charts)


def from_review_file(review_file: ReviewFile, *, source: str | None = None) -> ReportData:
    items = {
        item_id: ItemDetail(
            evidence=notes.evidence,
            recommendation=notes.recommendation,
            not_rated_reason=notes.not_rated_reason,
            note=notes.note,
            data_sources=tuple(notes.data_sources),
        )
        for item_id, notes in review_file.notes.items()
    }
    return ReportData(
        scale=review_file.scale,
        score=review_file.score.to_dict(),
        program=review_file.program,
        provider=review_file.provider,
        region=review_file.region,
        review_date=review_file.date,
        review_end_date=review_file.end_date,
        review_type=review_file.review_type,
        raters=tuple(review_file.raters),
        items=MappingProxyType(items),
        strengths=review_file.strengths,
        summary=review_file.summary,
        recommendations=review_file.recommendations,
        source=source,
    )


def from_stored_review(
    db: Database,
    review_id: int,
    *,
    actor: Actor,
    final_ratings: pd.DataFrame | None = None,
    drift: bool = True,
) -> ReportData:
    """The report of a stored review: a final one with the score it was finalized with, any
    other with its live score (and labelled DRAFT).

    With `drift`, the program's earlier final reviews on the same scale (up to this review's
    date) give the drift series. `final_ratings` is `load_final_ratings(db)`, passed in when
    making many reports so the database is read once. The actor must be allowed to open the
    review; the drift series holds only the final reviews their analytics scope covers, and
    never one the integrity gate left out (the report names those under the chart).
    """
    review = svc.get_review(db, review_id, actor=actor)
    scale = db.registry.get(review.scale_id, review.scale_version)
    if review.is_final and review.final_score is not None:
        score: dict[str, Any] = review.final_score
    else:
        score = svc.live_score(db, review_id, actor=actor).to_dict()
    items = {
        item_id: ItemDetail(
            evidence=c.evidence,
            recommendation=c.recommendation,
            not_rated_reason=c.not_rated_reason,
            pending=c.pending,
            data_sources=tuple(c.data_sources),
            override_reason=c.override_reason,
        )
        for item_id, c in review.consensus.items()
    }
    series = None
    drift_left_out: tuple[str, ...] = ()
    if drift:
        if final_ratings is None:  # this program's reviews of this scale: all the series needs
            final_ratings = load_final_ratings(
                db, actor=actor, program_id=review.program.id, scale_id=review.scale_id
            )
        series = drift_series(db, review, final_ratings)
        drift_left_out = tuple(left_out_of(final_ratings, review.program.id, review.scale_id))
    program = review.program
    return ReportData(
        scale=scale,
        score=score,
        program=program.name,
        provider=program.provider,
        region=program.region,
        review_date=review.review_date,
        review_end_date=review.review_end_date,
        review_type=review.review_type,
        raters=tuple(review.raters),
        items=MappingProxyType(items),
        strengths=review.strengths,
        summary=review.summary,
        recommendations=review.recommendations,
        status=str(review.status),
        review_id=review.id,
        finalized_at=review.finalized_at,
        finalized_by=review.finalized_by,
        amendment_of=review.amendment_of,
        amendment_number=review.amendment_number,
        amendment_reason=review.amendment_reason,
        amended_by=review.amended_by,
        source=f"review {review.id} in the database",
        drift=series,
        drift_left_out=drift_left_out,
        agreement=_agreement(db, review.id, actor=actor),
        plan=report_lines(review_entries(db, review.id, actor=actor)) if review.is_final else (),
    )


def _agreement(db: Database, review_id: int, *, actor: Actor) -> ReviewAgreement | None:
    """The raters' agreement for the method note; None when they rated nothing in common (an
    imported review names its raters but holds only the consensus)."""
    try:
        result = review_rater_agreement(db, review_id, actor=actor)
    except AccessDenied:  # a draft whose raters have not all submitted: no comparison yet
        return None
    return result if result is not None and result.counts.compared else None


def load_final_ratings(
    db: Database, *, actor: Actor, program_id: int | None = None, scale_id: str | None = None
) -> pd.DataFrame:
    """Every final review's consensus ratings (scoring.analytics.RATING_COLUMNS), leaving out
    reviews replaced by a final amendment and reviews whose scale file is missing or changed;
    only one program's, or one scale's, when given (the database narrows it down). The reviews
    the integrity gate left out are in the frame's attrs (services.integrity_gate.left_out)."""
    ratings = finalized_ratings(db, actor=actor, program_id=program_id, scale_id=scale_id)
    frame, _problems = scale_problems(ratings, db.registry)
    frame.attrs[LEFT_OUT] = ratings.attrs.get(LEFT_OUT, ())  # the integrity gate's, for the report to name
    return frame


def final_ratings_via_service(db: Database, program_id: int | None = None, *, actor: Actor) -> pd.DataFrame:
    """The same frame as `load_final_ratings`, read one review at a time through the service
    API (slower; the tests check the fast path against it)."""
    summaries = svc.list_reviews(db, actor=actor, program_id=program_id, status=FINAL)
    final_ids = {s.id for s in summaries}
    rows: list[dict[str, Any]] = []
    for summary in summaries:
        if summary.problem or (summary.amended_by is not None and summary.amended_by in final_ids):
            continue
        try:
            review = svc.get_review(db, summary.id, actor=actor)
        except FidelityError:
            continue
        rows.extend(review_rows(review))
    frame = pd.DataFrame(rows, columns=list(RATING_COLUMNS))
    frame["rating"] = pd.array(frame["rating"], dtype="Int64")
    frame["review_date"] = pd.to_datetime(frame["review_date"])
    return frame.sort_values(["review_date", "review_id"], kind="stable").reset_index(drop=True)


def drift_series(db: Database, review: ReviewView, final_ratings: pd.DataFrame) -> ProgramSeries | None:
    """This review with the program's other final reviews on its scale dated no later than it
    (leaving out the review it amends and its amendment), when there is at least one such."""
    if final_ratings.empty:
        return None
    exclude = {review.id, review.amendment_of, review.amended_by} - {None}
    frame = final_ratings
    earlier = frame.loc[
        (frame["program_id"] == review.program.id)
        & (frame["scale_id"] == review.scale_id)
        & (pd.to_datetime(frame["review_date"]) <= pd.Timestamp(review.review_date))
        & ~frame["review_id"].isin(exclude),
        list(RATING_COLUMNS),
    ]
    if earlier.empty:
        return None
    own = pd.DataFrame(review_rows(review), columns=list(RATING_COLUMNS))
    own["rating"] = pd.array(own["rating"], dtype="Int64")
    own["review_date"] = pd.to_datetime(own["review_date"])
    earlier = earlier.assign(
        program=review.program.name, provider=review.program.provider, region=review.program.region
    )
    combined = pd.concat([earlier, own], ignore_index=True)
    series = program_series(combined, db.registry, review.program.id, scale_id=review.scale_id)
    return series if series.values["review_id"].nunique() >= 2 else None


def review_rows(review: ReviewView) -> list[dict[str, Any]]:
    """One row per item of the review, in the columns of scoring.analytics.RATING_COLUMNS."""
    program = review.program
    return [
        {
            "review_id": review.id,
            "program_id": program.id,
            "program": program.name,
            "provider": program.provider,
            "region": program.region,
            "scale_id": review.scale_id,
            "scale_version": review.scale_version,
            "review_date": review.review_date,
            "item_id": item_id,
            "rating": consensus.rating,
            "evidence": consensus.evidence,
        }
        for item_id, consensus in review.consensus.items()
    ]
