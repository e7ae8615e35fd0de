"""The review package: one JSON file that takes a review to the field and brings it back
(docs/field-package.md, DESIGN.md "Review package"). Pure: no database; services.field_sync
reads and writes the database.

Two kinds share one layout: a **checkout** (the agency server's: the review, that rater's
ratings so far, the previous final review for context) and a **field export** (the laptop's:
the same with the rater's ratings as they are now, the checkout it comes from and its number).
`checksum` is the SHA-256 of the canonical JSON of everything else (sorted keys, no spaces,
UTF-8): a changed byte of content is refused as tampered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from domain.errors import ValidationProblem

FORMAT = "ebp-fidelity/review-package"
FORMAT_VERSION = 1
CHECKOUT = "checkout"
FIELD_EXPORT = "field-export"
KINDS = (CHECKOUT, FIELD_EXPORT)
# What a rating says (compared to tell a change): the rest (version, who, when) is bookkeeping.
VALUE_KEYS = ("rating", "source", "inputs", "override_reason", "note", "data_sources")
_TOP_KEYS: tuple[str, ...] = ("format", "format_version", "kind", "package_id", "created_at", "origin")
_TOP_KEYS += ("scale", "program", "review", "rater", "ratings", "previous_final", "checksum")
_EXPORT_KEYS = ("checkout_id", "checkout_checksum", "export_number", "exported_at")
_RATING_KEYS = ("global_id", "item_id", "version", "updated_at", "updated_by", *VALUE_KEYS)


class PackageError(ValidationProblem):
    """A package that cannot be read or is refused: the message says why."""


def canonical(data: Mapping[str, Any]) -> str:
    """The text the checksum is taken of: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def checksum_of(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of everything but the checksum itself."""
    body = {key: value for key, value in data.items() if key != "checksum"}
    return "sha256:" + hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def sealed(data: Mapping[str, Any]) -> dict[str, Any]:
    """The package with its checksum."""
    return {**data, "checksum": checksum_of(data)}


def package_text(data: Mapping[str, Any]) -> str:
    """The file's text: indented JSON (the checksum does not depend on the layout)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def package_kind(text: str | bytes) -> str | None:
    """The package's kind, read without checking anything else (None: not one)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def read_package(text: str | bytes, *, name: str = "package", kind: str | None = None) -> dict[str, Any]:
    """The package in `text`, its layout and checksum checked; PackageError saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageError(f"{name}: not a review package (not JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PackageError(f"{name}: not a review package (its format is not {FORMAT!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise PackageError(
            f"{name}: review package format version {data.get('format_version')!r}; "
            f"this ebp-fidelity reads version {FORMAT_VERSION}"
        )
    missing = [key for key in _TOP_KEYS if key not in data]
    if data.get("kind") == FIELD_EXPORT:
        missing += [key for key in _EXPORT_KEYS if key not in data]
    if missing:
        raise PackageError(f"{name}: review package without {', '.join(missing)}")
    if data["kind"] not in KINDS:
        raise PackageError(f"{name}: unknown kind {data['kind']!r} (expected {' or '.join(KINDS)})")
    if kind is not None and data["kind"] != kind:
        raise PackageError(f"{name}: is a {data['kind']} package; a {kind} package is needed here")
    if data["checksum"] != checksum_of(data):
        raise PackageError(
            f"{name}: refused, the package was changed after it was written (its checksum does not "
            "match its content)"
        )
    _check_ratings(data, name)
    return data


def _check_ratings(data: Mapping[str, Any], name: str) -> None:
    ratings = data["ratings"]
    if not isinstance(ratings, list):
        raise PackageError(f"{name}: ratings must be a list")
    for i, entry in enumerate(ratings, 1):
        if not isinstance(entry, dict) or any(key not in entry for key in _RATING_KEYS):
            raise PackageError(f"{name}: rating {i} lacks one of {', '.join(_RATING_KEYS)}")
        if not isinstance(entry["version"], int) or entry["version"] < 0:
            raise PackageError(f"{name}: rating {i} ({entry['item_id']}): version must be a whole number")


def values(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a rating entry says (all None for no entry)."""
    if entry is None:
        return dict.fromkeys(VALUE_KEYS)
    return {key: entry.get(key) for key in VALUE_KEYS}


def describe(entry: Mapping[str, Any] | None) -> str:
    """A rating's values in a few words, for conflict lists: "3; note: ..."."""
    shown = values(entry)
    parts = ["not rated" if shown["rating"] is None else str(shown["rating"])]
    if shown["inputs"]:
        parts.append("inputs " + ", ".join(f"{k}={v}" for k, v in sorted(shown["inputs"].items())))
    if shown["override_reason"]:
        parts.append(f"override: {shown['override_reason']}")
    if shown["note"]:
        parts.append(f"note: {shown['note']}")
    if shown["data_sources"]:
        parts.append("sources: " + ", ".join(shown["data_sources"]))
    return "; ".join(parts)
