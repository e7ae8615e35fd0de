"""Scoring whole reviews on each bundled scale: complete, missing items, computed, judged, bands."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scales import Scale, parse_scale_text
from scoring import InvalidReviewError, ItemEntry, agreement, score_review


def all_rated(scale: Scale, rating: int) -> dict[str, ItemEntry]:
    return {item_id: ItemEntry(rating=rating) for item_id in scale.item_ids}


def with_sum(scale: Scale, total: int) -> dict[str, ItemEntry]:
    """Ratings for every item that add up to `total` (as even as possible)."""
    n = len(scale.items)
    base, extra = divmod(total, n)
    return {item_id: ItemEntry(rating=base + (i < extra)) for i, item_id in enumerate(scale.item_ids)}


class TestDacts:
    def test_complete_review(self, dacts: Scale) -> None:
        result = score_review(
            dacts, all_rated(dacts, 4) | {"H1": ItemEntry(rating=5), "S10": ItemEntry(rating=2)}
        )
        assert result.total.sum == 4 * 28 + 1 - 2
        assert result.total.rated == result.total.items == 28
        assert result.total.complete
        assert result.total.mean == Fraction(111, 28)
        assert result.subscales["H"].mean == Fraction(45, 11)
        assert result.subscales["O"].mean == 4
        assert result.subscales["S"].mean == Fraction(38, 10)
        assert result.band == "Fair implementation"
        assert result.missing == []
        assert result.action_plan == ["S10"]

    def test_georgia_published_example(self, dacts: Scale) -> None:
        # Georgia DBHDD 2013: total 117, mean 4.18, H-section mean 4.45 (H sum 49 of 11 items).
        h = {f"H{i}": ItemEntry(rating=5 if i <= 5 else 4) for i in range(1, 12)}  # 25 + 24 = 49
        rest = {i: ItemEntry(rating=4) for i in dacts.item_ids if not i.startswith("H")}  # 17 x 4 = 68
        result = score_review(dacts, h | rest)
        d = result.to_dict()
        assert d["total"]["sum"] == 117
        assert d["total"]["mean"] == 4.18
        assert d["subscales"]["H"]["mean"] == 4.45
        assert d["band"] == "Full implementation"

    def test_missing_items_are_listed_and_excluded_from_means(self, dacts: Scale) -> None:
        entries = all_rated(dacts, 5) | {"H3": ItemEntry(rating=None), "S9": ItemEntry(rating=None)}
        del entries["O4"]
        result = score_review(dacts, entries)
        assert result.missing == ["H3", "O4", "S9"]
        assert result.total.rated == 25 and result.total.items == 28
        assert not result.total.complete
        assert result.total.mean == 5  # missing items are not counted as zero
        assert result.subscales["H"].rated == 10
        assert result.to_dict()["total"]["complete"] is False

    def test_all_computed_items_from_inputs(self, dacts: Scale) -> None:
        inputs = {
            "H1": {"clients": 100, "staff_fte": 10}, "H2": {"pct_clients_multi_staff": 95},
            "H5": {"pct_turnover_2y": 10}, "H6": {"pct_positions_filled_12m": 97},
            "H7": {"psychiatrist_fte": 1, "clients": 100}, "H8": {"nurse_fte": 2, "clients": 100},
            "H9": {"sa_specialist_fte": 2, "clients": 100}, "H10": {"vocational_fte": 2, "clients": 100},
            "H11": {"total_staff_fte": 11}, "O2": {"max_monthly_intakes_6m": 4},
            "O3": {"services_provided": 5}, "O5": {"pct_admissions_with_team": 96},
            "O6": {"pct_discharges_planned_with_team": 100}, "O7": {"pct_expected_to_graduate_12m": 0},
            "S1": {"pct_contacts_in_community": 85}, "S2": {"pct_retained_12m": 99},
            "S4": {"avg_minutes_per_week": 130}, "S5": {"avg_contacts_per_week": 4.2},
            "S6": {"support_contacts_per_month": 4}, "S8": {"pct_sud_clients_in_groups": 55},
        }  # fmt: skip
        result = score_review(dacts, {k: ItemEntry(inputs=v) for k, v in inputs.items()})
        assert {k for k, s in result.items.items() if s.source == "computed"} == set(inputs)
        assert all(result.items[k].rating == 5 for k in inputs)
        assert sorted(result.missing) == sorted(["H3", "H4", "O1", "O4", "S3", "S7", "S9", "S10"])
        assert result.band == "Full implementation"

    def test_all_judged(self, dacts: Scale) -> None:
        result = score_review(dacts, all_rated(dacts, 2))
        assert all(s.source == "rated" for s in result.items.values())
        assert result.total.sum == 56 and result.band == "Not ACT"

    @pytest.mark.parametrize(
        ("total", "band"),
        [(112, "Full implementation"), (111, "Fair implementation"), (84, "Fair implementation"),
         (83, "Not ACT"), (140, "Full implementation"), (28, "Not ACT")],
    )  # fmt: skip
    def test_band_edges_on_the_total_mean(self, dacts: Scale, total: int, band: str) -> None:
        assert score_review(dacts, with_sum(dacts, total)).band == band

    def test_rating_and_inputs_that_agree_are_accepted(self, dacts: Scale) -> None:
        result = score_review(dacts, {"H1": ItemEntry(rating=5, inputs={"clients": 96, "staff_fte": 9.5})})
        assert result.items["H1"].rating == 5 and result.items["H1"].source == "computed"


def test_mean_band_reads_the_total_rounded_to_two_decimals() -> None:
    """Mean 3.995 rounds to 4.00 (full); 3.99 is fair: a 200-item scale makes those means."""
    items = "\n".join(
        f"  - {{id: X{i}, name: Item {i}, subscale: A, definition: d,"
        f" anchors: {{1: a, 2: b, 3: c, 4: d, 5: e}}}}"
        for i in range(200)
    )
    text = f"""
