"""Items matched across scale versions although their ids changed (issue 19, part 4): a derived
scale's replacement names the base item it replaces, an item renamed in a new version says which
it replaces, Drift compares the two as one item and its note says so, and the views' table lists
them (scales.mapping)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from scales import Scale, ScaleRegistry, load_registry
from scales.mapping import ItemLink, item_links
from scoring.analytics import RATING_COLUMNS, drift


def test_oregon_st8_maps_to_dacts_s10(registry: ScaleRegistry) -> None:
    oregon = registry.get("dacts-oregon", "1.0")
    assert oregon.item("ST8").replaces == "S10"
    assert oregon.item_map == {"ST8": "S10"}
    assert item_links(oregon, registry) == [
        ItemLink(
            "ST8",
            "TMACT item ST8 (text to be entered by a TMACT licence holder)",
            "dacts@1.0",
            "S10",
            "Role of consumers on treatment team",
        )
    ]
    # Maine and Georgia replace nothing; neither does DACTS itself.
    assert [
        item_links(registry.get(s, "1.0"), registry) for s in ("dacts-maine", "dacts-georgia", "dacts")
    ] == [[], [], []]


def test_a_mapping_is_part_of_the_content_hash_only_when_set(dacts: Scale) -> None:
    data = dacts.model_dump(mode="json")
    assert "replaces" in data["items"][0] and data["items"][0]["replaces"] is None
    again = Scale.model_validate(data)
    assert again.content_hash == dacts.content_hash  # an empty mapping leaves the hash alone
    data["items"][0]["replaces"] = "H0"
    assert Scale.model_validate(data).content_hash != dacts.content_hash


def goi_2(data: dict[str, Any]) -> None:
    """GOI 2.0: item G1 renamed G1R, saying it replaces G1."""
    data["version"] = "2.0"
    first = data["items"][0]
    old_id = first["id"]
    first.update(id=f"{old_id}R", replaces=old_id, name=f"{first['name']} (revised)")
    for sub in data["subscales"]:
        sub["items"] = [f"{old_id}R" if i == old_id else i for i in sub["items"]]


def registry_with_goi_2(goi: Scale, tmp_path: Path) -> ScaleRegistry:
    data = copy.deepcopy(goi.model_dump(mode="json", exclude_none=True))
    goi_2(data)
    (tmp_path / "goi").mkdir()
    (tmp_path / "goi" / "2.0.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registry = load_registry([tmp_path])
    assert not registry.problems, [str(p) for p in registry.problems]
    return registry


def rows(review_id: int, when: str, version: str, ratings: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "review_id": review_id,
            "program_id": 1,
            "program": "Riverside",
            "provider": "Acme",
            "region": "North",
            "scale_id": "goi",
            "scale_version": version,
            "review_date": date.fromisoformat(when),
            "item_id": item_id,
            "rating": rating,
            "evidence": f"note {item_id}",
        }
        for item_id, rating in ratings.items()
    ]


def test_drift_compares_a_renamed_item_with_the_one_it_replaces(goi: Scale, tmp_path: Path) -> None:
    registry = registry_with_goi_2(goi, tmp_path)
    goi2 = registry.get("goi", "2.0")
    first_id = goi.item_ids[0]
    assert item_links(goi2, registry) == [
        ItemLink(f"{first_id}R", goi2.item(f"{first_id}R").name, "goi@1.0", first_id, goi.item(first_id).name)
    ]
    before = dict.fromkeys(goi.item_ids, 4)
    after = dict.fromkeys(goi2.item_ids, 4) | {f"{first_id}R": 2}
    frame = pd.DataFrame(
        [*rows(1, "2025-01-01", "1.0", before), *rows(2, "2026-01-01", "2.0", after)],
        columns=list(RATING_COLUMNS),
    )
    frame["rating"] = frame["rating"].astype("Int64")
    report = drift(frame, registry, 1, scale_id="goi")
    assert report.mapped_items == ((f"{first_id}R", first_id),)
    assert len(report.compared) == len(goi.items)  # every item, the renamed one with its old self
    falls = report.falls
    assert falls["item_id"].tolist() == [f"{first_id}R"] and falls["change"].tolist() == [-2]
    assert falls["previous_rating"].tolist() == [4]
    assert report.not_shared == ()
    assert (
        f"matched across the versions although their ids changed: {first_id}R (2.0) with {first_id} (1.0)"
        in report.note
    )

    # Two reviews on the same version match by id, as always.
    same = pd.DataFrame(
        [*rows(1, "2025-01-01", "2.0", after), *rows(2, "2026-01-01", "2.0", after)],
        columns=list(RATING_COLUMNS),
    )
    same["rating"] = same["rating"].astype("Int64")
    report = drift(same, registry, 1, scale_id="goi")
    assert report.mapped_items == () and len(report.compared) == len(goi2.items) and report.falls.empty
