"""Migration 0011: every existing program, review, rating, consensus row and user gets a global
id (final reviews included, their checksums and seals unchanged); new rows get one on insert."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text

from services import integrity, users
from services import reviews as svc
from services.access import acting_for, local_admin
from services.database import Database
from storage.db import make_engine
from storage.migrate import downgrade, upgrade_to_head
from storage.triggers import trigger_problems
from tests.integration.test_storage_integrity import DACTS

ADMIN = local_admin("admin")
TABLES = ("programs", "reviews", "rater_ratings", "consensus_ratings", "users")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def global_ids(db: Database) -> dict[str, list[str | None]]:
    with db.engine.connect() as conn:
        return {
            t: list(conn.execute(text(f"SELECT global_id FROM {t} ORDER BY id")).scalars()) for t in TABLES
        }


def test_migration_0011_gives_every_existing_row_a_global_id(db: Database, db_url: str) -> None:
    program = svc.create_program(db, "Riverside ACT Team", model="ACT", actor=ADMIN)
    users.add_user(db, "ana@agency.org", role="reviewer", actor=ADMIN)
    final = svc.start_review(
        db, program.id, "dacts", "1.0", dt.date(2026, 3, 14), "baseline", ["ana"], actor=ADMIN
    )
    for item in DACTS:
        svc.save_rating(db, final.id, "ana", item, rating=4, actor=acting_for(ADMIN, "ana"))
        svc.save_consensus(db, final.id, item, rating=4, expected_version=0, actor=ADMIN)
    svc.finalize(db, final.id, actor=ADMIN)
    draft = svc.start_review(
        db, program.id, "dacts", "1.0", dt.date(2026, 9, 1), "follow-up", ["ana"], actor=ADMIN
    )
    svc.save_rating(db, draft.id, "ana", "H3", rating=2, actor=acting_for(ADMIN, "ana"))
    made = global_ids(db)
    assert all(UUID.match(gid or "") for ids in made.values() for gid in ids)  # new rows: on insert

    engine = make_engine(db_url)
    try:
        downgrade(engine, "0007")  # as a database made before 0011
        upgrade_to_head(engine)
    finally:
        engine.dispose()

    filled = global_ids(db)
    assert {t: len(ids) for t, ids in filled.items()} == {t: len(ids) for t, ids in made.items()}
    every = [gid for ids in filled.values() for gid in ids]
    assert all(UUID.match(gid or "") for gid in every) and len(set(every)) == len(every)
    report = integrity.check_database(db, actor=ADMIN)
    assert report.ok, report.problems  # checksums, seals and the audit chain hold; triggers restored
    with db.engine.connect() as conn:
        assert trigger_problems(conn) == []
    assert svc.review_json(db, final.id, actor=ADMIN)["global_id"] == filled["reviews"][0]
