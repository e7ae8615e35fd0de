"""`fidelity users ...` and `fidelity review assign/unassign`: the CLI acts as the local admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from services import users
from services.access import LOCAL_ADMIN
from services.database import open_database
from storage.models import Role

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "riverside-dacts.yaml"
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_add_list_and_change_users(url: str) -> None:
    assert fidelity("review", "import", str(EXAMPLE))[0] == 0  # creates "Riverside ACT Team"
    code, out, err = fidelity("users", "add", "Boss@Agency.org", "--role", "agency_admin", "--name", "Bo Ss")
    assert (code, out, err) == (0, "added boss@agency.org  'Bo Ss'  agency admin\n", "")
    code, out, _ = fidelity(
        "users", "add", "pm@agency.org", "--role", "program_manager", "--program", "Riverside ACT Team"
    )
    assert (code, out) == (0, "added pm@agency.org  program manager  programs: Riverside ACT Team\n")
    assert fidelity("users", "add", "rev@agency.org", "--role", "reviewer")[0] == 0

    code, out, _ = fidelity("users", "list", "--json")
    assert code == 0
    assert [(u["email"], u["role"], u["programs"]) for u in json.loads(out)] == [
        ("boss@agency.org", "agency_admin", []),
        ("pm@agency.org", "program_manager", ["Riverside ACT Team"]),
        ("rev@agency.org", "reviewer", []),
    ]
    code, out, _ = fidelity("users", "set-role", "pm@agency.org", "reviewer")
    assert (code, out) == (0, "changed pm@agency.org  reviewer\n")
    code, out, _ = fidelity("users", "deactivate", "rev@agency.org")
    assert (code, out) == (0, "deactivated rev@agency.org  reviewer  DEACTIVATED\n")
    with open_database(url) as db:
        assert users.actor_for_email(db, "rev@agency.org") is None
        boss = users.actor_for_email(db, "boss@agency.org")
        assert boss is not None and boss.role == Role.AGENCY_ADMIN
    code, out, _ = fidelity("users", "list")
    assert out.splitlines() == [
        "boss@agency.org  'Bo Ss'  agency admin",
        "pm@agency.org  reviewer",
        "rev@agency.org  reviewer  DEACTIVATED",
    ]


def test_every_problem_is_one_line_and_exit_2(url: str) -> None:
    code, out, err = fidelity("users", "add", "not-an-address", "--role", "wizard", "--program", "Nope")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "'not-an-address' is not an e-mail address",
        "role must be one of agency_admin, reviewer, program_manager, got 'wizard'",
        "no program named 'Nope'",
    ]
    code, _, err = fidelity("users", "add", "pm@agency.org", "--role", "program_manager")
    assert (code, err) == (2, "a program manager needs at least one program (--program NAME)\n")
    assert fidelity("users", "add", "boss@agency.org", "--role", "admin")[0] == 0
    code, _, err = fidelity("users", "add", "BOSS@agency.org", "--role", "reviewer")
    assert (code, err) == (
        2,
        "boss@agency.org is already registered (change their role or programs instead)\n",
    )
    code, _, err = fidelity("users", "deactivate", "boss@agency.org")
    assert code == 2
    assert err == "boss@agency.org is the last active agency admin; make someone else an agency admin first\n"
    code, _, err = fidelity("users", "set-role", "ghost@agency.org", "reviewer")
    assert (code, err) == (2, "no user ghost@agency.org (add them with `fidelity users add`)\n")


def test_assign_a_reviewer_to_a_review(url: str) -> None:
    assert fidelity("review", "import", str(EXAMPLE))[0] == 0
    assert fidelity("users", "add", "rev@agency.org", "--role", "reviewer")[0] == 0
    assert fidelity("users", "add", "boss@agency.org", "--role", "agency_admin")[0] == 0
    code, out, _ = fidelity("review", "assign", "1", "REV@agency.org")
    assert (code, out) == (0, "review 1: reviewers rev@agency.org\n")
    code, _, err = fidelity("review", "assign", "1", "boss@agency.org")
    assert (code, err) == (2, "boss@agency.org is an agency admin; only reviewers are assigned to reviews\n")
    code, _, err = fidelity("review", "assign", "7", "rev@agency.org")
    assert (code, err) == (2, "no review with id 7\n")
    code, out, _ = fidelity("review", "unassign", "1", "rev@agency.org")
    assert (code, out) == (0, "review 1: reviewers none\n")


def test_the_cli_acts_as_the_local_admin_under_the_login_name(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "operator")
    assert fidelity("users", "add", "rev@agency.org", "--role", "reviewer")[0] == 0
    with open_database(url) as db:
        (user,) = users.list_users(db, actor=LOCAL_ADMIN)
    assert user.created_by == "operator"
