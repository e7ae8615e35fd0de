"""Hostile review files (DESIGN.md section 4): random values in every field, wrong types, YAML
bombs, NUL characters, keys with line breaks, through every way a review file is used:
`parse_review_data` / `read_review_file`, `fidelity score`, `fidelity report` and the import
into the database (`import_review_file`, `fidelity review import`).

A file is scored, or refused with a ReviewFileError (or, at import, a ValidationProblem) whose
every problem is one line naming the file; the command exits 2 with no traceback, writes no
report, and the database is exactly as it was (row counts and audit log).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from scales import ScaleRegistry
from services.database import Database
from services.errors import FidelityError, ValidationProblem
from services.review_file import ReviewFile, ReviewFileError, parse_review_data, read_review_file
from services.review_import import import_review_file
from tests.hostile.conftest import ADMIN, FAST, THOROUGH, assert_refused, example_review, fidelity, snapshot

WHERE = "hostile.yaml"
TOP_KEYS = ["scale", "version", "program", "provider", "region", "date", "end_date", "type", "raters",
            "items", "strengths", "summary", "recommendations", "unknown", "items\nevil"]  # fmt: skip
ITEM_KEYS = [
    "rating",
    "inputs",
    "note",
    "evidence",
    "recommendation",
    "data_sources",
    "not_rated_reason",
    "bogus",
]
ITEM_IDS = ["H1", "H2", "S7", "O4", "S9", "Z99", "h1", "", "H1\nH2", "<b>H1</b>"]

hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from([
        "\x00", "a\x00b", "\u202e", "\ufeff", "=HYPERLINK(\"http://evil\")", "<script>alert(1)</script>",
        "**bold** [x](javascript:alert(1))", "../../etc/passwd", "x" * 5000, "line\nbreak\r\nhere", "\x1b[31m",
    ]),
)  # fmt: skip
hostile_number = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 10**5000 // 10**4990, 1e308, -0.0, 5e-324, 3.5, 4.0]),
)
hostile_scalar = st.one_of(
    st.none(), st.booleans(), hostile_number, hostile_text, st.dates(), st.datetimes(), st.binary(max_size=8)
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=8,
)


@st.composite
def hostile_review(draw: st.DrawFn) -> dict[Any, Any]:
    """The example review file with one to four fields replaced by hostile values."""
    data: dict[Any, Any] = example_review()
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "item", "input", "items"]))
        if where == "top":
            data[draw(st.sampled_from(TOP_KEYS))] = draw(hostile_value)
        elif where == "items":
            data["items"] = draw(hostile_value)
        elif isinstance(data.get("items"), dict):
            item_id = draw(st.sampled_from(ITEM_IDS))
            entry = data["items"].get(item_id)
            entry = dict(entry) if isinstance(entry, dict) else {}
            if where == "item":
                entry[draw(st.sampled_from(ITEM_KEYS))] = draw(hostile_value)
            else:
                name = draw(
                    st.sampled_from(["clients", "staff_fte", "bogus", "sa_treatment_minutes_per_week"])
                )
                entry["inputs"] = {name: draw(hostile_number)}
            data["items"][item_id] = entry
    return data


def assert_one_line_each(exc: ReviewFileError | FidelityError, where: str | None = None) -> None:
    assert exc.problems
    for problem in exc.problems:
        assert problem.strip() and "\n" not in problem and "\r" not in problem, problem
        if where is not None:
            assert problem.startswith(f"{where}:"), problem


def parse_or_refuse(data: Any, registry: ScaleRegistry) -> ReviewFile | None:
    try:
        review = parse_review_data(data, registry, WHERE)
    except ReviewFileError as exc:
        assert_one_line_each(exc, WHERE)
        return None
    for item_id, score in review.score.items.items():  # what was accepted is a sound review
        assert score.rating is None or review.scale.rating.min <= score.rating <= review.scale.rating.max, (
            item_id
        )
    texts = [review.program, review.provider, review.region, review.strengths, review.summary, *review.raters]
    texts += [
        t for n in review.notes.values() for t in (n.note, n.evidence, n.recommendation, n.not_rated_reason)
    ]
    assert not any(isinstance(t, str) and "\x00" in t for t in texts)
    return review


# ---- parsing ------------------------------------------------------------------------------------


@THOROUGH
@given(hostile_review())
def test_a_hostile_review_is_scored_or_refused_with_one_line_per_problem(
    registry: ScaleRegistry, data: dict[Any, Any]
) -> None:
    parse_or_refuse(data, registry)


@FAST
@given(hostile_value)
def test_any_document_at_all_is_refused_cleanly(registry: ScaleRegistry, data: Any) -> None:
    parse_or_refuse(data, registry)


@FAST
@given(hostile_review(), st.sampled_from(["yaml", "json"]))
def test_a_hostile_review_file_on_disk_is_scored_or_refused(
    tmp_path_factory: pytest.TempPathFactory, registry: ScaleRegistry, data: dict[Any, Any], kind: str
) -> None:
    path = tmp_path_factory.mktemp("review") / f"review.{kind}"
    text = json.dumps(data, default=str) if kind == "json" else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        read_review_file(path, registry)
    except ReviewFileError as exc:
        assert_one_line_each(exc)
        assert all(p.startswith(str(path)) for p in exc.problems)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_as_a_review_file_are_refused(
    tmp_path_factory: pytest.TempPathFactory, registry: ScaleRegistry, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "review.yaml"
    path.write_bytes(raw)
    with pytest.raises(ReviewFileError) as caught:
        read_review_file(path, registry)
    assert_one_line_each(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n', "aliases"),
        ("scale: dacts\nitems: " + "[" * 200 + "]" * 200 + "\n", "nested more than"),
        ("scale: dacts\ndate: 2026-02-30\nitems: {}\n", "cannot read '2026-02-30'"),
        ("scale: dacts\nitems: {H2: {rating: !!int four}}\n", "as YAML type int"),
        ("scale: dacts\nitems: {H2: {rating: !!python/object/apply:os.system [echo owned]}}\n", "line 2"),
        ("scale: dacts\nitems:\n  H2: {rating: 4}\n  H2: {rating: 5}\n", "duplicate key 'H2'"),
        ('scale: dacts\nitems: {H2: {rating: 4, note: "a\x00b"}}\n', "#x0000"),
        ('{"scale": "dacts", "items": {"H2": {"rating": 1e999}}}', "H2"),
        ('{"scale": "dacts", "items": {"H2": {"rating": NaN}}}', "H2"),
        ('{"scale": "dacts", "items": {"H2": {"rating": 4}', "YAML syntax error"),
    ],
)
def test_yaml_and_json_tricks_are_refused_naming_the_file(
    tmp_path: Path, registry: ScaleRegistry, text: str, expected: str
) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReviewFileError) as caught:
        read_review_file(path, registry)
    assert_one_line_each(caught.value)
    assert all(p.startswith(str(path)) for p in caught.value.problems)
    shown = "\n".join(caught.value.problems).replace(f"{path}:2:", "line 2")
    assert expected in shown, shown


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"program": "Team\x00A"}, "program: contains a NUL character"),
        ({"summary": "\x00"}, "summary: contains a NUL character"),
        ({"raters": ["ana", "b\x00en"]}, "raters: contains a NUL character"),
        ({"items": {"H2": {"rating": 4, "note": "x\x00"}}}, "item H2: note: contains a NUL character"),
        ({"items": {"H2": {"rating": 4, "evidence": "\x00"}}}, "item H2: evidence: contains a NUL character"),
        (
            {"items": {"H2": {"rating": 4, "data_sources": ["chart\x00"]}}},
            "item H2: data_sources: contains a NUL",
        ),
        (
            {"items": {"H2": {"rating": 4, "not_rated_reason": "\x00"}}},
            "item H2: not_rated_reason: contains a NUL",
        ),
    ],
)
def test_a_nul_character_anywhere_is_refused_naming_the_field(
    registry: ScaleRegistry, change: dict[str, Any], expected: str
) -> None:
    """PostgreSQL cannot store NUL in text: refused when the file is read, on every backend."""
    data = {"scale": "dacts", "date": "2026-03-14", "items": {"H2": {"rating": 4}}, **change}
    with pytest.raises(ReviewFileError) as caught:
        parse_review_data(data, registry, WHERE)
    assert any(p.startswith(f"{WHERE}: {expected}") for p in caught.value.problems), caught.value.problems


def test_keys_and_values_with_line_breaks_still_give_one_line_per_problem(registry: ScaleRegistry) -> None:
    data = {
        "scale": "dacts",
        "items\nsecond": 1,
        "items": {"H2\r\nH3": {"rating": 4}, "Z9": {"rating": "4\n5"}},
    }
    with pytest.raises(ReviewFileError) as caught:
        parse_review_data(data, registry, WHERE)
    assert len(caught.value.problems) >= 2
    assert_one_line_each(caught.value, WHERE)
    assert str(caught.value).count("\n") == len(caught.value.problems) - 1


# ---- the commands -----------------------------------------------------------------------------


@FAST
@given(hostile_review())
def test_fidelity_score_exits_0_or_2_and_never_shows_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, data: dict[Any, Any]
) -> None:
    path = tmp_path_factory.mktemp("score") / "review.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    code, out, err = fidelity("score", str(path), "--json")
    if code == 0:
        assert json.loads(out)["scale"] == "dacts"
    else:
        assert_refused(code, err, str(path))


BAD_FILES = {
    "rating out of range": {"items": {"H2": {"rating": 6}}},
    "negative FTE": {"items": {"H1": {"inputs": {"clients": 96, "staff_fte": -1}}}},
    "NUL in a note": {"items": {"H2": {"rating": 4, "note": "a\x00b"}}},
    "a YAML bomb": None,
}


def write_bad(path: Path, case: str) -> Path:
    if BAD_FILES[case] is None:
        path.write_text('scale: dacts\na: &a ["x"]\nb: [*a, *a]\n', encoding="utf-8")
    else:
        data = {**example_review(), **BAD_FILES[case]}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_fidelity_report_refuses_a_bad_file_and_leaves_no_output(tmp_path: Path, case: str) -> None:
    review = write_bad(tmp_path / "review.yaml", case)
    out = tmp_path / "report.pdf"
    code, _out, err = fidelity("report", str(review), "--out", str(out), "--no-charts")
    assert_refused(code, err, str(review))
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.yaml"]


def test_fidelity_report_does_not_replace_an_existing_file_when_it_refuses(tmp_path: Path) -> None:
    review = write_bad(tmp_path / "review.yaml", "rating out of range")
    out = tmp_path / "report.pdf"
    out.write_bytes(b"the previous report")
    code, _out, err = fidelity("report", str(review), "--out", str(out), "--no-charts")
    assert_refused(code, err)
    assert out.read_bytes() == b"the previous report"


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_fidelity_review_import_refuses_a_bad_file_and_writes_nothing(
    db: Database, tmp_path: Path, case: str
) -> None:
    review = write_bad(tmp_path / "review.yaml", case)
    before = snapshot(db)
    code, _out, err = fidelity("review", "import", str(review), "--program", "Riverside ACT Team")
    assert_refused(code, err, str(review))
    assert snapshot(db) == before


# ---- import into the database: refused, and nothing written ----------------------------------------


def parsed(registry: ScaleRegistry, **changes: Any) -> ReviewFile:
    """The example file, read, with `changes` made after reading: reading refuses most of them
    itself, and the import must refuse them again (its callers need not have read a file)."""
    review = parse_review_data(example_review(), registry, WHERE)
    values = {
        {"type": "review_type", "end_date": "end_date"}.get(key, key): (
            dt.date.fromisoformat(value) if key.endswith("date") and isinstance(value, str) else value
        )
        for key, value in changes.items()
    }
    return dataclasses.replace(review, **values)


@pytest.mark.parametrize(
    ("changes", "options", "expected"),
    [
        ({"provider": "P" * 201}, {}, "provider is longer than 200 characters"),
        ({"region": "R" * 201}, {}, "region is longer than 200 characters"),
        ({"program": "T" * 201}, {}, "program name (--program) is longer than 200 characters"),
        ({"raters": ["ana", "x" * 101]}, {}, "rater name is longer than 100 characters"),
        ({"raters": ["ana", "ANA"]}, {}, "rater ANA is listed twice"),
        ({"end_date": "2026-03-01"}, {}, "is before its start"),
        ({"type": "<script>"}, {}, "review type must be one of"),
        ({}, {"review_type": "=cmd|' /C calc'!A0"}, "review type must be one of"),
        ({"date": None}, {}, "has no date"),
        ({}, {"program": "   "}, "program name (--program) is required"),
    ],
)
def test_an_import_refused_anywhere_in_its_transaction_writes_nothing(
    db: Database, registry: ScaleRegistry, changes: dict[str, Any], options: dict[str, Any], expected: str
) -> None:
    """Some refusals come after the program has been added in the same transaction (raters, dates,
    type): the rollback must take that with it, on SQLite and PostgreSQL alike."""
    review = parsed(registry, **changes)
    before = snapshot(db)
    with pytest.raises(ValidationProblem) as caught:
        import_review_file(db, review, actor=ADMIN, **options)
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    assert_one_line_each(caught.value)
    assert snapshot(db) == before


def test_a_clean_import_still_works_after_refusals(db: Database, registry: ScaleRegistry) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationProblem):
        import_review_file(db, parsed(registry, provider="P" * 201), actor=ADMIN)
    assert snapshot(db) == before
    result = import_review_file(db, parsed(registry, provider="<b>Acme</b> =cmd"), actor=ADMIN)
    assert result.created and result.review.program.provider == "<b>Acme</b> =cmd"


@FAST
@given(hostile_review())
def test_a_hostile_review_is_imported_whole_or_not_at_all(
    sqlite_db: Database, registry: ScaleRegistry, data: dict[Any, Any]
) -> None:
    review = parse_or_refuse(data, registry)
    if review is None:
        return
    before = snapshot(sqlite_db)
    try:
        result = import_review_file(sqlite_db, review, actor=ADMIN, program="Hostile Team")
    except ValidationProblem as exc:
        assert_one_line_each(exc)
        assert snapshot(sqlite_db) == before
        return
    assert result.review.status == "final"
    assert dt.date.fromisoformat(str(result.review.review_date))
