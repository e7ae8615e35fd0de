"""`fidelity scales publish FILE` and `fidelity scales list` with the database's published
versions, on SQLite and PostgreSQL (FIDELITY_DATABASE_URL, as every database command)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "scales"
runner = CliRunner()
INSTRUMENTS = {"dacts", "iddt", "goi", "se", "imr", "fpe", "psh"}
VARIANTS = {"dacts-oregon", "dacts-maine", "dacts-georgia"}


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def listed() -> dict[str, dict[str, object]]:
    code, out, err = fidelity("scales", "list", "--json")
    assert code == 0, err
    return {row["id"]: row for row in json.loads(out)}


def test_publish_the_example_scales_and_list_them(db_url: str) -> None:
    before = listed()
    assert set(before) >= INSTRUMENTS | VARIANTS  # seven instruments and the three state variants
    assert all(before[v]["derived_from"] == "dacts@1.0" for v in VARIANTS)
    assert "bhh-review" not in before

    for name, scale_id in (
        ("behavioral-health-home-review.yaml", "bhh-review"),
        ("peer-support-review.yaml", "peer-support-review"),
    ):
        code, out, err = fidelity("scales", "publish", str(EXAMPLES / name))
        assert code == 0, err
        assert out.startswith(f"published {scale_id} 1.0 (") and "content sha256:" in out

    after = listed()
    assert after["bhh-review"]["items"] == 12 and after["peer-support-review"]["items"] == 10
    assert str(after["bhh-review"]["path"]).startswith("database (published by ")
    code, text, _ = fidelity("scales", "list")
    line = next(row for row in text.splitlines() if row.startswith("bhh-review"))
    assert line.endswith("[published in the database]") and "[12 item(s) unverified]" in line

    # Its REDCap data dictionary and FHIR Questionnaire, as a bundled scale's.
    code, out, err = fidelity("scales", "export", "bhh-review@1.0", "--format", "redcap")
    assert code == 0, err
    assert "cm1" in out.lower() and "Whole-person assessment" in out

    # Publishing the same version again is refused: a published version never changes.
    code, _, err = fidelity("scales", "publish", str(EXAMPLES / "peer-support-review.yaml"))
    assert code == 2
    assert "peer-support-review 1.0 is published and cannot be changed" in err
    # So is a bundled scale's id and version.
    code, _, err = fidelity("scales", "publish", str(REPO / "scales" / "goi" / "1.0.yaml"))
    assert code == 2 and "goi 1.0 is a bundled scale version" in err


def test_a_bad_file_is_refused_with_its_file_line_and_field(db_url: str, tmp_path: Path) -> None:
    good = (EXAMPLES / "peer-support-review.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        good.replace(
            "      5: Peer specialists hold 20% or more", "      6: Peer specialists hold 20% or more", 1
        ),
        encoding="utf-8",
    )
    line = next(
        n for n, text in enumerate(bad.read_text().splitlines(), 1) if text.startswith("      6: Peer")
    )
    code, out, err = fidelity("scales", "publish", str(bad))
    assert code == 2 and out == ""
    assert (
        f"{bad}:{line}: items[0].anchors[6] (item PW1): anchor 6 is outside ratings 1..5" in err.splitlines()
    )
    assert "peer-support-review" not in listed()  # nothing was written


def test_a_derived_scale_publishes_against_a_bundled_base(db_url: str, tmp_path: Path) -> None:
    variant = tmp_path / "variant.yaml"
    variant.write_text(
        "id: dacts-county\nversion: '1.0'\nbased_on: dacts@1.0\ntitle: DACTS, our county\n"
        "source: County contract 2026\nminimums: {H1: 4}\n",
        encoding="utf-8",
    )
    code, _out, err = fidelity("scales", "publish", str(variant))
    assert code == 0, err
    assert listed()["dacts-county"]["derived_from"] == "dacts@1.0"
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(variant.read_text().replace("dacts-county", "dacts-town").replace("H1: 4", "Z9: 4"))
    code, _, err = fidelity("scales", "publish", str(wrong))
    assert code == 2 and f"{wrong}:6: minimums.Z9: sets a minimum for 'Z9'" in err


def test_only_an_agency_admin_publishes(db_url: str) -> None:
    from services.access import LOCAL_ADMIN, Role
    from services.database import open_database
    from services.users import add_user

    with open_database(db_url) as db:
        add_user(db, "rita@agency.org", role=Role.REVIEWER, actor=LOCAL_ADMIN)
        add_user(db, "ada@agency.org", role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    example = str(EXAMPLES / "peer-support-review.yaml")
    code, _, err = fidelity("scales", "publish", example, "--as", "rita@agency.org")
    assert code == 2
    assert err.strip() == (
        "Not allowed: a reviewer may not author, import or publish scales (only agency admins may)."
    )
    assert "peer-support-review" not in listed()
    code, _, err = fidelity("scales", "publish", example, "--as", "nobody@agency.org")
    assert code == 2 and "--as nobody@agency.org: no active user" in err
    code, _, err = fidelity("scales", "publish", example, "--as", "ada@agency.org")
    assert code == 0, err
    assert str(listed()["peer-support-review"]["path"]).startswith(
        "database (published by ada@agency.org on "
    )
