"""A REDCap data dictionary read back as a scale (`redcap_to_scale`), and a scale written as
a scale file (`scale_to_yaml`). The layout is described in exchange.redcap, which writes it.

A dictionary written by ebp-fidelity carries the scale's identity, items and scoring in its
Field Annotations (`ebp-fidelity:...` tags); another dictionary is read from its radio and
dropdown fields, section headers and calc fields.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from exchange.export import FORMULA_PREFIXES
from exchange.redcap import (
    API_COLUMNS,
    FIELD_TYPES,
    ITEM_TAG,
    REDCAP_COLUMNS,
    SCALE_TAG,
    SUBSCALE_TAG,
    TOTAL_TAG,
    RedcapError,
    field_name,
)
from scales import Scale, TotalMethod
from scales.messages import pydantic_message
from scales.rules import check_scale

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CALC_FUNCTION = re.compile(r"^\s*(mean|sum)\s*\((.*)\)\s*$", re.S)
_FIELD_REF = re.compile(r"\[([a-z][a-z0-9_]*)\]")

Rows = Sequence[tuple[int, dict[str, str]]]
"""(row number, row keyed by REDCAP_COLUMNS) for every field of a data dictionary."""


def redcap_to_scale(csv_text: str, *, scale_id: str | None = None, version: str | None = None) -> Scale:
    """A scale from a REDCap data dictionary: one item per radio (or dropdown) field.

    A dictionary written by `scale_to_redcap` comes back with its ids, names, anchors,
    definitions, subscales and scoring. Another dictionary needs `scale_id` and `version`
    (a data dictionary does not name them); its items are named from their labels, its
    subscales from the section headers, its scoring method from a `sum(...)` or `mean(...)`
    calc field over the items (mean of the items otherwise), and it gets one interpretation
    band that says none were given. Raises RedcapError.
    """
    rows = read_data_dictionary(csv_text)
    problems: list[str] = []
    meta = _scale_meta(rows, problems)
    sid = scale_id or meta.get("id")
    ver = version or meta.get("version")
    if not sid:
        problems.append("the data dictionary does not say which scale it is: give the scale id")
    if not ver:
        problems.append("the data dictionary does not say which version it is: give the version")
    found = _Items()
    for number, row in rows:
        found.read(number, row, problems)
    if not found.items:
        problems.append("the data dictionary has no radio or dropdown fields to make items of")
    _name_subscales(rows, found.subscales, problems)
    method = _method(rows, found.field_to_item, problems)
    if problems:
        raise RedcapError(problems)
    return _validated(_scale_data(meta, sid, ver, found, method))


def _scale_meta(rows: Rows, problems: list[str]) -> dict[str, Any]:
    """The scale's identity and scoring, as a dictionary written by ebp-fidelity records them."""
    for number, row in rows:
        if row["Field Annotation"].startswith(SCALE_TAG):
            return _tag_json(row["Field Annotation"], SCALE_TAG, number, problems)
    return {}


@dataclass
class _Items:
    """The items read so far, their subscales (by section header) and the codes their anchors use."""

    items: list[dict[str, Any]] = field(default_factory=list)
    field_to_item: dict[str, str] = field(default_factory=dict)
    subscales: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes_seen: set[int] = field(default_factory=set)
    section: str | None = None

    def read(self, number: int, row: dict[str, str], problems: list[str]) -> None:
        """One row of the dictionary: a radio or dropdown field is an item; others are skipped."""
        if row["Section Header"].strip():
            self.section = row["Section Header"].strip()
        if row["Field Type"] not in ("radio", "dropdown"):
            return
        item_meta = (
            _tag_json(row["Field Annotation"], ITEM_TAG, number, problems)
            if row["Field Annotation"].startswith(ITEM_TAG)
            else {}
        )
        name = row["Variable / Field Name"]
        label = " ".join(row["Field Label"].split())
        item_id = item_meta.get("id") or _id_from_label(label, name)
        item_name = label[len(item_id) :].strip() if label.startswith(f"{item_id} ") else label or item_id
        anchors = _choices(row["Choices, Calculations, OR Slider Labels"], number, problems)
        self.codes_seen.update(anchors)
        sub_id = item_meta.get("subscale") or _subscale_id(self.section, self.subscales)
        blank: dict[str, Any] = {"id": sub_id, "name": self.section or sub_id, "items": []}
        subscale = self.subscales.setdefault(sub_id, blank)
        subscale["items"].append(item_id)
        item: dict[str, Any] = {
            "id": item_id,
            "name": item_name or item_id,
            "subscale": sub_id,
            "definition": row["Field Note"].strip() or item_name or item_id,
            "anchors": anchors,
        }
        if item_meta.get("published_id"):
            item["published_id"] = item_meta["published_id"]
        self.items.append(item)
        self.field_to_item[name] = item_id


