"""Malformed scale files are refused with PATH:LINE: field: message; good ones still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from scales import ScaleFileError, load_registry, load_scale_file

# A small valid scale. Line numbers matter: the tests below point at them.
MINI = """\
id: mini
version: "1.0"
title: Mini scale
source: test
subscales:
  - id: A
    name: First
    items: [A1, A2]
items:
  - id: A1
    name: Judged item
    subscale: A
    definition: judged
    anchors: {1: one, 2: two, 3: three, 4: four, 5: five}
  - id: A2
    name: Computed item
    subscale: A
    definition: computed
    anchors: {1: one, 2: two, 3: three, 4: four, 5: five}
    compute:
      inputs:
        - {name: pct, label: Percent, unit: "%", min: 0, max: 100}
      value: {numerator: pct}
      unit: "%"
      precision: 0
      bands:
        - {rating: 1, max: 19}
        - {rating: 2, min: 20, max: 39}
        - {rating: 3, min: 40, max: 59}
        - {rating: 4, min: 60, max: 79}
        - {rating: 5, min: 80}
scoring:
  method: mean_of_items
  precision: 2
  bands:
    - {label: Low, max: 2.99}
    - {label: Middle, min: 3.0, max: 3.99}
    - {label: High, min: 4.0}
"""


def write(tmp_path: Path, text: str, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScaleFileError) as caught:
        load_scale_file(path)
    return [str(p) for p in caught.value.problems]


def test_the_mini_scale_is_valid(tmp_path: Path) -> None:
    scale = load_scale_file(write(tmp_path, MINI))
    assert scale.item_ids == ["A1", "A2"]
    assert scale.content_hash.startswith("sha256:")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("    name: Judged item", "    name: [Judged item"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:1")  # the parser reports where the list closes badly
    assert "YAML syntax error" in problem
    lines = int(problem.split(":")[1])
    assert 11 <= lines <= 13


def test_unknown_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, MINI.replace("    definition: judged\n", "    definition: judged\n    colour: red\n")
    )
    assert problems_of(path) == [f"{path}:14: items[0].colour (item A1): unknown key 'colour'"]


def test_missing_anchor(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINI.replace("{1: one, 2: two, 3: three, 4: four, 5: five}", "{1: one, 2: two, 4: four, 5: five}", 1),
    )
    assert problems_of(path) == [f"{path}:14: items[0].anchors (item A1): missing anchor for rating 3"]


def test_overlapping_cut_points(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("{rating: 3, min: 40, max: 59}", "{rating: 3, min: 39, max: 59}"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:29: items[1].compute.bands[2].min (item A2): overlaps bands[1]")


def test_unordered_cut_points(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("{rating: 4, min: 60, max: 79}", "{rating: 4, min: 79, max: 60}"))
    problems = problems_of(path)
    assert (
        f"{path}:30: items[1].compute.bands[3].min (item A2): min 79.0 is above max 60.0 (unordered)"
        in problems
    )


def test_bands_listed_out_of_order(tmp_path: Path) -> None:
    text = MINI.replace(
        "        - {rating: 2, min: 20, max: 39}\n        - {rating: 3, min: 40, max: 59}\n",
        "        - {rating: 3, min: 40, max: 59}\n        - {rating: 2, min: 20, max: 39}\n",
    )
    problems = problems_of(write(tmp_path, text))
    assert any(
        ":29: items[1].compute.bands[2].min (item A2): bands are not in ascending order" in p
        for p in problems
    )


def test_item_band_gap(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("{rating: 5, min: 80}", "{rating: 5, min: 81}"))
    assert problems_of(path) == [
        f"{path}:31: items[1].compute.bands[4].min (item A2): leaves a gap between 79.0 and 81.0 (expected min 80)"
    ]


def test_total_bands_that_leave_a_gap(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("{label: High, min: 4.0}", "{label: High, min: 4.1}"))
    [problem] = problems_of(path)
    assert problem.startswith(
        f"{path}:38: scoring.bands[2].min: leaves a gap between 3.99 and 4.1 (expected min 4.00)"
    )


def test_total_bands_must_cover_the_bottom(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("{label: Low, max: 2.99}", "{label: Low, min: 1.0, max: 2.99}"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:36: scoring.bands[0].min: the first band must have no min")


def test_item_in_no_subscale(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("items: [A1, A2]", "items: [A1]"))
    assert problems_of(path) == [
        f"{path}:15: items[1] (item A2): item A2 is in no subscale: add it to the items of subscale A"
    ]


def test_duplicate_item_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path, MINI.replace("  - id: A2\n", "  - id: A1\n").replace("items: [A1, A2]", "items: [A1]")
    )
    problems = problems_of(path)
    assert f"{path}:15: items[1].id (item A1): duplicate item id 'A1' (also items[0])" in problems


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("title: Mini scale\n", "title: Mini scale\ntitle: Again\n"))
    assert problems_of(path) == [f"{path}:4: duplicate key 'title'"]


def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("precision: 0", "precision: zero"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:25: items[1].compute.precision (item A2):")


def test_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("    name: Judged item\n", ""))
    assert problems_of(path) == [f"{path}:10: items[0].name (item A1): missing required field 'name'"]


def test_unknown_subscale_and_input(tmp_path: Path) -> None:
    path = write(tmp_path, MINI.replace("value: {numerator: pct}", "value: {numerator: percent}"))
    [problem] = problems_of(path)
    assert (
        problem
        == f"{path}:23: items[1].compute.value.numerator (item A2): 'percent' is not one of the inputs (pct)"
    )


def test_yaml_aliases_are_refused_before_expansion(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n"
    problems = problems_of(write(tmp_path, bomb))
    assert problems and all("aliases" in p for p in problems)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert problems_of(path) == [f"{path}:1: the file is empty"]


def test_a_broken_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, MINI.replace("items: [A1, A2]", "items: [A1]"), "broken.yaml")
    write(tmp_path, MINI.replace("id: mini", "id: other"), "other.yaml")
    registry = load_registry([tmp_path])
    assert {s.id for s in registry.all()} >= {"dacts", "iddt", "goi", "other"}
    assert len(registry.problems) == 1 and "broken.yaml:15" in str(registry.problems[0])


def test_same_id_and_version_with_different_content_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, MINI, "a.yaml")
    write(tmp_path, MINI.replace("title: Mini scale", "title: Mini scale, edited"), "b.yaml")
    registry = load_registry([tmp_path])
    assert registry.get("mini", "1.0").title == "Mini scale"
    [problem] = registry.problems
    assert "b.yaml" in str(problem) and "already defined with different content" in str(problem)


def test_identical_copies_are_not_a_conflict(tmp_path: Path) -> None:
    write(tmp_path, MINI, "a.yaml")
    write(tmp_path, MINI + "# a comment does not change the content\n", "b.yaml")
    registry = load_registry([tmp_path])
    assert registry.problems == []


def test_content_hash_changes_with_any_value(tmp_path: Path) -> None:
    one = load_scale_file(write(tmp_path, MINI, "one.yaml"))
    two = load_scale_file(write(tmp_path, MINI.replace("min: 80", "min: 80.0"), "two.yaml"))
    three = load_scale_file(
        write(tmp_path, MINI.replace("max: 79}", "max: 78}").replace("min: 80", "min: 79"), "3.yaml")
    )
    assert one.content_hash == two.content_hash
    assert one.content_hash != three.content_hash


def test_latest_version_is_used_when_none_is_given(tmp_path: Path) -> None:
    write(tmp_path, MINI, "a.yaml")
    write(tmp_path, MINI.replace('version: "1.0"', 'version: "1.10"'), "b.yaml")
    write(tmp_path, MINI.replace('version: "1.0"', 'version: "1.9"'), "c.yaml")
    assert load_registry([tmp_path]).get("mini").version == "1.10"


def test_a_tmact_like_variant_scores_on_subscale_means(tmp_path: Path) -> None:
    """An agency's own file from FIDELITY_SCALES_DIRS: total = mean of subscale means."""
    from scoring import ItemEntry, score_review

    text = (
        MINI.replace("method: mean_of_items", "method: mean_of_subscale_means")
        .replace("    items: [A1, A2]\n", "    items: [A1]\n  - id: B\n    name: Second\n    items: [A2]\n")
        .replace("    subscale: A\n    definition: computed", "    subscale: B\n    definition: computed")
    )
    scale = load_scale_file(write(tmp_path, text))
    result = score_review(scale, {"A1": ItemEntry(rating=5), "A2": ItemEntry(rating=2)})
    assert float(result.total.mean_of_subscale_means) == 3.5
    assert result.band == "Middle"
