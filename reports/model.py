"""What a PDF report shows: `ReportData`, and its builder from a review file.

`ReportData` is plain data: the PDF renderer reads nothing else, so a report can be made
from a review file with no database; services/report_data.py builds it from a stored review.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from reports.plan_lines import PlanLine
from scales.schema import Scale

if TYPE_CHECKING:
    from scoring.agreement_stats import ReviewAgreement
    from scoring.analytics import ProgramSeries

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
    override_reason: str | None = None  # a computed item's rating given by hand instead, and why


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
    drift_left_out: tuple[str, ...] = ()  # the integrity gate's warnings of reviews left out of `drift`
    agreement: ReviewAgreement | None = None  # between the two raters' own ratings, when there are two
    plan: tuple[PlanLine, ...] = ()  # a stored final review's action plan entries (reports/plan_section.py)
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
