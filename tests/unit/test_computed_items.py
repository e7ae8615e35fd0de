"""Every band edge of every computed item, read from the loaded YAML, and the rounding rule.

The edges come from the scale files themselves (so a new band is tested the day it is added);
a second table below restates the published DACTS thresholds from the reference so that a
typo in a YAML file cannot pass both tests.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from scales import Item, Scale, load_registry
from scoring import ItemEntry, ItemRatingError, rate_item
from scoring.rounding import to_decimal

REGISTRY = load_registry()
COMPUTED: list[tuple[Scale, Item]] = [
    (scale, item) for scale in REGISTRY.all() for item in scale.items if item.compute is not None
]


def inputs_for(item: Item, value: Decimal) -> dict[str, Decimal]:
    """Inputs that make the item's computed value exactly `value`."""
    rule = item.compute
    assert rule is not None
    specs = {i.name: i for i in rule.inputs}
    per = to_decimal(rule.value.per)
    num_spec = specs[rule.value.numerator]
    if rule.value.denominator is None:
        return {num_spec.name: value / per}
    den_spec = specs[rule.value.denominator]
    for denominator in (Decimal(100), Decimal(1000), Decimal(10000), Decimal(10), Decimal(1)):
        if den_spec.max is not None and denominator > to_decimal(den_spec.max):
            continue
        numerator = value * denominator / per
        if num_spec.integer and numerator != numerator.to_integral_value():
            continue
        if num_spec.max is not None and numerator > to_decimal(num_spec.max):
            continue
        return {num_spec.name: numerator, den_spec.name: denominator}
    pytest.skip(f"{item.id}: no exact inputs for {value}")


def rating_of(scale: Scale, item: Item, value: Decimal, given: int | None = None) -> int:
    rule = item.compute
    assert rule is not None
    if rule.decides:  # the inputs only split these judged ratings: rate as the top one
        given = max(rule.decides) if given is None else given
        try:
            return rate_item(
                item, ItemEntry(rating=given, inputs=inputs_for(item, value)), scale.rating
            ).rating
        except ItemRatingError:
            return min(rule.decides)
    score = rate_item(item, ItemEntry(inputs=inputs_for(item, value)), scale.rating)
    assert score.source == "computed"
    assert score.computation is not None and score.computation.value == value
    assert score.rating is not None
    return score.rating


def edges(scale: Scale, item: Item) -> list[tuple[str, Decimal, int]]:
    """(what, value, expected rating) on both sides of every cut-point."""
    rule = item.compute
    assert rule is not None
    step = Decimal(1).scaleb(-rule.precision)
    half, tiny = step / 2, step / 100
    integer_only = rule.value.denominator is None and any(
        i.integer for i in rule.inputs if i.name == rule.value.numerator
    )
    cases: list[tuple[str, Decimal, int]] = []
    for lower, upper in zip(rule.bands, rule.bands[1:], strict=False):
        top, bottom = to_decimal(lower.max), to_decimal(upper.min)  # type: ignore[arg-type]
        cases.append((f"max of band {lower.rating}", top, lower.rating))
        cases.append((f"min of band {upper.rating}", bottom, upper.rating))
        if not integer_only:
            cases.append(("just below the rounding point", top + half - tiny, lower.rating))
            cases.append(("exactly on the rounding point (half-up)", top + half, upper.rating))
    return cases


@pytest.mark.parametrize(("scale", "item"), COMPUTED, ids=[f"{s.id}-{i.id}" for s, i in COMPUTED])
def test_every_cut_point_of_every_computed_item(scale: Scale, item: Item) -> None:
    cases = edges(scale, item)
    assert cases, f"{item.id} has a single band"
    for what, value, expected in cases:
        assert rating_of(scale, item, value) == expected, f"{item.id} at {value} ({what})"


def test_dacts_has_all_twenty_computed_items(dacts: Scale) -> None:
    computed = {i.id for i in dacts.items if i.compute and not i.compute.decides}
    assert computed == {
        "H1", "H2", "H5", "H6", "H7", "H8", "H9", "H10", "H11", "O2", "O3",
        "O5", "O6", "O7", "S1", "S2", "S4", "S5", "S6", "S8",
    }  # fmt: skip
    assert dacts.item("S7").compute is not None and dacts.item("S7").compute.decides == [4, 5]


