"""The input rules of domain/checks.py (and the rating rules of scoring and the historical
import) at their edges, without a database (issue 17)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from domain import checks
from domain.errors import ValidationProblem
from domain.vocabulary import (
    DATA_SOURCE_LENGTH,
    DATA_SOURCES_COUNT,
    EARLIEST_REVIEW_DATE,
    EVIDENCE_LENGTH,
    NAME_LENGTH,
)
from exchange.historical import parse_rating
from scales import ScaleRegistry
from scoring.items import ItemRatingError, check_rating


def problem(function: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ValidationProblem) as caught:
        function(*args, **kwargs)  # type: ignore[operator]
    (message,) = caught.value.problems
    return message


# ---- lengths --------------------------------------------------------------------------------------------


def test_a_text_at_its_limit_is_kept_and_one_more_character_is_refused() -> None:
    assert checks.optional_text("x" * EVIDENCE_LENGTH, "evidence", EVIDENCE_LENGTH) == "x" * EVIDENCE_LENGTH
    assert problem(checks.optional_text, "x" * (EVIDENCE_LENGTH + 1), "evidence", EVIDENCE_LENGTH) == (
        f"evidence is longer than {EVIDENCE_LENGTH:,} characters"
    )
    # spaces around the text are not counted: they are not stored
    assert checks.optional_text("  " + "x" * EVIDENCE_LENGTH + "\n", "evidence", EVIDENCE_LENGTH)


def test_data_sources_at_their_limits() -> None:
    most = ["s" * DATA_SOURCE_LENGTH] * DATA_SOURCES_COUNT
    assert checks.data_sources(most) == most
    assert problem(checks.data_sources, [*most, "x"]) == (
        f"at most {DATA_SOURCES_COUNT} data sources per item, got {DATA_SOURCES_COUNT + 1}"
    )
    assert problem(checks.data_sources, ["a", "s" * (DATA_SOURCE_LENGTH + 1)]) == (
        f"data source 2 is longer than {DATA_SOURCE_LENGTH} characters"
    )
    assert checks.data_sources(["a", " ", "b"] + [""] * 20) == ["a", "b"]  # blanks do not count


# ---- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
     "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\x00", "\x1b", "\t", "\r", "\x85",
     "\u2028", "\u2029", "\u00ad"],
)  # fmt: skip
def test_a_name_with_a_hidden_character_is_refused_naming_the_field(char: str) -> None:
    message = problem(checks.optional_name, f"River{char}side", "provider", NAME_LENGTH)
    assert (message.startswith("provider contains ") and f"U+{ord(char):04X}" in message) or "NUL" in message


def test_names_are_nfc_and_letters_of_every_script_are_kept() -> None:
    assert checks.optional_name("Zoe\u0301 Nu\u0301n\u0303ez", "name", NAME_LENGTH) == "Zoé Núñez"
    for name in ("Алексей Иванов", "Σοφία", "東京 ACT", "محمد", "O'Brien-Smith", "Ω-team"):
        assert checks.optional_name(name, "name", NAME_LENGTH) == name
    assert checks.optional_name("   ", "name", NAME_LENGTH) is None
    assert problem(checks.required_name, " ", "program name", NAME_LENGTH) == "program name is required"
    assert problem(checks.optional_name, "x" * (NAME_LENGTH + 1), "region", NAME_LENGTH) == (
        f"region is longer than {NAME_LENGTH} characters"
    )


def test_rater_names_are_names() -> None:
    assert checks.rater_names(["Zoe\u0301", "ben"]) == ["Zoé", "ben"]
    assert problem(checks.rater_names, ["Zoe\u0301", "ZOÉ"]) == "rater ZOÉ is listed twice"
    assert problem(checks.rater_names, ["a\u200bna"]).startswith("rater name contains an invisible")


# ---- dates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "day", "accepted"),
    [
        (dt.date(2026, 3, 14), dt.date(1989, 12, 31), False),
        (dt.date(2026, 3, 14), EARLIEST_REVIEW_DATE, True),
        (dt.date(2026, 3, 14), dt.date(2027, 3, 14), True),  # today + 365 days
        (dt.date(2026, 3, 14), dt.date(2027, 3, 15), False),  # today + 366 days
        (dt.date(2027, 3, 1), dt.date(2028, 2, 29), True),  # a leap year: + 365 days is 29 February
        (dt.date(2027, 3, 1), dt.date(2028, 3, 1), False),
        (dt.date(2026, 3, 14), dt.date(1, 1, 1), False),
        (dt.date(2026, 3, 14), dt.date(9999, 12, 31), False),
    ],
)
def test_review_dates_at_the_edges(today: dt.date, day: dt.date, accepted: bool) -> None:
    if accepted:
        checks.check_review_dates(day, None, today=today)
        checks.check_review_dates(EARLIEST_REVIEW_DATE, day, today=today)  # as an end date too
    else:
        assert problem(checks.check_review_dates, day, None, today=today).startswith(f"review date {day} is ")
        message = problem(checks.check_review_dates, EARLIEST_REVIEW_DATE, day, today=today)
        assert message.startswith(f"review end date {day} is ") or "is before its start" in message


def test_the_latest_date_is_named_in_the_message() -> None:
    assert problem(checks.check_review_dates, dt.date(2030, 1, 1), None, today=dt.date(2026, 3, 14)) == (
        "review date 2030-01-01 is more than 365 days ahead (the latest accepted: 2027-03-14)"
    )
    assert problem(checks.check_review_dates, dt.date(1989, 12, 31), None) == (
        "review date 1989-12-31 is before 1990-01-01, the earliest accepted"
    )


# ---- ratings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3.0, "3", True, False, 3.5, float("nan")])
def test_a_rating_must_be_an_integer(registry: ScaleRegistry, value: object) -> None:
    with pytest.raises(ItemRatingError) as caught:
        check_rating("H2", value, registry.get("dacts", "1.0").rating)
    assert caught.value.problems == [f"item H2: rating must be a whole number from 1 to 5, got {value!r}"]


def test_integers_of_any_kind_are_ratings(registry: ScaleRegistry) -> None:
    scale_range = registry.get("dacts", "1.0").rating
    assert check_rating("H2", 3, scale_range) == 3
    assert (
        check_rating("H2", np.int64(3), scale_range) == 3
        and type(check_rating("H2", np.int64(3), scale_range)) is int
    )
    assert check_rating("H2", None, scale_range) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("03", 3),
        (3, 3),
        (3.0, 3),
        ("", None),
        ("NA", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_an_import_cell_that_is_a_rating(registry: ScaleRegistry, cell: object, expected: int | None) -> None:
    assert parse_rating(cell, registry.get("dacts", "1.0")) == expected


@pytest.mark.parametrize("cell", ["3.0", "3e0", "+3", "-3", "3.", ".3", "٣", "3_0", "0x3", "1" * 5000])
def test_an_import_text_that_is_not_digits_is_refused(registry: ScaleRegistry, cell: str) -> None:
    with pytest.raises(ValueError, match=r"must be a whole number|out of range"):
        parse_rating(cell, registry.get("dacts", "1.0"))
