"""Checks of what a caller gives the review services: texts, names, kinds and dates.

Each returns the cleaned value (stripped text, the canonical spelling of a kind) or raises
ValidationProblem with one line the UI shows as it is. Pure: no database, so the services,
the importers and the tests use the same rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import Literal

from domain.errors import ValidationProblem
from domain.vocabulary import PERSON_LENGTH, ProgramModel, ReviewStatus, ReviewType

__all__ = [
    "UNSET",
    "Unset",
    "check_active_dates",
    "check_review_dates",
    "data_sources",
    "optional_text",
    "program_model",
    "rater_names",
    "required_text",
    "review_status",
    "review_type",
]


class Unset(Enum):
    """The type of UNSET, for the annotations of optional fields (`str | Unset | None`)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Literal[Unset.UNSET] = Unset.UNSET
"""Default of optional fields: "leave as it is", as opposed to None ("clear it")."""


def required_text(value: object, what: str, limit: int | None = None) -> str:
    """The stripped text; refused when it is missing or blank (see optional_text)."""
    text = optional_text(value, what, limit)
    if text is None:
        raise ValidationProblem(f"{what} is required")
    return text


def optional_text(value: object, what: str, limit: int | None = None) -> str | None:
    """The stripped text, None for None or blank; refused when not text, too long or holding NUL."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationProblem(f"{what} must be text, got {value!r}")
    text = value.strip()
    if limit is not None and len(text) > limit:
        raise ValidationProblem(f"{what} is longer than {limit} characters")
    if "\x00" in text:  # PostgreSQL cannot store it (SQLite could, so refuse it on both)
        raise ValidationProblem(f"{what} contains a NUL character (\\0), which cannot be stored")
    return text or None


def data_sources(value: Sequence[str] | None) -> list[str] | None:
    """An item's data sources (interviews, charts...) without blanks; one text counts as a list of one."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not all(isinstance(v, str) for v in value):
        raise ValidationProblem("data sources must be a list of text")
    if any("\x00" in v for v in value):
        raise ValidationProblem("data sources contain a NUL character (\\0), which cannot be stored")
    cleaned = [v.strip() for v in value if v.strip()]
    return cleaned or None


def rater_names(raters: Sequence[str]) -> list[str]:
    """The raters' names, stripped; refused when one is blank or listed twice (ignoring case)."""
    if isinstance(raters, str):
        raters = [raters]
    names: list[str] = []
    for raw in raters:
        name = required_text(raw, "rater name", PERSON_LENGTH)
        if name.casefold() in {n.casefold() for n in names}:
            raise ValidationProblem(f"rater {name} is listed twice")
        names.append(name)
    return names


def program_model(value: str | None) -> str | None:
    """The practice a program delivers ("ACT", "IDDT"), in any case; None when not given."""
    if value is None or not value.strip():
        return None
    for model in ProgramModel:
        if value.strip().upper() == model.value:
            return model.value
    raise ValidationProblem(
        f"program model must be one of {', '.join(m.value for m in ProgramModel)}, got {value!r}"
    )


def review_type(value: str) -> str:
    """The review type's stored spelling; "followup", "self" and the like are accepted."""
    key = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"followup": "follow-up", "self": "self-assessment", "selfassessment": "self-assessment"}
    key = aliases.get(key, key)
    for kind in ReviewType:
        if key == kind.value:
            return kind.value
    raise ValidationProblem(
        f"review type must be one of {', '.join(t.value for t in ReviewType)}, got {value!r}"
    )


def review_status(value: str) -> str:
    """A review status ("draft", "consensus", "final"), in any case."""
    for status in ReviewStatus:
        if value.strip().lower() == status.value:
            return status.value
    raise ValidationProblem(
        f"review status must be one of {', '.join(s.value for s in ReviewStatus)}, got {value!r}"
    )


def check_active_dates(active_from: dt.date | None, active_to: dt.date | None) -> None:
    """A program's active period must not end before it starts."""
    if active_from is not None and active_to is not None and active_to < active_from:
        raise ValidationProblem(f"active_to ({active_to}) is before active_from ({active_from})")


def check_review_dates(review_date: object, review_end_date: dt.date | None) -> None:
    """A review's date must be a date (not a datetime), and its end date not before it."""
    if not isinstance(review_date, dt.date) or isinstance(review_date, dt.datetime):
        raise ValidationProblem(f"review date must be a date, got {review_date!r}")
    if review_end_date is not None and review_end_date < review_date:
        raise ValidationProblem(f"review end date ({review_end_date}) is before its start ({review_date})")
