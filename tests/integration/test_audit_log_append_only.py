"""The audit log cannot be edited through any service: no code updates or deletes its rows.

Three proofs: (1) no module of the application contains an UPDATE or DELETE of the audit
log, by the ORM or in SQL; (2) running every service that writes, as every role that may,
never puts an audit row in an ORM flush as changed or deleted, never sends an UPDATE or
DELETE of audit_log to the database, and leaves every earlier audit row as it was; (3) the
only services that read the log do so in a read-only session. The database triggers that
refuse UPDATE and DELETE are tested in test_storage_immutability.py.
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, local_admin
from services.audit import AuditLog
from services.database import Database
from services.errors import FidelityError
from services.historical_import import import_wide, read_wide_file
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.models import AuditEntry, Role

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = [
    "app.py",
    "app_pages",
    "cli",
    "exchange",
    "reports",
    "scales",
    "scoring",
    "services",
    "storage",
]
GOI = [f"G{i}" for i in range(1, 13)]

# An UPDATE or DELETE of the audit log, by the ORM (update(AuditEntry), delete(AuditEntry)) or
# as SQL text. A session.delete() of an audit row is caught by the flush check below instead.
EDITS = [
    re.compile(r"\b(update|delete)\s*\(\s*AuditEntry\b"),
    re.compile(r"(?i)\b(update\s+|delete\s+from\s+|truncate\s+(table\s+)?)\"?audit_log\b"),
]


def application_files() -> Iterator[Path]:
    for name in APPLICATION:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        # The migrations create the triggers that refuse such edits, in SQL that names them.
        yield from (f for f in files if "migrations" not in f.parts)


def test_no_application_code_updates_or_deletes_audit_rows() -> None:
    found = []
    for path in application_files():
        text = path.read_text(encoding="utf-8")
        for pattern in EDITS:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert found == []


def test_audit_rows_are_only_ever_constructed_by_the_service_log() -> None:
    """Only services.audit.AuditLog makes AuditEntry rows, and no code assigns to one's fields."""
    makers = []
    for path in application_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "AuditEntry"
            ):
                makers.append(str(path.relative_to(ROOT)))
    assert makers == ["services/audit.py"]
    log_source = inspect.getsource(AuditLog)
    assert "AuditEntry(" in log_source and "session.add(" in log_source


def test_the_services_that_read_the_log_only_read() -> None:
    readers = {}
    for module in (svc, users):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if "audit" in name.lower():
                readers[name] = inspect.getsource(function)
    assert set(readers) == {"audit_trail", "program_audit_trail"}
    for source in readers.values():
        assert "db.reading()" in source and "db.writing()" not in source


