"""Checks of what a caller gives the review services: texts, names, kinds and dates.

Each returns the cleaned value (stripped text, the canonical spelling of a kind) or raises
ValidationProblem with one line the UI shows as it is. Pure: no database, so the services,
the importers and the tests use the same rules.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from enum import Enum
from typing import Literal

from domain.errors import ValidationProblem
from domain.vocabulary import (
    DATA_SOURCE_LENGTH,
    DATA_SOURCES_COUNT,
    EARLIEST_REVIEW_DATE,
    LATEST_REVIEW_DAYS_AHEAD,
    PERSON_LENGTH,
    ProgramModel,
    ReviewStatus,
    ReviewType,
)

__all__ = [
    "UNSET",
    "Unset",
    "check_active_dates",
    "check_review_date",
    "check_review_dates",
    "data_sources",
    "hidden_character",
    "latest_review_date",
    "optional_name",
    "optional_text",
    "program_model",
    "rater_names",
    "required_name",
    "required_text",
    "review_status",
    "review_type",
    "too_long",
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
        raise ValidationProblem(too_long(what, limit))
    if "\x00" in text:  # PostgreSQL cannot store it (SQLite could, so refuse it on both)
        raise ValidationProblem(f"{what} contains a NUL character (\\0), which cannot be stored")
    return text or None


def too_long(what: str, limit: int) -> str:
    """The one message for a text over its limit: "evidence is longer than 4,000 characters"."""
    return f"{what} is longer than {limit:,} characters"


def required_name(value: object, what: str, limit: int) -> str:
    """A name (see optional_name) that must be given."""
    name = optional_name(value, what, limit)
    if name is None:
        raise ValidationProblem(f"{what} is required")
    return name


def optional_name(value: object, what: str, limit: int) -> str | None:
    """A name (program, provider, region, rater, user) in Unicode NFC, so "é" typed either way
    is one name; refused when it holds a control, bidi or zero-width character, with which one
    name can be made to look like another ("ACT\u202eTeam") or a hidden one can differ."""
    text = optional_text(value, what, limit)
    if text is None:
        return None
    text = unicodedata.normalize("NFC", text)
    hidden = hidden_character(text)
    if hidden is not None:
        raise ValidationProblem(
            f"{what} contains an invisible or control character ({hidden}), which can make one name "
            "look like another"
        )
    if len(text) > limit:  # NFC rarely lengthens a text, but it can
        raise ValidationProblem(too_long(what, limit))
    return text


def hidden_character(text: str) -> str | None:
    """The first character a name must not hold, as "U+202E RIGHT-TO-LEFT OVERRIDE"; None when
    there is none. Refused: control characters (Cc: tabs, line breaks, escapes), format
    characters (Cf: the bidi controls U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069, the
    zero-width U+200B-U+200D, U+2060, U+FEFF, the soft hyphen), line and paragraph separators,
    surrogates and unassigned code points."""
    for char in text:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            name = unicodedata.name(char, "control character")
            return f"U+{ord(char):04X} {name}"
    return None


_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


def data_sources(value: Sequence[str] | None) -> list[str] | None:
    """An item's data sources (interviews, charts...) without blanks; one text counts as a list
    of one. At most DATA_SOURCES_COUNT, each at most DATA_SOURCE_LENGTH characters."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not all(isinstance(v, str) for v in value):
        raise ValidationProblem("data sources must be a list of text")
    if any("\x00" in v for v in value):
        raise ValidationProblem("data sources contain a NUL character (\\0), which cannot be stored")
    cleaned = [v.strip() for v in value if v.strip()]
    if len(cleaned) > DATA_SOURCES_COUNT:
        raise ValidationProblem(f"at most {DATA_SOURCES_COUNT} data sources per item, got {len(cleaned)}")
    for number, source in enumerate(cleaned, start=1):
        if len(source) > DATA_SOURCE_LENGTH:
            raise ValidationProblem(too_long(f"data source {number}", DATA_SOURCE_LENGTH))
    return cleaned or None


def rater_names(raters: Sequence[str]) -> list[str]:
    """The raters' names, stripped; refused when one is blank or listed twice (ignoring case)."""
    if isinstance(raters, str):
        raters = [raters]
    names: list[str] = []
    for raw in raters:
        name = required_name(raw, "rater name", PERSON_LENGTH)
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


def latest_review_date(today: dt.date | None = None) -> dt.date:
    """The latest review date accepted: today plus LATEST_REVIEW_DAYS_AHEAD days."""
    return (today or dt.date.today()) + dt.timedelta(days=LATEST_REVIEW_DAYS_AHEAD)


def check_review_date(value: dt.date, what: str = "review date", today: dt.date | None = None) -> None:
    """A review date from EARLIEST_REVIEW_DATE to latest_review_date(), both included."""
    latest = latest_review_date(today)
    if value < EARLIEST_REVIEW_DATE:
        raise ValidationProblem(f"{what} {value} is before {EARLIEST_REVIEW_DATE}, the earliest accepted")
    if value > latest:
        raise ValidationProblem(
            f"{what} {value} is more than {LATEST_REVIEW_DAYS_AHEAD} days ahead (the latest accepted: "
            f"{latest})"
        )


def check_review_dates(
    review_date: object, review_end_date: dt.date | None, *, today: dt.date | None = None
) -> None:
    """A review's date must be a date (not a datetime) in the accepted range (check_review_date),
    and its end date, in that range too, not before it."""
    if not isinstance(review_date, dt.date) or isinstance(review_date, dt.datetime):
        raise ValidationProblem(f"review date must be a date, got {review_date!r}")
    check_review_date(review_date, today=today)
    if review_end_date is not None:
        check_review_date(review_end_date, "review end date", today)
        if review_end_date < review_date:
            message = f"review end date ({review_end_date}) is before its start ({review_date})"
            raise ValidationProblem(message)
