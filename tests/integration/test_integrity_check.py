"""`fidelity db check` and `fidelity db rekey`: keyed review checksums and the audit hash chain,
on SQLite and PostgreSQL.

Each attack is done as a database writer without the key would: the triggers lifted, rows
edited by SQL, digests recomputed with the project's own functions, triggers restored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from scales import ScaleRegistry
from services import reviews as svc
from services import users
from services.access import local_admin
from services.database import Database
from services.errors import IntegrityFailure
from services.integrity import check_database
from storage.integrity import checksums
from storage.migrate import downgrade, upgrade_to_head
from storage.models import Review
from tests.integration.test_cli_db import EXAMPLE
from tests.integration.test_storage_concurrency import race

KEY = "the agency's secret integrity key"
NEW_KEY = "the next secret integrity key"
runner = CliRunner()


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def keyed(db_url: str, registry: ScaleRegistry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A database with FIDELITY_INTEGRITY_KEY set, holding one imported final review (review 1)
    and a second program, so the audit log has rows from several transactions."""
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", KEY)
    code, _, err = fidelity("review", "import", str(EXAMPLE), "--program", "Riverside ACT Team")
    assert code == 0, err
    database = Database(db_url, registry=registry, integrity_key=KEY)
    svc.create_program(database, "Hillside ACT", actor=local_admin("admin"))
    yield database
    database.dispose()


def tamper(db: Database, table: str, *statements: str) -> None:
    """Run `statements` with every trigger on `table` out of the way, then put them back."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": table},
            ).all()
            for name, _ in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
            for statement in statements:
                conn.execute(text(statement))
            for _, ddl in triggers:
                conn.execute(text(ddl))
        else:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                conn.execute(text(statement))
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def audit_ids(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars())


def recomputed_checksum(db: Database, key: str | None) -> str:
    """Review 1's checksum from its rows as they are now, as a forger would compute it."""
    with db.reading() as s:
        review = s.get_one(Review, 1)
        return checksums(s, [review], key)[1]


def check_fails_naming(*names: str) -> str:
    code, out, err = fidelity("db", "check")
    assert code == 2, (out, err)
    for name in names:
        assert name in err, err
    assert "problem(s)" in err
    return err


def test_an_untouched_database_passes(keyed: Database) -> None:
    code, out, err = fidelity("db", "check")
    assert code == 0, err
    assert "intact: 1 final review(s)" in out and "digests keyed (HMAC-SHA256)" in out
    assert err == ""
    stored = recomputed_checksum(keyed, KEY)
    assert stored.startswith("hmac-sha256:")


def test_an_edited_rating_with_a_plain_sha256_checksum_is_found(keyed: Database) -> None:
    tamper(keyed, "consensus_ratings", "UPDATE consensus_ratings SET rating = 5 WHERE item_id = 'S3'")
    forged = recomputed_checksum(keyed, None)  # the old forgery: the project's own plain recipe
    tamper(keyed, "reviews", f"UPDATE reviews SET content_checksum = '{forged}' WHERE id = 1")
    check_fails_naming("review 1: its checksum is plain SHA-256 while a key is configured")
    with pytest.raises(IntegrityFailure, match="review 1"):  # nor shown as if whole
        svc.get_review(keyed, 1, actor=local_admin())


def test_a_checksum_recomputed_with_a_wrong_key_is_found(keyed: Database) -> None:
    tamper(keyed, "consensus_ratings", "UPDATE consensus_ratings SET rating = 1 WHERE item_id = 'H1'")
    forged = recomputed_checksum(keyed, "a guessed key")
    tamper(keyed, "reviews", f"UPDATE reviews SET content_checksum = '{forged}' WHERE id = 1")
    check_fails_naming("review 1: its content does not match its checksum")


def test_an_audit_rows_rewritten_actor_is_found(keyed: Database) -> None:
    row = audit_ids(keyed)[5]
    tamper(keyed, "audit_log", f"UPDATE audit_log SET actor = 'someone else' WHERE id = {row}")
    err = check_fails_naming(f"audit row {row}: does not match")
    assert err.count("audit row ") == 1  # only the edited row: the rows after it still link to it


