"""Prepared item ratings for the benchmark generator (bench/generate.py): for every item and
rating, the ways to record it (a plain rating, or up to INPUT_VARIANTS input sets of a computed
item that give that rating) with the score each gives, so a review is assembled by picking.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from scales import Scale
from scales.schema import Item
from scoring.items import ItemEntry, ItemRatingError, ItemScore, rate_item

INPUT_VARIANTS = 6  # input sets per (computed item, rating): enough variety, cheap to score


@dataclass(frozen=True)
class ItemChoice:
    """One way to record an item at one rating: the stored fields and the score it gives."""

    rating: int | None
    source: str | None
    inputs: str | None  # JSON text
    evidence: str | None
    score: ItemScore

    @property
    def inputs_value(self) -> dict[str, Any] | None:
        """The inputs as the JSON column gives them back."""
        return None if self.inputs is None else parsed_json(self.inputs)


class ItemPool:
    """Prepared choices per (item, rating), so a review is assembled by picking, not computing."""

    def __init__(self, scale: Scale, rng: random.Random):
        self.scale = scale
        self.choices: dict[str, dict[int, list[ItemChoice]]] = {}
        for item in scale.items:
            per_rating: dict[int, list[ItemChoice]] = {}
            for rating in range(scale.rating.min, scale.rating.max + 1):
                anchor = item.anchors.get(rating, f"Rated {rating}.")
                rated = ItemChoice(rating, "rated", None, anchor, ItemScore(item.id, rating, "rated"))
                computed = computed_choices(item, rating, scale, rng, anchor)
                per_rating[rating] = computed or [rated]
            self.choices[item.id] = per_rating
        self.missing = {
            item.id: ItemChoice(None, None, None, None, ItemScore(item.id, None, "missing"))
            for item in scale.items
        }


def computed_choices(
    item: Item, rating: int, scale: Scale, rng: random.Random, anchor: str
) -> list[ItemChoice]:
    """Up to INPUT_VARIANTS input sets that give `rating` (none for a plain item)."""
    rule = item.compute
    if rule is None:
        return []
    band = next((b for b in rule.bands if b.rating == rating), None)
    if band is None:
        return []
    specs = {spec.name: spec for spec in rule.inputs}
    numerator = specs[rule.value.numerator]
    denominator = specs.get(rule.value.denominator) if rule.value.denominator else None
    low = band.min if band.min is not None else 0.0
    high = band.max if band.max is not None else low * 1.5 + 1.0
    if numerator.max is not None and rule.value.denominator is None:
        high = min(high, numerator.max / rule.value.per)
    choices: list[ItemChoice] = []
    seen: set[str] = set()
    for _attempt in range(400):
        target = rng.uniform(low, high)
        inputs: dict[str, float | int] = {}
        if denominator is not None:
            d = rng.randint(40, 120) if denominator.integer else round(rng.uniform(6.0, 12.0), 1)
            inputs[denominator.name] = d
            value = target * d / rule.value.per
        else:
            value = target / rule.value.per
        inputs[numerator.name] = round(value) if numerator.integer else round(value, 1)
        judged = rule.decides is not None
        try:
            score = rate_item(item, ItemEntry(rating=rating if judged else None, inputs=inputs), scale.rating)
        except ItemRatingError:
            continue
        text = json.dumps(inputs, sort_keys=True)
        if score.rating != rating or text in seen:
            continue
        seen.add(text)
        words = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in inputs.items())
        choices.append(ItemChoice(rating, score.source, text, f"{words}. {anchor}", score))
        if len(choices) == INPUT_VARIANTS:
            break
    return choices


PARSED: dict[str, dict[str, Any]] = {}  # parsed_json's memory: JSON text -> its value


def parsed_json(text: str) -> dict[str, Any]:
    """json.loads(text), once per distinct text (there are a few hundred)."""
    found = PARSED.get(text)
    if found is None:
        found = PARSED[text] = json.loads(text)
    return found
