"""The wide layout's words: its columns and their aliases, what "not rated" looks like, and
how a cell and a heading are read. Shared by read and parse.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

SOURCE_COLUMN = "(source)"
"""Reserved column that `read_wide_file` fills with the sheet (and file) a row came from."""

METADATA_COLUMNS = ("program", "provider", "region", "date", "scale", "version", "type", "raters")
REQUIRED_COLUMNS = ("program", "date", "scale")
ALIASES = {
    "program name": "program",
    "team": "program",
    "review date": "date",
    "scale id": "scale",
    "scale version": "version",
    "review type": "type",
}
NOT_RATED_MARKERS = frozenset({"na", "n/a", "-", "not rated"})
NOT_RATED_REASON = "not rated in the imported file"
DATE_FORMATS = "YYYY-MM-DD (2024-03-14) or M/D/YYYY (3/14/2024)"


def meta_key(heading: str) -> str | None:
    """The metadata column a heading names ("Review Date" -> "date"), None for an item column."""
    key = " ".join(heading.replace("_", " ").split()).casefold()
    key = ALIASES.get(key, key)
    return key if key in METADATA_COLUMNS else None


def heading_text(value: Any) -> str:
    """A row-1 cell as a heading: stripped text ("" when blank; 2019.0 read as 2019)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell(value: Any) -> Any:
    """Text stripped, blank as None; numbers and dates (from XLSX) as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def has_value(value: Any) -> bool:
    """Whether a cell holds anything (not blank, not only spaces)."""
    return cell(value) is not None


def name_key(name: str) -> str:
    """Program names that differ only in case, spacing or Unicode form (NFC) name the same program."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()
