"""The `fidelity` command: output shapes, and exit 2 with one line per problem, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from scales.loader import scale_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "riverside-dacts.yaml"
runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process, as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip


def test_score_json_shape() -> None:
    result = runner.invoke(app, ["score", str(EXAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"scale", "version", "items", "subscales", "total", "band", "missing"} <= set(data)
    assert data["scale"] == "dacts" and data["version"] == "1.0"
    assert data["items"]["H1"]["rating"] == 5
    assert data["items"]["H1"]["value"] == pytest.approx(96 / 9.5, abs=1e-4)
    assert data["items"]["H2"] == {"rating": 4, "source": "rated"}
    assert data["subscales"]["H"] == {
        "name": "Human resources: structure and composition",
        "mean": 4.27,
        "rated": 11,
        "items": 11,
    }
    assert data["total"]["sum"] == 115 and data["total"]["rated"] == 28 and data["total"]["items"] == 28
    assert data["total"]["mean"] == 4.11
    assert data["band"] == "Full implementation"
    assert data["missing"] == []


def test_score_text_output() -> None:
    result = runner.invoke(app, ["score", str(EXAMPLE)])
    assert result.exit_code == 0
    assert "Total: sum 115, mean 4.11, 28/28 rated" in result.stdout
    assert "Band: Full implementation" in result.stdout


def test_score_json_review_file(tmp_path: Path) -> None:
    path = tmp_path / "review.json"
    path.write_text(
        json.dumps(
            {"scale": "iddt", "date": "2026-01-05", "items": {f"I{i}": {"rating": 4} for i in range(1, 15)}}
        )
    )
    result = runner.invoke(app, ["score", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["sum"] == 56


BAD_FILES = {
    "unknown scale": ("scale: nope\nitems: {}\n", "unknown scale 'nope'"),
    "unknown version": ('scale: dacts\nversion: "9.9"\nitems: {}\n', "unknown scale version 'dacts' 9.9"),
    "unknown item": ("scale: dacts\nitems:\n  Z1: {rating: 3}\n", "item Z1: not an item of dacts 1.0"),
    "rating out of range": (
        "scale: dacts\nitems:\n  H2: {rating: 7}\n",
        "item H2: rating 7 is out of range 1..5",
    ),
    "disagreement": (
        "scale: dacts\nitems:\n  H1: {rating: 2, inputs: {clients: 96, staff_fte: 9.5}}\n",
        "item H1: rating 2 disagrees",
    ),
    "zero clients": (
        "scale: dacts\nitems:\n  H7: {inputs: {psychiatrist_fte: 1, clients: 0}}\n",
        "item H7: input clients must be at least 1",
    ),
    "negative fte": (
        "scale: dacts\nitems:\n  H1: {inputs: {clients: 90, staff_fte: -1}}\n",
        "item H1: input staff_fte must be greater than 0",
    ),
    "text for a number": (
        "scale: dacts\nitems:\n  H1: {inputs: {clients: lots, staff_fte: 9}}\n",
        "item H1: input clients must be a number",
    ),
    "text rating": (
        "scale: dacts\nitems:\n  H3: {rating: five}\n",
        "item H3: rating must be a whole number from 1 to 5",
    ),
    "bad date": ("scale: dacts\ndate: 14/03/2026\nitems: {}\n", "date must be a date like 2026-03-14"),
    "yaml syntax": ("scale: dacts\nitems: {H1: [\n", "YAML syntax error"),
    "not a mapping": ("- just\n- a list\n", "a review file must be a mapping"),
    "unknown key": ("scale: dacts\nscore: 5\nitems: {}\n", "unknown key score"),
    "item typo": ("scale: dacts\nitems:\n  H2: {ratng: 4}\n", "item H2: unknown key ratng"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_review_files_exit_2_with_a_clear_line(tmp_path: Path, case: str) -> None:
    text, message = BAD_FILES[case]
    path = tmp_path / "review.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["score", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.output


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text("scale: dacts\nitems:\n  H2: {rating: 9}\n  H3: {rating: 0}\n  XX: {rating: 1}\n")
    proc = run("score", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(str(path)) for line in lines)
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    proc = run("score", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2 and "cannot read file" in proc.stderr and "Traceback" not in proc.stderr


def test_scales_list() -> None:
    result = runner.invoke(app, ["scales", "list", "--json"])
    assert result.exit_code == 0
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert {k: rows[k]["items"] for k in ("dacts", "iddt", "goi")} == {"dacts": 28, "iddt": 14, "goi": 12}
    assert all(row["version"] == "1.0" and row["title"] for row in rows.values())
    text = runner.invoke(app, ["scales", "list"])
    assert "dacts" in text.stdout and "28 items" in text.stdout


def test_scales_validate_good_and_bad(tmp_path: Path) -> None:
    good = runner.invoke(app, ["scales", "validate", str(ROOT / "scales")])
    assert good.exit_code == 0, good.output
    assert good.stdout.count(": ok (") == len(scale_files(ROOT / "scales"))  # derived scales too
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scales" / "goi" / "1.0.yaml").read_text().replace("id: G3\n", "id: G2\n", 1))
    proc = run("scales", "validate", str(bad))
    assert proc.returncode == 2
    assert all(line.startswith(f"{bad}:") for line in proc.stderr.strip().splitlines())
    assert "duplicate item id 'G2'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scales_from_an_extra_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "scales" / "goi" / "1.0.yaml").read_text().replace("id: goi", "id: goi-local", 1)
    (tmp_path / "goi-local.yaml").write_text(text)
    proc = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "scales", "list"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**__import__("os").environ, "FIDELITY_SCALES_DIRS": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0 and "goi-local" in proc.stdout


def test_score_text_prints_computed_values_rounded_as_the_item_reads_them() -> None:
    out = runner.invoke(app, ["score", str(EXAMPLE)]).stdout
    h1 = next(line for line in out.splitlines() if line.startswith("H1 "))
    assert h1.endswith("computed  10.1053 -> 10 clients per FTE")  # 96 clients / 9.5 FTE, precision 0
    h7 = next(line for line in out.splitlines() if line.startswith("H7 "))
    assert h7.endswith("computed  1.0417 -> 1.04 FTE per 100 clients")  # precision 2
    h5 = next(line for line in out.splitlines() if line.startswith("H5 "))
    assert h5.endswith("computed  25 % turnover in 2 years")  # nothing to round
    assert "10.10526315789473684210526316" not in out