@pytest.fixture
def watched(db: Database) -> Iterator[list[str]]:
    """Every audit-log edit attempted while the test runs: in an ORM flush or as SQL."""
    attempts: list[str] = []

    def on_flush(session: Session, context: Any, instances: Any) -> None:
        for row in (*session.dirty, *session.deleted):
            if isinstance(row, AuditEntry):
                attempts.append(f"flush changes or deletes audit row {row.id}")

    def on_sql(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if re.search(r"(?i)\b(update|delete\s+from|truncate)\s+\"?audit_log\b", statement):
            attempts.append(statement)

    event.listen(Session, "before_flush", on_flush)
    event.listen(db.engine, "before_cursor_execute", on_sql)
    yield attempts
    event.remove(Session, "before_flush", on_flush)
    event.remove(db.engine, "before_cursor_execute", on_sql)


def audit_rows(db: Database) -> list[tuple[Any, ...]]:
    with db.reading() as s:
        return [
            (e.id, e.at, e.actor, e.review_id, e.program_id, e.entity, e.field, e.old_value, e.new_value)
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_every_writing_service_only_appends_to_the_log(db: Database, watched: list[str]) -> None:
    history: list[tuple[Any, ...]] = []

    def step() -> None:
        """The log so far must start with everything it held before: nothing changed or gone."""
        rows = audit_rows(db)
        assert rows[: len(history)] == history
        assert len(rows) > len(history)
        history[:] = rows

    admin = LOCAL_ADMIN
    program = svc.create_program(db, "Audit ACT Team", provider="P", model="ACT", actor=admin)
    step()
    svc.update_program(db, program.id, region="North", actor=admin)
    step()
    users.add_user(db, "rev@agency.org", role=Role.REVIEWER, actor=admin)
    users.add_user(db, "pm@agency.org", role=Role.PROGRAM_MANAGER, program_ids=[program.id], actor=admin)
    users.add_user(db, "boss@agency.org", role=Role.AGENCY_ADMIN, actor=admin)
    users.add_user(db, "chief@agency.org", role=Role.AGENCY_ADMIN, actor=admin)
    step()
    users.set_role(db, "boss@agency.org", Role.REVIEWER, actor=admin)
    users.set_programs(db, "pm@agency.org", [program.id], actor=admin)  # unchanged: nothing to log
    users.set_active(db, "boss@agency.org", False, actor=admin)
    step()
    reviewer = users.actor_for_email(db, "rev@agency.org")
    assert reviewer is not None
    review = svc.start_review(
        db, program.id, "goi", None, dt.date(2026, 3, 14), "baseline", ["ana", "ben"], actor=reviewer
    )
    step()
    svc.add_rater(db, review.id, "rev@agency.org", actor=reviewer)  # a reviewer rates as themselves
    svc.save_rating(db, review.id, "ana", "G1", rating=4, note="seen", actor=local_admin("ana"))
    svc.save_rating(db, review.id, "rev@agency.org", "G1", rating=4, actor=reviewer)
    svc.save_rating(db, review.id, "rev@agency.org", "G1", rating=5, actor=reviewer)  # a change, not an edit
    step()
    for item_id in GOI:
        svc.save_consensus(db, review.id, item_id, rating=4, expected_version=0, actor=reviewer)
    current = svc.get_review(db, review.id, actor=reviewer)
    svc.mark_not_rated(
        db, review.id, "G12", "no records", expected_version=current.consensus_version("G12"), actor=reviewer
    )
    svc.set_review_text(db, review.id, summary="fine", actor=reviewer)
    svc.update_review(db, review.id, review_date=dt.date(2026, 3, 15), actor=reviewer)
    step()
    final = svc.finalize(db, review.id, actor=reviewer)
    step()
    amendment = svc.amend(db, final.id, "G1 was misread", actor=reviewer)
    users.assign_reviewer(db, amendment.id, "rev@agency.org", actor=admin)  # already assigned: no row
    users.unassign_reviewer(db, amendment.id, "rev@agency.org", actor=admin)
    step()
    data = {"scale": "goi", "date": "2025-01-01", "items": {i: {"rating": 3} for i in GOI}}
    import_review_file(db, parse_review_data(data, db.registry), program="Imported Team", actor=admin)
    header = ",".join(["program", "date", "scale", *GOI])
    line = ",".join(["Historical Team", "2019-05-01", "goi", *["2"] * len(GOI)])
    import_wide(db, read_wide_file(f"{header}\n{line}\n".encode(), "history.csv"), actor=admin)
    step()
    # Reading the trail changes nothing either.
    assert svc.audit_trail(db, amendment.id, actor=admin)
    svc.program_audit_trail(db, program.id, actor=admin)
    assert audit_rows(db) == history
    assert watched == []


def test_the_watch_sees_an_edit_when_there_is_one(db: Database, watched: list[str]) -> None:
    """The check above is not vacuous: an ORM edit of an audit row is seen (and refused)."""
    svc.create_program(db, "Watched Team", actor=LOCAL_ADMIN)
    with pytest.raises(FidelityError, match="append-only"), db.writing() as s:
        entry = s.scalars(select(AuditEntry)).first()
        assert entry is not None
        entry.actor = "someone else"
    assert watched and "changes or deletes audit row" in watched[0]
    assert any(re.search(r"(?i)update\s+\"?audit_log", w) for w in watched)
