"""Scoring a whole review: item ratings, subscale means, total, band, missing items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from scales.schema import Scale, TotalMethod
from scoring.conditions import ConditionResult, evaluate_conditions
from scoring.items import ItemEntry, ItemRatingError, ItemScore, rate_item
from scoring.rounding import as_float, round_half_up, to_decimal

DISPLAY_PRECISION = 2


class InvalidReviewError(ValueError):
    """A review that cannot be scored; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class SubscaleScore:
    id: str
    name: str
    mean: Fraction | None
    rated: int
    items: int


@dataclass(frozen=True)
class TotalScore:
    sum: int
    rated: int
    items: int
    mean: Fraction | None  # mean of the rated items
    mean_of_subscale_means: Fraction | None

    @property
    def complete(self) -> bool:
        return self.rated == self.items


@dataclass(frozen=True)
class ReviewScore:
    scale_id: str
    version: str
    content_hash: str
    method: TotalMethod
    items: dict[str, ItemScore]
    subscales: dict[str, SubscaleScore]
    total: TotalScore
    banded_value: Decimal | None  # the total the bands read, rounded as the scale says
    band: str | None
    missing: list[str]
    below_minimum: list[str] = field(default_factory=list)
    action_plan: list[str] = field(default_factory=list)
    meets_minimum_total: bool | None = None
    conditions: list[ConditionResult] = field(default_factory=list)
    action_plan_due_days: int | None = None

    @property
    def conditions_met(self) -> bool | None:
        """False when any condition failed, None when one could not be checked, else True."""
        if any(c.met is False for c in self.conditions):
            return False
        if any(c.met is None for c in self.conditions):
            return None
        return True

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `fidelity score --json` (DESIGN.md section 5)."""
        items: dict[str, Any] = {}
        for item_id, score in self.items.items():
            entry: dict[str, Any] = {"rating": score.rating, "source": score.source}
            if score.computation is not None:
                c = score.computation
                entry["value"] = float(round_half_up(c.value, 4))
                entry["rounded"] = float(c.rounded)
                entry["unit"] = c.unit
                entry["computed_rating"] = c.rating
                entry["inputs"] = {k: _number(v) for k, v in c.inputs.items()}
            items[item_id] = entry
        return {
            "scale": self.scale_id,
            "version": self.version,
            "content_hash": self.content_hash,
            "items": items,
            "subscales": {
                s.id: {
                    "name": s.name,
                    "mean": as_float(s.mean, DISPLAY_PRECISION),
                    "rated": s.rated,
                    "items": s.items,
                }
                for s in self.subscales.values()
            },
            "total": {
                "mean": as_float(self.total.mean, DISPLAY_PRECISION),
                "sum": self.total.sum,
                "rated": self.total.rated,
                "items": self.total.items,
                "complete": self.total.complete,
                "mean_of_subscale_means": as_float(self.total.mean_of_subscale_means, DISPLAY_PRECISION),
            },
            "method": self.method.value,
            "banded_value": None if self.banded_value is None else float(self.banded_value),
            "band": self.band,
            "missing": self.missing,
            "below_minimum": self.below_minimum,
            "action_plan": self.action_plan,
            "meets_minimum_total": self.meets_minimum_total,
            "conditions": [c.to_dict() for c in self.conditions],
            "action_plan_due_days": self.action_plan_due_days,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def rate_items(scale: Scale, entries: Mapping[str, ItemEntry | None]) -> dict[str, ItemScore]:
    """Every item of the scale rated (or missing); raises with every problem found."""
    problems: list[str] = []
    unknown = [item_id for item_id in entries if not scale.has_item(item_id)]
    for item_id in unknown:
        problems.append(f"item {item_id}: not an item of {scale.id} {scale.version}")
    scores: dict[str, ItemScore] = {}
    for item in scale.items:
        try:
            scores[item.id] = rate_item(item, entries.get(item.id), scale.rating)
        except ItemRatingError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidReviewError(problems)
    return scores


def mean_of_means(means: Sequence[Fraction]) -> Fraction | None:
    """The unweighted mean of subscale means (TMACT: 3.9, 3.3, 2.6, 3.6, 3.6, 2.2 give 3.2),
    exact; None when no subscale has a rated item."""
    return sum(means, Fraction(0)) / len(means) if means else None


def score_review(scale: Scale, entries: Mapping[str, ItemEntry | None]) -> ReviewScore:
    return score_ratings(scale, rate_items(scale, entries))


def score_ratings(scale: Scale, items: Mapping[str, ItemScore]) -> ReviewScore:
    """Subscales, total and band from already rated items (missing ones excluded from means)."""
    ratings = {item_id: score.rating for item_id, score in items.items()}
    subscales: dict[str, SubscaleScore] = {}
    for sub in scale.subscales:
        rated = [r for item_id in sub.items if (r := ratings.get(item_id)) is not None]
        mean = Fraction(sum(rated), len(rated)) if rated else None
        subscales[sub.id] = SubscaleScore(sub.id, sub.name, mean, len(rated), len(sub.items))

    rated_all = [r for item_id in scale.item_ids if (r := ratings.get(item_id)) is not None]
    sub_means = [s.mean for s in subscales.values() if s.mean is not None]
    total = TotalScore(
        sum=sum(rated_all),
        rated=len(rated_all),
        items=len(scale.items),
        mean=Fraction(sum(rated_all), len(rated_all)) if rated_all else None,
        mean_of_subscale_means=mean_of_means(sub_means),
    )

    scoring = scale.scoring
    banded: Fraction | int | None
    if scoring.method is TotalMethod.SUM:
        # A sum over some items is not comparable with the published bands.
        banded = total.sum if total.complete else None
    elif scoring.method is TotalMethod.MEAN_OF_SUBSCALE_MEANS:
        banded = total.mean_of_subscale_means
    else:
        banded = total.mean
    banded_value = None if banded is None else round_half_up(banded, scoring.precision)
    band = None
    if banded_value is not None:
        for candidate in scoring.bands:
            if candidate.min is not None and banded_value < to_decimal(candidate.min):
                continue
            if candidate.max is not None and banded_value > to_decimal(candidate.max):
                continue
            band = candidate.label
            break

    meets_minimum_total = None
    if scoring.minimum_total is not None and banded_value is not None:
        meets_minimum_total = banded_value >= to_decimal(scoring.minimum_total)
    threshold = scoring.action_plan_at_or_below
    return ReviewScore(
        scale_id=scale.id,
        version=scale.version,
        content_hash=scale.content_hash,
        method=scoring.method,
        items=dict(items),
        subscales=subscales,
        total=total,
        banded_value=banded_value,
        band=band,
        missing=[item_id for item_id in scale.item_ids if ratings.get(item_id) is None],
        below_minimum=[
            item.id
            for item in scale.items
            if item.minimum is not None and (r := ratings.get(item.id)) is not None and r < item.minimum
        ],
        action_plan=[
            item_id
            for item_id in scale.item_ids
            if threshold is not None and (r := ratings.get(item_id)) is not None and r <= threshold
        ],
        meets_minimum_total=meets_minimum_total,
        conditions=evaluate_conditions(
            scale,
            ratings,
            {
                TotalMethod.SUM: total.sum if total.rated else None,
                TotalMethod.MEAN_OF_ITEMS: total.mean,
                TotalMethod.MEAN_OF_SUBSCALE_MEANS: total.mean_of_subscale_means,
            },
        ),
        action_plan_due_days=scoring.action_plan_due_days,
    )
