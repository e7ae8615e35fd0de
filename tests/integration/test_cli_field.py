"""The round trip scripted with the CLI: `review start/rate/show`, `field checkout` on the
server, `field open/export` on a laptop (its own SQLite database), `field checkin`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "riverside-dacts.yaml"
runner = CliRunner()


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


def start(*raters: str) -> int:
    assert fidelity("review", "import", str(EXAMPLE))[0] == 0  # "Riverside ACT Team", a final review
    args = ["--program", "Riverside ACT Team", "--scale", "dacts", "--date", "2027-01-15"]
    code, out, err = fidelity("review", "start", *args, *(a for r in raters for a in ("--rater", r)))
    assert code == 0, err
    return int(out)


def test_review_start_rate_and_show_keep_each_raters_ratings_blind(server: str) -> None:
    review = str(start("ana@agency.org", "ben@agency.org"))
    code, out, _ = fidelity(
        "review", "rate", review, "--rater", "ana@agency.org", "--item", "H3", "--rating", "3"
    )
    assert (code, out) == (0, f"review {review}: ana@agency.org rated H3 3 (version 1)\n")
    code, out, _ = fidelity(
        "review",
        "rate",
        review,
        "--rater",
        "ana@agency.org",
        "--item",
        "H1",
        "--input",
        "clients=96",
        "--input",
        "staff_fte=9.5",
        "--note",
        "from the roster",
    )
    assert code == 0 and "rated H1 " in out
    fidelity("review", "rate", review, "--rater", "ben@agency.org", "--item", "H3", "--rating", "2")

    code, _, err = fidelity(
        "review", "rate", review, "--rater", "ana@agency.org", "--item", "H3", "--rating", "9"
    )
    assert code == 2 and "H3" in err
    code, _, err = fidelity(
        "review", "rate", review, "--rater", "cy@agency.org", "--item", "H3", "--rating", "3"
    )
    assert code == 2 and "not a rater" in err
    code, _, err = fidelity("review", "rate", review, "--rater", "ana@agency.org", "--item", "H1")
    assert code == 2 and "--rating" in err

    shown = json.loads(fidelity("review", "show", review, "--json")[1])  # the local admin sees both
    assert shown["rater_ratings"]["ana@agency.org"]["H3"]["rating"] == 3
    assert shown["rater_ratings"]["ana@agency.org"]["H1"]["note"] == "from the roster"
    assert shown["rater_ratings"]["ben@agency.org"]["H3"]["rating"] == 2
    fidelity("users", "add", "ben@agency.org", "--role", "reviewer")
    fidelity("review", "assign", review, "ben@agency.org")
    as_ben = json.loads(fidelity("review", "show", review, "--json", "--as", "ben@agency.org")[1])
    assert list(as_ben["rater_ratings"]) == ["ben@agency.org"]  # ana's stay hidden until both submit


def test_check_out_rate_on_a_laptop_and_check_in_with_the_cli(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = str(start("ana@agency.org"))
    fidelity("review", "rate", review, "--rater", "ana@agency.org", "--item", "H3", "--rating", "3")
    package, back = tmp_path / "review.json", tmp_path / "back.json"
    code, out, err = fidelity("field", "checkout", review, "--rater", "ana@agency.org", "--out", str(package))
    assert code == 0, err
    assert json.loads(package.read_text())["previous_final"]["review_date"] == "2026-03-14"

    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path / 'laptop.db'}")
    code, out, err = fidelity("field", "open", str(package))
    assert code == 0 and "field copy" in out, err
    local = re.search(r"opened as review (\d+)", out)
    assert local is not None
    fidelity("review", "rate", local[1], "--rater", "ana@agency.org", "--item", "H4", "--rating", "4")
    assert fidelity("field", "export", local[1], "--out", str(back))[0] == 0

    monkeypatch.setenv("FIDELITY_DATABASE_URL", server)
    code, out, _ = fidelity("field", "checkin", str(back))
    assert code == 0 and "1 rating(s) of ana@agency.org merged" in out
    code, out, err = fidelity("field", "checkin", str(back))
    assert code == 2 and "already checked in" in err
    shown = json.loads(fidelity("review", "show", review, "--json")[1])
    assert {k: v["rating"] for k, v in shown["rater_ratings"]["ana@agency.org"].items()} == {"H3": 3, "H4": 4}
