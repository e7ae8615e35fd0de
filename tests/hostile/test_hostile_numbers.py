"""Impossible numbers are refused where they are entered: a negative FTE, 0 clients, NaN,
infinity, 1e999 and numbers too big to print, as a rating or a computed item's input, through
the service (`save_rating`, `save_consensus`) and through review files.

The refusal is a ValidationProblem (or ReviewFileError) naming the item and the input, the
saved rating stays as it was, and nothing is written: not the row, not the audit log.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scales import Scale, ScaleRegistry
from scoring.items import ItemEntry, ItemRatingError, rate_item
from services import reviews as svc
from services.database import Database
from services.errors import ValidationProblem
from services.review_file import ReviewFileError, parse_review_data
from tests.hostile.conftest import (
    FAST,
    REPO,
    assert_refused,
    call,
    create_program,
    example_review,
    fidelity,
    snapshot,
    start_review,
)

numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([
        0, -1, 1, 4, 5, 6, 4.0, 4.5, -0.0, 1e308, 5e-324, 10**400, -(10**400), 10**5000,
        Decimal("NaN"), Decimal("-sNaN"), Decimal("Infinity"), Decimal("1e999"), Decimal("1e999999999"),
        Decimal("-1e999999999"), Decimal("1e-999999999"), Decimal("4.000"), Decimal("9.5"),
    ]),
)  # fmt: skip
not_numbers = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2))


@pytest.fixture
def review(db: Database) -> svc.ReviewView:
    return start_review(db, create_program(db).id)


def rows(db: Database, review_id: int) -> dict[str, Any]:
    view = call(svc.get_review, db, review_id)
    return {
        (rater, item): (r.rating, r.inputs)
        for rater, items in view.ratings.items()
        for item, r in items.items()
    }


@FAST
@given(rating=st.one_of(numbers, not_numbers))
def test_save_rating_stores_a_rating_in_range_or_refuses_and_writes_nothing(
    db: Database, review: svc.ReviewView, dacts: Scale, rating: Any
) -> None:
    before, saved = snapshot(db), rows(db, review.id)
    try:
        view = call(svc.save_rating, db, review.id, "ana", "H2", rating=rating)
    except ValidationProblem as exc:
        assert all(p.startswith("item H2: rating") and "\n" not in p for p in exc.problems), exc.problems
        assert snapshot(db) == before and rows(db, review.id) == saved
        return
    assert view.rating is None or dacts.rating.min <= view.rating <= dacts.rating.max


@FAST
@given(clients=st.one_of(numbers, not_numbers), staff_fte=st.one_of(numbers, not_numbers))
def test_save_rating_computes_from_real_numbers_or_refuses_and_writes_nothing(
    db: Database, review: svc.ReviewView, clients: Any, staff_fte: Any
) -> None:
    before, saved = snapshot(db), rows(db, review.id)
    try:
        view = call(
            svc.save_rating, db, review.id, "ana", "H1", inputs={"clients": clients, "staff_fte": staff_fte}
        )
    except ValidationProblem as exc:
        assert all(p.startswith("item H1: ") and "\n" not in p for p in exc.problems), exc.problems
        assert snapshot(db) == before and rows(db, review.id) == saved
        return
    assert view.rating is None or 1 <= view.rating <= 5
    for value in (view.inputs or {}).values():  # what is stored is a plain, finite JSON number
        assert isinstance(value, int | float) and abs(value) < 1e15


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"clients": 96, "staff_fte": -1}, "item H1: input staff_fte must be greater than 0, got -1"),
        ({"clients": 96, "staff_fte": 0}, "item H1: input staff_fte must be greater than 0, got 0"),
        ({"clients": 0, "staff_fte": 9.5}, "item H1: input clients must be at least 1, got 0"),
        ({"clients": 96.5, "staff_fte": 9.5}, "item H1: input clients must be a whole number, got 96.5"),
        (
            {"clients": float("nan"), "staff_fte": 9.5},
            "item H1: input clients must be a finite number, got nan",
        ),
        (
            {"clients": 96, "staff_fte": float("inf")},
            "item H1: input staff_fte must be a finite number, got inf",
        ),
        (
            {"clients": Decimal("NaN"), "staff_fte": 9},
            "item H1: input clients must be a finite number, got NaN",
        ),
        (
            {"clients": Decimal("sNaN"), "staff_fte": 9},
            "item H1: input clients must be a finite number, got sNaN",
        ),
        ({"clients": 96, "staff_fte": 1e300}, "item H1: input staff_fte is too large to be real, got 1e+300"),
        (
            {"clients": 10**400, "staff_fte": 1},
            "item H1: input clients is too large to be real, got 1.00e+400",
        ),
        ({"clients": 96, "staff_fte": Decimal("1e999")}, "item H1: input staff_fte is too large to be real"),
        ({"clients": "96", "staff_fte": 9.5}, "item H1: input clients must be a number (clients), got '96'"),
        ({"clients": True, "staff_fte": 9.5}, "item H1: input clients must be a number (clients), got True"),
        ({"clients": 96, "bogus": 1}, "item H1: unknown input bogus"),
    ],
)
def test_impossible_inputs_are_refused_by_the_service_naming_item_and_input(
    db: Database, review: svc.ReviewView, inputs: dict[str, Any], expected: str
) -> None:
    call(svc.save_rating, db, review.id, "ana", "H1", inputs={"clients": 96, "staff_fte": 9.5})
    before, saved = snapshot(db), rows(db, review.id)
    with pytest.raises(ValidationProblem) as caught:
        call(svc.save_rating, db, review.id, "ana", "H1", inputs=inputs)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
    assert snapshot(db) == before and rows(db, review.id) == saved == {
        ("ana", "H1"): (5, {"clients": 96, "staff_fte": 9.5})
    }


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        (float("nan"), "item H2: rating must be a whole number from 1 to 5, got nan"),
        (float("-inf"), "item H2: rating must be a whole number from 1 to 5, got -inf"),
        (Decimal("NaN"), "item H2: rating must be a whole number from 1 to 5, got Decimal('NaN')"),
        (Decimal("sNaN"), "item H2: rating must be a whole number from 1 to 5, got Decimal('sNaN')"),
        (Decimal("Infinity"), "item H2: rating must be a whole number from 1 to 5, got Decimal('Infinity')"),
        pytest.param(10**5000, "item H2: rating 1.00e+5000 is out of range 1..5", id="10**5000"),
        (0, "item H2: rating 0 is out of range 1..5"),
        (4.5, "item H2: rating must be a whole number from 1 to 5, got 4.5"),
        ("4", "item H2: rating must be a whole number from 1 to 5, got '4'"),
    ],
)
def test_impossible_ratings_are_refused_by_save_consensus_too(
    db: Database, review: svc.ReviewView, rating: Any, expected: str
) -> None:
    call(svc.save_consensus, db, review.id, "H2", expected_version=0, rating=4)
    before = snapshot(db)
    with pytest.raises(ValidationProblem) as caught:
        call(svc.save_consensus, db, review.id, "H2", expected_version=1, rating=rating)
    assert caught.value.problems == [expected]
    assert snapshot(db) == before
    assert call(svc.get_review, db, review.id).consensus["H2"].rating == 4


def test_a_value_too_large_to_round_is_refused_not_crashed_on(dacts: Scale) -> None:
    """1e28 clients per FTE needs 29 digits: rounding it raised decimal.InvalidOperation."""
    item = dacts.item("H1")
    with pytest.raises(ItemRatingError) as caught:
        rate_item(item, ItemEntry(inputs={"clients": 10**14 - 1, "staff_fte": 1e-14}), dacts.rating)
    assert caught.value.problems == [
        "item H1: the inputs give 1.00e+28 clients per FTE, too large to rate; check them"
    ]


def test_numbers_that_would_never_finish_converting_are_refused_at_once() -> None:
    """int(Decimal("1e999999999")) builds a billion-digit number: a hang, so a child process."""
    script = """
