"""Backups, restores and moving up (issue 21, part 4): `fidelity db backup`, `fidelity db restore`
and `fidelity db copy --to URL`, through the CLI as an operator runs them.

PostgreSQL tests use whole databases of their own (created and dropped here; pg_dump works on a
database, not on the test fixtures' schemas), next to FIDELITY_TEST_POSTGRES_URL's database.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.main import app
from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.db_copy import model_tables
from storage.db import make_engine
from storage.models import AuditEntry, RaterRating

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
runner = CliRunner()
REVIEW_DAY = dt.date(2026, 3, 14)
LEAD = local_admin("lead")


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def new_database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """Makes new, empty databases: a SQLite file, or a whole PostgreSQL database (dropped after)."""
    created: list[str] = []
    admin_url = None

    def _new(backend: str) -> str:
        nonlocal admin_url
        name = f"wt_ops_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        admin_url = admin_url or request.getfixturevalue("postgres_url")
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    yield _new
    if created and admin_url is not None:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(db: Database) -> svc.ReviewView:
    """A program, a final review with both raters' ratings and notes, its amendment (a review
    referring to another) and a draft review; returns the draft."""
    program = svc.create_program(
        db, "Riverside ACT Team", provider="Riverside Health", model="ACT", actor=LEAD
    )
    final = svc.start_review(
        db, program.id, "dacts", "1.0", REVIEW_DAY, "baseline", ["ana", "ben"], actor=LEAD
    )
    for rater in ("ana", "ben"):
        svc.save_rating(
            db, final.id, rater, "H2", rating=4, note=f"{rater}: charts", actor=local_admin(rater)
        )
    for item_id in DACTS:
        svc.save_consensus(
            db, final.id, item_id, rating=3 if item_id == "S3" else 4, expected_version=0, actor=LEAD
        )
    svc.finalize(db, final.id, actor=LEAD)
    svc.amend(db, final.id, "S3 was misread", actor=LEAD)
    return svc.start_review(db, program.id, "dacts", "1.0", REVIEW_DAY, "follow-up", ["ana"], actor=LEAD)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in model_tables()
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_backup_taken_while_a_rater_saves_restores_to_a_database_that_db_check_passes(
    backend: str,
    new_database: Callable[[str], str],
    open_db: Callable[..., Database],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = new_database(backend)
    db = open_db(source)
    draft = fill(db)
    writer_db = open_db(source)
    saved: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    some_saved = threading.Event()

    def rate() -> None:  # ana rates and re-rates the draft, a note each time, until told to stop
        try:
            i = 0
            while not stop.is_set():
                item = DACTS[i % len(DACTS)]
                svc.save_rating(
                    writer_db,
                    draft.id,
                    "ana",
                    item,
                    rating=1 + i % 5,
                    note=f"save {i}",
                    actor=local_admin("ana"),
                )
                saved.append(i)
                if i == 5:
                    some_saved.set()
                i += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
            some_saved.set()

    thread = threading.Thread(target=rate)
    thread.start()
    try:
        assert some_saved.wait(60)
        monkeypatch.setenv("FIDELITY_DATABASE_URL", source)
        backup = tmp_path / ("fidelity.backup" if backend == "postgresql" else "fidelity-backup.db")
        code, out, err = fidelity("db", "backup", str(backup))
        saves_at_backup_end = len(saved)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert code == 0, err
    assert f"backed up to {backup}" in out
    assert len(saved) > 6

    target = new_database(backend)
    monkeypatch.setenv("FIDELITY_DATABASE_URL", target)
    code, out, err = fidelity("db", "restore", str(backup))
    assert code == 0, err
    assert "restored from" in out and "intact" in out
    code, out, err = fidelity("db", "check")
    assert code == 0, err
    assert "intact: 1 final review(s)" in out

    # One consistent moment: every rating the backup holds has its audit rows, and no more.
    engine = make_engine(target)
    try:
        with engine.connect() as conn:
            ratings = conn.execute(
                select(func.count()).select_from(RaterRating).where(RaterRating.review_id == draft.id)
            ).scalar_one()
            notes = conn.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.review_id == draft.id, AuditEntry.field == "note")
            ).scalar_one()
    finally:
        engine.dispose()
    assert notes <= saves_at_backup_end  # no save made after the backup ended is in it
    assert ratings == min(notes, len(DACTS))  # each save wrote its rating and its note's audit row together
    assert notes >= 6  # the saves made before the backup started are in it


def test_restore_refuses_to_overwrite_a_database_without_replace(
    sqlite_url: str, sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(sqlite_db)
    backup = tmp_path / "b.db"
    assert fidelity("db", "backup", str(backup))[0] == 0
    code, _, err = fidelity("db", "backup", str(backup))
    assert code == 2 and "already exists" in err  # a backup never overwrites one silently

    svc.create_program(sqlite_db, "Added after the backup", actor=LEAD)
    code, _, err = fidelity("db", "restore", str(backup))
    assert code == 2
    assert "pass --replace" in err
    assert counts(sqlite_url)["programs"] == 2  # nothing changed

    code, _out, err = fidelity("db", "restore", str(backup), "--replace")
    assert code == 0, err
    assert counts(sqlite_url)["programs"] == 1
    assert fidelity("db", "check")[0] == 0


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    code, _, err = fidelity("db", "restore", str(junk))
    assert code == 2
    assert "notes.txt" in err and "Traceback" not in err


def test_db_copy_moves_sqlite_into_postgresql_with_every_count_and_checksum_equal(
    sqlite_url: str, sqlite_db: Database, new_database: Callable[[str], str], open_db: Callable[..., Database]
) -> None:
    fill(sqlite_db)
    before = counts(sqlite_url)
    target = new_database("postgresql")

    code, out, err = fidelity("db", "copy", "--to", target)
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for table, rows in before.items():  # a count per table, each compared by content
        assert lines[table].split()[1:4] == [str(rows), "->", str(rows)], lines[table]
        assert lines[table].endswith(" ok")
    assert counts(target) == before
    assert before["audit_log"] > 0 and before["reviews"] == 3

    with Database(target) as copied, Database(sqlite_url) as original:
        for table in model_tables():  # the same rows, id for id, value for value
            keys = [c.name for c in table.primary_key.columns]
            with copied.reading() as a, original.reading() as b:
                rows_a = {tuple(r[k] for k in keys): dict(r) for r in a.execute(select(table)).mappings()}
                rows_b = {tuple(r[k] for k in keys): dict(r) for r in b.execute(select(table)).mappings()}
            assert rows_a == rows_b, table.name
    # The copy is a working installation: checksums, chain and sealed head verify, new rows get new ids.
    code, out, err = fidelity_on(target, "db", "check")
    assert code == 0, err
    assert "intact: 1 final review(s)" in out
    pg = open_db(target)
    program = svc.create_program(pg, "A new team after the move", actor=LEAD)
    assert program.id == before["programs"] + 1
    assert fidelity_on(target, "db", "check")[0] == 0


def test_db_copy_is_refused_into_a_database_that_holds_data(
    sqlite_db: Database, new_database: Callable[[str], str], open_db: Callable[..., Database]
) -> None:
    fill(sqlite_db)
    target = new_database("postgresql")
    svc.create_program(open_db(target), "Already here", actor=LEAD)
    before = counts(target)

    code, _out, err = fidelity("db", "copy", "--to", target)
    assert code == 2
    assert "is not empty: it holds" in err and "programs (1 row(s))" in err
    assert "nothing was copied" in err
    assert counts(target) == before


def test_db_copy_refuses_a_target_that_is_not_postgresql(sqlite_db: Database, tmp_path: Path) -> None:
    code, _, err = fidelity("db", "copy", "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert code == 2
    assert "must be a PostgreSQL URL" in err


def fidelity_on(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"FIDELITY_DATABASE_URL": url})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
