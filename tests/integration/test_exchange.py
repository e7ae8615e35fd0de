"""Data exchange: table exports, review JSON round trip, historical (wide) import, REDCap, FHIR."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from exchange import historical
from exchange.export import (
    ITEM_COLUMNS,
    REVIEW_COLUMNS,
    dump_review_json,
    neutralise,
    table_csv,
    tables_xlsx,
    wide_template,
)
from exchange.fhir import (
    ORDINAL_VALUE,
    review_to_questionnaire_response,
    scale_to_questionnaire,
    validate_resource,
)
from exchange.historical import (
    NOT_RATED_REASON,
    WideImportError,
    read_wide_file,
    validate_wide,
)
from exchange.redcap import REDCAP_COLUMNS, RedcapError, scale_to_redcap
from exchange.redcap_dictionary import redcap_to_scale, scale_to_yaml
from scales import Scale, ScaleRegistry, TotalMethod, load_scale_file, parse_scale_text
from services import final_batch
from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database
from services.errors import ValidationProblem
from services.exports import item_ratings_table, review_export_json, reviews_table, wide_table
from services.historical_import import import_wide, plan_wide
from services.review_file import read_review_file
from services.review_import import import_review_file
from storage.models import AuditEntry, Program, Review

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
META = ["program", "provider", "region", "date", "scale", "version"]
INJECTION = '=HYPERLINK("http://x","y")'
runner = CliRunner()


def fresh_db(tmp_path: Path, name: str) -> Database:
    return open_database(f"sqlite:///{tmp_path / name}")


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def counts(db: Database) -> tuple[int, int]:
    with db.reading() as s:
        return s.scalar(select(func.count(Review.id))) or 0, s.scalar(select(func.count(Program.id))) or 0


def rich_review(db: Database, *, program: str = "Riverside ACT Team", finalize: bool = True) -> int:
    """A DACTS review with everything a review file carries: computed and judged items, texts
    with awkward characters, data sources, a not-rated item, two raters, review texts."""
    prog = svc.create_program(
        db, program, actor=local_admin("tester"), provider="Acme Health", region="North", model="ACT"
    )
    review = svc.start_review(
        db,
        prog.id,
        "dacts",
        "1.0",
        dt.date(2026, 3, 14),
        "follow-up",
        ["Ann Lee", "Bo Chen"],
        actor=local_admin("tester"),
        review_end_date=dt.date(2026, 3, 15),
    )
    for index, item_id in enumerate(DACTS):
        fields: dict[str, Any] = {"rating": 3 + index % 3}
        if item_id == "H1":
            fields = {"inputs": {"clients": 96, "staff_fte": 9.5}}
        elif item_id == "S7":
            fields = {"rating": 5, "inputs": {"sa_treatment_minutes_per_week": 30}}
        elif item_id == "S10":
            continue
        svc.save_consensus(
            db,
            review.id,
            item_id,
            expected_version=0,
            actor=local_admin("tester"),
            evidence=f"Evidence for {item_id}: «quotes» \"double\", 'single'\nsecond line 😀"
            if index % 4 == 0
            else None,
            recommendation="+ add a nurse" if item_id == "H8" else None,
            data_sources=["Chart review", "Interview"] if item_id == "H2" else None,
            **fields,
        )
    svc.mark_not_rated(
        db, review.id, "S10", "No peer specialist records", expected_version=0, actor=local_admin("tester")
    )
    svc.set_review_text(
        db,
        review.id,
        actor=local_admin("tester"),
        strengths="Strong team meetings",
        summary="Mostly faithful;\x85 see the items",
        recommendations="Hire a nurse",
    )
    if finalize:
        svc.finalize(db, review.id, actor=local_admin("tester"))
    return review.id


def consensus_record(view: svc.ReviewView) -> dict[str, Any]:
    return {
        item_id: (
            c.rating,
            c.source,
            c.inputs,
            c.evidence,
            c.recommendation,
            c.data_sources,
            c.not_rated_reason,
        )
        for item_id, c in view.consensus.items()
    }


def wide_csv(rows: list[list[Any]], header: list[str] | None = None, *, delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header or [*META, *DACTS])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def row(program: str, date: str, ratings: list[Any] | None = None, **meta: Any) -> list[Any]:
    values = ratings if ratings is not None else [4] * len(DACTS)
    return [
        program,
        meta.get("provider", "Acme"),
        meta.get("region", "North"),
        date,
        meta.get("scale", "dacts"),
        meta.get("version", "1.0"),
        *values,
    ]


# ============================================================================================
# Exports: tables, formula injection
# ============================================================================================


def test_reviews_table_has_one_row_per_final_review_with_its_scores(db: Database) -> None:
    first = rich_review(db)
    draft = rich_review(db, program="Lakeside ACT", finalize=False)

    table = reviews_table(db, actor=local_admin())
    assert list(table.columns) == [*REVIEW_COLUMNS, "H_mean", "O_mean", "S_mean"]
    assert table["review_id"].tolist() == [first]  # the draft is not exported by default
    record = table.iloc[0]
    scored = svc.review_json(db, first, actor=local_admin())
    assert (record["program"], record["provider"], record["region"]) == (
        "Riverside ACT Team",
        "Acme Health",
        "North",
    )
    assert (record["scale"], record["version"], record["review_type"], record["status"]) == (
        "dacts",
        "1.0",
        "follow-up",
        "final",
    )
    assert record["review_date"] == dt.date(2026, 3, 14)
    assert record["total_mean"] == scored["total"]["mean"]
    assert record["total_sum"] == scored["total"]["sum"]
    assert (record["rated"], record["items"]) == (27, 28)
    assert record["band"] == scored["band"]
    for sub in ("H", "O", "S"):
        assert record[f"{sub}_mean"] == scored["subscales"][sub]["mean"]

    everything = reviews_table(db, status=None, actor=local_admin())
    assert sorted(everything["review_id"].tolist()) == sorted([first, draft])
    assert reviews_table(db, scale_id="goi", actor=local_admin()).empty


def test_item_ratings_table_has_one_row_per_item_rating(db: Database) -> None:
    review_id = rich_review(db)
    table = item_ratings_table(db, actor=local_admin())
    assert list(table.columns) == list(ITEM_COLUMNS)
    assert len(table) == 28
    assert table["item_id"].tolist() == DACTS
    by_item = table.set_index("item_id")
    assert by_item.loc["H1", "rating"] == 5 and by_item.loc["H1", "source"] == "computed"
    assert by_item.loc["H1", "item_name"] == "Small caseload"
    assert by_item.loc["S7", "source"] == "rated"
    assert by_item.loc["H8", "recommendation"] == "+ add a nurse"
    assert by_item.loc["H1", "evidence"].startswith("Evidence for H1")
    assert by_item.loc["S10", "not_rated_reason"] == "No peer specialist records"
    assert by_item.loc["S10", "rating"] is pd.NA
    assert set(table["review_id"]) == {review_id}


def test_neutralise_prefixes_formula_text_only() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", INJECTION):
        assert neutralise(text) == "'" + text
    for value in ("Riverside", "4-plus", " =not first", "", 5, -5, 4.5, None, dt.date(2024, 1, 1)):
        assert neutralise(value) == value


def test_formula_injection_is_neutralised_in_csv_and_xlsx(db: Database) -> None:
    program = svc.create_program(
        db, INJECTION, actor=local_admin("tester"), provider="@risk agency", region="-North"
    )
    review = svc.start_review(
        db, program.id, "goi", "1.0", dt.date(2025, 1, 2), "baseline", ["A"], actor=local_admin("t")
    )
    scale = db.registry.get("goi", "1.0")
    for item_id in scale.item_ids:
        svc.save_consensus(
            db, review.id, item_id, expected_version=0, actor=local_admin("t"), rating=3, evidence="=1+2"
        )
    svc.finalize(db, review.id, actor=local_admin("t"))
    reviews, items = reviews_table(db, actor=local_admin()), item_ratings_table(db, actor=local_admin())

    for frame in (reviews, items):
        parsed = list(csv.DictReader(io.StringIO(table_csv(frame).decode("utf-8-sig"))))
        assert parsed[0]["program"] == "'" + INJECTION
    parsed = list(csv.DictReader(io.StringIO(table_csv(reviews).decode("utf-8-sig"))))
    assert (parsed[0]["provider"], parsed[0]["region"]) == ("'@risk agency", "'-North")
    parsed = list(csv.DictReader(io.StringIO(table_csv(items).decode("utf-8-sig"))))
    assert {r["evidence"] for r in parsed} == {"'=1+2"}

    workbook = load_workbook(io.BytesIO(tables_xlsx({"reviews": reviews, "item ratings": items})))
    assert workbook.sheetnames == ["reviews", "item ratings"]
    for sheet in workbook.worksheets:
        cells = [cell for r in sheet.iter_rows() for cell in r]
        assert not [c.coordinate for c in cells if c.data_type == "f"], sheet.title
        header = [c.value for c in sheet[1]]
        assert sheet.cell(2, header.index("program") + 1).value == "'" + INJECTION
    sheet = workbook["reviews"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("total_sum") + 1).value == 36  # numbers stay numbers


# ============================================================================================
# A whole review as JSON: export -> import -> export
# ============================================================================================


def test_review_json_round_trip_gives_an_identical_review(tmp_path: Path, db: Database) -> None:
    source = fresh_db(tmp_path, "source.db")
    target = db  # another database: SQLite, and PostgreSQL when available
    try:
        review_id = rich_review(source)
        exported = review_export_json(source, review_id, actor=local_admin())
        path = tmp_path / "review.json"
        path.write_text(dump_review_json(exported), encoding="utf-8")

        result = import_review_file(
            target, read_review_file(path, target.registry), actor=local_admin("importer")
        )
        assert result.created
        again = review_export_json(target, result.review.id, actor=local_admin())
        assert again == exported

        a, b = (
            svc.get_review(source, review_id, actor=local_admin()),
            svc.get_review(target, result.review.id, actor=local_admin()),
        )
        assert consensus_record(a) == consensus_record(b)
        assert b.consensus["H1"].source == "computed" and b.consensus["S7"].inputs == {
            "sa_treatment_minutes_per_week": 30
        }
        assert b.consensus["S10"].not_rated_reason == "No peer specialist records"
        assert b.summary == "Mostly faithful;\x85 see the items"
        for field in ("scale_id", "scale_version", "scale_hash", "review_date", "review_end_date", "review_type",
                      "status", "raters", "strengths", "summary", "recommendations", "final_score"):  # fmt: skip
            assert getattr(a, field) == getattr(b, field), field
        for field in ("name", "provider", "region", "model"):
            assert getattr(a.program, field) == getattr(b.program, field), field
        score_a, score_b = (
            svc.review_json(source, review_id, actor=local_admin()),
            svc.review_json(target, result.review.id, actor=local_admin()),
        )
        for key in ("items", "subscales", "total", "band", "banded_value", "missing", "action_plan"):
            assert score_a[key] == score_b[key], key

        # Importing the same file again changes nothing.
        assert not import_review_file(
            target, read_review_file(path, target.registry), actor=local_admin("importer")
        ).created
    finally:
        source.dispose()


def test_review_json_round_trip_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = fresh_db(tmp_path, "a.db")
    review_id = rich_review(source)
    source.dispose()
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    out = tmp_path / "r.json"
    code, stdout, stderr = fidelity("export", "review", str(review_id), "--out", str(out))
    assert code == 0, stderr
    code, same, _ = fidelity("review", "export", str(review_id), "--format", "json")
    assert code == 0 and json.loads(same) == json.loads(out.read_text(encoding="utf-8"))

    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    code, stdout, stderr = fidelity("review", "import", str(out))
    assert code == 0, stderr
    assert "imported review 1: Riverside ACT Team, dacts 1.0, 2026-03-14, follow-up, final" in stdout
    code, again, _ = fidelity("review", "export", "1")
    assert json.loads(again) == json.loads(out.read_text(encoding="utf-8"))

    code, _, stderr = fidelity("export", "review", "99")
    assert code == 2 and stderr.strip() == "no review with id 99"


# ============================================================================================
# Historical import: clean files
# ============================================================================================


def test_a_clean_csv_is_imported_in_one_go(db: Database) -> None:
    ratings = [4] * 27 + [""]  # S10 not rated
    data = wide_csv(
        [
            row("Riverside ACT", "2021-03-01", ratings, provider="Acme Health"),
            row("Riverside ACT", "3/15/2022", [5] * 28, provider="Acme Health", version=""),
            row("Lakeside ACT", "2022-04-01", [3] * 28, provider="Lake Agency", region=""),
        ]
    )
    frame = read_wide_file(data, "history.csv")
    assert validate_wide(frame, db.registry) == []
    calls: list[tuple[int, int]] = []
    summary = import_wide(
        db,
        frame,
        actor=local_admin("importer"),
        progress=lambda d, t: calls.append((d, t)),
        source="history.csv",
    )
    assert (summary.created, summary.skipped_existing, summary.programs_created) == (3, 0, 2)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert str(summary) == "imported 3 reviews and created 2 programs"

    reviews = {(r.program, r.review_date): r for r in svc.list_reviews(db, actor=local_admin())}
    assert len(reviews) == 3 and {r.status for r in reviews.values()} == {"final"}
    first = reviews[("Riverside ACT", dt.date(2021, 3, 1))]
    assert (first.total_mean, first.total_sum, first.rated, first.items) == (4.0, 108, 27, 28)
    assert first.band == "Full implementation"
    assert first.review_type == "baseline"
    assert reviews[("Riverside ACT", dt.date(2022, 3, 15))].review_type == "follow-up"
    assert reviews[("Lakeside ACT", dt.date(2022, 4, 1))].total_mean == 3.0
    view = svc.get_review(db, first.id, actor=local_admin())
    assert view.consensus["S10"].rating is None and view.consensus["S10"].not_rated_reason == NOT_RATED_REASON
    assert view.consensus["H1"].source == "rated"
    assert (view.program.provider, view.program.region, view.program.model) == ("Acme Health", "North", "ACT")
    lake = svc.find_program(db, "Lakeside ACT", actor=local_admin())
    assert lake is not None and lake.region is None

    trail = svc.audit_trail(db, first.id, actor=local_admin())
    created = next(a for a in trail if a.entity == "review" and a.field == "created")
    assert created.actor == "importer" and created.new_value["imported_from"] == "history.csv row 2"
    assert any(a.field == "status" and a.new_value == "final" for a in trail)
    # Written in one INSERT per review (on PostgreSQL by the driver itself): every item's consensus,
    # all at the import's time, readable as the services' own entries are.
    items = db.registry.get("dacts").item_ids
    assert {a.entity for a in trail if a.entity.startswith("consensus[")} == {
        f"consensus[{i}]" for i in items
    }
    h1 = {a.field: a.new_value for a in trail if a.entity == "consensus[H1]"}
    assert h1 == {"rating": view.consensus["H1"].rating}  # the fields it has: the others are empty
    assert len({a.at for a in trail}) == 1 and all(a.review_id == first.id for a in trail)
    with db.reading() as s:
        program_created = s.scalars(
            select(AuditEntry).where(AuditEntry.program_id == lake.id, AuditEntry.field == "created")
        ).first()
        assert program_created is not None and program_created.actor == "importer"


def test_a_clean_xlsx_with_a_sheet_per_year_is_imported_in_one_go(db: Database) -> None:
    workbook = Workbook()
    first = workbook.active
    first.title = "2019"
    first.append([*META, *DACTS])
    first.append(["Riverside ACT", "Acme", "North", dt.datetime(2019, 5, 2), "dacts", 1.0, *([4] * 28)])
    first.append([None] * 5)  # a blank row in between keeps the row numbers as Excel shows them
    first.append(["Lakeside ACT", "Lake", None, dt.datetime(2019, 6, 3), "DACTS", None, *([3.0] * 28)])
    second = workbook.create_sheet("2020")
    second.append(["program", "date", "scale", *[f"G{i}" for i in range(1, 13)]])  # another layout: GOI
    second.append(["Riverside ACT", "2020-05-04", "goi", *([5] * 12)])
    buffer = io.BytesIO()
    workbook.save(buffer)

    frame = read_wide_file(buffer.getvalue(), "history.xlsx")
    assert sorted(set(frame[historical.SOURCE_COLUMN])) == ["sheet 2019", "sheet 2020"]
    assert frame.index.tolist() == [2, 4, 2]
    summary = import_wide(db, frame, actor=local_admin("importer"), source="history.xlsx")
    assert (summary.created, summary.programs_created) == (3, 2)
    by_key = {(r.program, r.scale_id): r for r in svc.list_reviews(db, actor=local_admin())}
    assert by_key[("Riverside ACT", "dacts")].review_date == dt.date(2019, 5, 2)
    assert by_key[("Lakeside ACT", "dacts")].total_mean == 3.0
    goi = by_key[("Riverside ACT", "goi")]
    assert (goi.total_sum, goi.band, goi.review_type) == (60, "Good implementation", "baseline")
    created = next(a for a in svc.audit_trail(db, goi.id, actor=local_admin()) if a.field == "created")
    assert created.new_value["imported_from"] == "sheet 2020 row 2"


def test_reimporting_the_same_file_creates_no_duplicates(db: Database) -> None:
    data = wide_csv(
        [row("Riverside ACT", "2021-03-01"), row("Lakeside ACT", "2021-04-01", [3] * 27 + [None])]
    )
    assert import_wide(db, read_wide_file(data, "a.csv"), actor=local_admin("importer")).created == 2
    plan = plan_wide(db, read_wide_file(data, "a.csv"), actor=local_admin())
    assert (len(plan.to_create), len(plan.already_stored), plan.programs_new) == (0, 2, [])
    again = import_wide(db, read_wide_file(data, "a.csv"), actor=local_admin("importer"))
    assert (again.created, again.skipped_existing, again.programs_created) == (0, 2, 0)
    assert counts(db) == (2, 2)

    # A file that adds a year to the same history imports only the new row.
    more = wide_csv([row("Riverside ACT", "2021-03-01"), row("Riverside ACT", "2022-03-01", [5] * 28)])
    summary = import_wide(db, read_wide_file(more, "b.csv"), actor=local_admin("importer"))
    assert (summary.created, summary.skipped_existing) == (1, 1)
    assert counts(db) == (3, 2)
    newest = svc.list_reviews(db, actor=local_admin())[0]
    assert (newest.review_date, newest.review_type) == (dt.date(2022, 3, 1), "follow-up")


def test_a_row_that_contradicts_a_stored_review_imports_nothing(db: Database) -> None:
    import_wide(
        db, read_wide_file(wide_csv([row("Riverside ACT", "2021-03-01")]), "a.csv"), actor=local_admin("i")
    )
    changed = [4, 4, 2, *([4] * 25)]  # H3 now 2
    data = wide_csv([row("New Team", "2021-01-01"), row("Riverside ACT", "2021-03-01", changed)])
    with pytest.raises(WideImportError) as caught:
        import_wide(db, read_wide_file(data, "a.csv"), actor=local_admin("i"))
    [problem] = caught.value.row_problems
    assert (problem.row, problem.column) == (3, "H3")
    assert "where H3 is rated 4, not rated 2" in problem.message
    assert counts(db) == (1, 1)  # not even the new team's row


def test_a_draft_on_the_same_day_is_a_problem(db: Database) -> None:
    rich_review(db, program="Riverside ACT", finalize=False)
    data = wide_csv([row("Riverside ACT", "2026-03-14")])
    plan = plan_wide(db, read_wide_file(data, "a.csv"), actor=local_admin())
    assert [(p.row, p.column) for p in plan.problems] == [(2, "date")]
    assert "(review 1, still consensus)" in plan.problems[0].message


def test_a_program_of_another_practice_is_refused(db: Database) -> None:
    svc.create_program(db, "Dual Team", actor=local_admin("t"), model="IDDT")
    plan = plan_wide(
        db, read_wide_file(wide_csv([row("Dual Team", "2021-01-01")]), "a.csv"), actor=local_admin()
    )
    assert [(p.row, p.column, p.message) for p in plan.problems] == [
        (2, "scale", "dacts 1.0 measures ACT, but Dual Team is an IDDT program")
    ]


def test_existing_programs_are_not_changed_and_that_is_said(db: Database) -> None:
    svc.create_program(db, "Riverside ACT", actor=local_admin("t"), provider="Old Agency", model="ACT")
    plan = plan_wide(
        db, read_wide_file(wide_csv([row("Riverside ACT", "2021-01-01")]), "a.csv"), actor=local_admin()
    )
    assert plan.programs_existing == ["Riverside ACT"] and plan.programs_new == []
    assert plan.notes == [
        "row 2: Riverside ACT already exists; its provider 'Acme' (stored: 'Old Agency') "
        "and region 'North' (stored: None) were not changed"
    ]


def test_program_names_that_differ_only_in_case_or_spacing_are_one_program(db: Database) -> None:
    svc.create_program(
        db, "Riverside ACT", actor=local_admin("t"), provider="Acme", region="North", model="ACT"
    )
    data = wide_csv(
        [
            row("riverside  act", "2021-01-01"),
            row("Lakeside ACT", "2021-01-01"),
            row("LAKESIDE act", "2022-01-01"),
            row("lakeside act", "2022-01-01"),  # the same review as the row above
        ]
    )
    frame = read_wide_file(data, "a.csv")
    assert [(p.row, p.column) for p in validate_wide(frame, db.registry)] == [(5, "date")]
    clean = [
        row("riverside  act", "2021-01-01"),
        row("Lakeside ACT", "2021-01-01"),
        row("LAKESIDE act", "2022-01-01"),
    ]
    frame = read_wide_file(wide_csv(clean), "a.csv")
    plan = plan_wide(db, frame, actor=local_admin())
    assert plan.notes == [
        "row 2: 'riverside  act' is taken as the program 'Riverside ACT'",
        "row 4: 'LAKESIDE act' is taken as the program 'Lakeside ACT'",
    ]
    moved = wide_csv([row("Lakeside ACT", "2021-01-01"), row("Lakeside ACT", "2022-01-01", provider="Newco")])
    assert plan_wide(db, read_wide_file(moved, "b.csv"), actor=local_admin()).notes == [
        "Lakeside ACT: the file gives the providers 'Acme', 'Newco'; the new program gets 'Acme'"
    ]
    assert (plan.programs_new, plan.programs_existing) == (["Lakeside ACT"], ["Riverside ACT"])
    summary = import_wide(db, frame, actor=local_admin("importer"))
    assert (summary.created, summary.programs_created) == (3, 1)
    assert sorted(p.name for p in svc.list_programs(db, actor=local_admin())) == [
        "Lakeside ACT",
        "Riverside ACT",
    ]


def test_other_sheets_and_empty_files(db: Database) -> None:
    workbook = Workbook()
    workbook.active.title = "Read me"
    workbook.active.append(["How to fill in this workbook"])
    data = workbook.create_sheet("2019")
    data.append([*META, *DACTS])
    data.append(["Riverside ACT", "Acme", "North", "2019-01-01", "dacts", "1.0", *([4] * 28)])
    workbook.create_sheet("2020").append([*META, *DACTS])  # headings only: nothing to import
    buffer = io.BytesIO()
    workbook.save(buffer)
    frame = read_wide_file(buffer.getvalue(), "h.xlsx")
    assert frame.index.tolist() == [2]
    plan = plan_wide(db, frame, actor=local_admin())
    assert plan.problems == [] and len(plan.to_create) == 1
    assert plan.notes == ["sheet Read me: skipped, its row 1 has none of the headings program, date, scale"]

    with pytest.raises(ValidationProblem) as caught:
        read_wide_file(wide_csv([]), "empty.csv")
    assert caught.value.problems == ["empty.csv: there are no rows below the headings"]
    with pytest.raises(ValidationProblem):
        read_wide_file(b"", "nothing.csv")


def test_the_import_is_one_transaction(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # One review per chunk: the third fails after two chunks are written.
    monkeypatch.setattr(final_batch, "CHUNK_REVIEWS", 1)
    facts = final_batch.final_facts
    calls = {"n": 0}

    def failing_facts(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return facts(*args, **kwargs)

    monkeypatch.setattr(final_batch, "final_facts", failing_facts)
    data = wide_csv([row(f"Team {i}", "2021-01-01") for i in range(4)])
    with pytest.raises(RuntimeError):
        import_wide(db, read_wide_file(data, "a.csv"), actor=local_admin("importer"))
    assert counts(db) == (0, 0)
    with db.reading() as s:
        assert s.scalar(select(func.count(AuditEntry.id))) == 0


def test_lenient_but_exact_cells(db: Database, registry: ScaleRegistry) -> None:
    """US dates, a version a spreadsheet turned into a number, NA for not rated, lower-case
    item headings, semicolon-separated raters, a type column, ; as the delimiter."""
    header = ["Program", "Review Date", "Scale", "Version", "Type", "Raters", *[i.lower() for i in DACTS]]
    ratings: list[Any] = ["4"] * 28
    ratings[0], ratings[1], ratings[2] = "NA", "04", " 5 "  # "4.0" is refused (issue 17): digits only
    data = wide_csv(
        [["Riverside ACT", "3/14/24", "dacts", "1", "Self assessment", "Ann; Bo", *ratings]],
        header,
        delimiter=";",
    )
    frame = read_wide_file(data, "a.csv")
    rows, problems = historical.parse_wide(frame, registry)
    assert problems == []
    [parsed] = rows
    assert parsed.review_date == dt.date(2024, 3, 14)
    assert parsed.scale.version == "1.0"
    assert (parsed.ratings["H1"], parsed.ratings["H2"], parsed.ratings["H3"]) == (None, 4, 5)
    assert parsed.raters == ("Ann", "Bo") and parsed.review_type == "self-assessment"
    summary = import_wide(db, frame, actor=local_admin("importer"))
    view = svc.get_review(db, summary.review_ids[0], actor=local_admin())
    assert view.raters == ["Ann", "Bo"] and view.review_type == "self-assessment"


def test_iddt_published_item_ids_work_as_headings(db: Database, registry: ScaleRegistry) -> None:
    iddt = registry.get("iddt", "1.0")
    headings = [item.published_id or item.id for item in iddt.items]
    data = wide_csv(
        [["Dual Team", "2021-01-01", "iddt", *([4] * len(headings))]], ["program", "date", "scale", *headings]
    )
    summary = import_wide(db, read_wide_file(data, "a.csv"), actor=local_admin("importer"))
    assert svc.list_reviews(db, actor=local_admin())[0].total_sum == 4 * len(headings)
    assert summary.created == 1


def test_wide_export_imports_back_into_a_fresh_database(tmp_path: Path) -> None:
    source = fresh_db(tmp_path, "a.db")
    try:
        rich_review(source)
        data = wide_csv([row("Lakeside ACT", "2021-01-01", [3] * 27 + [None])])
        import_wide(source, read_wide_file(data, "a.csv"), actor=local_admin("importer"))
        wide = wide_table(source, actor=local_admin())
        assert list(wide.columns[:8]) == [
            "program",
            "provider",
            "region",
            "date",
            "scale",
            "version",
            "type",
            "raters",
        ]
        for name, raw in (("w.csv", table_csv(wide)), ("w.xlsx", tables_xlsx({"reviews": wide}))):
            db = fresh_db(tmp_path, f"{name}.db")
            try:
                summary = import_wide(db, read_wide_file(raw, name), actor=local_admin("importer"))
                assert summary.created == 2
                columns = ["program", "review_date", "scale", "version", "item_id", "rating"]
                assert (
                    item_ratings_table(db, actor=local_admin())[columns]
                    .sort_values(["program", "item_id"])
                    .reset_index(drop=True)
                    .equals(
                        item_ratings_table(source, actor=local_admin())[columns]
                        .sort_values(["program", "item_id"])
                        .reset_index(drop=True)
                    )
                )
                got = reviews_table(db, actor=local_admin()).set_index("program")
                want = reviews_table(source, actor=local_admin()).set_index("program")
                for column in ("total_mean", "total_sum", "band", "review_type", "provider", "region"):
                    assert got[column].sort_index().tolist() == want[column].sort_index().tolist(), column
            finally:
                db.dispose()
    finally:
        source.dispose()


def test_template_is_the_header_of_the_wide_layout(dacts: Scale) -> None:
    header = wide_template(dacts).strip().split(",")
    assert header == ["program", "provider", "region", "date", "scale", "version", "type", "raters", *DACTS]


# ============================================================================================
# Historical import: each kind of bad row, reported with its row and column; nothing imported
# ============================================================================================


def _bad(index: int, value: Any) -> list[Any]:
    ratings: list[Any] = [4] * 28
    ratings[index] = value
    return ratings


BAD_FILES = {
    # name: (rows after the good row 2, header, expected (row, column) problems)
    "unknown item column": (
        [[*row("Lakeside ACT", "2021-02-01"), 3]],
        [*META, *DACTS, "H12"],
        [(3, "H12")],
    ),
    "rating out of range": ([row("Lakeside ACT", "2021-02-01", _bad(1, 6))], None, [(3, "H2")]),
    "rating zero": ([row("Lakeside ACT", "2021-02-01", _bad(11, 0))], None, [(3, "O1")]),
    "text rating": ([row("Lakeside ACT", "2021-02-01", _bad(3, "four"))], None, [(3, "H4")]),
    "decimal rating": ([row("Lakeside ACT", "2021-02-01", _bad(4, "3.5"))], None, [(3, "H5")]),
    "unparseable date": ([row("Lakeside ACT", "March 5th 2021")], None, [(3, "date")]),
    "impossible date": ([row("Lakeside ACT", "2/30/2021")], None, [(3, "date")]),
    "day-first date": ([row("Lakeside ACT", "25/12/2021")], None, [(3, "date")]),
    "missing date": ([row("Lakeside ACT", "")], None, [(3, "date")]),
    "unknown scale": ([row("Lakeside ACT", "2021-02-01", scale="dactz")], None, [(3, "scale")]),
    "unknown version": ([row("Lakeside ACT", "2021-02-01", version="9.9")], None, [(3, "version")]),
    "duplicate row": (
        [row("Lakeside ACT", "2021-02-01"), row("Riverside ACT", "2021-01-01")],
        None,
        [(4, "date")],
    ),
    "missing program": ([row("", "2021-02-01")], None, [(3, "program")]),
    "no ratings at all": ([row("Lakeside ACT", "2021-02-01", [""] * 28)], None, [(3, "scale")]),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_each_bad_row_is_reported_with_its_row_and_column_and_nothing_is_imported(
    kind: str, db: Database, tmp_path: Path
) -> None:
    bad_rows, header, expected = BAD_FILES[kind]
    data = wide_csv([row("Riverside ACT", "2021-01-01"), *bad_rows], header)
    frame = read_wide_file(data, "bad.csv")
    problems = validate_wide(frame, db.registry)
    assert [(p.row, p.column) for p in problems] == expected, [str(p) for p in problems]
    with pytest.raises(WideImportError) as caught:
        import_wide(db, frame, actor=local_admin("importer"))
    assert [(p.row, p.column) for p in caught.value.row_problems] == expected
    assert counts(db) == (0, 0)

    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    code, stdout, stderr = fidelity("import", str(path))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert [tuple(re.match(r"row (\d+), column (.+?): ", line).groups()) for line in lines] == [  # type: ignore[union-attr]
        (str(r), c) for r, c in expected
    ]
    assert "nothing was imported" in stdout
    assert counts(db) == (0, 0)


def test_problem_messages_say_what_is_wrong(registry: ScaleRegistry) -> None:
    data = wide_csv(
        [
            row("A", "2021-13-01", _bad(0, 7)),
            row("B", "2021-01-01", _bad(1, "good"), scale="dactz"),
            row("C", "yesterday", version="2"),
        ]
    )
    messages = [str(p) for p in validate_wide(read_wide_file(data, "a.csv"), registry)]
    assert messages == [
        "row 2, column date: '2021-13-01' is not a real date (write it as YYYY-MM-DD (2024-03-14) or M/D/YYYY (3/14/2024))",
        "row 2, column H1: rating 7 is out of range 1..5",
        "row 3, column scale: unknown scale 'dactz' (known scales: dacts, dacts-georgia, dacts-maine, dacts-oregon, fpe, goi, iddt, imr, psh, se)",
        "row 4, column date: cannot read the date 'yesterday': write it as YYYY-MM-DD (2024-03-14) or M/D/YYYY (3/14/2024)",
        "row 4, column version: unknown version '2' of dacts (known versions: 1.0)",
    ]


def test_header_problems_are_reported_on_row_1(registry: ScaleRegistry) -> None:
    data = wide_csv([["Riverside ACT", "dacts", *([4] * 28)]], ["program", "scale", *DACTS])
    problems = validate_wide(read_wide_file(data, "a.csv"), registry)
    assert [(p.row, p.column, p.message) for p in problems] == [
        (1, "date", "missing required column 'date' (the headings are on row 1)")
    ]
    with pytest.raises(WideImportError) as caught:
        read_wide_file(wide_csv([row("A", "2021-01-01")], [*META, *DACTS[:-1], "h1"]), "a.csv")
    assert [(p.row, p.column) for p in caught.value.row_problems] == [(1, "h1")]
    with pytest.raises(WideImportError) as caught:
        read_wide_file(b"program,date,scale\nA,2021-01-01,dacts,4\n", "a.csv")
    assert [(p.row, p.column) for p in caught.value.row_problems] == [(2, "D")]


def test_several_files_are_checked_and_imported_together(tmp_path: Path, db: Database) -> None:
    (tmp_path / "2019.csv").write_bytes(wide_csv([row("Riverside ACT", "2019-01-01")]))
    (tmp_path / "2020.csv").write_bytes(wide_csv([row("Riverside ACT", "2020-01-01", _bad(0, 9))]))
    code, _, stderr = fidelity("import", str(tmp_path / "2019.csv"), str(tmp_path / "2020.csv"))
    assert code == 2
    assert stderr.strip() == f"{tmp_path / '2020.csv'}: row 2, column H1: rating 9 is out of range 1..5"
    assert counts(db) == (0, 0)

    (tmp_path / "2020.csv").write_bytes(wide_csv([row("Riverside ACT", "2020-01-01")]))
    code, stdout, stderr = fidelity("import", str(tmp_path / "2019.csv"), str(tmp_path / "2020.csv"))
    assert code == 0, stderr
    assert stdout.strip().endswith("imported 2 reviews and created 1 program")
    assert counts(db) == (2, 1)


def test_cli_import_dry_run_and_reimport(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(wide_csv([row("Riverside ACT", "2021-01-01"), row("Lakeside ACT", "2021-01-02")]))
    code, stdout, stderr = fidelity("import", str(path), "--dry-run")
    assert code == 0, stderr
    assert "would import 2 reviews (0 already imported) and create 2 programs; nothing written" in stdout
    assert counts(db) == (0, 0)
    code, stdout, stderr = fidelity("import", str(path))
    assert (code, stderr) == (0, "")
    assert stdout.strip().endswith("imported 2 reviews and created 2 programs")
    code, stdout, _ = fidelity("import", str(path))
    assert code == 0 and stdout.strip().endswith("imported 0 reviews; 2 already imported (skipped)")
    assert counts(db) == (2, 2)

    code, _, stderr = fidelity("import", str(tmp_path / "missing.csv"))
    assert code == 2 and stderr.startswith("missing.csv: cannot read file")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf")
    code, _, stderr = fidelity("import", str(tmp_path / "old.xls"))
    assert code == 2 and "save it as .xlsx or CSV" in stderr


def test_cli_exports_tables(tmp_path: Path, db: Database) -> None:
    rich_review(db)
    code, stdout, _ = fidelity("export", "reviews")
    assert code == 0
    parsed = list(csv.DictReader(io.StringIO(stdout)))
    assert len(parsed) == 1 and parsed[0]["program"] == "Riverside ACT Team"
    code, stdout, stderr = fidelity("export", "reviews", "--out", str(tmp_path / "r.xlsx"))
    assert code == 0, stderr
    assert load_workbook(tmp_path / "r.xlsx").sheetnames == ["reviews", "item ratings"]
    code, _, _ = fidelity("export", "items", "-o", str(tmp_path / "i.csv"))
    assert code == 0
    raw = (tmp_path / "i.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its byte-order mark
    assert len(list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))) == 28
    code, _, _ = fidelity("export", "wide", "-o", str(tmp_path / "w.csv"))
    assert code == 0
    code, _, stderr = fidelity("export", "reviews", "--out", str(tmp_path / "r.pdf"))
    assert code == 2 and "write a .csv or an .xlsx file" in stderr
    code, _, stderr = fidelity("export", "reviews", "--program", "Nobody")
    assert code == 2 and stderr.strip() == "no program named 'Nobody'"


# ============================================================================================
# REDCap data dictionary
# ============================================================================================


def _dictionary(text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == list(REDCAP_COLUMNS)  # exactly REDCap's 18 headings, in order
    assert len(header) == 18
    return [dict(zip(header, values, strict=True)) for values in reader]


@pytest.mark.parametrize("scale_id", ["dacts", "iddt", "goi"])
def test_redcap_data_dictionary_structure(scale_id: str, registry: ScaleRegistry) -> None:
    scale = registry.get(scale_id)
    rows = _dictionary(scale_to_redcap(scale))
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == "record_id" and rows[0]["Field Type"] == "text"
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert {r["Form Name"] for r in rows} == {scale_id}
    allowed = {"text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "file", "slider",
               "descriptive", "sql"}  # fmt: skip
    assert {r["Field Type"] for r in rows} <= allowed

    radios = [r for r in rows if r["Field Type"] == "radio"]
    assert [r["Variable / Field Name"] for r in radios] == [i.lower() for i in scale.item_ids]
    for field, item in zip(radios, scale.items, strict=True):
        assert field["Field Label"] == f"{item.id} {item.name}"
        choices = [
            c.strip().split(", ", 1) for c in field["Choices, Calculations, OR Slider Labels"].split(" | ")
        ]
        assert choices == [[str(r), item.anchors[r]] for r in scale.ratings]
        assert field["Field Note"] == item.definition
    section_starts = [r["Section Header"] for r in radios if r["Section Header"]]
    assert section_starts == [sub.name for sub in scale.subscales]

    calcs = {
        r["Variable / Field Name"]: r["Choices, Calculations, OR Slider Labels"]
        for r in rows
        if r["Field Type"] == "calc"
    }
    for sub in scale.subscales:
        assert (
            calcs[f"{sub.id.lower()}_mean"] == "mean(" + ",".join(f"[{i.lower()}]" for i in sub.items) + ")"
        )
    every_item = ",".join(f"[{i.lower()}]" for i in scale.item_ids)
    if scale.scoring.method is TotalMethod.SUM:
        assert calcs["total_sum"] == f"sum({every_item})"
    else:
        assert calcs["total_mean"] == f"mean({every_item})"
    for expression in calcs.values():  # a calc refers only to fields that exist
        assert set(re.findall(r"\[([a-z0-9_]+)\]", expression)) <= set(names)


@pytest.mark.parametrize("scale_id", ["dacts", "iddt", "goi"])
def test_redcap_round_trip_gives_the_scale_back(
    scale_id: str, registry: ScaleRegistry, tmp_path: Path
) -> None:
    scale = registry.get(scale_id)
    back = redcap_to_scale(scale_to_redcap(scale))
    assert (back.id, back.version, back.title, back.source, back.model) == (
        scale.id, scale.version, scale.title, scale.source, scale.model,
    )  # fmt: skip
    assert back.item_ids == scale.item_ids
    assert [i.name for i in back.items] == [i.name for i in scale.items]
    assert [i.anchors for i in back.items] == [i.anchors for i in scale.items]
    assert [i.definition for i in back.items] == [i.definition for i in scale.items]
    assert [i.published_id for i in back.items] == [i.published_id for i in scale.items]
    assert [(s.id, s.name, s.items) for s in back.subscales] == [
        (s.id, s.name, s.items) for s in scale.subscales
    ]
    assert back.scoring.method == scale.scoring.method
    assert back.scoring == scale.scoring  # bands, precision and notes come back too
    assert not any(item.is_computed for item in back.items)  # REDCap radio fields carry no rules
    path = tmp_path / f"{scale_id}.yaml"
    path.write_text(scale_to_yaml(back), encoding="utf-8")
    assert load_scale_file(path) == back


def _scale_with(anchor: str, method: str = "mean_of_subscale_means") -> Scale:
    text = f"""
