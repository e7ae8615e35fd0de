"""Derived scales (`based_on: id@version` plus changes) and the conditions they put on a review.

Resolution: each kind of change (item minimums, a replaced item, dropped items, scoring changes:
bands, total rule, required totals, action plan) gives a full scale with its own id, version and
hash; each kind of bad change is refused with the file, the line and the field. Scoring: every
condition is met or failed at its edge, with its message.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from scales import Scale, ScaleFileError, ScaleRegistry, TotalMethod, load_registry, parse_scale_text
from scoring import ItemEntry, score_review

REGISTRY = load_registry()
BASE = REGISTRY.get("dacts", "1.0")
BASES = ScaleRegistry(scales={(BASE.id, BASE.version): BASE})

# Line numbers matter: the tests below point at them.
VARIANT = """\
id: dacts-test
version: "2.0"
based_on: dacts@1.0
title: A test variant
source: test rule
minimums: {H1: 4, O2: 3}
replace:
  S10:
    id: ST8
    name: Replacement
    definition: placeholder
    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}
drop: [S9]
scoring:
  method: sum
  precision: 0
  bands:
    - {label: Low, max: 99}
    - {label: High, min: 100}
  conditions:
    - {measure: sum, at_least: 100}
    - {measure: mean_of_items, at_least: 4.0}
  set_by: Testland
  action_plan_at_or_below: 2
  action_plan_due_days: 90
