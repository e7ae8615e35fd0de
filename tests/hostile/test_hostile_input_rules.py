"""The stricter input rules of issue 17, each at its edges, through every way the input comes in:
the services, review files (`parse_review_data`, the import) and the historical CSV/XLSX import.

- every free text has a maximum length (domain/vocabulary.py), refused where it is entered;
- review dates from 1990-01-01 to today + 365 days;
- names in Unicode NFC, refused with control, bidi or zero-width characters, unique in NFC;
- ratings only whole numbers: 3.0, "3.0", "3e0", "+3" and True are refused;
- the REDCap data dictionary of a hostile scale writes no cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook

from domain.vocabulary import (
    DATA_SOURCE_LENGTH,
    DATA_SOURCES_COUNT,
    EVIDENCE_LENGTH,
    FINDINGS_LENGTH,
    REASON_LENGTH,
    RECOMMENDATION_LENGTH,
    SUMMARY_LENGTH,
)
from exchange.export import FORMULA_PREFIXES
from exchange.historical import WideImportError, read_wide_file
from exchange.redcap import scale_to_redcap
from exchange.redcap_dictionary import redcap_to_scale
from scales import ScaleRegistry
from services import reviews as svc
from services.database import Database
from services.errors import ValidationProblem
from services.historical_import import import_wide
from services.review_file import ReviewFileError, parse_review_data, read_review_file
from services.review_import import import_review_file
from tests.hostile.conftest import (
    ADMIN,
    REVIEW_DATE,
    call,
    create_program,
    example_review,
    snapshot,
    start_review,
)

WHERE = "hostile.yaml"
TODAY = dt.date.today()
DACTS_IDS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
HEADER = ["program", "date", "scale", "raters", *DACTS_IDS]


def refused(function: Callable[..., Any], *args: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(ValidationProblem) as caught:
        function(*args, **kwargs)
    return caught.value.problems


def file_refused(data: dict[str, Any], registry: ScaleRegistry) -> list[str]:
    with pytest.raises(ReviewFileError) as caught:
        parse_review_data(data, registry, WHERE)
    return caught.value.problems


# ---- free-text limits: services --------------------------------------------------------------------


@pytest.fixture
def draft(db: Database) -> svc.ReviewView:
    return start_review(db, create_program(db).id)


@pytest.mark.parametrize(
    ("field", "limit"),
    [("strengths", FINDINGS_LENGTH), ("summary", SUMMARY_LENGTH), ("recommendations", FINDINGS_LENGTH)],
)
def test_review_texts_take_their_limit_and_not_one_more(
    db: Database, draft: svc.ReviewView, field: str, limit: int
) -> None:
    done = call(svc.update_review, db, draft.id, **{field: "x" * limit})
    assert getattr(done, field) == "x" * limit
    before = snapshot(db)
    assert refused(call, svc.update_review, db, draft.id, **{field: "y" * (limit + 1)}) == [
        f"{field} is longer than {limit:,} characters"
    ]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("field", "limit", "what"),
    [
        ("evidence", EVIDENCE_LENGTH, "evidence"),
        ("recommendation", RECOMMENDATION_LENGTH, "recommendation"),
    ],
)
def test_consensus_texts_take_their_limit_and_not_one_more(
    db: Database, draft: svc.ReviewView, field: str, limit: int, what: str
) -> None:
    saved = call(svc.save_consensus, db, draft.id, "H2", expected_version=0, **{field: "x" * limit})
    assert refused(
        call,
        svc.save_consensus,
        db,
        draft.id,
        "H2",
        expected_version=saved.version,
        **{field: "y" * (limit + 1)},
    ) == [f"{what} is longer than {limit:,} characters"]


def test_the_not_rated_reason_and_the_rater_note_have_limits(db: Database, draft: svc.ReviewView) -> None:
    call(svc.mark_not_rated, db, draft.id, "H2", "r" * REASON_LENGTH, expected_version=0)
    assert refused(
        call, svc.mark_not_rated, db, draft.id, "H3", "r" * (REASON_LENGTH + 1), expected_version=0
    ) == [f"reason the item is not rated is longer than {REASON_LENGTH:,} characters"]
    call(svc.save_rating, db, draft.id, "ana", "H2", rating=4, note="n" * EVIDENCE_LENGTH)
    assert refused(call, svc.save_rating, db, draft.id, "ana", "H3", note="n" * (EVIDENCE_LENGTH + 1)) == [
        f"note is longer than {EVIDENCE_LENGTH:,} characters"
    ]


def test_data_sources_are_limited_in_number_and_length(db: Database, draft: svc.ReviewView) -> None:
    most = [f"{i} " + "s" * (DATA_SOURCE_LENGTH - 3) for i in range(DATA_SOURCES_COUNT)]
    saved = call(svc.save_consensus, db, draft.id, "H2", expected_version=0, data_sources=most)
    assert saved.data_sources == most
    assert refused(call, svc.save_rating, db, draft.id, "ana", "H2", data_sources=[*most, "one more"]) == [
        f"at most {DATA_SOURCES_COUNT} data sources per item, got {DATA_SOURCES_COUNT + 1}"
    ]
    assert refused(
        call, svc.save_rating, db, draft.id, "ana", "H2", data_sources=["ok", "s" * (DATA_SOURCE_LENGTH + 1)]
    ) == [f"data source 2 is longer than {DATA_SOURCE_LENGTH} characters"]


def test_the_reason_for_an_amendment_has_a_limit(db: Database, registry: ScaleRegistry) -> None:
    final = import_review_file(db, parse_review_data(example_review(), registry, WHERE), actor=ADMIN).review
    before = snapshot(db)
    assert refused(call, svc.amend, db, final.id, "w" * (REASON_LENGTH + 1)) == [
        f"reason for the amendment is longer than {REASON_LENGTH:,} characters"
    ]
    assert snapshot(db) == before
    assert call(svc.amend, db, final.id, "w" * REASON_LENGTH).amendment_reason == "w" * REASON_LENGTH


# ---- free-text limits: review files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "limit"),
    [
        ("evidence", EVIDENCE_LENGTH),
        ("note", EVIDENCE_LENGTH),
        ("recommendation", RECOMMENDATION_LENGTH),
        ("not_rated_reason", REASON_LENGTH),
    ],
)
def test_a_review_files_item_texts_are_limited_by_item(registry: ScaleRegistry, key: str, limit: int) -> None:
    data = example_review()
    data["items"]["H2"] = {"rating": None, key: "x" * limit}
    assert parse_review_data(data, registry, WHERE).notes["H2"].__dict__[key] == "x" * limit
    data["items"]["H2"] = {"rating": None, key: "x" * (limit + 1)}
    assert file_refused(data, registry) == [f"{WHERE}: item H2: {key} is longer than {limit:,} characters"]


def test_a_review_files_note_and_evidence_together_fit_the_evidence_they_become(
    registry: ScaleRegistry,
) -> None:
    half = (EVIDENCE_LENGTH - 2) // 2
    data = example_review()
    data["items"]["H2"] = {"rating": 4, "evidence": "e" * half, "note": "n" * half}
    parse_review_data(data, registry, WHERE)
    data["items"]["H2"]["note"] = "n" * (half + 3)
    assert file_refused(data, registry) == [
        f"{WHERE}: item H2: note and evidence together (stored as the evidence) is longer than "
        f"{EVIDENCE_LENGTH:,} characters"
    ]


@pytest.mark.parametrize(
    ("key", "limit"),
    [("strengths", FINDINGS_LENGTH), ("summary", SUMMARY_LENGTH), ("recommendations", FINDINGS_LENGTH)],
)
def test_a_review_files_texts_are_limited(registry: ScaleRegistry, key: str, limit: int) -> None:
    assert getattr(parse_review_data({**example_review(), key: "x" * limit}, registry, WHERE), key)
    assert file_refused({**example_review(), key: "x" * (limit + 1)}, registry) == [
        f"{WHERE}: {key} is longer than {limit:,} characters"
    ]


def test_a_review_files_data_sources_are_limited(registry: ScaleRegistry) -> None:
    data = example_review()
    data["items"]["H2"] = {"rating": 4, "data_sources": ["chart"] * (DATA_SOURCES_COUNT + 1)}
    assert file_refused(data, registry) == [
        f"{WHERE}: item H2: at most {DATA_SOURCES_COUNT} data sources per item, got {DATA_SOURCES_COUNT + 1}"
    ]


# ---- review dates ------------------------------------------------------------------------------------


DATE_EDGES = [
    (dt.date(1989, 12, 31), False),
    (dt.date(1990, 1, 1), True),
    (TODAY + dt.timedelta(days=365), True),
    (TODAY + dt.timedelta(days=366), False),
    (dt.date(1, 1, 1), False),
    (dt.date(9999, 12, 31), False),
]


@pytest.mark.parametrize(("day", "accepted"), DATE_EDGES, ids=str)
def test_review_dates_at_the_edges_through_the_services(db: Database, day: dt.date, accepted: bool) -> None:
    program = create_program(db)
    start: Callable[..., Any] = svc.start_review
    if accepted:
        assert call(start, db, program.id, "dacts", "1.0", day, "baseline", ["ana"]).review_date == day
        return
    problems = refused(call, start, db, program.id, "dacts", "1.0", day, "baseline", ["ana"])
    assert len(problems) == 1 and problems[0].startswith(f"review date {day} is ")
    draft = start_review(db, program.id)
    assert refused(call, svc.update_review, db, draft.id, review_end_date=day)[0].startswith(
        f"review end date {day} is " if day > REVIEW_DATE else "review end date"
    )


@pytest.mark.parametrize(("day", "accepted"), DATE_EDGES, ids=str)
def test_review_dates_at_the_edges_in_review_files(
    registry: ScaleRegistry, day: dt.date, accepted: bool
) -> None:
    data = {**example_review(), "date": day.isoformat()}
    if accepted:
        assert parse_review_data(data, registry, WHERE).date == day
    else:
        (problem,) = file_refused(data, registry)
        assert problem.startswith(f"{WHERE}: review date {day} is ")


def csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row(program: str = "Riverside ACT", date: Any = "2021-03-01", rating: Any = 4) -> list[Any]:
    return [program, date, "dacts", "ana; ben", rating, *([4] * (len(DACTS_IDS) - 1))]


def import_refused(db: Database, raw: bytes, name: str) -> list[str]:
    before = snapshot(db)
    with pytest.raises(WideImportError) as caught:
        import_wide(db, read_wide_file(raw, name), actor=ADMIN, source=name)
    assert snapshot(db) == before
    return [str(p) for p in caught.value.row_problems]


@pytest.mark.parametrize(("day", "accepted"), DATE_EDGES[:4], ids=str)
def test_review_dates_at_the_edges_in_imports(db: Database, day: dt.date, accepted: bool) -> None:
    for name, raw in (
        ("history.csv", csv_bytes([row(date=day.isoformat())])),
        ("history.xlsx", xlsx_bytes([row(date=dt.datetime(day.year, day.month, day.day))])),
    ):
        if accepted:
            frame = read_wide_file(raw, name)
            assert import_wide(db, frame, actor=ADMIN, source=name).created in (0, 1)
        else:
            (problem,) = import_refused(db, raw, name)
            assert problem.startswith(f"row 2, column date: review date {day} is "), problem


# ---- names ----------------------------------------------------------------------------------------------


HIDDEN = {
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u200f": "U+200F RIGHT-TO-LEFT MARK",
    "\u061c": "U+061C ARABIC LETTER MARK",
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\u200d": "U+200D ZERO WIDTH JOINER",
    "\u2060": "U+2060 WORD JOINER",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
    "\x07": "U+0007 control character",
    "\n": "U+000A control character",
}


@pytest.mark.parametrize("char", list(HIDDEN), ids=list(HIDDEN.values()))
def test_names_with_hidden_characters_are_refused_naming_the_field(db: Database, char: str) -> None:
    for field, what in (("name", "program name"), ("provider", "provider"), ("region", "region")):
        fields = {"name": "Riverside ACT", "provider": None, "region": None, field: f"River{char}side ACT"}
        name = fields.pop("name")
        problems = refused(create_program, db, name, **fields)
        assert problems == [
            f"{what} contains an invisible or control character ({HIDDEN[char]}), which can make one "
            "name look like another"
        ]
    program = create_program(db)
    assert refused(
        call, svc.start_review, db, program.id, "dacts", "1.0", REVIEW_DATE, "baseline", [f"a{char}na"]
    )[0].startswith("rater name contains an invisible or control character")


def test_names_are_stored_in_nfc_and_compared_so(db: Database) -> None:
    decomposed = "Zoe\u0301 ACT"  # e + combining acute
    program = create_program(db, decomposed)
    assert program.name == "Zoé ACT"  # one code point, U+00E9
    assert refused(create_program, db, "Zoé ACT") == ["a program named 'Zoé ACT' already exists"]
    other = create_program(db, "Other ACT")
    assert refused(call, svc.update_program, db, other.id, name=decomposed) == [
        "a program named 'Zoé ACT' already exists"
    ]


def test_names_in_review_files_and_imports_are_checked_the_same(
    db: Database, registry: ScaleRegistry
) -> None:
    assert file_refused({**example_review(), "provider": "Acme\u200bCare"}, registry) == [
        f"{WHERE}: provider contains an invisible or control character (U+200B ZERO WIDTH SPACE), which can "
        "make one name look like another"
    ]
    assert parse_review_data({**example_review(), "program": "Zoe\u0301"}, registry, WHERE).program == "Zoé"
    assert import_refused(db, csv_bytes([row(program="ACT\u202eTeam")]), "h.csv") == [
        "row 2, column program: the program name contains an invisible or control character "
        "(U+202E RIGHT-TO-LEFT OVERRIDE), which can make one name look like another"
    ]
    raters = [["P", "2021-03-01", "dacts", "ana; b\u200den", *([4] * len(DACTS_IDS))]]
    (problem,) = import_refused(db, csv_bytes(raters), "h.csv")
    assert problem.startswith("row 2, column raters: rater name 'b\\u200den' contains an invisible")


# ---- ratings: whole numbers only ----------------------------------------------------------------------


@pytest.mark.parametrize("rating", [3.0, "3", "3.0", "3e0", "+3", " 3 ", True, 3.5])
def test_a_review_file_rating_must_be_an_integer(registry: ScaleRegistry, rating: Any) -> None:
    data = example_review()
    data["items"]["H2"] = {"rating": rating}
    (problem,) = file_refused(data, registry)
    assert problem == f"{WHERE}: item H2: rating must be a whole number from 1 to 5, got {rating!r}"


def test_a_json_review_file_with_3e0_or_3_0_is_refused(registry: ScaleRegistry, tmp_path: Any) -> None:
    for written in ("3e0", "3.0", "3E0"):
        text = json.dumps(example_review(), default=str).replace(
            '"H2": {"rating": 4', f'"H2": {{"rating": {written}'
        )
        assert f'"rating": {written}' in text
        path = tmp_path / "review.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ReviewFileError) as caught:
            read_review_file(path, registry)
        (problem,) = caught.value.problems  # read as YAML, 3e0 is the text "3e0": refused too
        assert problem in [f"{path}: item H2: rating must be a whole number from 1 to 5, got {v}" for v in (
            "3.0", repr(written)
        )]  # fmt: skip
    assert read_review_file_rating(tmp_path, registry, "4") == 4


def read_review_file_rating(tmp_path: Any, registry: ScaleRegistry, written: str) -> int | None:
    text = json.dumps(example_review(), default=str).replace(
        '"H2": {"rating": 4', f'"H2": {{"rating": {written}'
    )
    path = tmp_path / "ok.json"
    path.write_text(text, encoding="utf-8")
    return read_review_file(path, registry).score.items["H2"].rating


def test_the_services_refuse_a_rating_that_is_not_an_integer(db: Database, draft: svc.ReviewView) -> None:
    for rating in (3.0, "3", True):
        assert refused(call, svc.save_rating, db, draft.id, "ana", "H2", rating=rating) == [
            f"item H2: rating must be a whole number from 1 to 5, got {rating!r}"
        ]
    assert call(svc.save_rating, db, draft.id, "ana", "H2", rating=3).rating == 3


@pytest.mark.parametrize("text", ["3.0", "3e0", "+3", "3.", "٣", "0x3", "3_0"])
def test_a_csv_rating_is_digits_only(db: Database, text: str) -> None:
    assert import_refused(db, csv_bytes([row(rating=text)]), "h.csv") == [
        "row 2, column H1: a rating must be a whole number from 1 to 5 in digits (3, not 3.0), or blank "
        f"when not rated; got {text!r}"
    ]


def test_a_csv_rating_in_digits_with_spaces_around_is_read(db: Database) -> None:
    summary = import_wide(db, read_wide_file(csv_bytes([row(rating=" 3 ")]), "h.csv"), actor=ADMIN)
    assert summary.created == 1


def test_an_xlsx_number_cell_is_a_rating_when_whole_and_text_must_be_digits(db: Database) -> None:
    """Excel stores every number as a float: the 3 a reviewer typed is read as 3.0 and is 3."""
    assert import_refused(db, xlsx_bytes([row(rating=3.5)]), "h.xlsx") == [
        "row 2, column H1: a rating must be a whole number from 1 to 5, got 3.5"
    ]
    assert import_refused(db, xlsx_bytes([row(rating="3.0")]), "h.xlsx") == [
        "row 2, column H1: a rating must be a whole number from 1 to 5 in digits (3, not 3.0), or blank "
        "when not rated; got '3.0'"
    ]
    assert import_refused(db, xlsx_bytes([row(rating=True)]), "h.xlsx") == [
        "row 2, column H1: a rating must be a whole number from 1 to 5, got True"
    ]
    summary = import_wide(db, read_wide_file(xlsx_bytes([row(rating=3.0)]), "h.xlsx"), actor=ADMIN)
    assert summary.created == 1
    review = call(svc.get_review, db, summary.review_ids[0])
    assert review.consensus["H1"].rating == 3 and type(review.consensus["H1"].rating) is int


# ---- REDCap: no cell a spreadsheet would run ------------------------------------------------------------


def test_the_redcap_dictionary_of_a_hostile_scale_has_no_formula(registry: ScaleRegistry) -> None:
    dacts = registry.get("dacts", "1.0")
    items = [
        dacts.items[0].model_copy(
            update={"name": "-2+3", "anchors": {**dacts.items[0].anchors, 1: "+cmd|' /C calc'!A0"}}
        ),
        *dacts.items[1:],
    ]
    subscales = [dacts.subscales[0].model_copy(update={"name": "@SUM(A1)"}), *dacts.subscales[1:]]
    hostile = dacts.model_copy(
        update={"title": '=HYPERLINK("http://x","y")', "subscales": subscales, "items": items}
    )
    text = scale_to_redcap(hostile)
    cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
    assert cells and not [c for c in cells if c.startswith(FORMULA_PREFIXES)]
    assert '\'=HYPERLINK("http://x","y"), version 1.0. Source: ' + " ".join(dacts.source.split()) in cells
    assert "'@SUM(A1)" in cells
    back = redcap_to_scale(text)  # read back, the text is the scale's own again
    assert back.title == hostile.title and back.subscales[0].name == "@SUM(A1)"
