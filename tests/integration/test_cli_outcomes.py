"""`fidelity outcomes import|list|measures`: the file checked by row and column with nothing
written, the listing (and its JSON), and the access policy with an acting user (`--as`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from services import reviews as svc
from services import users
from services.access import local_admin
from services.database import open_database

runner = CliRunner()
ADMIN = local_admin("admin")
GOOD = "program,period,hospital_days,housed_pct\nRiverside ACT Team,2025-03,12,91\nHillside ACT Team,2025-Q1,30,80.5\n"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        riverside = svc.create_program(db, "Riverside ACT Team", model="ACT", actor=ADMIN)
        svc.create_program(db, "Hillside ACT Team", model="ACT", actor=ADMIN)
        users.add_user(db, "pm@agency.org", role="program_manager", program_ids=[riverside.id], actor=ADMIN)
        users.add_user(db, "rev@agency.org", role="reviewer", actor=ADMIN)
    return url


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_import_then_list(url: str, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(GOOD)
    code, out, err = fidelity("outcomes", "import", str(path), "--dry-run")
    assert (code, err) == (0, "")
    assert (
        out
        == "dry run: 2 row(s) of 2 program(s): 4 new value(s), 0 changed, 0 already stored; nothing written\n"
    )
    assert fidelity("outcomes", "list")[1] == "no outcome values\n"
    code, out, _ = fidelity("outcomes", "import", str(path))
    assert (code, out) == (
        0,
        "imported 2 row(s) of 2 program(s): 4 new value(s), 0 changed, 0 already stored\n",
    )
    code, out, _ = fidelity("outcomes", "import", str(path))
    assert out.endswith("0 new value(s), 0 changed, 4 already stored\n")

    code, out, _ = fidelity("outcomes", "list", "--program", "Riverside ACT Team")
    assert (code, out) == (
        0,
        "Riverside ACT Team\t2025-03\thospital_days\t12 days\nRiverside ACT Team\t2025-03\thoused_pct\t91 percent\n",
    )
    code, out, _ = fidelity("outcomes", "list", "--json", "--measure", "hospital_days")
    listed = json.loads(out)
    assert [(v["program"], v["period"], v["period_start"], v["value"], v["unit"]) for v in listed] == [
        ("Hillside ACT Team", "2025-Q1", "2025-01-01", 30.0, "days"),
        ("Riverside ACT Team", "2025-03", "2025-03-01", 12.0, "days"),
    ]
    assert listed[0]["updated_by"]  # the CLI's login name
    code, _, err = fidelity("outcomes", "list", "--measure", "smiles")
    assert (code, err) == (2, "no outcome measure 'smiles'\n")
    code, out, _ = fidelity("outcomes", "measures", "--json")
    assert json.loads(out)[0] == {
        "key": "hospital_days", "name": "Psychiatric hospital days", "unit": "days", "better": "lower", "active": True
    }  # fmt: skip


def test_a_bad_file_is_refused_by_row_and_column(url: str, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "program,period,hospital_days,housed_pct\nRiverside ACT Team,2025-03,-2,91\nNowhere,2025-Q9,1,130\n"
    )
    code, out, err = fidelity("outcomes", "import", str(path))
    assert code == 2
    assert out == "3 problems; nothing was imported\n"
    assert err.splitlines() == [
        "row 2, column hospital_days: -2 days is impossible: a value cannot be negative",
        "row 3, column period: '2025-Q9' is not a period: write a month (2025-03) or a quarter (2025-Q1)",
        "row 3, column housed_pct: 130 percent is impossible: a percentage is at most 100",
    ]
    assert "Traceback" not in err
    assert fidelity("outcomes", "list")[1] == "no outcome values\n"


def test_the_access_policy_applies_to_the_acting_user(url: str, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(GOOD)
    # A program manager may import only their own programs' outcomes: the whole file is refused.
    code, out, err = fidelity("outcomes", "import", str(path), "--as", "pm@agency.org")
    assert code == 2
    assert err == (
        "row 3, column program: Hillside ACT Team is not one of your programs: "
        "you may enter outcomes for your own only\n"
    )
    assert fidelity("outcomes", "list")[1] == "no outcome values\n"
    # A reviewer may not import at all, but reads every program's outcomes.
    code, _, err = fidelity("outcomes", "import", str(path), "--as", "rev@agency.org")
    assert (code, err) == (
        2,
        "Not allowed: a reviewer may not enter or import outcomes (only agency admins and program managers may).\n",
    )
    assert fidelity("outcomes", "import", str(path))[0] == 0
    code, out, _ = fidelity("outcomes", "list", "--as", "rev@agency.org", "--json")
    assert {v["program"] for v in json.loads(out)} == {"Riverside ACT Team", "Hillside ACT Team"}
    # The manager lists their own programs only, and is refused another program by name.
    code, out, _ = fidelity("outcomes", "list", "--as", "PM@agency.org", "--json")
    assert {v["program"] for v in json.loads(out)} == {"Riverside ACT Team"}
    code, _, err = fidelity("outcomes", "list", "--as", "pm@agency.org", "--program", "Hillside ACT Team")
    assert (code, err) == (2, "no program named 'Hillside ACT Team' that you may see\n")
    code, _, err = fidelity("outcomes", "list", "--as", "nobody@agency.org")
    assert code == 2 and err.startswith("--as nobody@agency.org: no active user with that e-mail address")
