"""The bench's JSON file of figures and `--compare` (no timing here: the format and the arithmetic)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench import results
from bench.measure import Result
from bench.timing import Paired, Timing


def _result(name: str, project: list[float], floor: list[float], goal: float = 2.0) -> Result:
    timing = Paired(Timing(tuple(project)), Timing(tuple(floor)))
    return Result(
        "sqlite", name, timing.text("p", "f"), timing.ratio, goal, f"<= {goal}x", [], timing.figures()
    )


def test_a_written_run_loads_back_and_compares_with_itself_as_unchanged(tmp_path: Path) -> None:
    run = [_result("dashboard", [0.030, 0.020, 0.025], [0.010, 0.012, 0.011]).as_json()]
    path = results.default_path(tmp_path, dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC))
    assert path.name == "run-20261207T060000Z.json"
    results.write(path, results.document("test machine", run, {"programs": 20}))
    loaded = results.load(path)
    assert loaded["machine"] == "test machine"
    lines = results.compare(loaded, loaded)
    assert lines, "every figure is listed"
    assert all(line.endswith("(+0.0%)") for line in lines)
    assert any(line.startswith("[sqlite] dashboard: ratio 2.273 -> 2.273") for line in lines)


def test_compare_prints_the_change_per_figure_and_a_verdict_that_changed(tmp_path: Path) -> None:
    old = results.document("m", [_result("scoring", [0.2] * 3, [0.02] * 3, goal=3.0).as_json()], {})
    new = results.document(
        "m",
        [
            _result("scoring", [0.05] * 3, [0.025] * 3, goal=3.0).as_json(),
            _result("import", [1.0] * 3, [1.0] * 3).as_json(),
        ],
        {},
    )
    for doc, name in ((old, "old.json"), (new, "new.json")):
        results.write(tmp_path / name, doc)
    lines = results.compare(results.load(tmp_path / "old.json"), results.load(tmp_path / "new.json"))
    assert "[sqlite] scoring: ratio 10 -> 2 (-80.0%)" in lines
    assert "[sqlite] scoring: project_s 0.2 -> 0.05 (-75.0%)" in lines
    assert "[sqlite] scoring: floor_s 0.02 -> 0.025 (+25.0%)" in lines
    assert "[sqlite] scoring: now PASS (was FAIL)" in lines
    assert "[sqlite] import: only in the new run" in lines
    assert not any("detail" in line or "checks" in line for line in lines)


def test_a_file_that_is_not_a_results_file_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [{"name": "x"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: result 1 lacks"):
        results.load(bad)
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json: not a readable"):
        results.load(bad)


def test_the_goal_is_the_ratio_of_medians_and_the_spread_is_reported() -> None:
    timing = Paired(Timing((0.010, 0.011, 0.050, 0.012)), Timing((0.005, 0.005, 0.005, 0.006)))
    assert timing.ratio == pytest.approx(0.0115 / 0.005)
    figures = timing.figures()
    assert figures["project_best_s"] == 0.010 and figures["project_worst_s"] == 0.050
    assert figures["project_rounds"] == 4
    assert figures["ratio_q1"] <= timing.ratio <= figures["ratio_q3"]
    assert "4 rounds" in timing.text("p", "f")
