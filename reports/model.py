"""What a PDF report shows, gathered from a review file or from a stored review.

`ReportData` is plain data: the PDF renderer reads nothing else, so a report can be made
from a review file with no database, or from the database through the service API.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from scales.schema import Scale

if TYPE_CHECKING:
    import pandas as pd

    from scoring.analytics import ProgramSeries
    from services.access import Actor
    from services.database import Database
    from services.review_file import ReviewFile
    from services.reviews import ReviewView

FINAL = "final"


@dataclass(frozen=True)
class ItemDetail:
    """What the reviewers wrote about one item (every field may be empty)."""

    evidence: str | None = None
    recommendation: str | None = None
    not_rated_reason: str | None = None
    note: str | None = None  # a review file's item note
    pending: str | None = None  # why saved inputs give no rating yet (a stored draft)
    data_sources: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything one PDF report shows.

    `score` has the shape of `ReviewScore.to_dict()` (the stored final score of a final
    review, the live score of a draft, the computed score of a review file). `status` is
    None for a review file, else the stored review's status ("draft", "consensus", "final").
    `drift` is the program's series of reviews on this scale up to this one, when there are
    at least two; None otherwise.
    """

    scale: Scale
    score: Mapping[str, Any]  # a ReviewScore is accepted and kept as its to_dict()
    program: str | None = None
    provider: str | None = None
    region: str | None = None
    review_date: dt.date | None = None
    review_end_date: dt.date | None = None
    review_type: str | None = None
    raters: tuple[str, ...] = ()
    items: Mapping[str, ItemDetail] = field(default_factory=lambda: MappingProxyType({}))
    strengths: str | None = None
    summary: str | None = None
    recommendations: str | None = None
    status: str | None = None
    review_id: int | None = None
    finalized_at: dt.datetime | None = None
    finalized_by: str | None = None
    amendment_of: int | None = None
    amendment_number: int = 0
    amendment_reason: str | None = None
    amended_by: int | None = None
    source: str | None = None  # e.g. "review file riverside.yaml"
    drift: ProgramSeries | None = None
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        if hasattr(self.score, "to_dict"):  # a scoring.ReviewScore: keep its JSON shape
            object.__setattr__(self, "score", self.score.to_dict())

    @property
    def is_draft(self) -> bool:
        """A stored review that is not final yet: its report is labelled DRAFT."""
        return self.status is not None and self.status != FINAL

    @property
    def program_name(self) -> str:
        return (self.program or "").strip() or "Unnamed program"

    def item(self, item_id: str) -> ItemDetail:
        return self.items.get(item_id) or ItemDetail()


def safe_filename(
    program: str | None, date: dt.date | str | None, *, review_id: int | None = None, suffix: str = ".pdf"
) -> str:
    """A file name for a report, safe on every file system and in a download header.

    Accents are folded ("Zoë Núñez" -> "Zoe-Nunez"), other letters and digits kept, and
    every other character (path separators, dots, quotes, control characters) becomes "-".
    """
    folded = unicodedata.normalize("NFKD", program or "")
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = unicodedata.normalize("NFC", folded)
    slug = re.sub(r"[^\w]+|_+", "-", folded, flags=re.UNICODE).strip("-")
    parts = [_cut(slug, 80) or "review"]
    if date is not None:
        day = date.isoformat() if isinstance(date, dt.date) else re.sub(r"[^\w-]+|_+", "-", str(date))
        parts.append(_cut(day.strip("-"), 20))
    if review_id is not None:
        parts.append(f"review-{int(review_id)}")
    stem = "-".join(p for p in parts if p)
    if stem.upper() in _WINDOWS_DEVICES:  # CON.pdf cannot be saved on Windows
        stem += "-report"
    return stem + suffix


_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}
)


def _cut(text: str, characters: int, utf8_bytes: int = 120) -> str:
    """At most `characters` characters and `utf8_bytes` bytes (a file name may have 255 bytes,
    and 80 CJK letters are 240), not ending in "-"."""
    cut = text[:characters].encode("utf-8")[:utf8_bytes].decode("utf-8", "ignore")
    return cut.strip("-")


# ---------------------------------------------------------------------------------------------
# From a review file (no database)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# From the database
# ---------------------------------------------------------------------------------------------


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
    review; the drift series holds only the final reviews their analytics scope covers.
    """
    from services import reviews as svc

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
        )
        for item_id, c in review.consensus.items()
    }
    series = None
    if drift:
        if final_ratings is None:  # this program's reviews of this scale: all the series needs
            final_ratings = load_final_ratings(
                db, actor=actor, program_id=review.program.id, scale_id=review.scale_id
            )
        series = drift_series(db, review, final_ratings)
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
    )


def load_final_ratings(
    db: Database, *, actor: Actor, program_id: int | None = None, scale_id: str | None = None
) -> pd.DataFrame:
    """Every final review's consensus ratings (scoring.analytics.RATING_COLUMNS), leaving out
    reviews replaced by a final amendment and reviews whose scale file is missing or changed;
    only one program's, or one scale's, when given (the database narrows it down)."""
    try:
        from services.analytics_data import finalized_ratings, scale_problems
    except ImportError:  # pragma: no cover - the module is part of the analytics work
        return final_ratings_via_service(db, program_id, actor=actor)
    ratings = finalized_ratings(db, actor=actor, program_id=program_id, scale_id=scale_id)
    frame, _problems = scale_problems(ratings, db.registry)
    return frame


def final_ratings_via_service(db: Database, program_id: int | None = None, *, actor: Actor) -> pd.DataFrame:
    """The same frame as `load_final_ratings`, read one review at a time through the service
    API (slower; for when services.analytics_data is not available)."""
    import pandas as pd

    from scoring.analytics import RATING_COLUMNS
    from services import reviews as svc
    from services.errors import FidelityError

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
        rows.extend(_review_rows(review))
    frame = pd.DataFrame(rows, columns=list(RATING_COLUMNS))
    frame["rating"] = pd.array(frame["rating"], dtype="Int64")
    frame["review_date"] = pd.to_datetime(frame["review_date"])
    return frame.sort_values(["review_date", "review_id"], kind="stable").reset_index(drop=True)


def drift_series(db: Database, review: ReviewView, final_ratings: pd.DataFrame) -> ProgramSeries | None:
    """This review with the program's other final reviews on its scale dated no later than it
    (leaving out the review it amends and its amendment), when there is at least one such."""
    import pandas as pd

    from scoring.analytics import RATING_COLUMNS, program_series

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
    own = pd.DataFrame(_review_rows(review), columns=list(RATING_COLUMNS))
    own["rating"] = pd.array(own["rating"], dtype="Int64")
    own["review_date"] = pd.to_datetime(own["review_date"])
    earlier = earlier.assign(
        program=review.program.name, provider=review.program.provider, region=review.program.region
    )
    combined = pd.concat([earlier, own], ignore_index=True)
    series = program_series(combined, db.registry, review.program.id, scale_id=review.scale_id)
    return series if series.values["review_id"].nunique() >= 2 else None


def _review_rows(review: ReviewView) -> list[dict[str, Any]]:
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
