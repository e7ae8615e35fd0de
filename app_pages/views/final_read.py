"""The final reviews' ratings as Drift and Compare read them inside their own process-wide
caches (app_pages/page_cache.py, keyed on the data version): the read, the reviews whose scale
version is missing or changed left out, and the messages of what was left out, the integrity
gate's first; what app_pages.shared.final_ratings gives, without its `st.cache_data` copy (a
pickle of the frame on every miss, 0.1 s of 56,000 rows, for a frame only these caches keep)."""

from __future__ import annotations

import pandas as pd

from app_pages.markup import md
from app_pages.shared import actor
from scales import ScaleRegistry
from services.analytics import finalized_ratings, left_out, scale_problems
from services.database import Database


def read_final(
    db: Database,
    *,
    program_id: int | None = None,
    scale_id: str | None = None,
    latest: int | None = None,
    evidence: bool = True,
) -> pd.DataFrame:
    """finalized_ratings for the acting user, narrowed down in the database as it says."""
    return finalized_ratings(
        db, actor=actor(), program_id=program_id, scale_id=scale_id, latest=latest, evidence=evidence
    )


def checked(read: pd.DataFrame, registry: ScaleRegistry) -> tuple[pd.DataFrame, list[str]]:
    """A read without the reviews whose scale version is missing or changed, and the messages
    of what was left out, the integrity gate's first (escaped: they name programs)."""
    frame, problems = scale_problems(read, registry)
    return frame, [*(md(message) for message in left_out(read)), *problems]
