"""Review files (DESIGN.md section 4): one consensus-rated review as YAML or JSON."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain import checks
from domain.errors import ValidationProblem
from domain.vocabulary import (
    EVIDENCE_LENGTH,
    FINDINGS_LENGTH,
    NAME_LENGTH,
    PERSON_LENGTH,
    REASON_LENGTH,
    RECOMMENDATION_LENGTH,
    SUMMARY_LENGTH,
)
from scales import ScaleFileError, ScaleRegistry, UnknownScaleError
from scales.loader import load_yaml_data
from scales.schema import Scale
from scoring import InvalidReviewError, ItemEntry, score_review
from scoring import ReviewScore as ReviewScore  # re-exported: the CLI prints one (cli/common.py)

TOP_LEVEL_KEYS = {
    "scale", "version", "program", "provider", "region", "date", "end_date", "type",
    "raters", "items", "strengths", "summary", "recommendations",
}  # fmt: skip
ITEM_KEYS = {"rating", "inputs", "note", "evidence", "recommendation", "data_sources", "not_rated_reason"}
TEXT_KEYS = ("note", "evidence", "recommendation", "not_rated_reason")
# The longest text each key takes (domain/vocabulary.py); a name is checked as names are.
TEXT_LIMITS = {
    "strengths": FINDINGS_LENGTH, "summary": SUMMARY_LENGTH, "recommendations": FINDINGS_LENGTH,
    "note": EVIDENCE_LENGTH, "evidence": EVIDENCE_LENGTH, "recommendation": RECOMMENDATION_LENGTH,
    "not_rated_reason": REASON_LENGTH, "type": NAME_LENGTH,
}  # fmt: skip
NAME_KEYS = ("program", "provider", "region")
NUL = "\x00"  # a YAML "\0" or JSON "\u0000" escape: PostgreSQL cannot store it in any text column
NUL_MESSAGE = "contains a NUL character (\\0), which cannot be stored"


class ReviewFileError(ValueError):
    """A review file that cannot be used; one line per problem, each naming the file."""

    def __init__(self, problems: list[str]):
        # One line each, even when a problem quotes a key or value with a line break in it.
        self.problems = [" ".join(p.splitlines()) for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ItemNotes:
    note: str | None = None
    evidence: str | None = None
    recommendation: str | None = None
    not_rated_reason: str | None = None
    data_sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewFile:
    """A review file that has been checked against its scale and scored."""

    scale: Scale
    program: str | None
    date: dt.date | None
    entries: dict[str, ItemEntry]
    notes: dict[str, ItemNotes]
    score: ReviewScore
    provider: str | None = None
    region: str | None = None
    end_date: dt.date | None = None
    review_type: str | None = None
    raters: list[str] = field(default_factory=list)
    strengths: str | None = None
    summary: str | None = None
    recommendations: str | None = None


def read_review_file(path: str | os.PathLike[str], registry: ScaleRegistry) -> ReviewFile:
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ReviewFileError([f"{where}: cannot read file: {exc.strerror}"]) from None
    try:
        data = load_yaml_data(raw, where)  # JSON is read as YAML, which it is a subset of
    except ScaleFileError as exc:
        raise ReviewFileError([str(p) for p in exc.problems]) from None
    return parse_review_data(data, registry, where)


def parse_review_data(data: Any, registry: ScaleRegistry, where: str = "review") -> ReviewFile:
    if not isinstance(data, Mapping):
        raise ReviewFileError([f"{where}: a review file must be a mapping with scale, items…"])
    problems: list[str] = []
    unknown = sorted(str(k) for k in data if k not in TOP_LEVEL_KEYS)
    if unknown:
        problems.append(
            f"{where}: unknown key {', '.join(unknown)} (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})"
        )

    scale = _scale(data, registry, where, problems)
    review_date = _date(data.get("date"), "date", where, problems)
    end_date = _date(data.get("end_date"), "end_date", where, problems)
    if review_date is not None or end_date is not None:
        _check(where, problems, checks.check_review_dates, review_date or end_date, end_date)
    texts = _review_texts(data, where, problems)
    raters = _raters(data, where, problems)

    entries: dict[str, ItemEntry] = {}
    notes: dict[str, ItemNotes] = {}
    items = data.get("items")
    if items is None:
        problems.append(f"{where}: missing 'items' (a mapping of item id to rating or inputs)")
    elif not isinstance(items, Mapping):
        problems.append(f"{where}: items must be a mapping of item id to rating or inputs")
    else:
        for raw_id, raw_entry in items.items():
            item_id = str(raw_id)
            entry, item_notes = _entry(item_id, raw_entry, where, problems)
            if entry is not None:
                entries[item_id] = entry
                notes[item_id] = item_notes

    score = None
    if scale is not None:
        try:
            score = score_review(scale, entries)
        except InvalidReviewError as exc:
            problems.extend(f"{where}: {p}" for p in exc.problems)
    if problems or scale is None or score is None:
        raise ReviewFileError(problems)
    return ReviewFile(
        scale=scale,
        program=texts["program"],
        date=review_date,
        entries=entries,
        notes=notes,
        score=score,
        provider=texts["provider"],
        region=texts["region"],
        end_date=end_date,
        review_type=texts["type"],
        raters=list(raters),
        strengths=texts["strengths"],
        summary=texts["summary"],
        recommendations=texts["recommendations"],
    )


def _scale(data: Mapping[str, Any], registry: ScaleRegistry, where: str, problems: list[str]) -> Scale | None:
    scale_id = data.get("scale")
    if not isinstance(scale_id, str) or not scale_id:
        problems.append(f"{where}: missing 'scale' (the scale id, e.g. dacts)")
        return None
    version = data.get("version")
    if version is not None and not isinstance(version, str | int | float):
        problems.append(f'{where}: version must be text such as "1.0"')
        return None
    try:
        return registry.get(scale_id, None if version is None else str(version))
    except UnknownScaleError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _review_texts(data: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, str | None]:
    """The review's names (checked as names are: NFC, no hidden characters) and texts."""
    texts = {key: _text(data.get(key), key, where, problems) for key in (
        "program", "provider", "region", "type", "strengths", "summary", "recommendations",
    )}  # fmt: skip
    for key in NAME_KEYS:
        texts[key] = _check(where, problems, checks.optional_name, texts[key], key, NAME_LENGTH)
    for key in ("type", "strengths", "summary", "recommendations"):
        _check(where, problems, checks.optional_text, texts[key], key, TEXT_LIMITS[key])
    return texts


