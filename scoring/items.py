"""Rating one item: a given rating, or one computed from the reviewer's numbers."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from scales.schema import Compute, ComputedInput, Interval, Item, RatingRange
from scoring.rounding import divide, round_half_up, to_decimal

Source = Literal["rated", "computed", "missing"]
MAX_VALUE = Decimal("1e15")  # an input or computed value this large comes from a mistyped input


class ItemRatingError(ValueError):
    """One or more problems with one item's entry; each message names the item."""

    def __init__(self, item_id: str, problems: Sequence[str]):
        self.item_id = item_id
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class ItemEntry:
    """What a reviewer (or a review file) says about one item."""

    rating: object = None
    inputs: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Computation:
    """The working of a computed item, shown to the reviewer."""

    value: Decimal
    rounded: Decimal
    precision: int
    unit: str
    rating: int
    inputs: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemScore:
    item_id: str
    rating: int | None
    source: Source
    computation: Computation | None = None

    @property
    def is_rated(self) -> bool:
        return self.rating is not None


def check_rating(item_id: str, value: object, scale_range: RatingRange) -> int | None:
    """A whole number in the scale's range, or None; anything else is refused.

    Only an integer is a rating: 3.0, "3", 3e0 and True are refused, whatever they would
    round to, so a rating is never a number that was typed (or computed) as something else.
    """
    if value is None:
        return None
    low, high = scale_range.min, scale_range.max
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = f"a whole number from {low} to {high}"  # "got 3.0" says what is wrong with 3.0
        raise ItemRatingError(item_id, [f"item {item_id}: rating must be {expected}, got {value!r}"])
    number = int(value)  # numpy's integers too
    if not low <= number <= high:
        shown = number if -(10**15) < number < 10**15 else f"{Decimal(number):.3g}"  # 10**5000 cannot print
        raise ItemRatingError(item_id, [f"item {item_id}: rating {shown} is out of range {low}..{high}"])
    return number


def check_input(item_id: str, spec: ComputedInput, raw: object) -> Decimal:
    """One input number, within its bounds; raises with a message naming item and input."""
    where = f"item {item_id}: input {spec.name}"
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise ItemRatingError(item_id, [f"{where} must be a number ({spec.unit}), got {raw!r}"])
    finite = raw.is_finite() if isinstance(raw, Decimal) else not isinstance(raw, float) or math.isfinite(raw)
    if not finite:  # NaN or infinity (a Decimal sNaN would raise in every comparison)
        raise ItemRatingError(item_id, [f"{where} must be a finite number, got {raw}"])
    value = to_decimal(raw)
    if not -MAX_VALUE < value < MAX_VALUE:  # 1e300 FTE is a typo, and would rate as if it were real
        raise ItemRatingError(item_id, [f"{where} is too large to be real, got {value:.3g}"])
    if spec.integer and value != value.to_integral_value():
        raise ItemRatingError(item_id, [f"{where} must be a whole number, got {raw}"])
    if spec.min is not None:
        low = to_decimal(spec.min)
        if spec.min_exclusive and value <= low:
            raise ItemRatingError(item_id, [f"{where} must be greater than {spec.min:g}, got {raw}"])
        if value < low:
            raise ItemRatingError(item_id, [f"{where} must be at least {spec.min:g}, got {raw}"])
    if spec.max is not None and value > to_decimal(spec.max):
        raise ItemRatingError(item_id, [f"{where} must be at most {spec.max:g}, got {raw}"])
    return value


def band_rating(bands: Sequence[Interval], rounded: Decimal) -> int:
    for band in bands:
        if band.min is not None and rounded < to_decimal(band.min):
            continue
        if band.max is not None and rounded > to_decimal(band.max):
            continue
        return band.rating  # type: ignore[attr-defined]
    raise AssertionError("validated bands cover every value")  # scales.rules guarantees it


def compute(item_id: str, rule: Compute, raw_inputs: Mapping[str, object]) -> Computation:
    """Run an item's compute rule on the reviewer's numbers."""
    problems: list[str] = []
    specs = {spec.name: spec for spec in rule.inputs}
    unknown = sorted(set(raw_inputs) - set(specs))
    if unknown:
        problems.append(f"item {item_id}: unknown input {', '.join(unknown)} (expected {', '.join(specs)})")
    missing = [name for name in specs if raw_inputs.get(name) is None]
    if missing:
        problems.append(f"item {item_id}: missing input {', '.join(missing)}")
    values: dict[str, Decimal] = {}
    for name, spec in specs.items():
        if raw_inputs.get(name) is None:
            continue
        try:
            values[name] = check_input(item_id, spec, raw_inputs[name])
        except ItemRatingError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ItemRatingError(item_id, problems)

    value = values[rule.value.numerator]
    if rule.value.denominator is not None:
        denominator = values[rule.value.denominator]
        if denominator <= 0:
            raise ItemRatingError(
                item_id,
                [f"item {item_id}: input {rule.value.denominator} must be greater than 0 (it divides)"],
            )
        value = divide(value, denominator)
    value = value * to_decimal(rule.value.per)
    if not -MAX_VALUE < value < MAX_VALUE:  # rounding needs more digits than Decimal carries
        message = f"item {item_id}: the inputs give {value:.3g} {rule.unit}, too large to rate; check them"
        raise ItemRatingError(item_id, [message])
    rounded = round_half_up(value, rule.precision)
    return Computation(
        value=value,
        rounded=rounded,
        precision=rule.precision,
        unit=rule.unit,
        rating=band_rating(rule.bands, rounded),
        inputs=values,
    )


def rate_item(item: Item, entry: ItemEntry | None, scale_range: RatingRange) -> ItemScore:
    """The item's rating from a given rating, from inputs, or both when they agree."""
    if entry is None:
        return ItemScore(item.id, None, "missing")
    given = check_rating(item.id, entry.rating, scale_range)
    has_inputs = entry.inputs is not None and any(v is not None for v in entry.inputs.values())
    if not has_inputs:
        return ItemScore(item.id, given, "missing" if given is None else "rated")
    if item.compute is None:
        raise ItemRatingError(
            item.id, [f"item {item.id}: is not a computed item, so it takes a rating and no inputs"]
        )
    assert entry.inputs is not None
    working = compute(item.id, item.compute, entry.inputs)
    decides = item.compute.decides
    if decides is not None:
        # Inputs only split the listed ratings (DACTS S7: 4 vs 5); the rating is judged.
        if given is None:
            choices = " or ".join(str(r) for r in decides)
            raise ItemRatingError(
                item.id,
                [f"item {item.id}: needs a rating; its inputs only decide between {choices}"],
            )
        if given in decides and given != working.rating:
            raise ItemRatingError(item.id, [_disagreement(item.id, given, working)])
        return ItemScore(item.id, given, "rated", working)
    if given is not None and given != working.rating:
        raise ItemRatingError(item.id, [_disagreement(item.id, given, working)])
    return ItemScore(item.id, working.rating, "computed", working)


def _disagreement(item_id: str, given: int, working: Computation) -> str:
    return (
        f"item {item_id}: rating {given} disagrees with the inputs, which give "
        f"{working.rounded} {working.unit} and so rating {working.rating}"
    )
