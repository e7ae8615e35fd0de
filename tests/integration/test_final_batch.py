"""Storing final reviews a chunk at a time (services.final_batch, the historical import) writes
exactly what storing them one at a time (lifecycle.store_final_review) writes: the same rows,
checksums, ratings seals, stored sums and audit rows with their chain digests."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scales import Scale
from services.access import local_admin
from services.audit import AuditLog, BufferedAuditLog
from services.database import Database
from services.final_batch import FinalReviewOrder, store_final_reviews
from services.historical_import import WideImportError, import_wide, read_wide_file
from services.integrity import check_database
from services.lifecycle import ConsensusEntry, FinalReviewRecord, store_final_review
from services.programs import new_program
from storage.models import Program
from storage.testing import SqliteTemplate, postgres_schema

KEY = "batch-test-key"
AT = dt.datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=dt.UTC)
TABLES = ("programs", "providers", "reviews", "review_raters", "consensus_ratings", "final_review_sums")
NOT_COMPARED = {"global_id"}  # random per row


@pytest.fixture
def two_dbs(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Database, Database]]:
    """Two fresh databases on the backend, with the same integrity key."""
    if backend == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        urls = [template.copy(tmp_path / "one.db"), template.copy(tmp_path / "batch.db")]
        dbs = [Database(url, integrity_key=KEY) for url in urls]
        yield dbs[0], dbs[1]
        for db in dbs:
            db.dispose()
        return
    base = request.getfixturevalue("postgres_url")
    with postgres_schema(base) as one, postgres_schema(base) as batch:
        dbs = [Database(url, integrity_key=KEY) for url in (one, batch)]
        yield dbs[0], dbs[1]
        for db in dbs:
            db.dispose()


def records(scale: Scale) -> list[FinalReviewRecord]:
    """Reviews with everything a record can carry: raters, texts, evidence, data sources,
    not-rated items, ratings that differ from item to item."""
    found = []
    for n in range(5):
        items = {}
        for i, item in enumerate(scale.items):
            if (i + n) % 9 == 0:
                items[item.id] = ConsensusEntry(not_rated_reason="not in the file")
            else:
                items[item.id] = ConsensusEntry(
                    rating=1 + (i * 3 + n) % 5,
                    rating_source="rated",
                    evidence=f"seen «{i}»" if i % 4 == 0 else None,
                    data_sources=["chart review", "interview"] if i % 5 == 0 else None,
                )
        found.append(
            FinalReviewRecord(
                review_date=dt.date(2020 + n, 3, 1),
                review_end_date=dt.date(2020 + n, 3, 2) if n % 2 else None,
                review_type="baseline" if n == 0 else "follow-up",
                raters=["ana", "ben"][: n % 3],
                items=items,
                imported_from=f"history.csv row {n + 2}",
                strengths="a strong team" if n == 1 else None,
            )
        )
    return found


def programs(db: Database) -> list[Program]:
    with db.writing() as s:
        log = AuditLog(s, "importer", at=AT)
        made = [
            new_program(s, log, name, provider="Acme", model="ACT") for name in ("North ACT", "South ACT")
        ]
        return [s.get(Program, p.id) for p in made if p is not None]  # type: ignore[misc]


def everything(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of the review tables and the audit log, in id order, without random ids."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with db.engine.connect() as conn:
        meta = sa.MetaData()
        for name in (*TABLES, "audit_log", "audit_chain_head"):
            table = sa.Table(name, meta, autoload_with=conn)
            columns = [c for c in table.columns if c.name not in NOT_COMPARED]
            order = table.c.id if "id" in table.c else table.c[columns[0].name]
            rows[name] = [dict(r) for r in conn.execute(sa.select(*columns).order_by(order)).mappings()]
    return rows


def test_a_chunk_stores_what_one_review_at_a_time_stores(
    two_dbs: tuple[Database, Database], dacts: Scale
) -> None:
    one, batch = two_dbs
    for db in (one, batch):
        programs(db)
    wanted = records(dacts)
    with one.writing() as s:
        stored = list(s.scalars(sa.select(Program).order_by(Program.id)))
        for n, record in enumerate(wanted):
            log = BufferedAuditLog(s, "importer", program_id=stored[n % 2].id, at=AT)
            store_final_review(s, log, stored[n % 2], dacts, record)
            log.write()
    with batch.writing() as s:
        stored = list(s.scalars(sa.select(Program).order_by(Program.id)))
        orders = [FinalReviewOrder(stored[n % 2], dacts, record) for n, record in enumerate(wanted)]
        ids = list(store_final_reviews(s, BufferedAuditLog(s, "importer", at=AT), orders, chunk=2))
    assert ids == [1, 2, 3, 4, 5]
    expected, got = everything(one), everything(batch)
    assert len(got["consensus_ratings"]) == 5 * len(dacts.items)
    for name, rows in expected.items():
        assert len(got[name]) == len(rows), name
        for want, have in zip(rows, got[name], strict=True):
            differ = {column: (want[column], have[column]) for column in want if want[column] != have[column]}
            assert not differ, f"{name}: {differ}"
    for db in (one, batch):
        report = check_database(db, actor=local_admin())
        assert report.ok, report.problems


def history_csv(scale: Scale, reviews: int, bad_row: int | None = None) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    items = [item.id for item in scale.items]
    out.writerow(["program", "provider", "region", "date", "scale", "version", *items])
    for n in range(reviews):
        ratings = [str(1 + (n + i) % 5) if (n + i) % 13 else "" for i in range(len(items))]
        if n + 2 == bad_row:
            ratings[3] = "9"
        day = dt.date(2005, 1, 1) + dt.timedelta(days=200 * (n % 4))
        out.writerow(
            [f"Team {n // 4:03d}", "Acme", "North", day.isoformat(), scale.id, scale.version, *ratings]
        )
    return buffer.getvalue().encode("utf-8")


def test_a_batch_import_checks_clean_and_a_bad_row_late_imports_nothing(db: Database, dacts: Scale) -> None:
    reviews = 1_100  # three chunks
    with pytest.raises(WideImportError) as refused:
        import_wide(
            db, read_wide_file(history_csv(dacts, reviews, bad_row=reviews), "h.csv"), actor=local_admin("i")
        )
    [problem] = refused.value.row_problems  # named by row and column
    assert (problem.row, problem.column) == (reviews, dacts.items[3].id)
    with db.reading() as s:
        for table in ("reviews", "programs", "consensus_ratings", "audit_log", "final_review_sums"):
            assert s.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0, table

    summary = import_wide(db, read_wide_file(history_csv(dacts, reviews), "h.csv"), actor=local_admin("i"))
    assert summary.created == reviews
    report = check_database(db, actor=local_admin())
    assert report.ok, report.problems
    assert report.reviews == reviews
    with db.reading() as s:
        # Per review: created, one row per consensus field given, two status moves, the score.
        rated = s.scalar(sa.text("SELECT count(*) FROM consensus_ratings"))
        assert rated == reviews * len(dacts.items)
        assert s.scalar(sa.text("SELECT count(*) FROM final_review_sums")) == reviews