def test_a_deleted_audit_row_is_found(keyed: Database) -> None:
    ids = audit_ids(keyed)
    tamper(keyed, "audit_log", f"DELETE FROM audit_log WHERE id = {ids[3]}")
    check_fails_naming(f"audit row {ids[4]}: does not match its chain digest as after row {ids[2]}")


def test_the_newest_audit_rows_deleted_are_found(keyed: Database) -> None:
    ids = audit_ids(keyed)
    tamper(keyed, "audit_log", f"DELETE FROM audit_log WHERE id >= {ids[-3]}")
    check_fails_naming(f"audit head: the chain ends at row {ids[-4]}, but its sealed newest row is {ids[-1]}")
    # The next rows the application appends do not hide the deletion: they break the chain.
    svc.create_program(keyed, "Lakeside ACT", actor=local_admin("admin"))
    new_row = audit_ids(keyed)[len(ids) - 3]
    err = check_fails_naming(f"audit row {new_row}: does not match its chain digest as after row {ids[-4]}")
    assert "audit head" not in err  # the head is sealed again, at the new row


def test_a_sealed_head_rewritten_to_an_earlier_row_is_found(keyed: Database) -> None:
    ids = audit_ids(keyed)
    with keyed.engine.begin() as conn:
        chain = conn.execute(text(f"SELECT chain FROM audit_log WHERE id = {ids[-2]}")).scalar_one()
        conn.execute(text(f"UPDATE audit_chain_head SET row_id = {ids[-2]}, chain = '{chain}'"))
    tamper(keyed, "audit_log", f"DELETE FROM audit_log WHERE id = {ids[-1]}")
    check_fails_naming("audit head: its seal does not verify")


def test_two_swapped_audit_rows_are_found(keyed: Database) -> None:
    a, b = audit_ids(keyed)[2:4]
    columns = "at, actor, review_id, program_id, entity, field, old_value, new_value, chain"
    spare = 1_000_000
    tamper(
        keyed,
        "audit_log",
        f"INSERT INTO audit_log (id, {columns}) SELECT {spare}, {columns} FROM audit_log WHERE id = {a}",
        f"DELETE FROM audit_log WHERE id = {a}",
        f"UPDATE audit_log SET id = {a} WHERE id = {b}",
        f"UPDATE audit_log SET id = {b} WHERE id = {spare}",
    )
    check_fails_naming(f"audit row {a}:", f"audit row {b}:")


def test_dropped_triggers_are_found(keyed: Database) -> None:
    with keyed.engine.begin() as conn:
        if keyed.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER trg_audit_log_no_delete"))
            conn.execute(text("DROP TRIGGER trg_consensus_ratings_final_update"))
        else:
            conn.execute(text("DROP TRIGGER trg_audit_log_append_only ON audit_log"))
            conn.execute(text("ALTER TABLE consensus_ratings DISABLE TRIGGER trg_consensus_ratings_final"))
    if keyed.dialect == "sqlite":
        check_fails_naming(
            "trigger trg_audit_log_no_delete: missing", "trigger trg_consensus_ratings_final_update"
        )
    else:
        check_fails_naming(
            "trigger trg_audit_log_append_only on audit_log: missing",
            "trigger trg_consensus_ratings_final on consensus_ratings: disabled",
        )


def test_a_keyless_installation_works_and_says_so(db_url: str) -> None:
    code, _, err = fidelity("review", "import", str(EXAMPLE), "--program", "Riverside ACT Team")
    assert code == 0, err
    code, out, err = fidelity("db", "check")
    assert code == 0, err
    assert "intact: 1 final review(s)" in out and "NOT keyed (plain SHA-256)" in out
    assert "warning: no FIDELITY_INTEGRITY_KEY: checksums are plain SHA-256" in err
    code, out, _ = fidelity("review", "show", "1")
    assert code == 0 and "Riverside ACT Team" in out