import tempfile
from decimal import Decimal
from scales import load_registry
from exchange.historical import parse_rating
from scoring.items import ItemRatingError, check_rating
from services import reviews as svc
from services.database import Database
from services.errors import ValidationProblem
from tests.hostile.conftest import call, create_program, start_review

registry = load_registry()
dacts = registry.get("dacts", "1.0")
for value in (Decimal("1e999999999"), Decimal("-1e999999999")):
    try:
        check_rating("H2", value, dacts.rating)
    except ItemRatingError as exc:
        print(exc.problems[0])
try:
    parse_rating("1e999999999", dacts)
except ValueError as exc:
    print(exc)
db = Database(f"sqlite:///{tempfile.mkdtemp()}/hang.db", registry=registry)
review = start_review(db, create_program(db).id)
for fields in ({"rating": Decimal("1e999999999")}, {"inputs": {"clients": 96, "staff_fte": Decimal("1e999999999")}}):
    try:
        call(svc.save_rating, db, review.id, "ana", "H1", **fields)
    except ValidationProblem as exc:
        print(exc.problems[0])
db.dispose()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [  # a Decimal is no rating (only an integer is), so refused at once
        "item H2: rating must be a whole number from 1 to 5, got Decimal('1E+999999999')",
        "item H2: rating must be a whole number from 1 to 5, got Decimal('-1E+999999999')",
        "a rating must be a whole number from 1 to 5 in digits (3, not 3.0), or blank when not rated; "
        "got '1e999999999'",
        "item H1: rating must be a whole number from 1 to 5, got Decimal('1E+999999999')",
        "item H1: input staff_fte is too large to be real, got 1e+999999999",
    ]


