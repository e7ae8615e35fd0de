"""The Import page, run headless with AppTest on a fresh SQLite file.

It is opened through app.py's navigation when app.py lists it, and otherwise through a
one-page navigation of its own (a page file cannot be run as the main script: its folder
would shadow the `scales` package with app_pages/scales.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database
from storage.models import Program, Review

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
PAGE = REPO / "app_pages" / "import_page.py"
DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
HEADER = ["program", "provider", "date", "scale", *DACTS]
CSV_MIME = "text/csv"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = open_database(url)
    yield database
    database.dispose()


@pytest.fixture
def at(url: str, tmp_path: Path) -> AppTest:
    if "app_pages/import_page.py" in APP.read_text(encoding="utf-8"):
        app = AppTest.from_file(str(APP), default_timeout=60).run()
        app.switch_page("app_pages/import_page.py").run()
    else:
        entry = tmp_path / "entry.py"
        entry.write_text(
            "import streamlit as st\n"
            f'st.navigation([st.Page({str(PAGE)!r}, title="Import", url_path="import")]).run()\n',
            encoding="utf-8",
        )
        app = AppTest.from_file(str(entry), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def good_rows() -> list[list[Any]]:
    return [
        ["Riverside ACT", "Acme", "2021-03-01", "dacts", *([4] * 28)],
        ["Riverside ACT", "Acme", "2022-03-01", "dacts", *([5] * 27), ""],
        ["Lakeside ACT", "Lake", "3/1/2022", "dacts", *([3] * 28)],
    ]


def counts(db: Database) -> tuple[int, int]:
    with db.reading() as s:
        return s.scalar(select(func.count(Review.id))) or 0, s.scalar(select(func.count(Program.id))) or 0


def upload(at: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    at.file_uploader(key="import_files").set_value(list(files)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, prefix: str) -> Any:
    return next(b for b in at.button if b.label.startswith(prefix))


def test_the_page_offers_a_template_and_says_there_is_nothing_to_export(at: AppTest) -> None:
    assert [t.value for t in at.title] == ["Import and export"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download the template (CSV)"]
    assert "No final reviews to export yet." in [i.value for i in at.info]
    assert at.selectbox(key="import_template_scale").value == "dacts@1.0"
    assert any(
        "program, provider, region, date, scale, version, type, raters, H1" in c.value for c in at.caption
    )


def test_a_bad_file_lists_every_problem_with_row_and_column_and_imports_nothing(
    at: AppTest, db: Database
) -> None:
    rows = good_rows()
    rows[1][4] = 6  # H1 on row 3
    rows[2][2] = "31/12/2022"  # the date on row 4
    upload(at, ("history.csv", csv_bytes(rows), CSV_MIME))
    assert any("2 problems found — nothing was imported" in e.value for e in at.error)
    table = at.dataframe[0].value
    assert table[["row", "column"]].values.tolist() == [[3, "H1"], [4, "date"]]
    assert table["problem"].tolist()[0] == "rating 6 is out of range 1..5"
    assert not [b for b in at.button if b.label.startswith("Import")]
    assert counts(db) == (0, 0)


def test_a_clean_file_is_previewed_then_imported_in_one_step(at: AppTest, db: Database) -> None:
    upload(at, ("history.csv", csv_bytes(good_rows()), CSV_MIME))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Reviews to import": "3",
        "Already imported": "0",
        "New programs": "2",
        "Existing programs": "0",
    }
    preview = at.dataframe[0].value
    assert preview["action"].tolist() == ["import"] * 3
    assert preview["type"].tolist() == ["baseline", "follow-up", "baseline"]
    assert counts(db) == (0, 0)  # nothing before the button

    button(at, "Import 3 reviews").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Imported 3 reviews and created 2 programs." in [s.value for s in at.success]
    assert counts(db) == (3, 2)
    summaries = {(r.program, r.review_date.year): r for r in svc.list_reviews(db, actor=local_admin())}
    assert summaries[("Riverside ACT", 2022)].total_mean == 5.0
    assert summaries[("Riverside ACT", 2022)].rated == 27

    # The same file again: everything is already stored, nothing to import.
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviews to import"] == "0" and metrics["Already imported"] == "3"
    assert button(at, "Import 0 reviews").disabled
    at.run()
    assert counts(db) == (3, 2)

    # Exports are offered once there are final reviews.
    labels = [b.label for b in at.get("download_button")]
    assert labels[1:] == [
        "Reviews (CSV)",
        "Reviews and item ratings (XLSX)",
        "Item ratings (CSV)",
        "Wide layout (CSV)",
    ]


def test_an_xlsx_workbook_and_a_second_file_are_checked_together(at: AppTest, db: Database) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "2019"
    sheet.append(HEADER)
    sheet.append(["Riverside ACT", "Acme", "2019-05-01", "dacts", *([4] * 28)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    bad = good_rows()[:1]
    bad[0][5] = "good"  # H2: not a number
    upload(
        at,
        ("2019.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("2021.csv", csv_bytes(bad), CSV_MIME),
    )
    table = at.dataframe[0].value
    assert table.values.tolist() == [
        [
            "2021.csv",
            2,
            "H2",
            "a rating must be a whole number from 1 to 5 in digits (3, not 3.0), or blank when not rated; "
            "got 'good'",
        ]
    ]
    assert counts(db) == (0, 0)

    upload(
        at,
        ("2019.xlsx", buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("2021.csv", csv_bytes(good_rows()[:1]), CSV_MIME),
    )
    button(at, "Import 2 reviews").click().run()
    assert counts(db) == (2, 1)


def test_export_downloads_hold_the_reviews(at: AppTest, db: Database) -> None:
    upload(at, ("history.csv", csv_bytes(good_rows()), CSV_MIME))
    button(at, "Import 3 reviews").click().run()
    downloads = {b.label: b for b in at.get("download_button")}
    assert set(downloads) >= {"Reviews (CSV)", "Reviews and item ratings (XLSX)"}
    # The page builds the files from the same functions the CLI uses; check one of each.
    from services.exports import item_ratings_table, reviews_table, table_csv, tables_xlsx

    reviews = list(
        csv.DictReader(io.StringIO(table_csv(reviews_table(db, actor=local_admin())).decode("utf-8-sig")))
    )
    assert [r["program"] for r in reviews] == ["Riverside ACT", "Riverside ACT", "Lakeside ACT"]
    workbook = load_workbook(
        io.BytesIO(
            tables_xlsx(
                {
                    "reviews": reviews_table(db, actor=local_admin()),
                    "item ratings": item_ratings_table(db, actor=local_admin()),
                }
            )
        )
    )
    assert workbook["item ratings"].max_row == 1 + 3 * 28