def _name_subscales(rows: Rows, subscales: dict[str, dict[str, Any]], problems: list[str]) -> None:
    """Subscale names: the section header where the subscale starts, when the file has one."""
    for number, row in rows:
        if row["Field Annotation"].startswith(SUBSCALE_TAG):
            sub_meta = _tag_json(row["Field Annotation"], SUBSCALE_TAG, number, problems)
            sub = subscales.get(str(sub_meta.get("id")))
            label = row["Field Label"]
            if sub is not None and label.endswith(": mean of the rated items"):
                sub["name"] = label.removesuffix(": mean of the rated items")


def _scale_data(
    meta: Mapping[str, Any], sid: Any, ver: Any, found: _Items, method: str | None
) -> dict[str, Any]:
    """The scale file's content: what the annotations say, else what the fields give."""
    rating = meta.get("rating") or {"min": min(found.codes_seen), "max": max(found.codes_seen)}
    scoring = dict(meta.get("scoring") or {})
    if not scoring:
        scoring = {
            "method": method or TotalMethod.MEAN_OF_ITEMS.value,
            "precision": 2,
            "bands": [{"label": "No interpretation bands (the data dictionary gives none)"}],
        }
    elif method is not None:
        scoring["method"] = method
    notes = (
        "Read from a REDCap data dictionary. REDCap radio fields carry no compute rules, so "
        "this version has no computed items: every rating is entered."
    )
    data: dict[str, Any] = {
        "id": sid,
        "version": str(ver),
        "title": meta.get("title") or str(sid),
        "source": meta.get("source") or "REDCap data dictionary",
        "notes": notes,
        "rating": rating,
        "subscales": list(found.subscales.values()),
        "items": found.items,
        "scoring": scoring,
    }
    if meta.get("model"):
        data["model"] = meta["model"]
    return data


def _validated(data: dict[str, Any]) -> Scale:
    """The scale, checked as a scale file is: the schema, then the scale rules."""
    try:
        scale = Scale.model_validate(data)
    except ValidationError as exc:
        raise RedcapError(
            [f"{'.'.join(str(p) for p in err['loc'])}: {pydantic_message(err)}" for err in exc.errors()]
        ) from None
    rule_problems = check_scale(scale)
    if rule_problems:
        raise RedcapError([f"{'.'.join(str(p) for p in loc)}: {message}" for loc, message in rule_problems])
    return scale


def _restored(cell: str) -> str:
    """A cell as written before scale_to_redcap neutralised it ("'=x" -> "=x")."""
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:2] in FORMULA_PREFIXES else cell


def read_data_dictionary(csv_text: str) -> list[tuple[int, dict[str, str]]]:
    """(row number, row keyed by REDCAP_COLUMNS) for every field; the header is checked."""
    text = csv_text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RedcapError(["the data dictionary is empty"]) from None
    except csv.Error as exc:
        raise RedcapError([f"not a readable CSV file: {exc}"]) from None
    header = [h.strip() for h in header]
    if header[: len(REDCAP_COLUMNS)] == list(API_COLUMNS):
        header = list(REDCAP_COLUMNS) + header[len(REDCAP_COLUMNS) :]
    if header[: len(REDCAP_COLUMNS)] != list(REDCAP_COLUMNS):
        missing = [c for c in REDCAP_COLUMNS if c not in header]
        what = f"missing {', '.join(repr(c) for c in missing)}" if missing else "in a different order"
        raise RedcapError([f"row 1: not a REDCap data dictionary: its 18 column headings are {what}"])
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[str] = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            values = values + [""] * (len(REDCAP_COLUMNS) - len(values))
            row = dict(zip(REDCAP_COLUMNS, (_restored(v.strip()) for v in values), strict=False))
            name = row["Variable / Field Name"]
            if not _FIELD_NAME.match(name):
                problems.append(f"row {number}: {name!r} is not a REDCap variable name")
            if row["Field Type"] not in FIELD_TYPES:
                problems.append(f"row {number}: {row['Field Type']!r} is not a REDCap field type")
            rows.append((number, row))
    except csv.Error as exc:
        raise RedcapError([f"not a readable CSV file: {exc}"]) from None
    if problems:
        raise RedcapError(problems)
    return rows