id: wide
version: "1"
title: Wide
source: test
subscales: [{{id: A, name: All, items: [{", ".join(f"X{i}" for i in range(200))}]}}]
items:
{items}
scoring:
  method: mean_of_items
  precision: 2
  bands:
    - {{label: Low, max: 3.99}}
    - {{label: High, min: 4.0}}
"""
    scale = parse_scale_text(text, "wide.yaml")
    assert score_review(scale, with_sum(scale, 799)).band == "High"  # 3.995
    assert score_review(scale, with_sum(scale, 798)).band == "Low"  # 3.99


@pytest.mark.parametrize(("fixture", "n"), [("iddt", 14), ("goi", 12)])
def test_sum_scales_band_only_when_complete(request: pytest.FixtureRequest, fixture: str, n: int) -> None:
    scale: Scale = request.getfixturevalue(fixture)
    assert len(scale.items) == n
    complete = score_review(scale, all_rated(scale, 4))
    assert complete.total.sum == 4 * n and complete.band is not None
    partial = all_rated(scale, 4)
    partial[scale.item_ids[0]] = ItemEntry(rating=None)
    result = score_review(scale, partial)
    assert result.band is None and result.missing == [scale.item_ids[0]]
    assert result.total.mean == 4


@pytest.mark.parametrize(
    ("total", "band"),
    [(70, "Good implementation"), (56, "Good implementation"), (55, "Fair implementation"),
     (42, "Fair implementation"), (41, "Not IDDT"), (14, "Not IDDT")],
)  # fmt: skip
def test_iddt_band_edges(iddt: Scale, total: int, band: str) -> None:
    assert score_review(iddt, with_sum(iddt, total)).band == band


@pytest.mark.parametrize(
    ("total", "band"),
    [(60, "Good implementation"), (48, "Good implementation"), (47, "Fair implementation"),
     (36, "Fair implementation"), (35, "Not adequately implemented"), (12, "Not adequately implemented")],
)  # fmt: skip
def test_goi_band_edges(goi: Scale, total: int, band: str) -> None:
    assert score_review(goi, with_sum(goi, total)).band == band


def test_iddt_keeps_the_published_ids(iddt: Scale) -> None:
    assert iddt.item_ids == [f"I{i}" for i in range(1, 15)]
    assert [iddt.item(f"I{i}").published_id for i in (1, 2, 3, 14)] == ["1a", "1b", "2", "13"]


def test_goi_items_in_order(goi: Scale) -> None:
    assert goi.item_ids == [f"G{i}" for i in range(1, 13)]


class TestRefusals:
    @pytest.mark.parametrize(
        ("entries", "message"),
        [
            ({"Z9": ItemEntry(rating=3)}, "item Z9: not an item of dacts 1.0"),
            ({"H2": ItemEntry(rating=6)}, "item H2: rating 6 is out of range 1..5"),
            ({"H2": ItemEntry(rating=0)}, "item H2: rating 0 is out of range 1..5"),
            ({"H2": ItemEntry(rating=3.5)}, "item H2: rating must be a whole number"),
            ({"H2": ItemEntry(rating="four")}, "item H2: rating must be a whole number from 1 to 5, got 'four'"),
            ({"H2": ItemEntry(rating=True)}, "item H2: rating must be a whole number"),
            ({"H1": ItemEntry(rating=3, inputs={"clients": 96, "staff_fte": 9.5})}, "item H1: rating 3 disagrees"),
            ({"H1": ItemEntry(inputs={"clients": 0, "staff_fte": 9.5})}, "item H1: input clients must be at least 1"),
            ({"H1": ItemEntry(inputs={"clients": 96, "staff_fte": 0})}, "item H1: input staff_fte must be greater than 0"),
            ({"H1": ItemEntry(inputs={"clients": 96, "staff_fte": -2})}, "item H1: input staff_fte must be greater than 0"),
            ({"H1": ItemEntry(inputs={"clients": "ninety", "staff_fte": 9})}, "item H1: input clients must be a number"),
            ({"H1": ItemEntry(inputs={"clients": 96})}, "item H1: missing input staff_fte"),
            ({"H1": ItemEntry(inputs={"clients": 96.5, "staff_fte": 9})}, "item H1: input clients must be a whole number"),
            ({"H1": ItemEntry(inputs={"clients": 96, "staff_fte": 9, "x": 1})}, "item H1: unknown input x"),
            ({"H2": ItemEntry(inputs={"pct_clients_multi_staff": 140})}, "must be at most 100"),
            ({"H3": ItemEntry(inputs={"meetings": 4})}, "item H3: is not a computed item"),
            ({"H7": ItemEntry(inputs={"psychiatrist_fte": 1, "clients": float("nan")})}, "must be a finite number"),
        ],
    )  # fmt: skip
    def test_bad_entries_are_refused_with_the_item_named(
        self, dacts: Scale, entries: dict, message: str
    ) -> None:
        with pytest.raises(InvalidReviewError) as caught:
            score_review(dacts, entries)
        assert any(message in p for p in caught.value.problems), caught.value.problems

    def test_every_problem_is_reported_at_once(self, dacts: Scale) -> None:
        with pytest.raises(InvalidReviewError) as caught:
            score_review(
                dacts, {"H2": ItemEntry(rating=9), "Q1": ItemEntry(rating=1), "H1": ItemEntry(inputs={})}
            )
        assert len(caught.value.problems) == 2  # H1 with empty inputs is simply missing


def test_agreement_between_two_raters(dacts: Scale) -> None:
    a = {"H1": 5, "H2": 4, "H3": 3, "H4": 1, "H5": 2, "H6": None, "H7": 4}
    b = {"H1": 5, "H2": 3, "H3": 5, "H4": 4, "H5": 2, "H6": 3, "H7": None}
    result = agreement(dacts.item_ids, a, b)
    assert result.compared == 5
    assert result.exact_pct == 40.0
    assert result.within_one_pct == 60.0
    assert [(d.item_id, d.rating_a, d.rating_b) for d in result.discrepancies] == [("H4", 1, 4), ("H3", 3, 5)]
    assert [d.item_id for d in result.differences] == ["H4", "H3", "H2"]
    assert result.rated_by_one == ["H6", "H7"]


def test_agreement_with_nothing_to_compare(dacts: Scale) -> None:
    result = agreement(dacts.item_ids, {}, {"H1": 3})
    assert result.compared == 0 and result.exact_pct is None and result.rated_by_one == ["H1"]
