"""Derived scales: a file that says `based_on: dacts@1.0` and lists only its changes.

A state variant (Maine's per-item minimums, Oregon's S10 -> TMACT ST8 and its required total,
Georgia's two required totals) is a new scale id or version, never an edit of the base. Its
file names the base and the changes; `resolve` applies them to the base and gives the full
data of a scale (validated afterwards like any other scale file), with its own id, version and
content hash. Every change that names an item the base does not have is refused at its field.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from scales.rules import Loc, Problem
from scales.schema import (
    Compute,
    Condition,
    Identifier,
    Number,
    Precision,
    Provenance,
    Scale,
    StrictModel,
    Text,
    TotalBand,
    TotalMethod,
)

BaseKey = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,39}@[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$")
]


class Replacement(StrictModel):
    """The item that takes a base item's place (and subscale) in a derived scale."""

    id: Identifier
    published_id: str | None = None
    name: Text
    definition: Text
    data_sources: list[Text] = Field(default_factory=list)
    anchors: dict[int, Text]
    decision_rules: str | None = None
    minimum: int | None = None
    compute: Compute | None = None
    provenance: Provenance | None = None


class ScoringChanges(StrictModel):
    """Only the scoring fields the derived scale changes; the rest come from the base."""

    method: TotalMethod | None = None
    precision: Precision | None = None
    bands: Annotated[list[TotalBand], Field(min_length=1)] | None = None
    minimum_total: Number | None = None
    conditions: list[Condition] | None = None
    set_by: str | None = None
    action_plan_at_or_below: int | None = None
    action_plan_due_days: Annotated[int, Field(ge=1, le=3660)] | None = None
    rounding_note: str | None = None
    missing_items_note: str | None = None


class DerivedScale(StrictModel):
    id: Identifier
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$")]
    based_on: BaseKey = Field(description="The base scale as id@version, e.g. dacts@1.0.")
    title: Text
    model: str | None = None
    source: Text = Field(description="Citation of the rule the variant encodes.")
    notes: str | None = None
    licence: str | None = None
    minimums: dict[str, int] = Field(default_factory=dict, description="item id -> minimum acceptable rating")
    replace: dict[str, Replacement] = Field(
        default_factory=dict, description="base item id -> its replacement"
    )
    drop: list[str] = Field(default_factory=list, description="base item ids left out")
    scoring: ScoringChanges | None = None


def is_derived(data: object) -> bool:
    return isinstance(data, dict) and "based_on" in data


def resolve(variant: DerivedScale, base: Scale) -> tuple[dict[str, Any], list[Problem]]:
    """The full scale data of `variant` applied to `base`, and the problems of its changes
    (each at the derived file's field). The data is only usable when there are no problems."""
    data = copy.deepcopy(base.model_dump(mode="python"))
    for key in ("id", "version", "title", "source", "notes", "licence"):
        data[key] = getattr(variant, key)
    if variant.model is not None:
        data["model"] = variant.model
    data["derived_from"] = variant.based_on
    known = {item["id"] for item in data["items"]}
    dropped, problems = _check_drops(variant, base, known)
    new_ids, replace_problems = _check_replacements(variant, base, known, dropped)
    problems += replace_problems
    problems += _check_minimums(variant, base, {new_ids.get(i, i) for i in known - dropped}, dropped)
    if problems:
        return data, problems

    resolved: list[dict[str, Any]] = []
    for item in data["items"]:
        if item["id"] in dropped:
            continue
        if item["id"] in variant.replace:
            replacement = variant.replace[item["id"]].model_dump(mode="python")
            item = {**replacement, "subscale": item["subscale"], "replaces": item["id"]}
        if item["id"] in variant.minimums:
            item["minimum"] = variant.minimums[item["id"]]
        resolved.append(item)
    data["items"] = resolved
    subscales = []
    for j, sub in enumerate(data["subscales"]):
        members = [new_ids.get(i, i) for i in sub["items"] if i not in dropped]
        if not members:
            message = f"dropping every item of subscale {sub['id']} (subscales[{j}]) leaves it empty"
            problems.append((("drop",), message))
        subscales.append({**sub, "items": members})
    data["subscales"] = subscales
    if variant.scoring is not None:
        data["scoring"].update(variant.scoring.model_dump(mode="python", exclude_unset=True))
    return data, problems


def _check_drops(variant: DerivedScale, base: Scale, known: set[str]) -> tuple[set[str], list[Problem]]:
    problems: list[Problem] = []
    dropped: set[str] = set()
    for k, item_id in enumerate(variant.drop):
        if item_id not in known:
            problems.append((("drop", k), f"drops '{item_id}', which is not an item of {base.key}"))
        elif item_id in dropped:
            problems.append((("drop", k), f"drops '{item_id}' twice"))
        elif item_id in variant.replace:
            problems.append((("drop", k), f"'{item_id}' is both dropped and replaced"))
        dropped.add(item_id)
    return dropped, problems


def _check_replacements(
    variant: DerivedScale, base: Scale, known: set[str], dropped: set[str]
) -> tuple[dict[str, str], list[Problem]]:
    """old id -> new id of each replacement, and the problems of those that cannot be made."""
    problems: list[Problem] = []
    new_ids: dict[str, str] = {}
    kept = known - dropped - set(variant.replace)
    for old_id, replacement in variant.replace.items():
        at: Loc = ("replace", old_id)
        if old_id not in known:
            problems.append((at, f"replaces '{old_id}', which is not an item of {base.key}"))
        elif replacement.id in kept or replacement.id in new_ids.values():
            problems.append(((*at, "id"), f"the new id '{replacement.id}' is already an item of the scale"))
        else:
            new_ids[old_id] = replacement.id
    return new_ids, problems


def _check_minimums(variant: DerivedScale, base: Scale, final: set[str], dropped: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    low, high = base.rating.min, base.rating.max
    for item_id, minimum in variant.minimums.items():
        at: Loc = ("minimums", item_id)
        if item_id not in final:
            why = (
                "it is dropped"
                if item_id in dropped
                else f"it is not an item of {base.key} after the changes"
            )
            problems.append((at, f"sets a minimum for '{item_id}', but {why}"))
        elif not low <= minimum <= high:
            problems.append((at, f"minimum {minimum} is outside {low}..{high}"))
    return problems


def derived_loc(loc: Loc, data: dict[str, Any], variant: DerivedScale) -> Loc:
    """Where in the derived file a problem of the resolved scale comes from: a replaced item's
    fields are under `replace`, a minimum under `minimums`; anything else at the top."""
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and loc[1] < len(data["items"]):
        item_id = data["items"][loc[1]].get("id")
        for old_id, replacement in variant.replace.items():
            if replacement.id == item_id:
                return ("replace", old_id, *loc[2:])
        if item_id in variant.minimums and loc[2:3] == ("minimum",):
            return ("minimums", item_id)
    return loc