# The published DACTS thresholds (shared/reference/scales.md), restated independently of the
# YAML: (item, inputs, expected rating). Edges on both sides of each cut-point.
PUBLISHED = [
    ("H1", {"clients": 50, "staff_fte": 1}, 1), ("H1", {"clients": 49, "staff_fte": 1}, 2),
    ("H1", {"clients": 35, "staff_fte": 1}, 2), ("H1", {"clients": 34, "staff_fte": 1}, 3),
    ("H1", {"clients": 21, "staff_fte": 1}, 3), ("H1", {"clients": 20, "staff_fte": 1}, 4),
    ("H1", {"clients": 11, "staff_fte": 1}, 4), ("H1", {"clients": 10, "staff_fte": 1}, 5),
    ("H1", {"clients": 102, "staff_fte": 5}, 4),  # 20.4 rates 4
    ("H1", {"clients": 41, "staff_fte": 2}, 3),  # 20.5 rates 3
    ("H1", {"clients": 96, "staff_fte": 9.5}, 5),  # 10.1
    ("H2", {"pct_clients_multi_staff": 9}, 1), ("H2", {"pct_clients_multi_staff": 10}, 2),
    ("H2", {"pct_clients_multi_staff": 36}, 2), ("H2", {"pct_clients_multi_staff": 37}, 3),
    ("H2", {"pct_clients_multi_staff": 63}, 3), ("H2", {"pct_clients_multi_staff": 64}, 4),
    ("H2", {"pct_clients_multi_staff": 89}, 4), ("H2", {"pct_clients_multi_staff": 89.5}, 5),
    ("H2", {"pct_clients_multi_staff": 90}, 5),
    ("H5", {"pct_turnover_2y": 81}, 1), ("H5", {"pct_turnover_2y": 80}, 2),
    ("H5", {"pct_turnover_2y": 60}, 2), ("H5", {"pct_turnover_2y": 59}, 3),
    ("H5", {"pct_turnover_2y": 40}, 3), ("H5", {"pct_turnover_2y": 39}, 4),
    ("H5", {"pct_turnover_2y": 20}, 4), ("H5", {"pct_turnover_2y": 19}, 5),
    ("H6", {"pct_positions_filled_12m": 49}, 1), ("H6", {"pct_positions_filled_12m": 50}, 2),
    ("H6", {"pct_positions_filled_12m": 64}, 2), ("H6", {"pct_positions_filled_12m": 65}, 3),
    ("H6", {"pct_positions_filled_12m": 79}, 3), ("H6", {"pct_positions_filled_12m": 80}, 4),
    ("H6", {"pct_positions_filled_12m": 94}, 4), ("H6", {"pct_positions_filled_12m": 95}, 5),
    ("H7", {"psychiatrist_fte": 0.09, "clients": 100}, 1), ("H7", {"psychiatrist_fte": 0.1, "clients": 100}, 2),
    ("H7", {"psychiatrist_fte": 0.39, "clients": 100}, 2), ("H7", {"psychiatrist_fte": 0.4, "clients": 100}, 3),
    ("H7", {"psychiatrist_fte": 0.395, "clients": 100}, 3),  # rounds to 0.40
    ("H7", {"psychiatrist_fte": 0.69, "clients": 100}, 3), ("H7", {"psychiatrist_fte": 0.7, "clients": 100}, 4),
    ("H7", {"psychiatrist_fte": 0.99, "clients": 100}, 4), ("H7", {"psychiatrist_fte": 1, "clients": 100}, 5),
    ("H8", {"nurse_fte": 0.19, "clients": 100}, 1), ("H8", {"nurse_fte": 0.2, "clients": 100}, 2),
    ("H8", {"nurse_fte": 0.79, "clients": 100}, 2), ("H8", {"nurse_fte": 0.8, "clients": 100}, 3),
    ("H8", {"nurse_fte": 1.39, "clients": 100}, 3), ("H8", {"nurse_fte": 1.4, "clients": 100}, 4),
    ("H8", {"nurse_fte": 1.99, "clients": 100}, 4), ("H8", {"nurse_fte": 2, "clients": 100}, 5),
    ("H9", {"sa_specialist_fte": 0.19, "clients": 100}, 1), ("H9", {"sa_specialist_fte": 0.2, "clients": 100}, 2),
    ("H9", {"sa_specialist_fte": 1.39, "clients": 100}, 3), ("H9", {"sa_specialist_fte": 2, "clients": 100}, 5),
    ("H10", {"vocational_fte": 0.79, "clients": 100}, 2), ("H10", {"vocational_fte": 0.8, "clients": 100}, 3),
    ("H10", {"vocational_fte": 1.99, "clients": 100}, 4), ("H10", {"vocational_fte": 2, "clients": 100}, 5),
    ("H11", {"total_staff_fte": 2.4}, 1), ("H11", {"total_staff_fte": 2.5}, 2),
    ("H11", {"total_staff_fte": 4.9}, 2), ("H11", {"total_staff_fte": 5}, 3),
    ("H11", {"total_staff_fte": 7.4}, 3), ("H11", {"total_staff_fte": 7.5}, 4),
    ("H11", {"total_staff_fte": 9.9}, 4), ("H11", {"total_staff_fte": 10}, 5),
    ("O2", {"max_monthly_intakes_6m": 16}, 1), ("O2", {"max_monthly_intakes_6m": 15}, 2),
    ("O2", {"max_monthly_intakes_6m": 13}, 2), ("O2", {"max_monthly_intakes_6m": 12}, 3),
    ("O2", {"max_monthly_intakes_6m": 10}, 3), ("O2", {"max_monthly_intakes_6m": 9}, 4),
    ("O2", {"max_monthly_intakes_6m": 7}, 4), ("O2", {"max_monthly_intakes_6m": 6}, 5),
    ("O3", {"services_provided": 0}, 1), ("O3", {"services_provided": 1}, 2),
    ("O3", {"services_provided": 2}, 3), ("O3", {"services_provided": 3}, 4),
    ("O3", {"services_provided": 4}, 4), ("O3", {"services_provided": 5}, 5),
    ("O5", {"pct_admissions_with_team": 4}, 1), ("O5", {"pct_admissions_with_team": 5}, 2),
    ("O5", {"pct_admissions_with_team": 34}, 2), ("O5", {"pct_admissions_with_team": 35}, 3),
    ("O5", {"pct_admissions_with_team": 64}, 3), ("O5", {"pct_admissions_with_team": 65}, 4),
    ("O5", {"pct_admissions_with_team": 94}, 4), ("O5", {"pct_admissions_with_team": 95}, 5),
    ("O6", {"pct_discharges_planned_with_team": 4}, 1), ("O6", {"pct_discharges_planned_with_team": 95}, 5),
    ("O6", {"pct_discharges_planned_with_team": 64}, 3), ("O6", {"pct_discharges_planned_with_team": 65}, 4),
    ("O7", {"pct_expected_to_graduate_12m": 91}, 1), ("O7", {"pct_expected_to_graduate_12m": 90}, 2),
    ("O7", {"pct_expected_to_graduate_12m": 38}, 2), ("O7", {"pct_expected_to_graduate_12m": 37}, 3),
    ("O7", {"pct_expected_to_graduate_12m": 18}, 3), ("O7", {"pct_expected_to_graduate_12m": 17}, 4),
    ("O7", {"pct_expected_to_graduate_12m": 5}, 4), ("O7", {"pct_expected_to_graduate_12m": 4}, 5),
    ("S1", {"pct_contacts_in_community": 19}, 1), ("S1", {"pct_contacts_in_community": 20}, 2),
    ("S1", {"pct_contacts_in_community": 79}, 4), ("S1", {"pct_contacts_in_community": 80}, 5),
    ("S2", {"pct_retained_12m": 49}, 1), ("S2", {"pct_retained_12m": 50}, 2),
    ("S2", {"pct_retained_12m": 94}, 4), ("S2", {"pct_retained_12m": 95}, 5),
    ("S4", {"avg_minutes_per_week": 14}, 1), ("S4", {"avg_minutes_per_week": 15}, 2),
    ("S4", {"avg_minutes_per_week": 49}, 2), ("S4", {"avg_minutes_per_week": 50}, 3),
    ("S4", {"avg_minutes_per_week": 84}, 3), ("S4", {"avg_minutes_per_week": 85}, 4),
    ("S4", {"avg_minutes_per_week": 119}, 4), ("S4", {"avg_minutes_per_week": 120}, 5),
    ("S5", {"avg_contacts_per_week": 0.99}, 1), ("S5", {"avg_contacts_per_week": 1}, 2),
    ("S5", {"avg_contacts_per_week": 1.99}, 2), ("S5", {"avg_contacts_per_week": 2}, 3),
    ("S5", {"avg_contacts_per_week": 2.99}, 3), ("S5", {"avg_contacts_per_week": 3}, 4),
    ("S5", {"avg_contacts_per_week": 3.99}, 4), ("S5", {"avg_contacts_per_week": 4}, 5),
    ("S6", {"support_contacts_per_month": 0.49}, 1), ("S6", {"support_contacts_per_month": 0.5}, 2),
    ("S6", {"support_contacts_per_month": 0.99}, 2), ("S6", {"support_contacts_per_month": 1}, 3),
    ("S6", {"support_contacts_per_month": 1.99}, 3), ("S6", {"support_contacts_per_month": 2}, 4),
    ("S6", {"support_contacts_per_month": 3.5}, 4),  # the published gap: our half-open convention
    ("S6", {"support_contacts_per_month": 3.99}, 4), ("S6", {"support_contacts_per_month": 4}, 5),
    ("S8", {"pct_sud_clients_in_groups": 4}, 1), ("S8", {"pct_sud_clients_in_groups": 5}, 2),
    ("S8", {"pct_sud_clients_in_groups": 19}, 2), ("S8", {"pct_sud_clients_in_groups": 20}, 3),
    ("S8", {"pct_sud_clients_in_groups": 34}, 3), ("S8", {"pct_sud_clients_in_groups": 35}, 4),
    ("S8", {"pct_sud_clients_in_groups": 49}, 4), ("S8", {"pct_sud_clients_in_groups": 50}, 5),
]  # fmt: skip


