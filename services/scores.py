"""How stored rating rows meet the pure scorer: a given rating and/or inputs resolved into
what is stored, why saved inputs give no rating yet, and the score of a set of rows.

Shared by rating, consensus, finalizing, the views and the importers, so they all read the
rows the same way as scoring/ does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain import checks
from domain.checks import UNSET, Unset
from scales import Scale
from scales.schema import Item
from scoring import ItemEntry, ItemRatingError, ReviewScore, rate_item, score_ratings
from scoring.items import ItemScore, check_input, check_rating
from services.errors import ScaleChangedError, ValidationProblem
from storage.integrity import ConsensusValues
from storage.models import ConsensusRating, RaterRating, RatingSource

StoredRow = RaterRating | ConsensusRating | ConsensusValues
"""A rating row as scoring reads it: a stored row, or a consensus row's values before it is written."""

__all__ = [
    "Resolved",
    "clean_inputs",
    "given_rating",
    "item_entry",
    "json_number",
    "pending",
    "resolve",
    "row_entry",
    "score_rows",
]


@dataclass(frozen=True)
class Resolved:
    """What a rating row stores after a change: its rating, where it came from, its inputs."""

    rating: int | None
    source: str | None
    inputs: dict[str, Any] | None
    override_reason: str | None = None  # a computed item rated by hand instead, and why


def resolve(
    item: Item,
    scale: Scale,
    row: RaterRating | ConsensusRating | None,
    rating: object,
    inputs: Mapping[str, object] | Unset | None,
    override_reason: object = UNSET,
) -> Resolved:
    """The stored rating after a change to the given rating and/or the inputs (`row`: the saved
    row they change, None for a new one); ValidationProblem when they are refused.

    Replacing the rating a computed item's numbers gave by another one is an override: it needs
    `override_reason`, and the rating is then kept as given (the numbers are dropped from the
    row; the audit log keeps them)."""
    reason = _override(item, row, rating, inputs, override_reason)
    if reason is not None:
        try:
            chosen = check_rating(
                item.id, rating if rating is not UNSET else given_rating_of(row), scale.rating
            )
        except ItemRatingError as exc:
            raise ValidationProblem(exc.problems) from None
        if chosen is None:
            raise ValidationProblem(
                f"item {item.id}: an override needs the rating that replaces the computed one"
            )
        return Resolved(chosen, RatingSource.RATED, None, reason)
    # Left unset, a given rating stays; a computed one is worked out again from the inputs.
    saved_rating = None if row is None else given_rating(row)
    saved_inputs = None if row is None else row.inputs
    given = saved_rating if rating is UNSET else rating
    new_inputs = saved_inputs if isinstance(inputs, Unset) else inputs
    try:
        given = check_rating(item.id, given, scale.rating)
    except ItemRatingError as exc:
        raise ValidationProblem(exc.problems) from None
    cleaned = clean_inputs(item, new_inputs)
    try:
        score = rate_item(item, item_entry(item, given, cleaned), scale.rating)
    except ItemRatingError as exc:
        raise ValidationProblem(exc.problems) from None
    source = None if score.rating is None else score.source
    return Resolved(score.rating, source, cleaned)


def _override(
    item: Item,
    row: RaterRating | ConsensusRating | None,
    rating: object,
    inputs: Mapping[str, object] | Unset | None,
    override_reason: object,
) -> str | None:
    """The override reason the change leaves (None: not an override); ValidationProblem when a
    computed rating is replaced without one."""
    if not isinstance(inputs, Unset) and inputs:
        return None  # new numbers rate the item again
    if override_reason is UNSET:
        kept = None if row is None else row.override_reason
        if kept is not None and rating is not None:
            return kept
        if (
            row is not None
            and row.rating_source == RatingSource.COMPUTED
            and inputs is None
            and rating not in (UNSET, None)
            and rating != row.rating
        ):
            raise ValidationProblem(
                f"item {item.id}: its numbers give rating {row.rating}; giving {rating} instead is an "
                "override and needs a reason"
            )
        return None
    if override_reason is not None and item.compute is None:
        raise ValidationProblem(f"item {item.id}: is not a computed item, so it has no rating to override")
    if override_reason is None or rating is None:
        return None
    return checks.required_text(override_reason, "reason for overriding the computed rating")


def given_rating_of(row: RaterRating | ConsensusRating | None) -> int | None:
    """The row's stored rating (None for no row)."""
    return None if row is None else row.rating


def clean_inputs(item: Item, inputs: Mapping[str, object] | None) -> dict[str, Any] | None:
    """Inputs as JSON numbers with blanks dropped; unknown names and bad numbers are refused."""
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        raise ValidationProblem(f"item {item.id}: inputs must be a mapping of input name to number")
    cleaned = {str(name): value for name, value in inputs.items() if value is not None}
    if not cleaned:
        return None
    if item.compute is None:
        raise ValidationProblem(f"item {item.id}: is not a computed item, so it takes a rating and no inputs")
    specs = {spec.name: spec for spec in item.compute.inputs}
    problems = []
    unknown = sorted(set(cleaned) - set(specs))
    if unknown:
        problems.append(f"item {item.id}: unknown input {', '.join(unknown)} (expected {', '.join(specs)})")
    for name, value in cleaned.items():
        if name in specs:
            try:
                check_input(item.id, specs[name], value)
            except ItemRatingError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ValidationProblem(problems)
    return {name: json_number(value) for name, value in cleaned.items()}


def json_number(value: object) -> object:
    """A Decimal as the int or float JSON stores; anything else as it is."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def pending(item: Item, given: int | None, inputs: Mapping[str, Any] | None) -> str | None:
    """Why saved inputs do not give a rating yet (they are kept, the item counts as unrated)."""
    if not inputs or item.compute is None:
        return None
    missing = [spec.name for spec in item.compute.inputs if inputs.get(spec.name) is None]
    if missing:
        return f"missing input {', '.join(missing)}"
    decides = item.compute.decides
    if decides is not None and given is None:
        return f"needs a rating; its inputs only decide between {' or '.join(str(r) for r in decides)}"
    return None


def item_entry(item: Item, given: int | None, inputs: Mapping[str, Any] | None) -> ItemEntry | None:
    """What scoring sees: inputs count once they are complete (and, for a judged item, rated)."""
    usable = inputs if inputs and pending(item, given, inputs) is None else None
    if given is None and usable is None:
        return None
    return ItemEntry(rating=given, inputs=usable)


def given_rating(row: StoredRow) -> int | None:
    """The row's rating when a person gave it (not when it was computed from the inputs)."""
    return row.rating if row.rating_source == RatingSource.RATED else None


def row_entry(item: Item, row: StoredRow) -> ItemEntry | None:
    """What scoring sees of a stored row."""
    return item_entry(item, given_rating(row), row.inputs)


def score_rows(scale: Scale, rows: Iterable[StoredRow]) -> ReviewScore:
    """The score of one rater's rows or of the consensus rows (items without a row: unrated).

    ScaleChangedError when stored data no longer fits its scale."""
    items: dict[str, ItemScore] = {}
    by_item = {row.item_id: row for row in rows}
    for item in scale.items:
        row = by_item.get(item.id)
        entry = None if row is None else row_entry(item, row)
        try:
            items[item.id] = rate_item(item, entry, scale.rating)
        except ItemRatingError as exc:  # only if stored data no longer fits its (verified) scale
            raise ScaleChangedError(exc.problems) from None
    return score_ratings(scale, items)
