"""The forms of the scale authoring mode: each edits one part of a draft's data (the scale file
as a mapping) and hands the changed mapping back to be saved as the draft's YAML text.

The forms never judge the data: whatever they produce is saved and then checked by the scale
loader, whose messages (file line and field) the authoring page shows after every save.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from services.scale_library import dump_scale_data

Data = dict[str, Any]
Save = Callable[[Data], None]
METHODS = ["mean_of_items", "mean_of_subscale_means", "sum"]
METHOD_TEXT = {
    "mean_of_items": "Mean of the rated items",
    "mean_of_subscale_means": "Mean of the subscale means",
    "sum": "Sum of the item ratings",
}


def dump(data: Data) -> str:
    return dump_scale_data(data)  # never YAML aliases: the loader refuses them


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(number):
        return None
    return int(number) if number.is_integer() else number


def _set(mapping: Data, key: str, value: Any) -> None:
    """Set a field, or leave it out when it is empty (an optional field)."""
    if value in (None, "", []):
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _list(data: Data, key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Data:
    return value if isinstance(value, dict) else {}


def header_form(data: Data, key: str, save: Save) -> None:
    """Id, version, title, source, licence, notes and the rating range."""
    rating = _mapping(data.get("rating"))
    with st.form(f"{key}_header"):
        left, right = st.columns(2)
        scale_id = left.text_input("Scale id", value=_text(data.get("id")))
        version = right.text_input("Version", value=_text(data.get("version")))
        title = st.text_input("Title", value=_text(data.get("title")))
        model = st.text_input("Practice (model)", value=_text(data.get("model")))
        source = st.text_area("Source (citation or who authored it)", value=_text(data.get("source")))
        licence = st.text_input("Licence", value=_text(data.get("licence")))
        notes = st.text_area("Notes", value=_text(data.get("notes")))
        low, high = st.columns(2)
        rating_min = low.number_input("Lowest rating", 0, 100, int(rating.get("min", 1) or 1))
        rating_max = high.number_input("Highest rating", 0, 100, int(rating.get("max", 5) or 5))
        if st.form_submit_button("Save scale details"):
            changed = copy.deepcopy(data)
            changed["id"], changed["version"], changed["title"] = scale_id.strip(), version.strip(), title
            changed["source"] = source
            for name, value in (("model", model), ("licence", licence), ("notes", notes)):
                _set(changed, name, value.strip())
            if "based_on" not in changed:
                changed["rating"] = {"min": int(rating_min), "max": int(rating_max)}
            save(changed)


def subscales_form(data: Data, key: str, save: Save) -> None:
    """The subscales: id, name and their items in order (comma-separated)."""
    frame = pd.DataFrame(
        [
            {
                "id": _text(s.get("id")),
                "name": _text(s.get("name")),
                "items": ", ".join(map(str, s.get("items") or [])),
            }
            for s in map(_mapping, _list(data, "subscales"))
        ],
        columns=["id", "name", "items"],
    )
    with st.form(f"{key}_subscales"):
        edited = st.data_editor(
            frame, num_rows="dynamic", hide_index=True, width="stretch", key=f"{key}_sub_ed"
        )
        if st.form_submit_button("Save subscales"):
            changed = copy.deepcopy(data)
            changed["subscales"] = [
                {
                    "id": _text(row["id"]),
                    "name": _text(row["name"]),
                    "items": [i.strip() for i in _text(row["items"]).split(",") if i.strip()],
                }
                for _, row in edited.iterrows()
                if _text(row["id"]) or _text(row["name"])
            ]
            save(changed)


ITEM_COLUMNS = ["id", "name", "subscale", "definition", "data sources", "decision rules"]


def items_form(data: Data, key: str, save: Save) -> None:
    """The items' own fields; anchors and computed rules are kept with the item (by its row)."""
    items = [_mapping(i) for i in _list(data, "items")]
    frame = pd.DataFrame(
        [
            {
                "id": _text(i.get("id")),
                "name": _text(i.get("name")),
                "subscale": _text(i.get("subscale")),
                "definition": _text(i.get("definition")),
                "data sources": "; ".join(map(str, i.get("data_sources") or [])),
                "decision rules": _text(i.get("decision_rules")),
            }
            for i in items
        ],
        columns=ITEM_COLUMNS,
    )
    st.caption("Add a row for a new item; its anchors and any computed rule are edited below.")
    with st.form(f"{key}_items"):
        edited = st.data_editor(
            frame, num_rows="dynamic", hide_index=True, width="stretch", key=f"{key}_item_ed"
        )
        if st.form_submit_button("Save items"):
            changed = copy.deepcopy(data)
            changed["items"] = [_item_from_row(row, items, index) for index, row in edited.iterrows()]
            save(changed)


