"""A scale as a REDCap instrument (data dictionary CSV), and a data dictionary back as a scale.

The data dictionary has exactly REDCap's 18 columns, in order. The instrument (form name =
the scale id) holds:

- `record_id` (text), the record identifier REDCap needs first;
- `<scale>_scale` (descriptive): the scale's title, version and citation, with the scale's
  identity and scoring rules (bands, precision) in its Field Annotation as JSON after
  `ebp-fidelity:scale`, so the round trip knows them;
- one `radio` field per item, named by its lowercase item id (`h1`), labelled "H1 Small
  caseload", with the anchors as choices (`1, anchor | 2, anchor | ...`; a '|' inside an
  anchor becomes '/', because REDCap splits choices on it; commas are safe, REDCap splits a
  choice at its first comma), the definition as Field Note, a Section Header where each
  subscale starts, and `ebp-fidelity:item {...}` (item id, subscale) in its annotation;
- a `calc` field per subscale (`h_mean`, `mean([h1],[h2],...)`) and one for the total:
  `total_mean` (`mean` of the items, or of the subscale means) or `total_sum` (`sum`), as the
  scale's scoring method says. REDCap's mean() and sum() skip blank fields, as our scoring
  skips unrated items.

Computed items (a rating derived from numbers such as clients per FTE) are plain radio fields:
REDCap radio fields carry no compute rules, so the reviewer enters the rating. A scale read
back from a data dictionary therefore has no `compute` blocks (nor data sources or decision
rules); items, names, anchors, definitions, subscales and the scoring method and bands do
come back.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from scales import Scale, TotalMethod
from scales.messages import pydantic_message
from scales.rules import check_scale

REDCAP_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""The data dictionary's columns, in REDCap's order."""

API_COLUMNS: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
"""The same columns as REDCap's API metadata export names them (also accepted on reading)."""

FIELD_TYPES = frozenset(
    {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file", "slider",
     "descriptive", "sql"}
)  # fmt: skip
SCALE_TAG = "ebp-fidelity:scale"
ITEM_TAG = "ebp-fidelity:item"
SUBSCALE_TAG = "ebp-fidelity:subscale"
TOTAL_TAG = "ebp-fidelity:total"
RECORD_ID = "record_id"
MAX_FIELD_NAME = 100

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CALC_FUNCTION = re.compile(r"^\s*(mean|sum)\s*\((.*)\)\s*$", re.S)
_FIELD_REF = re.compile(r"\[([a-z][a-z0-9_]*)\]")


class RedcapError(ValueError):
    """A data dictionary that cannot be read as a scale; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# --------------------------------------------------------------------------------------------
# Scale -> data dictionary
# --------------------------------------------------------------------------------------------


def scale_to_redcap(scale: Scale) -> str:
    """The scale as a REDCap data dictionary (CSV text, the 18 columns in order)."""
    form = field_name(scale.id)
    names = _UniqueNames({RECORD_ID})
    rows: list[dict[str, str]] = [
        _row(RECORD_ID, form, "text", "Record ID", note="The review (one record per review)."),
    ]
    meta = {
        "id": scale.id,
        "version": scale.version,
        "title": scale.title,
        "model": scale.model,
        "source": scale.source,
        "rating": scale.rating.model_dump(mode="json"),
        "scoring": scale.scoring.model_dump(mode="json", exclude_none=True),
    }
    rows.append(
        _row(
            names.add(f"{form}_scale"),
            form,
            "descriptive",
            f"{scale.title}, version {scale.version}. Source: {_one_line(scale.source)}",
            annotation=f"{SCALE_TAG} {json.dumps(meta, ensure_ascii=False, separators=(',', ':'))}",
        )
    )
    item_fields: dict[str, str] = {}
    first_of_subscale = {sub.items[0]: sub for sub in scale.subscales}
    subscale_of = {item_id: sub.id for sub in scale.subscales for item_id in sub.items}
    for item in scale.items:
        name = names.add(field_name(item.id))
        item_fields[item.id] = name
        item_meta: dict[str, Any] = {"id": item.id, "subscale": subscale_of.get(item.id, item.subscale)}
        if item.published_id:
            item_meta["published_id"] = item.published_id
        if item.compute is not None:
            item_meta["computed_in_ebp_fidelity"] = True
        sub = first_of_subscale.get(item.id)
        rows.append(
            _row(
                name,
                form,
                "radio",
                f"{item.id} {item.name}",
                choices=" | ".join(f"{r}, {_choice_label(item.anchors[r])}" for r in scale.ratings),
                note=_one_line(item.definition),
                section=sub.name if sub is not None else "",
                annotation=f"{ITEM_TAG} {json.dumps(item_meta, ensure_ascii=False, separators=(',', ':'))}",
            )
        )
    sub_fields: dict[str, str] = {}
    for sub in scale.subscales:
        name = names.add(f"{field_name(sub.id)}_mean")
        sub_fields[sub.id] = name
        rows.append(
            _row(
                name,
                form,
                "calc",
                f"{sub.name}: mean of the rated items",
                choices=_calc("mean", [item_fields[i] for i in sub.items]),
                note="Items not rated are left out of the mean.",
                section="Scores" if sub is scale.subscales[0] else "",
                annotation=f"{SUBSCALE_TAG} {json.dumps({'id': sub.id}, separators=(',', ':'))}",
            )
        )
    method = scale.scoring.method
    if method is TotalMethod.SUM:
        total = _row(
            names.add("total_sum"),
            form,
            "calc",
            "Total: sum of the item ratings",
            choices=_calc("sum", list(item_fields.values())),
            note="Complete only when every item is rated.",
        )
    elif method is TotalMethod.MEAN_OF_SUBSCALE_MEANS:
        total = _row(
            names.add("total_mean"),
            form,
            "calc",
            "Total: mean of the subscale means",
            choices=_calc("mean", list(sub_fields.values())),
        )
    else:
        total = _row(
            names.add("total_mean"),
            form,
            "calc",
            "Total: mean of the rated items",
            choices=_calc("mean", list(item_fields.values())),
            note="Items not rated are left out of the mean.",
        )
    total["Field Annotation"] = f"{TOTAL_TAG} {json.dumps({'method': method.value}, separators=(',', ':'))}"
    rows.append(total)

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(REDCAP_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def field_name(text: str) -> str:
    """A REDCap variable name: lowercase letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name or not name[0].isalpha():
        name = f"v_{name}".rstrip("_")
    return name[:MAX_FIELD_NAME]


