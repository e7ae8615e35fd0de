"""The scale definition format: pydantic models for `scales/<id>/<version>.yaml`.

Structure and types are checked by pydantic; rules that span several fields (band
order, subscale membership, anchors for every rating point) are checked in
`scales.rules` so each problem can point at the exact field and line.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Precision = Annotated[int, Field(ge=0, le=6)]
Number = Annotated[float, Field(allow_inf_nan=False)]  # NaN or infinity would break every comparison
Rating = Annotated[int, Field(ge=0, le=100)]  # the range is looped over: 1..10**9 would hang


class StrictModel(BaseModel):
    """Unknown keys are refused so a typo in a scale file never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RatingRange(StrictModel):
    min: Rating = 1
    max: Rating = 5


class Interval(StrictModel):
    """A closed interval on a value already rounded to the owner's precision.

    A missing `min` or `max` means the interval is open on that side.
    """

    min: Number | None = None
    max: Number | None = None


class RatingBand(Interval):
    """Values in [min, max] (after rounding) earn `rating`."""

    rating: int


class TotalBand(Interval):
    """An interpretation band of the total, e.g. "Full implementation"."""

    label: Text
    description: str | None = None


class ComputedInput(StrictModel):
    """A number the reviewer enters for a computed item."""

    name: Identifier
    label: Text
    unit: Text
    integer: bool = False
    min: Number | None = None
    max: Number | None = None
    min_exclusive: bool = Field(
        default=False, description="True when the value must be strictly greater than min."
    )
    help: str | None = None


class ComputedValue(StrictModel):
    """value = numerator / denominator * per (or the numerator alone when no denominator)."""

    numerator: Identifier
    denominator: Identifier | None = None
    per: Number = 1


class Compute(StrictModel):
    """The rule that turns inputs into a rating: data, never code."""

    inputs: Annotated[list[ComputedInput], Field(min_length=1)]
    value: ComputedValue
    unit: Text = Field(description="Unit of the computed value, e.g. 'clients per FTE'.")
    precision: Precision = Field(
        description="Decimal places the value is rounded to (half-up) before it is banded."
    )
    bands: Annotated[list[RatingBand], Field(min_length=1)]
    decides: list[int] | None = Field(
        default=None,
        description=(
            "When set, the inputs only decide between these ratings and the rating "
            "itself is judged (e.g. DACTS S7 splits 4 from 5 at 24 minutes a week)."
        ),
    )
    note: str | None = None


class VerificationStatus(StrEnum):
    VERIFIED = "verified"
    PARTLY_VERIFIED = "partly_verified"
    UNVERIFIED = "unverified"


class Provenance(StrictModel):
    """What of an item was checked against a stored copy of the published source."""

    status: VerificationStatus
    source: str | None = Field(default=None, description="Where it was checked (a citation or address).")
    note: str | None = Field(default=None, description="What was and was not seen.")


class Item(StrictModel):
    id: Identifier
    published_id: str | None = Field(
        default=None, description="The id printed in the published instrument, when it differs."
    )
    name: Text
    subscale: Identifier
    definition: Text
    data_sources: list[Text] = Field(default_factory=list)
    anchors: dict[int, Text]
    decision_rules: str | None = None
    minimum: int | None = Field(default=None, description="Minimum acceptable rating set by a state variant.")
    compute: Compute | None = None
    provenance: Provenance | None = Field(
        default=None, description="What of this item was verified against a stored source."
    )
    replaces: Identifier | None = Field(
        default=None,
        description=(
            "The item of the base scale (or of the previous version) this one takes the place of, "
            "when its id changed: Drift and Compare line the two up (e.g. Oregon's ST8 replaces S10)."
        ),
    )

    @property
    def is_computed(self) -> bool:
        return self.compute is not None


class Subscale(StrictModel):
    id: Identifier
    name: Text
    items: Annotated[list[Identifier], Field(min_length=1)]


class TotalMethod(StrEnum):
    MEAN_OF_ITEMS = "mean_of_items"
    MEAN_OF_SUBSCALE_MEANS = "mean_of_subscale_means"
    SUM = "sum"


