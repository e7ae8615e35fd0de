"""Synthetic ratings for the demo agency: item ratings that follow a program's target mean,
and the inputs (with evidence in words) that give a computed item its rating.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Final

from scales import Scale
from scales.schema import Item
from scoring import ItemEntry, rate_item
from services.demo_agency import CASELOAD, PERCENT_INPUTS


def synthetic_ratings(
    scale: Scale,
    target: float,
    ease: Mapping[str, float],
    previous: Mapping[str, int] | None,
    rng: random.Random,
) -> dict[str, int]:
    """Item ratings whose mean is within half a step of `target`.

    A team's items keep their previous rating unless the target moves or a little noise
    moves them, and an item moves toward where the team's profile puts it: so a stable team
    stays stable, and an improving team improves on the items it is weakest at.
    """
    low, high = scale.rating.min, scale.rating.max
    preferred = {i: min(max(target + ease[i], low), high) for i in scale.item_ids}
    if previous is None:
        ratings = {i: _clip(round(preferred[i] + rng.gauss(0, 0.3)), low, high) for i in scale.item_ids}
    else:
        ratings = dict(previous)
        for item_id in rng.sample(list(scale.item_ids), rng.randint(0, 2)):
            ratings[item_id] = _clip(ratings[item_id] + rng.choice((-1, 1)), low, high)
    step = 1 / len(ratings)
    goal = round((target + rng.gauss(0, 0.06)) * len(ratings))  # no team scores exactly alike twice
    for _ in range(10 * len(ratings)):
        total = sum(ratings.values())
        if total == goal:
            break
        up = total < goal
        movable = [i for i in scale.item_ids if (ratings[i] < high if up else ratings[i] > low)]
        gap = {i: (preferred[i] - ratings[i]) * (1 if up else -1) + rng.uniform(0, step) for i in movable}
        chosen = max(movable, key=lambda i: gap[i])
        ratings[chosen] += 1 if up else -1
    return ratings


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def anchor_text(item: Item, rating: int) -> str:
    """The scale's anchor for `rating` (the evidence of an item rated without numbers)."""
    return item.anchors.get(rating, f"Rated {rating}.")


def computed_inputs(
    item: Item, rating: int, rng: random.Random, scale: Scale
) -> tuple[dict[str, float] | None, str]:
    """Inputs that give `rating` for the computed items the demo rates from numbers, with the
    evidence in words; (None, the anchor text) for the others."""
    inputs: dict[str, float] | None = None
    evidence = anchor_text(item, rating)
    if item.id == "H1" and scale.id == "dacts":
        staff = rng.choice((8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0))
        clients = round(CASELOAD[rating] * staff)
        inputs = {"clients": clients, "staff_fte": staff}
        evidence = (
            f"{clients} active clients and {staff:.1f} clinical FTE: {clients / staff:.1f} clients per FTE."
        )
    elif item.id in PERCENT_INPUTS and item.compute is not None:
        name, middle, text = PERCENT_INPUTS[item.id]
        spread = 0.2 if middle[5] < 10 else 2.0
        value = round(middle[rating] + rng.uniform(-spread, spread), 1 if spread < 1 else 0)
        value = int(value) if spread >= 1 else value
        inputs = {name: value}
        evidence = text.format(v=value)
    if inputs is not None and rate_item(item, ItemEntry(inputs=inputs), scale.rating).rating != rating:
        return None, anchor_text(item, rating)  # never happens with the tables above; stay correct anyway
    return inputs, evidence


# Items whose anchors ask the most judgment, where the demo's raters disagree most often (the
# agency's Agreement view should name them); elsewhere raters differ now and then.
HARD_TO_AGREE: Final[Mapping[str, tuple[str, ...]]] = {
    "dacts": ("H8", "O7", "S6"),
    "iddt": ("I5", "I9", "I12"),
}
LENIENT_RATER: Final = "C. Ramírez (demo)"  # drifts above the consensus in the latest reviews


def rater_ratings(
    scale: Scale, consensus: Mapping[str, int], rater: str, recent: bool, rng: random.Random
) -> dict[str, int]:
    """One rater's own ratings of a review whose consensus is `consensus`: one step off it on
    the hard-to-agree items more often than not, now and then elsewhere, and a step above it
    more often for the lenient rater in the latest reviews."""
    low, high = scale.rating.min, scale.rating.max
    hard = HARD_TO_AGREE.get(scale.id, ())
    ratings = {}
    for item_id, rating in consensus.items():
        chance = 0.35 if item_id in hard else 0.03
        step = rng.choice((-1, 1))
        if rater == LENIENT_RATER and recent and rng.random() < 0.25:
            chance, step = 1.0, 1
        moved = rating + step if rng.random() < chance else rating
        ratings[item_id] = moved if low <= moved <= high else rating - step  # off the scale: the other way
    return ratings
