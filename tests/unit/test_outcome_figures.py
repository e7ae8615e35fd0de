"""Fidelity beside outcomes, pure: the rank correlation against a hand-computed example, the
following period, the outcome per month over it, each program's point, and the checks on a
period and a value."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from domain.errors import ValidationProblem
from domain.outcomes import Period, PeriodKind, Unit, parse_period, parse_value
from scoring.outcomes import fidelity_outcome_points, following_outcome, following_window, rank_correlation

TODAY = dt.date(2026, 6, 15)


# ---- the rank correlation --------------------------------------------------------------------


def test_spearman_rho_and_its_interval_against_a_hand_computed_example() -> None:
    # Five programs: fidelity totals and hospital days per month after their reviews.
    fidelity = [4.6, 3.1, 4.0, 2.8, 3.5]
    hospital_days = [20.0, 75.0, 30.0, 60.0, 45.0]
    # Ranks (1 = smallest): fidelity 5, 2, 4, 1, 3; hospital days 1, 5, 2, 4, 3.
    # d = -4 ... by program: 5-1=4, 2-5=-3, 4-2=2, 1-4=-3, 3-3=0; sum of d^2 = 16+9+4+9+0 = 38.
    # rho = 1 - 6 * 38 / (5 * (25 - 1)) = 1 - 228/120 = -0.9.
    # Interval (Fisher's z, Bonett-Wright standard error):
    #   z = atanh(-0.9) = -1.4722195; se = sqrt((1 + 0.81/2) / (5 - 3)) = sqrt(0.7025) = 0.8381527;
    #   z -+ 1.9599640 * 0.8381527 = -1.4722195 -+ 1.6427491 = -3.1149686 and 0.1705296;
    #   tanh: -0.9961 and 0.1689.
    r = rank_correlation(fidelity, hospital_days)
    assert r.n == 5
    assert r.rho == pytest.approx(-0.9, abs=1e-12)
    assert r.low == pytest.approx(-0.99607, abs=5e-5)
    assert r.high == pytest.approx(0.16890, abs=5e-5)
    assert r.text == "Spearman's rho = -0.90 (95% CI -1.00 to 0.17; n = 5)"
    # scipy's p-value (t distribution, n - 2 degrees of freedom) for rho = -0.9, n = 5
    assert r.p_value == pytest.approx(0.0374, abs=5e-4)


def test_a_known_interval_of_the_fisher_z_method() -> None:
    # Ten programs, ranked 1..10 by fidelity; by the outcome: pairs swapped, and 8, 9, 10 rotated.
    # d = -1, 1, -1, 1, -2, 1, 1, -2, 1, 1: sum d^2 = 16; rho = 1 - 6*16 / (10*99) = 0.9030303.
    # z = atanh(0.9030303) = 1.4884021; se = sqrt((1 + 0.8154637/2) / 7) = 0.4484468;
    # 1.9599640 * se = 0.8789396; z -+ that = 0.6094625 and 2.3673418; tanh: 0.5437 and 0.9826.
    x = list(range(1, 11))
    y = [2, 1, 4, 3, 7, 5, 6, 10, 8, 9]
    assert sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) == 16
    r = rank_correlation(x, y)
    assert r.rho == pytest.approx(0.9030303, abs=1e-7)
    assert (r.low, r.high) == pytest.approx((0.5437486, 0.9825826), abs=1e-6)
    ninety = rank_correlation(x, y, confidence=0.90)  # a narrower interval at 90%
    assert r.low < ninety.low < ninety.high < r.high


def test_ties_take_their_mean_rank() -> None:
    # x ranks 1, 2.5, 2.5, 4; y ranks 1, 2, 3, 4: Pearson on the ranks (scipy), not the d^2 formula.
    r = rank_correlation([1, 2, 2, 3], [10, 20, 30, 40])
    assert r.rho == pytest.approx(0.9486833, abs=1e-6)


def test_where_there_is_no_figure_it_says_why() -> None:
    assert rank_correlation([1, 2], [2, 1]).note == "fewer than 3 programs"
    three = rank_correlation([1, 2, 3], [3, 1, 2])
    assert three.rho == pytest.approx(-0.5) and three.low is None
    assert "too few programs" in three.text or three.note == "too few programs for an interval"
    same = rank_correlation([4.0, 4.0, 4.0, 4.0], [1, 2, 3, 4])
    assert same.rho is None and same.note == "every program has the same fidelity total"
    assert "not computed" in same.text and "nan" not in same.text
    perfect = rank_correlation([1, 2, 3, 4], [10, 20, 30, 40])
    assert perfect.rho == pytest.approx(1.0) and perfect.low is None
    assert rank_correlation([1, 2, float("nan"), 4], [1, 2, 3, 4]).n == 3


# ---- the following period ---------------------------------------------------------------------


def test_the_following_period_is_the_whole_months_after_the_reviews_month() -> None:
    assert following_window(dt.date(2025, 3, 14)) == (dt.date(2025, 4, 1), dt.date(2025, 9, 30))
    assert following_window(dt.date(2025, 3, 1), 1) == (dt.date(2025, 4, 1), dt.date(2025, 4, 30))
    assert following_window(dt.date(2025, 11, 30), 3) == (dt.date(2025, 12, 1), dt.date(2026, 2, 28))


def _periods(*rows: tuple[str, int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"period_start": pd.Timestamp(s), "period_months": m, "value": v} for s, m, v in rows]
    )


def test_a_flow_is_added_up_and_divided_by_its_months() -> None:
    periods = _periods(
        ("2025-03-01", 1, 999.0),  # the review's own month: before the window
        ("2025-04-01", 1, 10.0),
        ("2025-05-01", 1, 20.0),
        ("2025-07-01", 3, 90.0),  # a quarter inside the window: 30 a month
        ("2025-10-01", 1, 999.0),  # after the window
    )
    found = following_outcome(periods, dt.date(2025, 3, 14), flow=True)
    assert found.months == 5
    assert found.value == pytest.approx((10 + 20 + 90) / 5)


def test_a_level_is_the_mean_weighted_by_months() -> None:
    periods = _periods(("2025-04-01", 1, 80.0), ("2025-07-01", 3, 90.0))
    found = following_outcome(periods, dt.date(2025, 3, 14), flow=False)
    assert found.value == pytest.approx((80 + 3 * 90) / 4)


def test_a_quarter_that_straddles_the_window_does_not_count() -> None:
    periods = _periods(("2025-04-01", 3, 30.0))  # April to June; the review is in April
    assert following_outcome(periods, dt.date(2025, 4, 2), flow=True).value is None


def test_each_programs_point_is_its_latest_review_followed_by_outcomes() -> None:
    totals = pd.DataFrame(
        {
            "program_id": [1, 1, 2, 3],
            "program": ["A", "A", "B", "C"],
            "review_id": [11, 12, 21, 31],
            "review_date": pd.to_datetime(["2025-01-10", "2025-12-01", "2025-01-20", "2025-01-05"]),
            "total": [3.0, 4.5, 4.0, float("nan")],
        }
    )
    outcomes = pd.DataFrame(
        {
            "program_id": [1, 1, 2, 3],
            "period_start": pd.to_datetime(["2025-02-01", "2025-03-01", "2025-02-01", "2025-02-01"]),
            "period_months": [1, 1, 1, 1],
            "value": [10.0, 20.0, 5.0, 7.0],
        }
    )
    found = fidelity_outcome_points(totals, outcomes, flow=True)
    points = found.points.set_index("program")
    # A's latest review (December) has nothing after it yet: its January review is used.
    assert points.loc["A", "review_id"] == 11 and points.loc["A", "outcome"] == pytest.approx(15.0)
    assert points.loc["B", "total"] == 4.0 and points.loc["B", "months"] == 1
    assert found.left_out == ("C: no values in the 6 months after any of its reviews with a total",)


# ---- periods and values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-03", Period(dt.date(2025, 3, 1), PeriodKind.MONTH)),
        (" 2025-3 ", Period(dt.date(2025, 3, 1), PeriodKind.MONTH)),
        ("2025-Q2", Period(dt.date(2025, 4, 1), PeriodKind.QUARTER)),
        ("2025q4", Period(dt.date(2025, 10, 1), PeriodKind.QUARTER)),
        (dt.datetime(2025, 3, 1), Period(dt.date(2025, 3, 1), PeriodKind.MONTH)),  # an XLSX cell
    ],
)
def test_periods_read(given: object, expected: Period) -> None:
    assert parse_period(given, TODAY) == expected
    assert parse_period(expected.label, TODAY) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("2025-13", "'2025-13' is not a period: write a month (2025-03) or a quarter (2025-Q1)"),
        ("2025-Q5", "'2025-Q5' is not a period"),
        ("March 2025", "is not a period"),
        (dt.date(2025, 3, 14), "2025-03-14 is a day, not a month"),
        ("2026-07", "2026-07 has not begun yet"),
        ("1989-12", "1989-12 is before 1990"),
    ],
)
def test_bad_periods_are_refused(given: object, message: str) -> None:
    with pytest.raises(ValidationProblem) as caught:
        parse_period(given, TODAY)
    assert message in caught.value.problems[0]


@pytest.mark.parametrize(
    ("given", "unit", "message"),
    [
        ("-3", Unit.DAYS, "-3 days is impossible: a value cannot be negative"),
        (-0.5, Unit.COUNT, "-0.5 count is impossible"),
        ("100.5", Unit.PERCENT, "100.5 percent is impossible: a percentage is at most 100"),
        ("12 days", Unit.DAYS, "'12 days' is not a number"),
        ("1,5", Unit.DAYS, "'1,5' is not a number"),
        (True, Unit.COUNT, "True is not a number"),
        (float("inf"), Unit.COUNT, "inf is not a number"),
        (2_000_000, Unit.DAYS, "at most 1,000,000"),
    ],
)
def test_impossible_values_are_refused(given: object, unit: Unit, message: str) -> None:
    with pytest.raises(ValidationProblem) as caught:
        parse_value(given, unit)
    assert message in caught.value.problems[0]


def test_possible_values_read() -> None:
    assert parse_value("100", Unit.PERCENT) == 100.0
    assert parse_value(" 12.5 ", Unit.DAYS) == 12.5
    assert parse_value(0, Unit.COUNT) == 0.0