id: pipes
version: "2"
title: Test scale
source: Test
subscales:
  - {{id: A, name: First part, items: [A1]}}
  - {{id: B, name: Second part, items: [B1]}}
items:
  - {{id: A1, name: One, subscale: A, definition: First, anchors: {{1: "{anchor}", 2: b, 3: c, 4: d, 5: e}}}}
  - {{id: B1, name: Two, subscale: B, definition: Second, anchors: {{1: a, 2: b, 3: c, 4: d, 5: e}}}}
scoring:
  method: {method}
  bands: [{{label: Any}}]
"""
    return parse_scale_text(text)


def test_redcap_anchors_with_pipes_and_commas_stay_parseable() -> None:
    scale = _scale_with("none, or hardly any | really")
    rows = _dictionary(scale_to_redcap(scale))
    a1 = next(r for r in rows if r["Variable / Field Name"] == "a1")
    choices = a1["Choices, Calculations, OR Slider Labels"].split(" | ")
    assert len(choices) == 5 and choices[0] == "1, none, or hardly any / really"
    total = next(r for r in rows if r["Variable / Field Name"] == "total_mean")
    assert total["Choices, Calculations, OR Slider Labels"] == "mean([a_mean],[b_mean])"
    back = redcap_to_scale(scale_to_redcap(scale))
    assert back.item("A1").anchors[1] == "none, or hardly any / really"
    assert back.scoring.method is TotalMethod.MEAN_OF_SUBSCALE_MEANS


def test_a_data_dictionary_made_elsewhere_needs_an_id_and_version() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REDCAP_COLUMNS)
    blank = [""] * 12
    writer.writerow(["study_id", "fidelity", "", "text", "Study ID", "", "", *blank[:11]])
    writer.writerow(
        ["q1", "fidelity", "Staffing", "radio", "Q1 Caseload", "1, Poor | 2, Fair | 3, Good", "", *blank[:11]]
    )
    writer.writerow(
        ["q2", "fidelity", "", "radio", "Q2 Meetings", "1, Poor | 2, Fair | 3, Good", "", *blank[:11]]
    )
    writer.writerow(
        [
            "q3",
            "fidelity",
            "Services",
            "dropdown",
            "Outreach",
            "1, Poor | 2, Fair | 3, Good",
            "Note",
            *blank[:11],
        ]
    )
    writer.writerow(["score", "fidelity", "", "calc", "Score", "sum([q1],[q2],[q3])", "", *blank[:11]])
    text = buffer.getvalue()
    with pytest.raises(RedcapError) as caught:
        redcap_to_scale(text)
    assert caught.value.problems == [
        "the data dictionary does not say which scale it is: give the scale id",
        "the data dictionary does not say which version it is: give the version",
    ]
    scale = redcap_to_scale(text, scale_id="local", version="0.1")
    assert scale.item_ids == ["Q1", "Q2", "Q3"]
    assert [i.name for i in scale.items] == ["Caseload", "Meetings", "Outreach"]
    assert [(s.id, s.name, s.items) for s in scale.subscales] == [
        ("staffing", "Staffing", ["Q1", "Q2"]),
        ("services", "Services", ["Q3"]),
    ]
    assert (scale.rating.min, scale.rating.max) == (1, 3)
    assert scale.scoring.method is TotalMethod.SUM
    assert scale.item("Q3").definition == "Note"


def test_a_file_that_is_not_a_data_dictionary_is_refused() -> None:
    with pytest.raises(RedcapError) as caught:
        redcap_to_scale("name,type\nq1,radio\n")
    assert caught.value.problems[0].startswith("row 1: not a REDCap data dictionary")


def test_cli_redcap_round_trip(tmp_path: Path) -> None:
    dd = tmp_path / "dacts.csv"
    code, stdout, stderr = fidelity("scales", "export", "dacts@1.0", "--format", "redcap", "--out", str(dd))
    assert code == 0, stderr
    yaml_path = tmp_path / "dacts-1.0.yaml"
    code, _, stderr = fidelity("scales", "from-redcap", str(dd), "--out", str(yaml_path))
    assert code == 0, stderr
    back = load_scale_file(yaml_path)
    assert back.item_ids == DACTS
    code, stdout, _ = fidelity("scales", "export", "dacts", "--format", "redcap")
    assert stdout == dd.read_bytes().decode("utf-8").replace("\r\n", "\n")  # CliRunner shows \r\n as \n
    code, _, stderr = fidelity("scales", "export", "dacts@9", "--format", "redcap")
    assert code == 2 and stderr.strip() == "unknown scale version 'dacts' 9 (known versions: 1.0)"
    code, _, stderr = fidelity("scales", "from-redcap", str(dd), "--id", "Bad Id!")
    assert code == 2 and "id" in stderr


# ============================================================================================
# FHIR Questionnaire and QuestionnaireResponse
# ============================================================================================


@pytest.mark.parametrize("scale_id", ["dacts", "iddt", "goi"])
def test_fhir_questionnaire_is_valid_r4(scale_id: str, registry: ScaleRegistry) -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire

    scale = registry.get(scale_id)
    resource = scale_to_questionnaire(scale)
    assert validate_resource(resource) == []
    model = Questionnaire.model_validate(resource)  # the R4-compatible models of fhir.resources
    assert (model.url, model.version, model.status) == (f"urn:ebp-fidelity:scale:{scale_id}", "1.0", "active")
    assert model.title == scale.title
    assert [g.text for g in model.item] == [s.name for s in scale.subscales]
    questions = [q for g in model.item for q in g.item]
    assert [q.linkId for q in questions] == scale.item_ids
    for question in questions:
        item = scale.item(question.linkId)
        assert question.type == "choice" and question.text == item.name
        options = question.answerOption
        assert [o.valueCoding.code for o in options] == [str(r) for r in scale.ratings]
        assert [o.valueCoding.display for o in options] == [item.anchors[r] for r in scale.ratings]
        for option, rating in zip(options, scale.ratings, strict=True):
            [extension] = option.extension
            assert (extension.url, float(extension.valueDecimal)) == (ORDINAL_VALUE, rating)
        assert question.item[0].type == "display" and question.item[0].text == item.definition


def test_fhir_questionnaire_response_of_a_review(db: Database) -> None:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    review_id = rich_review(db)
    scale = db.registry.get("dacts", "1.0")
    questionnaire = scale_to_questionnaire(scale)
    data = svc.review_json(db, review_id, actor=local_admin())
    resource = review_to_questionnaire_response(data, scale)
    assert validate_resource(resource, questionnaire) == []
    model = QuestionnaireResponse.model_validate(resource)
    assert model.questionnaire == "urn:ebp-fidelity:scale:dacts|1.0"
    assert model.status == "completed"
    assert model.subject.display == "Riverside ACT Team"
    assert model.author.display == "Ann Lee, Bo Chen"
    assert str(model.authored) == "2026-03-14"
    answers = {q.linkId: q.answer[0].valueCoding for g in model.item for q in g.item}
    assert set(answers) == set(DACTS) - {"S10"}  # not rated: no answer
    for item_id, coding in answers.items():
        assert int(coding.code) == data["items"][item_id]["rating"]
        assert coding.display == scale.item(item_id).anchors[int(coding.code)]

    draft = review_to_questionnaire_response(
        svc.review_json(db, rich_review(db, program="B", finalize=False), actor=local_admin()), scale
    )
    assert draft["status"] == "in-progress" and validate_resource(draft, questionnaire) == []


def test_fhir_validation_is_not_vacuous(dacts: Scale) -> None:
    questionnaire = scale_to_questionnaire(dacts)
    broken = json.loads(json.dumps(questionnaire))
    broken["status"] = "published"
    broken["item"][0]["item"][0]["type"] = "coding"  # R5's name, not R4's
    del broken["item"][1]["item"][0]["linkId"]
    problems = validate_resource(broken)
    assert any(p.startswith("status:") for p in problems)
    assert any("not an R4 item type" in p for p in problems)
    assert any("linkId" in p for p in problems)
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "urn:ebp-fidelity:scale:dacts|1.0",
        "status": "completed",
        "item": [{"linkId": "H1", "answer": [{"valueCoding": {"system": "x", "code": "7"}}]}],
    }
    assert validate_resource(response, questionnaire) == [
        "item[0].answer[0]: not one of the question's answerOptions"
    ]


def test_cli_fhir_exports(db: Database, tmp_path: Path) -> None:
    review_id = rich_review(db)
    code, stdout, stderr = fidelity("scales", "export", "dacts@1.0", "--format", "fhir")
    assert code == 0, stderr
    questionnaire = json.loads(stdout)
    assert questionnaire["resourceType"] == "Questionnaire" and validate_resource(questionnaire) == []
    out = tmp_path / "qr.json"
    code, _, stderr = fidelity(
        "review", "export", str(review_id), "--format", "fhir-response", "--out", str(out)
    )
    assert code == 0, stderr
    response = json.loads(out.read_text(encoding="utf-8"))
    assert validate_resource(response, questionnaire) == []
    code, _, stderr = fidelity("review", "export", "42", "--format", "fhir-response")
    assert code == 2 and stderr.strip() == "no review with id 42"