def _row(
    name: str,
    form: str,
    kind: str,
    label: str,
    *,
    choices: str = "",
    note: str = "",
    section: str = "",
    annotation: str = "",
) -> dict[str, str]:
    row = dict.fromkeys(REDCAP_COLUMNS, "")
    row.update(
        {
            "Variable / Field Name": name,
            "Form Name": form,
            "Section Header": section,
            "Field Type": kind,
            "Field Label": label,
            "Choices, Calculations, OR Slider Labels": choices,
            "Field Note": note,
            "Field Annotation": annotation,
        }
    )
    return row


def _calc(function: str, fields: Sequence[str]) -> str:
    return f"{function}({','.join(f'[{f}]' for f in fields)})"


def _choice_label(text: str) -> str:
    return _one_line(text).replace("|", "/")


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _UniqueNames:
    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def add(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.taken:
            candidate = f"{name}_{n}"
            n += 1
        self.taken.add(candidate)
        return candidate


# --------------------------------------------------------------------------------------------
# Data dictionary -> scale
# --------------------------------------------------------------------------------------------


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
    meta: dict[str, Any] = {}
    for number, row in rows:
        if row["Field Annotation"].startswith(SCALE_TAG):
            meta = _tag_json(row["Field Annotation"], SCALE_TAG, number, problems)
            break
    sid = scale_id or meta.get("id")
    ver = version or meta.get("version")
    if not sid:
        problems.append("the data dictionary does not say which scale it is: give the scale id")
    if not ver:
        problems.append("the data dictionary does not say which version it is: give the version")

    items: list[dict[str, Any]] = []
    field_to_item: dict[str, str] = {}
    subscales: dict[str, dict[str, Any]] = {}
    section: str | None = None
    codes_seen: set[int] = set()
    for number, row in rows:
        kind = row["Field Type"]
        if row["Section Header"].strip():
            section = row["Section Header"].strip()
        if kind not in ("radio", "dropdown"):
            continue
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
        codes_seen.update(anchors)
        sub_id = item_meta.get("subscale") or _subscale_id(section, subscales)
        subscales.setdefault(sub_id, {"id": sub_id, "name": section or sub_id, "items": []})["items"].append(
            item_id
        )
        item: dict[str, Any] = {
            "id": item_id,
            "name": item_name or item_id,
            "subscale": sub_id,
            "definition": row["Field Note"].strip() or item_name or item_id,
            "anchors": anchors,
        }
        if item_meta.get("published_id"):
            item["published_id"] = item_meta["published_id"]
        items.append(item)
        field_to_item[name] = item_id
    if not items:
        problems.append("the data dictionary has no radio or dropdown fields to make items of")

    # Subscale names: the section header where the subscale starts, when the file has one.
    for number, row in rows:
        if row["Field Annotation"].startswith(SUBSCALE_TAG):
            sub_meta = _tag_json(row["Field Annotation"], SUBSCALE_TAG, number, problems)
            sub = subscales.get(str(sub_meta.get("id")))
            label = row["Field Label"]
            if sub is not None and label.endswith(": mean of the rated items"):
                sub["name"] = label.removesuffix(": mean of the rated items")

    method = _method(rows, field_to_item, problems)
    if problems:
        raise RedcapError(problems)

    rating = meta.get("rating") or {"min": min(codes_seen), "max": max(codes_seen)}
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
        "subscales": list(subscales.values()),
        "items": items,
        "scoring": scoring,
    }
    if meta.get("model"):
        data["model"] = meta["model"]
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
            row = dict(zip(REDCAP_COLUMNS, (v.strip() for v in values), strict=False))
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


def _method(
    rows: Sequence[tuple[int, dict[str, str]]], field_to_item: Mapping[str, str], problems: list[str]
) -> str | None:
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
