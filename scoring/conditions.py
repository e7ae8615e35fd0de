"""The conditions a state variant puts on a review: per-item minimums and required totals.

Each condition is met, failed, or (when what it reads was not rated) not determined, with a
message a program can act on: "H1 below the Maine minimum of 5 (rated 4)", "total 110 below the
required 112". A mean is compared after rounding half-up to the scale's precision, as the
bands read it; a sum counts the rated items only, so a missing item can make it fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from scales.schema import Scale, TotalMethod
from scoring.rounding import round_half_up, to_decimal

ConditionKind = Literal["item_minimum", "total"]
_MEASURE_WORDS = {
    TotalMethod.SUM: "total",
    TotalMethod.MEAN_OF_ITEMS: "mean",
    TotalMethod.MEAN_OF_SUBSCALE_MEANS: "mean of subscale means",
}


@dataclass(frozen=True)
class ConditionResult:
    kind: ConditionKind
    subject: str  # the item id, or the measure (sum, mean_of_items, mean_of_subscale_means)
    required: Decimal
    value: Decimal | None  # None: not rated, so not determined
    met: bool | None
    message: str
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            ("item" if self.kind == "item_minimum" else "measure"): self.subject,
            "required": _number(self.required),
            "value": None if self.value is None else _number(self.value),
            "met": self.met,
            "message": self.message,
            **({"label": self.label} if self.label else {}),
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _shown(value: Decimal, measure: TotalMethod) -> str:
    """A sum as a whole number (114, not 114.0); a mean as rounded (3.95) or required (4.0)."""
    if measure is TotalMethod.SUM and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def evaluate_conditions(
    scale: Scale,
    ratings: Mapping[str, int | None],
    totals: Mapping[TotalMethod, Fraction | int | None],
) -> list[ConditionResult]:
    """Every item minimum (in item order), then every required total, of `scale`."""
    results = [_item_minimum(scale, item_id, ratings.get(item_id)) for item_id in _with_minimum(scale)]
    missing = sum(1 for item_id in scale.item_ids if ratings.get(item_id) is None)
    precision = scale.scoring.precision
    for condition in scale.scoring.conditions:
        raw = totals.get(condition.measure)
        words = _MEASURE_WORDS[condition.measure]
        required = to_decimal(condition.at_least)
        if condition.measure is TotalMethod.SUM:
            value = None if raw is None else to_decimal(raw)
        else:
            value = None if raw is None else round_half_up(raw, precision)
        if value is None:
            met, message = (
                None,
                f"{words} not determined (nothing rated): "
                f"the required {_shown(required, condition.measure)} cannot be checked",
            )
        else:
            met = value >= required
            relation = "meets" if met else "below"
            message = (
                f"{words} {_shown(value, condition.measure)} {relation} "
                f"the required {_shown(required, condition.measure)}"
            )
            if condition.measure is TotalMethod.SUM and missing:
                message += f" ({missing} item{'s' if missing > 1 else ''} not rated)"
        results.append(
            ConditionResult("total", condition.measure.value, required, value, met, message, condition.label)
        )
    return results


def _with_minimum(scale: Scale) -> list[str]:
    return [item.id for item in scale.items if item.minimum is not None]


def _item_minimum(scale: Scale, item_id: str, rating: int | None) -> ConditionResult:
    minimum = scale.item(item_id).minimum
    assert minimum is not None
    whose = f"the {scale.scoring.set_by} minimum" if scale.scoring.set_by else "the minimum"
    if rating is None:
        met, message = None, f"{item_id} not rated: {whose} of {minimum} cannot be checked"
    elif rating < minimum:
        met, message = False, f"{item_id} below {whose} of {minimum} (rated {rating})"
    else:
        met, message = True, f"{item_id} meets {whose} of {minimum} (rated {rating})"
    value = None if rating is None else Decimal(rating)
    return ConditionResult("item_minimum", item_id, Decimal(minimum), value, met, message)
