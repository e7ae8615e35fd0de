"""bench.growth: the growth figure of each benchmark measured at two sizes (no timing here: the
figures are made up)."""

from __future__ import annotations

import pytest

from bench.growth import at_size, growth, parse_sizes
from bench.measure import Result


def _result(name: str, seconds: float) -> Result:
    return Result(
        "sqlite", name, "detail", 1.0, 2.0, "<= 2x", [], {"project_s": seconds, "floor_s": seconds / 2}
    )


def test_growth_is_the_larger_time_over_the_smaller_against_1_2_times_linear() -> None:
    small = at_size([_result("dashboard", 0.1), _result("scoring", 1.0), _result("only small", 1.0)], 1000)
    large = at_size([_result("dashboard", 0.55), _result("scoring", 7.0)], 5000)
    assert small[0].name == "1000 programs: dashboard" and "load_average" in small[0].figures
    dashboard, scoring = growth("sqlite", (1000, 5000), {1000: small, 5000: large})
    assert dashboard.name == "growth 1000 -> 5000 programs: dashboard"
    assert dashboard.figures["growth"] == pytest.approx(5.5) and dashboard.goal == pytest.approx(6.0)
    assert dashboard.passed
    assert scoring.figures["growth"] == pytest.approx(7.0) and not scoring.passed
    assert scoring.figures["floor_growth"] == pytest.approx(7.0)


@pytest.mark.parametrize("text", ["1000", "5000,1000", "0,10", "1,2,3"])
def test_growth_sizes_are_two_counts_smaller_first(text: str) -> None:
    with pytest.raises(ValueError, match="two program counts"):
        parse_sizes(text)
    assert parse_sizes("1000,5000") == (1000, 5000)