# ---- review files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"H1": {"inputs": {"clients": 96, "staff_fte": -9.5}}},
            "item H1: input staff_fte must be greater than 0",
        ),
        ({"H1": {"inputs": {"clients": 0, "staff_fte": 9.5}}}, "item H1: input clients must be at least 1"),
        (
            {"H1": {"inputs": {"clients": float("nan"), "staff_fte": 9.5}}},
            "item H1: input clients must be a finite number",
        ),
        (
            {"H1": {"inputs": {"clients": 96, "staff_fte": float("inf")}}},
            "item H1: input staff_fte must be a finite number",
        ),
        (
            {"H1": {"inputs": {"clients": 96, "staff_fte": 1e300}}},
            "item H1: input staff_fte is too large to be real",
        ),
        (
            {"H1": {"inputs": {"clients": 10**30, "staff_fte": 9.5}}},
            "item H1: input clients is too large to be real",
        ),
        (
            {"H1": {"inputs": {"clients": 96, "staff_fte": "1e999"}}},
            "item H1: input staff_fte must be a number",
        ),
        (
            {"H7": {"inputs": {"psychiatrist_fte": -1, "clients": 96}}},
            "item H7: input psychiatrist_fte must be at least 0",
        ),
        (
            {"S1": {"inputs": {"pct_contacts_in_community": 101}}},
            "item S1: input pct_contacts_in_community must be at most 100",
        ),
        ({"H2": {"rating": float("nan")}}, "item H2: rating must be a whole number"),
        ({"H2": {"rating": 10**100}}, "item H2: rating 1.00e+100 is out of range 1..5"),
        ({"H2": {"rating": -3}}, "item H2: rating -3 is out of range 1..5"),
    ],
)
def test_impossible_numbers_in_a_review_file_are_refused_naming_item_and_input(
    registry: ScaleRegistry, item: dict[str, Any], expected: str
) -> None:
    data = example_review()
    data["items"].update(item)
    with pytest.raises(ReviewFileError) as caught:
        parse_review_data(data, registry, "review.yaml")
    assert any(p.startswith(f"review.yaml: {expected}") for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    "value",
    [
        "-9.5",
        "0",
        ".nan",
        ".inf",
        "-.inf",
        "1.0e+999",
        "1e999",
        "0x7fffffffffffffffffff",
        "1_000_000_000_000_000",
    ],
)
def test_fidelity_score_refuses_an_impossible_fte_with_exit_2(tmp_path: Any, value: str) -> None:
    path = tmp_path / "review.yaml"
    text = (REPO / "examples" / "riverside-dacts.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("staff_fte: 9.5", f"staff_fte: {value}"), encoding="utf-8")
    code, _out, err = fidelity("score", str(path))
    assert_refused(code, err, "item H1: input staff_fte")


# ---- text the database cannot store ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "fields", "expected"),
    [
        ("save_rating", {"note": "a\x00b"}, "note contains a NUL character (\\0), which cannot be stored"),
        ("save_rating", {"data_sources": ["chart\x00"]}, "data sources contain a NUL character"),
        ("save_consensus", {"evidence": "\x00"}, "evidence contains a NUL character"),
        ("update_review", {"summary": "x\x00"}, "summary contains a NUL character"),
        ("add_rater", {"rater": "c\x00"}, "rater name contains a NUL character"),
        ("update_program", {"region": "\x00North"}, "region contains a NUL character"),
    ],
)
def test_a_nul_character_is_refused_by_every_service_and_nothing_is_written(
    db: Database, review: svc.ReviewView, function: str, fields: dict[str, Any], expected: str
) -> None:
    """PostgreSQL cannot store NUL in text (psycopg raised DataError, an internal error)."""
    calls = {
        "save_rating": lambda: call(svc.save_rating, db, review.id, "ana", "H2", **fields),
        "save_consensus": lambda: call(svc.save_consensus, db, review.id, "H2", expected_version=0, **fields),
        "update_review": lambda: call(svc.update_review, db, review.id, **fields),
        "add_rater": lambda: call(svc.add_rater, db, review.id, fields["rater"]),
        "update_program": lambda: call(svc.update_program, db, review.program.id, **fields),
    }
    before = snapshot(db)
    with pytest.raises(ValidationProblem) as caught:
        calls[function]()
    assert caught.value.problems[0].startswith(expected), caught.value.problems
    assert snapshot(db) == before
