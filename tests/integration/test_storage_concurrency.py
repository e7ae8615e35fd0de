"""Two reviewers saving at once never silently overwrite each other.

Each side uses its own Database (own engine and connection pool), as two Streamlit
sessions or a Streamlit session and a CLI command would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.errors import StaleWriteError
from services.integrity import check_database


def test_a_stale_consensus_write_is_refused_and_nothing_is_lost(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    svc.save_consensus(
        db, review.id, "H3", rating=3, evidence="first pass", expected_version=0, actor=local_admin("lead")
    )
    ana_db, ben_db = open_db(), open_db()
    ana_view = svc.get_review(ana_db, review.id, actor=local_admin())  # both load the item at version 1
    ben_view = svc.get_review(ben_db, review.id, actor=local_admin())

    saved = svc.save_consensus(
        ana_db,
        review.id,
        "H3",
        rating=4,
        evidence="team meets daily",
        expected_version=ana_view.consensus_version("H3"),
        actor=local_admin("ana"),
    )
    with pytest.raises(StaleWriteError) as stale:
        svc.save_consensus(
            ben_db,
            review.id,
            "H3",
            rating=5,
            expected_version=ben_view.consensus_version("H3"),
            actor=local_admin("ben"),
        )
    message = str(stale.value)
    assert message.startswith("H3 was changed by ana at ")
    assert message.endswith("since you loaded it; reload to see their consensus rating")

    current = svc.get_review(db, review.id, actor=local_admin()).consensus["H3"]
    assert (current.rating, current.evidence, current.version) == (4, "team meets daily", saved.version)
    ratings = [
        (e.actor, e.old_value, e.new_value)
        for e in svc.audit_trail(db, review.id, actor=local_admin())
        if e.entity == "consensus[H3]" and e.field == "rating"
    ]
    assert ratings == [("lead", None, 3), ("ana", 3, 4)]  # ben's refused write left no trace

    # After reloading, ben's change goes through on top of ana's.
    reloaded = svc.get_review(ben_db, review.id, actor=local_admin())
    svc.save_consensus(
        ben_db,
        review.id,
        "H3",
        rating=5,
        expected_version=reloaded.consensus_version("H3"),
        actor=local_admin("ben"),
    )
    final = svc.get_review(db, review.id, actor=local_admin()).consensus["H3"]
    assert (final.rating, final.evidence, final.updated_by) == (5, "team meets daily", "ben")


def test_two_first_consensus_saves_on_one_item_cannot_both_win(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    first, second = open_db(), open_db()
    svc.save_consensus(first, review.id, "O4", rating=4, expected_version=0, actor=local_admin("ana"))
    with pytest.raises(StaleWriteError, match="O4 was changed by ana"):
        svc.save_consensus(second, review.id, "O4", rating=2, expected_version=0, actor=local_admin("ben"))
    assert svc.get_review(db, review.id, actor=local_admin()).consensus["O4"].rating == 4


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads that start together; each result is a value or an exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_simultaneous_consensus_saves_exactly_one_wins(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    base = svc.save_consensus(db, review.id, "S3", rating=3, expected_version=0, actor=local_admin("lead"))
    names = ["ana", "ben", "cy", "dee"]
    dbs = [open_db() for _ in names]
    results = race(
        [
            (
                lambda d=d, n=n, r=r: svc.save_consensus(
                    d,
                    review.id,
                    "S3",
                    rating=r,
                    evidence=f"by {n}",
                    expected_version=base.version,
                    actor=local_admin(n),
                )
            )
            for d, n, r in zip(dbs, names, [1, 2, 4, 5], strict=True)
        ]
    )
    winners = [r for r in results if isinstance(r, svc.ConsensusView)]
    losers = [r for r in results if isinstance(r, StaleWriteError)]
    assert len(winners) == 1 and len(losers) == 3, results
    current = svc.get_review(db, review.id, actor=local_admin()).consensus["S3"]
    assert current == winners[0]
    changes = [
        e
        for e in svc.audit_trail(db, review.id, actor=local_admin())
        if e.entity == "consensus[S3]" and e.field == "rating"
    ]
    assert [(e.actor, e.new_value) for e in changes[1:]] == [(current.updated_by, current.rating)]
    report = check_database(db, actor=local_admin())  # the audit chain did not fork
    assert report.ok, report.problems


def test_two_raters_saving_at_once_both_keep_their_ratings(
    db: Database, review: svc.ReviewView, open_db: Callable[..., Database]
) -> None:
    ana_db, ben_db = open_db(), open_db()
    items = ["H2", "H3", "H4", "O1", "O4", "S3", "S9", "S10"]

    def rate(database: Database, rater: str, rating: int) -> None:
        for item_id in items:
            svc.save_rating(
                database,
                review.id,
                rater,
                item_id,
                rating=rating,
                note=f"{rater} on {item_id}",
                actor=local_admin(rater),
            )

    results = race([lambda: rate(ana_db, "ana", 4), lambda: rate(ben_db, "ben", 3)])
    assert results == [None, None]
    view = svc.get_review(db, review.id, actor=local_admin())
    assert {i: r.rating for i, r in view.ratings["ana"].items()} == dict.fromkeys(items, 4)
    assert {i: r.rating for i, r in view.ratings["ben"].items()} == dict.fromkeys(items, 3)
    svc.open_consensus(db, review.id, "comparing the raced ratings", actor=local_admin())
    assert svc.compare_raters(db, review.id, "ana", "ben", actor=local_admin()).within_one == len(items)
    report = check_database(db, actor=local_admin())  # the audit chain did not fork
    assert report.ok, report.problems
