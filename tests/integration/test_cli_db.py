"""The database commands: `fidelity db upgrade`, `programs list`, `review import/show/list`.

They run on SQLite and on PostgreSQL (FIDELITY_TEST_POSTGRES_URL; skipped without it, except
on CI, where they must run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from storage.testing import SqliteTemplate

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "riverside-dacts.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("cli-template"))


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_import_show_and_list_a_review(db_url: str) -> None:
    code, out, err = fidelity("review", "import", str(EXAMPLE), "--program", "Riverside ACT Team")
    assert code == 0, err
    assert "created program 1: Riverside ACT Team" in out
    assert "imported review 1: Riverside ACT Team, dacts 1.0, 2026-03-14, baseline (inferred), final" in out

    code, out, _ = fidelity("review", "show", "1", "--json")
    assert code == 0
    shown = json.loads(out)
    code, scored, _ = fidelity("score", str(EXAMPLE), "--json")
    expected = json.loads(scored)
    for key, value in expected.items():
        if key != "items":
            assert shown[key] == value, key
    for item_id, entry in expected["items"].items():
        assert {k: shown["items"][item_id][k] for k in entry} == entry
    assert shown["items"]["H2"]["evidence"] == "Most clients see 2+ staff in a fortnight"
    assert (shown["review_id"], shown["program_id"], shown["program"]) == (1, 1, "Riverside ACT Team")
    assert (shown["status"], shown["review_date"]) == ("final", "2026-03-14")

    code, out, _ = fidelity("review", "show", "1")
    assert code == 0
    assert out.startswith("Review 1: Riverside ACT Team (program 1), 2026-03-14, baseline, final")
    assert "Band: " in out

    code, out, _ = fidelity("programs", "list", "--json")
    assert code == 0
    [program] = json.loads(out)
    assert (program["id"], program["name"], program["model"]) == (1, "Riverside ACT Team", "ACT")

    code, out, _ = fidelity("review", "list", "--program", "Riverside ACT Team", "--json")
    assert code == 0
    [summary] = json.loads(out)
    assert (summary["id"], summary["status"], summary["band"]) == (1, "final", expected["band"])
    assert summary["total_mean"] == expected["total"]["mean"]


def test_importing_the_same_file_again_changes_nothing(db_url: str, tmp_path: Path) -> None:
    assert fidelity("review", "import", str(EXAMPLE), "--program", "Riverside")[0] == 0
    code, out, _ = fidelity("review", "import", str(EXAMPLE), "--program", "Riverside")
    assert code == 0
    assert out.strip() == "already imported as review 1 (Riverside, 2026-03-14); nothing changed"

    changed = tmp_path / "changed.yaml"
    changed.write_text(EXAMPLE.read_text(encoding="utf-8").replace("H3: {rating: 5}", "H3: {rating: 3}"))
    code, out, err = fidelity("review", "import", str(changed), "--program", "Riverside")
    assert code == 2
    assert err.strip() == (
        "Riverside already has a dacts review dated 2026-03-14 (review 1) with different content; "
        "to change a stored review, amend it"
    )
    code, out, _ = fidelity("review", "list", "--json")
    assert len(json.loads(out)) == 1

    # The same file for another program is a review of that program.
    code, out, _ = fidelity("review", "import", str(changed), "--program", "Lakeside", "--type", "follow-up")
    assert code == 0 and "imported review 2: Lakeside, dacts 1.0, 2026-03-14, follow-up, final" in out


def test_unrated_items_are_stored_as_not_rated(db_url: str, tmp_path: Path) -> None:
    partial = tmp_path / "partial.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("S9: {rating: 4}", "S9: {rating: null, not_rated_reason: no records}")
    partial.write_text(text.replace("  S10: {rating: 3}\n", ""))
    assert fidelity("review", "import", str(partial), "--program", "Riverside")[0] == 0
    shown = json.loads(fidelity("review", "show", "1", "--json")[1])
    assert shown["missing"] == ["S9", "S10"]
    assert shown["items"]["S9"]["not_rated_reason"] == "no records"
    assert shown["items"]["S10"]["not_rated_reason"] == "not rated in the review file"


REFUSALS = [
    (["review", "show", "99"], "no review with id 99"),
    (["review", "import", "missing.yaml", "--program", "X"], "missing.yaml: cannot read file"),
    (["review", "list", "--program", "Nobody"], "no program named 'Nobody'"),
    (["review", "list", "--status", "lost"], "review status must be one of draft, consensus, final"),
    (["review", "import", str(EXAMPLE), "--program", "X", "--type", "annual"], "review type must be one of"),
]


def test_refusals_exit_2_with_one_line_per_problem(db_url: str) -> None:
    for args, message in REFUSALS:
        code, out, err = fidelity(*args)
        assert (code, out) == (2, ""), args
        assert message in err and "Traceback" not in err, err


def test_import_needs_a_program_name_and_a_date(db_url: str, tmp_path: Path) -> None:
    lines = [
        ln
        for ln in EXAMPLE.read_text(encoding="utf-8").splitlines()
        if not ln.startswith(("program:", "date:"))
    ]
    bare = tmp_path / "bare.yaml"
    bare.write_text("\n".join(lines))
    code, _, err = fidelity("review", "import", str(bare))
    assert code == 2 and "program name (--program) is required" in err
    code, _, err = fidelity("review", "import", str(bare), "--program", "X")
    assert code == 2 and "the review file has no date" in err


def test_db_upgrade_reports_the_revision(db_url: str) -> None:
    from storage.migrate import head_revision

    code, out, _ = fidelity("db", "upgrade")
    assert code == 0
    assert out.strip().endswith(f"schema at revision {head_revision()} (head)")
    code, out, _ = fidelity("programs", "list")
    assert (code, out.strip()) == (0, "no programs")


def test_the_command_creates_and_migrates_a_new_database(tmp_path: Path) -> None:
    """In a new process, through cli.main.main(): the exit status and the two output streams."""
    env = {**os.environ, "FIDELITY_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "PYTHONPATH": str(REPO)}
    env.pop("FIDELITY_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "review", "show", "5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "no review with id 5\n")
    assert (tmp_path / "new.db").exists()
