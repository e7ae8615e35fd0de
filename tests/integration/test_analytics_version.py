"""The analytics caches' key (`data_version`) changes with every change of what the analytics
read, however it is made: through the services, a bulk load, or SQL by hand. It is kept by the
triggers of migration 0004, on SQLite and PostgreSQL; a stale key would show a state agency
last month's scores."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from services import analytics_data
from services import reviews as svc
from services.access import local_admin
from services.analytics_data import data_version
from services.database import Database

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]


def rate_all(db: Database, review_id: int) -> None:
    for item_id in DACTS:
        svc.save_consensus(db, review_id, item_id, rating=4, expected_version=0, actor=local_admin("lead"))


def test_drafts_leave_it_and_finalizing_changes_it(db: Database, review: svc.ReviewView) -> None:
    before = data_version(db)
    svc.save_rating(db, review.id, "ana", "H1", rating=4, note="chart audit", actor=local_admin("ana"))
    rate_all(db, review.id)
    svc.set_review_text(db, review.id, summary="draft summary", actor=local_admin("lead"))
    assert data_version(db) == before  # drafts are not in the analytics: their caches stay
    svc.finalize(db, review.id, actor=local_admin("lead"))
    finalized = data_version(db)
    assert finalized != before
    amendment = svc.amend(db, review.id, "typo in H1", actor=local_admin("lead"))
    assert data_version(db) == finalized  # an amendment in progress changes nothing yet
    svc.finalize(db, amendment.id, actor=local_admin("lead"))
    assert data_version(db) != finalized  # the final amendment replaces the review


def test_programs_and_providers_change_it(db: Database, program: svc.ProgramView) -> None:
    before = data_version(db)
    svc.update_program(db, program.id, region="South", actor=local_admin("admin"))
    renamed = data_version(db)
    assert renamed != before
    svc.create_program(db, "Hillside IDDT", model="IDDT", provider="Hill Care", actor=local_admin("admin"))
    created = data_version(db)
    assert created != renamed
    with db.engine.begin() as c:  # no service renames a provider; SQL by hand still counts
        c.execute(text("UPDATE providers SET name = 'Riverside Health Inc.' WHERE name = 'Riverside Health'"))
    assert data_version(db) != created


def test_a_final_review_loaded_with_sql_changes_it(db: Database, program: svc.ProgramView) -> None:
    before = data_version(db)
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    with db.engine.begin() as c:  # as bench/generate.py and a bulk import write them
        c.execute(
            text(
                "INSERT INTO reviews (program_id, scale_id, scale_version, scale_hash, review_date, "
                "review_type, status, amendment_number, version, created_at, created_by, updated_at, "
                "finalized_at, finalized_by) "
                "VALUES (:p, 'dacts', '1.0', '', :d, 'baseline', 'final', 0, 1, :t, 'x', :t, :t, 'x')"
            ),
            {"p": program.id, "d": dt.date(2026, 1, 5), "t": now},
        )
    assert data_version(db) != before


def test_it_is_read_again_after_the_server_drops_the_connection(db: Database) -> None:
    """The version is read without pinging the connection first (asked on every rerun): a
    connection the server closed (a restart) is dropped and the read made again."""
    before = data_version(db)
    if db.dialect != "postgresql":
        assert db.unpinged_engine is db.engine  # SQLite pings nothing
        return
    with db.unpinged_engine.connect() as c:
        mine = c.execute(text("SELECT pg_backend_pid()")).scalar_one()  # back to the pool after
    with db.engine.begin() as c:  # as a restart of the server does to every connection
        assert c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine}).scalar_one()
    assert data_version(db) == before
    svc.create_program(db, "After the restart", actor=local_admin("admin"))
    assert data_version(db) != before


def test_the_pages_ask_again_after_their_own_writes_and_after_max_age(
    db: Database, program: svc.ProgramView, monkeypatch
) -> None:
    """The pages' reruns ask at most once a `max_age`: a change made through the same Database
    (this server) shows at once, one made another way (another process) once `max_age` passed."""
    now = [1000.0]
    monkeypatch.setattr(analytics_data.time, "monotonic", lambda: now[0])
    first = data_version(db, max_age=5)
    with db.engine.begin() as c:  # as another process would: not through this Database
        c.execute(text("UPDATE programs SET region = 'East' WHERE id = :id"), {"id": program.id})
    assert data_version(db, max_age=5) == first  # asked 0 s ago: not asked again
    now[0] += 4.9
    assert data_version(db, max_age=5) == first
    now[0] += 0.2
    later = data_version(db, max_age=5)
    assert later != first  # 5.1 s old: asked again
    svc.update_program(db, program.id, region="North", actor=local_admin("admin"))  # this server
    own = data_version(db, max_age=5)
    assert own != later  # its own write: asked again at once
    with db.engine.begin() as c:
        c.execute(text("UPDATE programs SET region = 'West' WHERE id = :id"), {"id": program.id})
    assert data_version(db) != own  # without max_age: always asked