class Condition(StrictModel):
    """A required total set by a state (e.g. Georgia: a total of at least 112 and a mean of at
    least 4.0); several may apply, and each is checked on its own measure."""

    measure: TotalMethod = Field(
        description="sum (of the rated items), mean_of_items or mean_of_subscale_means."
    )
    at_least: Number
    label: str | None = Field(default=None, description="Who requires it, e.g. 'Georgia DBHDD contract'.")


class Scoring(StrictModel):
    method: TotalMethod = Field(description="Which total the interpretation bands read.")
    precision: Precision = Field(
        default=2, description="Decimal places the banded total is rounded to (half-up)."
    )
    bands: Annotated[list[TotalBand], Field(min_length=1)]
    minimum_total: Number | None = Field(
        default=None, description="A required total set by a state variant (e.g. Oregon's 114)."
    )
    action_plan_at_or_below: int | None = Field(
        default=None,
        description="Items rated at or below this need an improvement plan (e.g. Oregon: 2).",
    )
    conditions: list[Condition] = Field(
        default_factory=list, description="Required totals (state variants); each is met or failed."
    )
    set_by: str | None = Field(
        default=None, description="Who sets the item minimums and conditions, e.g. 'Maine'."
    )
    action_plan_due_days: Annotated[int, Field(ge=1, le=3660)] | None = Field(
        default=None, description="Days the program has to act on the action plan (Oregon: 90)."
    )
    rounding_note: str | None = None
    missing_items_note: str | None = None


# Fields added after scales were first published: left out of the content hash while empty,
# so a stored review's hash of a scale that does not use them still matches.
_EXTENSIONS = {
    (): ("licence", "derived_from"),
    ("scoring",): ("conditions", "set_by", "action_plan_due_days"),
    ("items",): ("provenance", "replaces"),
}


def _without_unset_extensions(data: dict[str, Any]) -> dict[str, Any]:
    for key in _EXTENSIONS[()]:
        if data.get(key) is None:
            data.pop(key, None)
    for key in _EXTENSIONS[("scoring",)]:
        if not data["scoring"].get(key):
            data["scoring"].pop(key, None)
    for item in data["items"]:
        for key in _EXTENSIONS[("items",)]:
            if item.get(key) is None:
                item.pop(key, None)
    return data


class Scale(StrictModel):
    id: Identifier
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$")]
    title: Text
    model: str | None = Field(default=None, description="The practice it measures: ACT, IDDT…")
    source: Text = Field(description="Citation of the published instrument.")
    notes: str | None = None
    licence: str | None = Field(default=None, description="Licence or public-domain status of the text.")
    derived_from: str | None = Field(
        default=None, description="The base scale (id@version) a derived scale was resolved from."
    )
    rating: RatingRange = RatingRange()
    subscales: Annotated[list[Subscale], Field(min_length=1)]
    items: Annotated[list[Item], Field(min_length=1)]
    scoring: Scoring

    _items_by_id: dict[str, Item] = PrivateAttr(default_factory=dict)
    _content_hash: str = PrivateAttr(default="")

    def model_post_init(self, context: object, /) -> None:
        self._items_by_id = {item.id: item for item in self.items}
        canonical = json.dumps(
            _without_unset_extensions(self.model_dump(mode="json")),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self._content_hash = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def content_hash(self) -> str:
        """Hash of the parsed content: comments and layout do not change it, any value does."""
        return self._content_hash

    def item(self, item_id: str) -> Item:
        return self._items_by_id[item_id]

    def has_item(self, item_id: str) -> bool:
        return item_id in self._items_by_id

    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def ratings(self) -> range:
        return range(self.rating.min, self.rating.max + 1)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def item_map(self) -> dict[str, str]:
        """Each item whose id changed -> the id it replaces (in the base or previous version)."""
        return {item.id: item.replaces for item in self.items if item.replaces is not None}

    @property
    def unverified_items(self) -> list[str]:
        """Items whose provenance says they are not (or only partly) verified."""
        return [
            item.id
            for item in self.items
            if item.provenance is not None and item.provenance.status is not VerificationStatus.VERIFIED
        ]