"""


def parse(text: str) -> Scale:
    return parse_scale_text(text, "variant.yaml", BASES)


def refused(text: str) -> list[str]:
    with pytest.raises(ScaleFileError) as caught:
        parse(text)
    return [str(p) for p in caught.value.problems]


def test_every_kind_of_change_is_applied() -> None:
    scale = parse_scale_text(VARIANT, "variant.yaml", BASES)
    assert (scale.id, scale.version, scale.derived_from) == ("dacts-test", "2.0", "dacts@1.0")
    assert scale.content_hash != BASE.content_hash
    assert len(scale.items) == 27 and not scale.has_item("S9") and not scale.has_item("S10")
    assert scale.item_ids[-1] == "ST8" and scale.item("ST8").subscale == "S"  # S10's place and subscale
    assert scale.subscales[2].items[-2:] == ["S8", "ST8"]
    assert (scale.item("H1").minimum, scale.item("O2").minimum, scale.item("H2").minimum) == (4, 3, None)
    assert scale.item("H1").compute == BASE.item("H1").compute  # untouched otherwise
    scoring = scale.scoring
    assert (scoring.method, scoring.precision, [b.label for b in scoring.bands]) == (
        TotalMethod.SUM,
        0,
        ["Low", "High"],
    )
    assert [(c.measure, c.at_least) for c in scoring.conditions] == [
        (TotalMethod.SUM, 100),
        (TotalMethod.MEAN_OF_ITEMS, 4.0),
    ]
    assert (scoring.action_plan_at_or_below, scoring.action_plan_due_days, scoring.set_by) == (
        2,
        90,
        "Testland",
    )
    assert scoring.rounding_note == BASE.scoring.rounding_note  # fields not changed come from the base


def test_the_same_variant_always_has_the_same_hash_and_a_change_changes_it() -> None:
    one, two = parse(VARIANT), parse(VARIANT + "\n# a comment\n")
    assert one.content_hash == two.content_hash
    three = parse(VARIANT.replace("H1: 4", "H1: 5"))
    assert three.content_hash != one.content_hash


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("based_on: dacts@1.0", "based_on: dacts@9.9",
         "variant.yaml:3: based_on: the base dacts@9.9 is not loaded (known versions of dacts: 1.0)"),
        ("based_on: dacts@1.0", "based_on: nowhere@1.0",
         "variant.yaml:3: based_on: the base nowhere@1.0 is not loaded (no scale 'nowhere' is loaded)"),
        ("based_on: dacts@1.0", "based_on: dacts",
         "variant.yaml:3: based_on: is not in the expected form"),
        ("minimums: {H1: 4, O2: 3}", "minimums: {H1: 4, Q2: 3}",
         "variant.yaml:6: minimums.Q2: sets a minimum for 'Q2', but it is not an item of dacts@1.0 after the changes"),
        ("minimums: {H1: 4, O2: 3}", "minimums: {H1: 4, S9: 3}",
         "variant.yaml:6: minimums.S9: sets a minimum for 'S9', but it is dropped"),
        ("minimums: {H1: 4, O2: 3}", "minimums: {H1: 6, O2: 3}",
         "variant.yaml:6: minimums.H1: minimum 6 is outside 1..5"),
        ("  S10:\n", "  S11:\n",
         "variant.yaml:8: replace.S11: replaces 'S11', which is not an item of dacts@1.0"),
        ("    id: ST8\n", "    id: H2\n",
         "variant.yaml:9: replace.S10.id: the new id 'H2' is already an item of the scale"),
        ("drop: [S9]", "drop: [S99]",
         "variant.yaml:13: drop[0]: drops 'S99', which is not an item of dacts@1.0"),
        ("drop: [S9]", "drop: [S9, S10]",
         "variant.yaml:13: drop[1]: 'S10' is both dropped and replaced"),
        ("    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}", "    anchors: {1: a, 2: b, 3: c, 4: d}",
         "variant.yaml:12: replace.S10.anchors: missing anchor for rating 5"),
        ("    - {measure: sum, at_least: 100}", "    - {measure: sum, at_least: 200}",
         "variant.yaml:21: scoring.conditions[0].at_least: a required sum must lie in 27..135"),
        ("    - {measure: sum, at_least: 100}", "    - {measure: total, at_least: 100}",
         "variant.yaml:21: scoring.conditions[0].measure: must be one of 'mean_of_items', 'mean_of_subscale_means' or 'sum'"),
        ("    - {label: High, min: 100}", "    - {label: High, min: 101}",
         "variant.yaml:19: scoring.bands[1].min: leaves a gap between 99.0 and 101.0 (expected min 100)"),
        ("minimums: {H1: 4, O2: 3}", "minimum: {H1: 4}",
         "variant.yaml:6: minimum: unknown key 'minimum'"),
    ],
)  # fmt: skip
def test_a_bad_change_is_refused_with_file_line_and_field(old: str, new: str, expected: str) -> None:
    text = VARIANT.replace(old, new, 1)
    assert text != VARIANT
    assert expected in refused(text)


def test_dropping_every_item_of_a_subscale_is_refused() -> None:
    text = VARIANT.replace("drop: [S9]", f"drop: [{', '.join(f'O{i}' for i in range(1, 8))}]")
    text = text.replace("minimums: {H1: 4, O2: 3}", "minimums: {H1: 4}")
    assert refused(text) == [
        "variant.yaml:13: drop: dropping every item of subscale O (subscales[1]) leaves it empty"
    ]


def test_a_variant_of_a_variant_and_a_missing_base_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VARIANT)
    second = "id: dacts-test-2\nversion: '2.0'\nbased_on: dacts-test@2.0\ntitle: Second\nsource: s\nminimums: {H1: 5}\n"
    (tmp_path / "0-second.yaml").write_text(second)  # read before its base, resolved after it
    (tmp_path / "orphan.yaml").write_text(
        VARIANT.replace("id: dacts-test", "id: orphan").replace("dacts@1.0", "gone@1.0")
    )
    registry = load_registry([tmp_path])
    assert registry.get("dacts-test-2", "2.0").derived_from == "dacts-test@2.0"  # loaded after its base
    assert registry.get("dacts-test-2", "2.0").item("H1").minimum == 5
    assert [str(p) for p in registry.problems] == [
        f"{tmp_path / 'orphan.yaml'}:3: based_on: the base gone@1.0 is not loaded (no scale 'gone' is loaded)"
    ]


# ---------------------------------------------------------------------------------------------
# The bundled state variants and their conditions, at their edges
# ---------------------------------------------------------------------------------------------


def with_sum(total: int, scale_items: list[str]) -> dict[str, ItemEntry]:
    base, extra = divmod(total, len(scale_items))
    return {item_id: ItemEntry(rating=base + (i < extra)) for i, item_id in enumerate(scale_items)}


def messages(scale_id: str, entries: dict[str, ItemEntry]) -> list[tuple[bool | None, str]]:
    scale = REGISTRY.get(scale_id, "1.0")
    return [(c.met, c.message) for c in score_review(scale, entries).conditions]


@pytest.mark.parametrize(
    ("total", "met", "message"),
    [(114, True, "total 114 meets the required 114"), (113, False, "total 113 below the required 114")],
)
def test_oregon_requires_a_total_of_114(registry: ScaleRegistry, total: int, met: bool, message: str) -> None:
    oregon = registry.get("dacts-oregon", "1.0")
    result = score_review(oregon, with_sum(total, oregon.item_ids))
    assert [(c.met, c.message) for c in result.conditions] == [(met, message)]
    assert result.conditions_met is met


def test_oregon_replaces_s10_and_plans_action_on_items_rated_2_or_below(registry: ScaleRegistry) -> None:
    oregon = registry.get("dacts-oregon", "1.0")
    assert not oregon.has_item("S10") and oregon.item("ST8").published_id == "TMACT ST8"
    assert "Placeholder" in oregon.item("ST8").definition and oregon.unverified_items == ["ST8"]
    entries = {i: ItemEntry(rating=4) for i in oregon.item_ids} | {
        "H3": ItemEntry(rating=2),
        "ST8": ItemEntry(rating=3),
    }
    result = score_review(oregon, entries)
    assert (result.action_plan, result.action_plan_due_days) == (["H3"], 90)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # 28 items: 112 = mean 4.00, both met; 111 = mean 3.96, both fail
        (with_sum(112, BASE.item_ids), [(True, "mean 4.00 meets the required 4.0"), (True, "total 112 meets the required 112")]),
        (with_sum(111, BASE.item_ids), [(False, "mean 3.96 below the required 4.0"), (False, "total 111 below the required 112")]),
        # one item not rated: 27 items at 4 meet the mean but add up to only 108
        ({**with_sum(108, BASE.item_ids[1:]), "H1": ItemEntry(rating=None)},
         [(True, "mean 4.00 meets the required 4.0"), (False, "total 108 below the required 112 (1 item not rated)")]),
        # 27 items adding up to 113 (one missing): the total is met, the mean of 4.19 too
        ({**with_sum(113, BASE.item_ids[1:]), "H1": ItemEntry(rating=None)},
         [(True, "mean 4.19 meets the required 4.0"), (True, "total 113 meets the required 112 (1 item not rated)")]),
        ({}, [(None, "mean not determined (nothing rated): the required 4.0 cannot be checked"),
              (None, "total not determined (nothing rated): the required 112 cannot be checked")]),
    ],
)  # fmt: skip
def test_georgia_requires_a_mean_of_4_and_a_total_of_112(
    entries: dict[str, ItemEntry], expected: list[tuple[bool | None, str]]
) -> None:
    assert messages("dacts-georgia", entries) == expected


def test_a_mean_is_compared_as_the_bands_read_it_rounded_half_up() -> None:
    """24 rated items adding up to 95: a mean of 3.9583, which rounds to 3.96 and so meets a
    required 3.96 (and fails a required 3.97)."""
    georgia = REGISTRY.get("dacts-georgia", "1.0")
    entries = {**with_sum(95, BASE.item_ids[:24]), **{i: ItemEntry(rating=None) for i in BASE.item_ids[24:]}}
    for required, met in ((3.96, True), (3.97, False)):
        data = georgia.model_dump(mode="json")
        data["scoring"]["conditions"] = [{"measure": "mean_of_items", "at_least": required}]
        [condition] = score_review(Scale.model_validate(data), entries).conditions
        assert (condition.value, condition.met) == (Decimal("3.96"), met)


@pytest.mark.parametrize(
    ("h1", "h4", "failed"),
    [(5, 4, []), (4, 4, ["H1 below the Maine minimum of 5 (rated 4)"]), (5, 3, ["H4 below the Maine minimum of 4 (rated 3)"])],
)  # fmt: skip
def test_maine_item_minimums_at_their_edges(h1: int, h4: int, failed: list[str]) -> None:
    entries = {i: ItemEntry(rating=3) for i in BASE.item_ids} | {
        "H1": ItemEntry(rating=h1),
        "H4": ItemEntry(rating=h4),
    }
    found = messages("dacts-maine", entries)
    assert [m for met, m in found if met is False] == failed
    assert [m.split()[0] for _, m in found] == ["H1", "H2", "H3", "H4", "H5", "H6"]


def test_score_json_lists_the_conditions(tmp_path: Path) -> None:
    review = {
        "scale": "dacts-georgia",
        "date": "2026-01-05",
        "items": {i: {"rating": 4} for i in BASE.item_ids},
    }
    review["items"]["S10"] = {"rating": 3}
    path = tmp_path / "review.json"
    path.write_text(json.dumps(review))
    result = CliRunner().invoke(app, ["score", str(path), "--json"])
    assert result.exit_code == 0, result.output
    conditions = json.loads(result.stdout)["conditions"]
    assert [(c["measure"], c["met"], c["message"]) for c in conditions] == [
        ("mean_of_items", False, "mean 3.96 below the required 4.0"),
        ("sum", False, "total 111 below the required 112"),
    ]
    assert conditions[1] == {
        "kind": "total", "measure": "sum", "required": 112, "value": 111, "met": False,
        "message": "total 111 below the required 112", "label": "Georgia DBHDD contract",
    }  # fmt: skip


def test_scales_validate_checks_a_variant_against_a_base_given_with_it(tmp_path: Path) -> None:
    base = BASE.model_dump(mode="json") | {"id": "local", "version": "3.0"}
    (tmp_path / "z-base.yaml").write_text(json.dumps(base))  # sorts after the variant
    (tmp_path / "a-variant.yaml").write_text(VARIANT.replace("dacts@1.0", "local@3.0"))
    result = CliRunner().invoke(app, ["scales", "validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok (") == 2
