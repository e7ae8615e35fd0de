"""`fidelity plans list` and `fidelity plans update`: the same access policy, with --as EMAIL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from services import action_plans as plans
from services import reviews as svc
from services import users
from services.access import LOCAL_ADMIN, Role
from services.database import open_database
from tests.integration.test_action_plans import LOW, finalized_review

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        own = svc.create_program(db, "Own ACT Team", provider="Own", model="ACT", actor=LOCAL_ADMIN)
        other = svc.create_program(db, "Other ACT Team", provider="Other", model="ACT", actor=LOCAL_ADMIN)
        users.add_user(
            db, "pm@agency.org", role=Role.PROGRAM_MANAGER, program_ids=[own.id], actor=LOCAL_ADMIN
        )
        finalized_review(db, own.id, LOW)
        finalized_review(db, other.id, LOW)
    return url


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def entry_ids(url: str, program: str) -> list[int]:
    with open_database(url) as db:
        return [e.id for e in plans.list_entries(db, actor=LOCAL_ADMIN) if e.program == program]


def test_list_as_the_local_admin_and_as_a_program_manager(url: str) -> None:
    code, out, _ = fidelity("plans", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert sorted((e["program"], e["item"], e["status"]) for e in listed) == [
        ("Other ACT Team", "H2", "open"),
        ("Other ACT Team", "S10", "open"),
        ("Own ACT Team", "H2", "open"),
        ("Own ACT Team", "S10", "open"),
    ]
    code, out, _ = fidelity("plans", "list", "--program", "Own ACT Team")
    assert code == 0 and out.count("Own ACT Team") == 2 and "Other" not in out
    code, out, _ = fidelity("plans", "list", "--json", "--as", "pm@agency.org")
    assert code == 0 and {e["program"] for e in json.loads(out)} == {"Own ACT Team"}
    code, out, _ = fidelity("plans", "list", "--overdue")
    assert (code, out) == (0, "no action plan entries\n")  # due 90 days after today's finalize


def test_update_and_its_refusals(url: str) -> None:
    own, other = entry_ids(url, "Own ACT Team")[0], entry_ids(url, "Other ACT Team")[0]
    code, out, err = fidelity(
        "plans", "update", str(own), "--status", "in progress", "--note", "Hiring", "--as", "pm@agency.org"
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"entry {own} (Own ACT Team, ") and out.endswith(": in progress\n")

    code, out, err = fidelity("plans", "update", str(other), "--status", "done", "--as", "pm@agency.org")
    assert (code, out) == (2, "")
    assert err == f"Not allowed: program {entry_program(url, other)} is not one of your programs.\n"
    code, _, err = fidelity("plans", "update", str(own), "--status", "finished")
    assert code == 2 and err == "status 'finished' is not one of: open, in progress, done, dropped\n"
    code, _, err = fidelity("plans", "update", str(own), "--status", "done", "--as", "nobody@agency.org")
    assert code == 2 and "no active user" in err
    code, _, err = fidelity("plans", "update", "9999", "--status", "done")
    assert code == 2 and err == "no action plan entry with id 9999\n"

    with open_database(url) as db:
        statuses = {e.id: e.status for e in plans.list_entries(db, actor=LOCAL_ADMIN, statuses=None)}
    assert statuses[own] == "in progress" and statuses[other] == "open"  # the refusals changed nothing


def entry_program(url: str, entry_id: int) -> int:
    with open_database(url) as db:
        return next(e.program_id for e in plans.list_entries(db, actor=LOCAL_ADMIN) if e.id == entry_id)
