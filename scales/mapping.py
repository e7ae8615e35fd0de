"""Which item of another scale version each item stands for, when its id changed.

Drift and Compare match items by id across versions. Where an id changes, the item says so
(`Item.replaces`): a derived scale's replacement (Oregon's ST8 takes the place of DACTS S10; the
loader sets it) or an item renamed in a new version. `item_links` lists those links with the
scale version the replaced item belongs to, for the views to show.
"""

from __future__ import annotations

from dataclasses import dataclass

from scales.loader import ScaleRegistry, UnknownScaleError
from scales.schema import Scale


@dataclass(frozen=True)
class ItemLink:
    item_id: str
    item_name: str
    other_scale: str  # id@version of the scale version the replaced item is in
    other_item_id: str
    other_item_name: str


def item_links(scale: Scale, registry: ScaleRegistry) -> list[ItemLink]:
    """Each item of `scale` that replaces an item of its base (a derived scale) or of an earlier
    version of the same scale, with that item; items that replace nothing known are left out."""
    links = []
    for new_id, old_id in scale.item_map.items():
        other = _holder(scale, old_id, registry)
        if other is not None:
            links.append(
                ItemLink(new_id, scale.item(new_id).name, other.key, old_id, other.item(old_id).name)
            )
    return links


def _holder(scale: Scale, item_id: str, registry: ScaleRegistry) -> Scale | None:
    if scale.derived_from:
        base_id, base_version = scale.derived_from.split("@", 1)
        try:
            base = registry.get(base_id, base_version)
        except UnknownScaleError:
            base = None
        if base is not None and base.has_item(item_id):
            return base
    versions = [s.version for s in registry.versions(scale.id)]
    position = versions.index(scale.version) if scale.version in versions else len(versions)
    for candidate in reversed(registry.versions(scale.id)[:position]):  # the nearest earlier first
        if candidate.has_item(item_id):
            return candidate
    return None
