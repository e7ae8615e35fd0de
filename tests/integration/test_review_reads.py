"""The review pages' kept reads (services.review_reads): keyed on the counter migration 0013's
triggers keep, so a kept read is served only while nothing it shows has changed. A change this
server makes shows at once; another process's (SQL by hand on another connection) within
`max_age`; a kept draft that a save changed would show a rater their old rating."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services import review_reads
from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.errors import ValidationProblem
from services.review_reads import cached, review_version

ADMIN = local_admin("lead")


def test_every_change_of_what_the_pages_read_changes_the_version(
    db: Database, review: svc.ReviewView
) -> None:
    seen = {review_version(db)}

    def changed() -> None:
        now = review_version(db)
        assert now not in seen
        seen.add(now)

    svc.save_rating(db, review.id, "ana", "H1", rating=4, actor=local_admin("ana"))
    changed()
    svc.save_consensus(db, review.id, "H1", rating=4, expected_version=0, actor=ADMIN)
    changed()
    svc.set_review_text(db, review.id, summary="draft summary", actor=ADMIN)
    changed()
    svc.add_rater(db, review.id, "cy", actor=ADMIN)
    changed()
    statements = [  # SQL by hand, as another process, an import or a bulk load would write
        "UPDATE rater_ratings SET note = 'by hand' WHERE review_id = :id",
        "UPDATE consensus_ratings SET evidence = 'by hand' WHERE review_id = :id",
        "UPDATE reviews SET summary = 'by hand' WHERE id = :id",
        "UPDATE review_raters SET rater = rater WHERE review_id = :id",
        "UPDATE programs SET region = 'East'",
    ]
    for statement in statements:
        with db.engine.begin() as c:
            c.execute(text(statement), {"id": review.id})
        changed()
    before = review_version(db)
    assert review_version(db) == before  # reading changes nothing


def test_a_kept_read_shows_this_servers_save_at_once(db: Database, review: svc.ReviewView) -> None:
    reads = []

    def read(db: Database, review_id: int, *, actor: object) -> svc.ReviewView:
        reads.append(review_id)
        return svc.get_review(db, review_id, actor=ADMIN)

    first = cached(db, 60, read, review.id, actor=ADMIN)
    assert cached(db, 60, read, review.id, actor=ADMIN) is first and reads == [review.id]  # kept
    svc.save_rating(db, review.id, "ana", "H1", rating=3, actor=local_admin("ana"))
    saved = cached(db, 60, read, review.id, actor=ADMIN)  # within max_age, but written here
    assert saved.ratings["ana"]["H1"].rating == 3 and len(reads) == 2
    other = local_admin("someone else")  # another actor, another kept read
    cached(db, 60, read, review.id, actor=other)
    assert len(reads) == 3


def test_another_process_change_shows_within_max_age(
    db: Database, review: svc.ReviewView, monkeypatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(review_reads.time, "monotonic", lambda: now[0])
    svc.save_rating(db, review.id, "ana", "H1", rating=4, actor=local_admin("ana"))
    before = cached(db, 1.0, svc.get_review, review.id, actor=ADMIN)
    assert before.ratings["ana"]["H1"].rating == 4
    with db.engine.begin() as c:  # another process: not through this Database
        c.execute(text("UPDATE rater_ratings SET rating = 2 WHERE review_id = :id"), {"id": review.id})
    assert cached(db, 1.0, svc.get_review, review.id, actor=ADMIN) is before  # asked 0 s ago
    now[0] += 1.1
    after = cached(db, 1.0, svc.get_review, review.id, actor=ADMIN)
    assert after.ratings["ana"]["H1"].rating == 2
    with db.engine.begin() as c:
        c.execute(text("UPDATE rater_ratings SET rating = 1 WHERE review_id = :id"), {"id": review.id})
    review_reads.forget_version(db)  # as the bench does instead of waiting max_age
    assert cached(db, 1.0, svc.get_review, review.id, actor=ADMIN).ratings["ana"]["H1"].rating == 1


def test_errors_are_not_kept_and_lists_are_copied(db: Database, review: svc.ReviewView) -> None:
    calls = []

    def failing(db: Database, *, actor: object) -> list[int]:
        calls.append(1)
        raise ValidationProblem("no")

    for _ in range(2):
        with pytest.raises(ValidationProblem):
            cached(db, 60, failing, actor=ADMIN)
    assert len(calls) == 2
    listed = cached(db, 60, svc.list_reviews, actor=ADMIN)
    listed.clear()  # a caller changing its list leaves the kept one as it was
    assert [r.id for r in cached(db, 60, svc.list_reviews, actor=ADMIN)] == [review.id]