def test_a_keyed_database_checked_without_its_key_fails(
    keyed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", "not the key")
    check_fails_naming("review 1: its content does not match its checksum", "audit row")


def test_rekey_from_the_old_key_to_a_new_one(keyed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", NEW_KEY)
    check_fails_naming("review 1")  # the new key alone does not verify the old digests
    monkeypatch.setenv("FIDELITY_INTEGRITY_PREVIOUS_KEY", KEY)
    code, out, err = fidelity("db", "rekey")
    assert code == 0, err
    assert "re-keyed 1 review checksum(s)" in out
    code, out, err = fidelity("db", "check")
    assert code == 0, err
    assert recomputed_checksum(keyed, NEW_KEY) == _stored_checksum(keyed)
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", KEY)
    check_fails_naming("review 1")  # the old key no longer verifies
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", NEW_KEY)
    trail = svc.audit_trail(keyed, 1, actor=local_admin())  # still readable; the rekey is recorded:
    assert trail
    with keyed.engine.connect() as conn:
        last = conn.execute(text("SELECT entity, field FROM audit_log ORDER BY id DESC LIMIT 1")).one()
    assert tuple(last) == ("database", "integrity_key")


def test_rekey_from_a_keyless_installation(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = fidelity("review", "import", str(EXAMPLE), "--program", "Riverside ACT Team")
    assert code == 0, err
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", KEY)
    err = check_fails_naming("review 1: its checksum is plain SHA-256 while a key is configured", "not keyed")
    assert "audit rows 1 to " in err and "audit head: its seal is plain SHA-256" in err  # a line each
    code, _, err = fidelity("db", "rekey")  # FIDELITY_INTEGRITY_PREVIOUS_KEY empty: was keyless
    assert code == 0, err
    code, out, err = fidelity("db", "check")
    assert code == 0, err
    assert "digests keyed" in out


def test_rekey_refuses_when_anything_fails_and_changes_nothing(
    keyed: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = audit_ids(keyed)[1]
    tamper(keyed, "audit_log", f"UPDATE audit_log SET new_value = '\"5\"' WHERE id = {row}")
    before = _stored_checksum(keyed)
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", NEW_KEY)
    monkeypatch.setenv("FIDELITY_INTEGRITY_PREVIOUS_KEY", KEY)
    code, _, err = fidelity("db", "rekey")
    assert code == 2
    assert "nothing was re-keyed" in err and f"audit row {row}:" in err
    assert _stored_checksum(keyed) == before
    monkeypatch.setenv("FIDELITY_INTEGRITY_KEY", KEY)
    check_fails_naming(f"audit row {row}:")  # the tampering is still there to be found


def test_upgrading_chains_the_existing_audit_rows_with_the_key(keyed: Database, db_url: str) -> None:
    keyed.dispose()
    engine = keyed.engine
    downgrade(engine, "0005")  # the database as it was before the chain
    upgrade_to_head(engine, integrity_key=KEY)
    report = check_database(keyed, actor=local_admin())
    assert report.ok, report.problems
    assert report.audit_rows == len(audit_ids(keyed)) > 10


def test_concurrent_writers_keep_one_chain(keyed: Database, registry: ScaleRegistry) -> None:
    """20 writers at once, each with its own Database and its own rows (no row lock in common):
    no two chain onto the same audit row."""
    before = len(audit_ids(keyed))
    writers = [Database(keyed.url, registry=registry, integrity_key=KEY) for _ in range(20)]
    try:

        def write(database: Database, n: int) -> None:
            for k in range(3):  # users: no trigger or row lock makes these writers take turns
                users.add_user(
                    database, f"user{n}-{k}@example.org", role="reviewer", actor=local_admin(f"w{n}")
                )

        results = race([lambda d=d, n=n: write(d, n) for n, d in enumerate(writers)])
    finally:
        for database in writers:
            database.dispose()
    assert results == [None] * len(writers)
    report = check_database(keyed, actor=local_admin())
    assert report.ok, report.problems
    assert report.audit_rows == len(audit_ids(keyed)) > before  # every writer's rows are in it


def _stored_checksum(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT content_checksum FROM reviews WHERE id = 1")).scalar_one())