def _raters(data: Mapping[str, Any], where: str, problems: list[str]) -> list[str]:
    raters = data.get("raters") or []
    if not isinstance(raters, list) or not all(isinstance(r, str) for r in raters):
        problems.append(f"{where}: raters must be a list of names")
        return []
    if any(NUL in r for r in raters):
        problems.append(f"{where}: raters: {NUL_MESSAGE}")
        return []
    # A blank name is kept as it is: the import refuses it, scoring does not need it.
    return [
        _check(where, problems, checks.optional_name, r, "rater name", PERSON_LENGTH) or r for r in raters
    ]


def _check(where: str, problems: list[str], check: Any, *args: Any) -> Any:
    """check(*args), its ValidationProblem added to `problems` (naming the file): None then."""
    try:
        return check(*args)
    except ValidationProblem as exc:
        problems.extend(f"{where}: {p}" for p in exc.problems)
        return None


def _date(value: Any, key: str, where: str, problems: list[str]) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{where}: {key} must be a date like 2026-03-14, got {value!r}")
    return None


def _text(value: Any, key: str, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str) and NUL in value:
        problems.append(f"{where}: {key}: {NUL_MESSAGE}")
        return None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    problems.append(f"{where}: {key} must be text")
    return None


def _entry(item_id: str, raw: Any, where: str, problems: list[str]) -> tuple[ItemEntry | None, ItemNotes]:
    if raw is None:
        return ItemEntry(), ItemNotes()
    if not isinstance(raw, Mapping):
        problems.append(
            f"{where}: item {item_id}: expected a mapping such as {{rating: 4}} or {{inputs: {{...}}}}"
        )
        return None, ItemNotes()
    unknown = sorted(str(k) for k in raw if k not in ITEM_KEYS)
    if unknown:
        problems.append(f"{where}: item {item_id}: unknown key {', '.join(unknown)}")
    inputs = raw.get("inputs")
    if inputs is not None and not isinstance(inputs, Mapping):
        problems.append(f"{where}: item {item_id}: inputs must be a mapping of input name to number")
        inputs = None
    entry = ItemEntry(
        rating=raw.get("rating"),
        inputs={str(k): v for k, v in inputs.items()} if inputs else None,
    )
    texts = _item_texts(item_id, raw, where, problems)
    return entry, ItemNotes(data_sources=_item_sources(item_id, raw, where, problems), **texts)


def _item_texts(
    item_id: str, raw: Mapping[str, Any], where: str, problems: list[str]
) -> dict[str, str | None]:
    texts: dict[str, str | None] = {}
    for key in TEXT_KEYS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{where}: item {item_id}: {key} must be text")
            value = None
        elif value is not None and NUL in value:
            problems.append(f"{where}: item {item_id}: {key}: {NUL_MESSAGE}")
            value = None
        elif value is not None and len(value.strip()) > TEXT_LIMITS[key]:
            problems.append(f"{where}: item {item_id}: {checks.too_long(key, TEXT_LIMITS[key])}")
            value = None
        texts[key] = value
    both = [t.strip() for t in (texts["evidence"], texts["note"]) if t and t.strip()]
    if len("\n\n".join(both)) > EVIDENCE_LENGTH:  # an import stores them as one evidence
        message = checks.too_long("note and evidence together (stored as the evidence)", EVIDENCE_LENGTH)
        problems.append(f"{where}: item {item_id}: {message}")
    return texts


def _item_sources(item_id: str, raw: Mapping[str, Any], where: str, problems: list[str]) -> list[str]:
    sources = raw.get("data_sources") or []
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.append(f"{where}: item {item_id}: data_sources must be a list of text")
        sources = []
    elif any(NUL in s for s in sources):
        problems.append(f"{where}: item {item_id}: data_sources: {NUL_MESSAGE}")
        sources = []
    else:
        found = len(problems)
        _check(f"{where}: item {item_id}", problems, checks.data_sources, sources)
        sources = sources if len(problems) == found else []
    return list(sources)