def _tag_json(annotation: str, tag: str, number: int, problems: list[str]) -> dict[str, Any]:
    try:
        value = json.loads(annotation[len(tag) :].strip())
    except json.JSONDecodeError as exc:
        problems.append(f"row {number}: the {tag} annotation is not valid JSON ({exc.msg})")
        return {}
    if not isinstance(value, dict):
        problems.append(f"row {number}: the {tag} annotation must be a JSON object")
        return {}
    return value


def _choices(text: str, number: int, problems: list[str]) -> dict[int, str]:
    anchors: dict[int, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        code, _, label = part.partition(",")
        try:
            value = int(code.strip())
        except ValueError:
            problems.append(f"row {number}: choice {part.strip()!r} does not start with a whole-number code")
            continue
        anchors[value] = label.strip() or str(value)
    if not anchors:
        problems.append(f"row {number}: a rating field needs choices such as '1, Not implemented | 2, ...'")
    return anchors


def _id_from_label(label: str, name: str) -> str:
    """ "H1 Small caseload" -> H1 (a first word with a digit); else the upper-case variable name."""
    first = label.split(" ", 1)[0] if label else ""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,39}", first) and any(c.isdigit() for c in first):
        return first
    return name.upper()[:40]


def _subscale_id(section: str | None, subscales: Mapping[str, Any]) -> str:
    if section is None:
        return "all"
    for sub_id, sub in subscales.items():
        if sub["name"] == section:
            return sub_id
    base = field_name(section)[:30] or "section"
    candidate, n = base, 2
    while candidate in subscales:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _method(rows: Rows, field_to_item: Mapping[str, str], problems: list[str]) -> str | None:
    """The total's method: the ebp-fidelity total annotation, else a calc over the items."""
    subscale_fields = set()
    for number, row in rows:
        if row["Field Annotation"].startswith(TOTAL_TAG):
            method = _tag_json(row["Field Annotation"], TOTAL_TAG, number, problems).get("method")
            if method in {m.value for m in TotalMethod}:
                return str(method)
            problems.append(f"row {number}: unknown total method {method!r}")
            return None
        if row["Field Annotation"].startswith(SUBSCALE_TAG):
            subscale_fields.add(row["Variable / Field Name"])
    items = set(field_to_item)
    for _number, row in rows:
        if row["Field Type"] != "calc":
            continue
        match = _CALC_FUNCTION.match(row["Choices, Calculations, OR Slider Labels"])
        if match is None:
            continue
        refs = set(_FIELD_REF.findall(match.group(2)))
        if match.group(1) == "sum" and refs == items:
            return TotalMethod.SUM.value
        if match.group(1) == "mean" and refs == items:
            return TotalMethod.MEAN_OF_ITEMS.value
        if match.group(1) == "mean" and subscale_fields and refs == subscale_fields:
            return TotalMethod.MEAN_OF_SUBSCALE_MEANS.value
    return None


def scale_to_yaml(scale: Scale) -> str:
    """The scale as a scale file (scales/<id>/<version>.yaml)."""
    data = scale.model_dump(mode="json", exclude_none=True)
    for item in data["items"]:
        item["anchors"] = {int(k): v for k, v in item["anchors"].items()}
    header = f"# {scale.title} {scale.version}: written by ebp-fidelity from a REDCap data dictionary.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
