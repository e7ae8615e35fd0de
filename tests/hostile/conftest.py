"""Shared pieces of the hostile-input suite (issue 8, point 4).

Every service call in tests/hostile acts as ADMIN, defined here and nowhere else, so a change
to how the services take their actor is one line. The databases: `db_url` is a fresh migrated
database per test, on SQLite and (with FIDELITY_TEST_POSTGRES_URL) on PostgreSQL; on CI a
missing PostgreSQL URL fails those tests instead of skipping them (tests/conftest.py).
`snapshot` counts every table's rows and fingerprints the audit log, to show that a refused
import or save wrote nothing at all.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from services import reviews as svc
from services.access import LOCAL_ADMIN
from services.database import Database
from storage.models import AuditEntry, Base

ADMIN = LOCAL_ADMIN
"""The actor of every service call in this suite (the all-powerful local admin)."""

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "riverside-dacts.yaml"
REVIEW_DATE = dt.date(2026, 3, 14)

# Bounded, deadline-free property runs: the whole suite stays well under a few minutes on CI.
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
THOROUGH = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

runner = CliRunner()


# ---- databases --------------------------------------------------------------------------------


def snapshot(db: Database) -> dict[str, Any]:
    """Every table's row count, and a digest of the whole audit log."""
    counts: dict[str, Any] = {}
    with db.reading() as s:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = s.scalar(select(func.count()).select_from(table))
        digest = hashlib.sha256()
        for row in s.execute(
            select(AuditEntry.id, AuditEntry.entity, AuditEntry.field, AuditEntry.new_value).order_by(
                AuditEntry.id
            )
        ):
            digest.update(repr(tuple(row)).encode())
        counts["audit digest"] = digest.hexdigest()
    return counts


# ---- services, always as ADMIN ------------------------------------------------------------------


def create_program(db: Database, name: str = "Riverside ACT Team", **fields: Any) -> svc.ProgramView:
    fields.setdefault("model", "ACT")
    return svc.create_program(db, name, actor=ADMIN, **fields)


def start_review(db: Database, program_id: int, raters: tuple[str, ...] = ("ana", "ben")) -> svc.ReviewView:
    return svc.start_review(
        db, program_id, "dacts", "1.0", REVIEW_DATE, "baseline", list(raters), actor=ADMIN
    )


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Any other service function, called as ADMIN."""
    return function(*args, actor=ADMIN, **kwargs)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Every download the app offers: file name -> data (or the callable that makes it)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict[str, object] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(
        self: MediaFileManager,
        data: object,
        mimetype: object,
        coordinates: object,
        file_name: str | None = None,
        **kw: object,
    ) -> str:
        if file_name is not None or not str(mimetype).startswith(
            "image/"
        ):  # an image shown (the page icon) is no download
            files[str(file_name)] = data
        return add(self, data, mimetype, coordinates, file_name=file_name, **kw)  # type: ignore[arg-type]

    def record_deferred(
        self: MediaFileManager,
        make: object,
        mimetype: object,
        coordinates: object,
        file_name: str | None = None,
        **kw: object,
    ) -> str:
        files[str(file_name)] = make
        return add_deferred(self, make, mimetype, coordinates, file_name=file_name, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return files


# ---- review files -------------------------------------------------------------------------------


def example_review() -> dict[str, Any]:
    """The example review file as data (a fresh copy each time)."""
    return copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


# ---- the command line ---------------------------------------------------------------------------


def fidelity(*args: str) -> tuple[int, str, str]:
    """`fidelity ARGS` in this process; an exception other than an exit is the test's failure."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def assert_refused(code: int, stderr: str, *needles: str) -> list[str]:
    """Exit 2 (DESIGN.md section 5), one message per line on stderr, no traceback."""
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines and all(line.strip() for line in lines), stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)
    return lines
