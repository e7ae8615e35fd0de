"""The review list (the start page's table): one page at a time, newest first, with each
review's total and band; a final review's as it was finalized, read out of its stored score by
the database on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from services import reviews as svc
from services.access import local_admin
from services.database import Database

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
LEAD = local_admin("lead")


def start(db: Database, program_id: int, day: int) -> svc.ReviewView:
    return svc.start_review(
        db, program_id, "dacts", "1.0", dt.date(2026, 3, day), "follow-up", ["ana"], actor=LEAD
    )


def finalized(db: Database, program_id: int, day: int, low: str) -> svc.ReviewView:
    review = start(db, program_id, day)
    for item_id in DACTS:
        rating = 2 if item_id == low else 4
        svc.save_consensus(db, review.id, item_id, rating=rating, expected_version=0, actor=LEAD)
    return svc.finalize(db, review.id, actor=LEAD)


def test_pages_counts_and_stored_scores(db: Database, program: svc.ProgramView) -> None:
    other = svc.create_program(db, "Lakeside ACT", model="ACT", actor=local_admin("admin"))
    first = finalized(db, program.id, 1, low="S3")
    amendment = svc.amend(db, first.id, "typo", actor=LEAD)
    finalized(db, other.id, 2, low="H1")
    draft = start(db, program.id, 3)
    svc.save_consensus(db, draft.id, "H1", rating=3, expected_version=0, actor=LEAD)

    everything = svc.list_reviews(db, actor=LEAD)
    assert [r.review_date.day for r in everything] == [3, 2, 1, 1]  # newest first
    assert svc.count_reviews(db, actor=LEAD) == 4
    assert svc.list_reviews(db, actor=LEAD, limit=2, offset=1) == everything[1:3]
    assert svc.list_reviews(db, actor=LEAD, limit=2, offset=4) == []
    assert svc.count_reviews(db, actor=LEAD, program_id=program.id) == 3
    assert svc.count_reviews(db, actor=LEAD, status="final") == 2
    assert [r.id for r in svc.list_reviews(db, actor=LEAD, program_id=program.id, limit=2)] == [
        draft.id,
        amendment.id,  # same date as the review it amends, and newer
    ]

    by_id = {r.id: r for r in everything}
    final = by_id[first.id]
    stored = svc.get_review(db, first.id, actor=LEAD).final_score
    assert stored is not None
    assert final.amended_by == amendment.id and by_id[amendment.id].amendment_of == first.id
    assert (final.total_mean, final.total_sum, final.rated, final.items, final.band) == (
        stored["total"]["mean"],
        4 * 27 + 2,
        28,
        28,
        stored["band"],
    )
    assert final.total_mean == 3.93 and final.band == "Fair implementation"  # 110 / 28, DACTS 1.0
    live = by_id[draft.id]  # an open review is scored from its ratings so far
    assert (live.rated, live.total_sum, live.total_mean) == (1, 3, 3.0)
