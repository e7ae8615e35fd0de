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

Reading a data dictionary back (`redcap_to_scale`, `scale_to_yaml`) is exchange.redcap_dictionary.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from exchange.export import neutralise
from scales import Scale, TotalMethod

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
    # A title "=HYPERLINK(…)" or a subscale "@x" would run when the file is opened in a
    # spreadsheet, as people do to edit a dictionary: every cell is written neutralised.
    writer.writerows({key: neutralise(value) for key, value in row.items()} for row in rows)
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