@pytest.mark.parametrize(("item_id", "inputs", "expected"), PUBLISHED)
def test_dacts_matches_the_published_thresholds(
    dacts: Scale, item_id: str, inputs: dict, expected: int
) -> None:
    score = rate_item(dacts.item(item_id), ItemEntry(inputs=inputs), dacts.rating)
    assert score.rating == expected


def test_s7_minutes_decide_between_four_and_five(dacts: Scale) -> None:
    s7 = dacts.item("S7")
    assert (
        rate_item(s7, ItemEntry(rating=5, inputs={"sa_treatment_minutes_per_week": 24}), dacts.rating).rating
        == 5
    )
    assert (
        rate_item(s7, ItemEntry(rating=4, inputs={"sa_treatment_minutes_per_week": 23}), dacts.rating).rating
        == 4
    )
    with pytest.raises(ItemRatingError, match="disagrees"):
        rate_item(s7, ItemEntry(rating=5, inputs={"sa_treatment_minutes_per_week": 20}), dacts.rating)
    with pytest.raises(ItemRatingError, match="needs a rating"):
        rate_item(s7, ItemEntry(inputs={"sa_treatment_minutes_per_week": 30}), dacts.rating)
    # A judged 3 stands: the minutes only split 4 from 5.
    assert (
        rate_item(s7, ItemEntry(rating=3, inputs={"sa_treatment_minutes_per_week": 30}), dacts.rating).rating
        == 3
    )


def test_the_working_is_shown(dacts: Scale) -> None:
    score = rate_item(dacts.item("H1"), ItemEntry(inputs={"clients": 41, "staff_fte": 2}), dacts.rating)
    assert score.computation is not None
    assert score.computation.value == Decimal("20.5")
    assert score.computation.rounded == Decimal("21")
    assert score.computation.unit == "clients per FTE"
    assert score.rating == 3