def _item_from_row(row: Any, items: list[Data], index: Any) -> Data:
    position = int(index) if isinstance(index, int) and 0 <= index < len(items) else None
    item = copy.deepcopy(items[position]) if position is not None else {"anchors": {}}
    item["id"], item["name"] = _text(row["id"]), _text(row["name"])
    item["subscale"], item["definition"] = _text(row["subscale"]), _text(row["definition"])
    sources = [s.strip() for s in _text(row["data sources"]).split(";") if s.strip()]
    _set(item, "data_sources", sources)
    _set(item, "decision_rules", _text(row["decision rules"]))
    return item


def _ratings(data: Data) -> range:
    rating = _mapping(data.get("rating"))
    low, high = rating.get("min", 1), rating.get("max", 5)
    if not (isinstance(low, int) and isinstance(high, int)) or not 0 <= low <= high <= 100:
        return range(1, 6)
    return range(low, high + 1)


def _choose_item(data: Data, key: str, label: str) -> int | None:
    items = [_mapping(i) for i in _list(data, "items")]
    if not items:
        st.info("Add an item first.")
        return None
    return st.selectbox(
        label,
        range(len(items)),
        format_func=lambda k: f"{_text(items[k].get('id'))} {_text(items[k].get('name'))}",
        key=f"{key}_pick",
    )


def anchors_form(data: Data, key: str, save: Save) -> None:
    """One item's anchor for each rating point."""
    index = _choose_item(data, f"{key}_anchors", "Item")
    if index is None:
        return
    item = _mapping(data["items"][index])
    anchors = {int(k): v for k, v in _mapping(item.get("anchors")).items() if str(k).lstrip("-").isdigit()}
    with st.form(f"{key}_anchors_{index}"):
        texts = {
            r: st.text_area(
                f"Rating {r}", value=_text(anchors.get(r)), key=f"{key}_anchor_{index}_{r}", height=68
            )
            for r in _ratings(data)
        }
        if st.form_submit_button("Save anchors"):
            changed = copy.deepcopy(data)
            changed["items"][index]["anchors"] = {r: t.strip() for r, t in texts.items() if t.strip()}
            save(changed)


def compute_form(data: Data, key: str, save: Save) -> None:
    """One item's computed rule: its inputs, value, unit, precision and rating bands (YAML)."""
    index = _choose_item(data, f"{key}_compute", "Item")
    if index is None:
        return
    item = _mapping(data["items"][index])
    current = dump(item["compute"]) if item.get("compute") else ""
    st.caption(
        "The rule that turns numbers gathered in the review into a rating: inputs (name, label, "
        "unit), value (numerator / denominator × per), unit, precision and bands (min, max → "
        "rating). Leave empty for a judged item."
    )
    with st.form(f"{key}_compute_{index}"):
        text = st.text_area(
            "Computed rule (YAML)", value=current, height=260, key=f"{key}_compute_text_{index}"
        )
        if st.form_submit_button("Save computed rule"):
            changed = copy.deepcopy(data)
            try:
                rule = yaml.safe_load(text) if text.strip() else None
            except yaml.YAMLError:
                st.error("The computed rule is not readable YAML; check its indentation.")
                return
            _set(changed["items"][index], "compute", rule)
            save(changed)


BAND_COLUMNS = ["label", "min", "max", "description"]


def scoring_form(data: Data, key: str, save: Save) -> None:
    """The total rule (method, precision) and the interpretation bands."""
    scoring = _mapping(data.get("scoring"))
    frame = pd.DataFrame(
        [
            {
                "label": _text(b.get("label")),
                "min": _number(b.get("min")),
                "max": _number(b.get("max")),
                "description": _text(b.get("description")),
            }
            for b in map(_mapping, scoring.get("bands") or [])
        ],
        columns=BAND_COLUMNS,
    )
    method = scoring.get("method") if scoring.get("method") in METHODS else METHODS[0]
    with st.form(f"{key}_scoring"):
        left, right = st.columns(2)
        chosen = left.selectbox("Total", METHODS, index=METHODS.index(method), format_func=METHOD_TEXT.get)
        precision = right.number_input("Decimal places", 0, 6, int(scoring.get("precision", 2) or 0))
        st.caption("Bands from lowest to highest; an empty min or max leaves that side open.")
        edited = st.data_editor(
            frame, num_rows="dynamic", hide_index=True, width="stretch", key=f"{key}_band_ed"
        )
        if st.form_submit_button("Save scoring"):
            changed = copy.deepcopy(data)
            new = _mapping(changed.setdefault("scoring", {}))
            new["method"], new["precision"] = chosen, int(precision)
            bands = []
            for _, row in edited.iterrows():
                band: Data = {"label": _text(row["label"])}
                _set(band, "min", _number(row["min"]))
                _set(band, "max", _number(row["max"]))
                _set(band, "description", _text(row["description"]))
                if band["label"] or len(band) > 1:
                    bands.append(band)
            new["bands"] = bands
            changed["scoring"] = new
            save(changed)
