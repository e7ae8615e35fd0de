"""The one way to make a program and the one way to store a review final at once
(services.programs.new_program, services.lifecycle.store_final_review), as importers use them."""

from __future__ import annotations

import datetime as dt

import pytest

from services import reviews as svc
from services.access import local_admin
from services.audit import AuditLog
from services.database import Database
from services.errors import ValidationProblem
from services.lifecycle import ConsensusEntry, FinalReviewRecord, store_final_review
from services.programs import new_program

ADMIN = local_admin("importer")


def test_a_program_and_a_final_review_stored_with_their_audit_rows(db: Database) -> None:
    scale = db.registry.get("dacts", "1.0")
    items = {item.id: ConsensusEntry(not_rated_reason="not in the file") for item in scale.items}
    first = scale.items[0]
    items[first.id] = ConsensusEntry(rating=4, rating_source="rated", evidence="chart review")
    with db.writing() as s:
        log = AuditLog(s, ADMIN.name)
        program = new_program(s, log, " Lakeside ACT ", provider="Lakeside", model="act", imported_from="f.xlsx")
        record = FinalReviewRecord(
            review_date=dt.date(2025, 6, 1),
            review_end_date=None,
            review_type="baseline",
            raters=["ana"],
            items=items,
            imported_from="f.xlsx row 2",
        )
        review_id = store_final_review(s, log, program, scale, record).id
    view = svc.get_review(db, review_id, actor=ADMIN)
    assert view.is_final and view.program.name == "Lakeside ACT" and view.program.model == "ACT"
    assert view.raters == ["ana"] and view.consensus[first.id].rating == 4
    assert view.consensus[first.id].evidence == "chart review"
    assert view.final_score is not None and view.final_score["total"]["rated"] == 1
    history = svc.audit_trail(db, review_id, actor=ADMIN)
    created = next(r for r in history if r.field == "created")
    assert created.new_value["imported_from"] == "f.xlsx row 2"
    assert [r.new_value for r in history if r.field == "status"] == ["consensus", "final"]
    programs = svc.program_audit_trail(db, view.program.id, actor=ADMIN)
    assert [r.new_value["imported_from"] for r in programs if r.field == "created"] == ["f.xlsx"]


def test_a_record_missing_an_item_or_a_duplicate_program_is_refused(db: Database) -> None:
    scale = db.registry.get("dacts", "1.0")
    svc.create_program(db, "Lakeside ACT", actor=ADMIN)
    with pytest.raises(ValidationProblem, match="already exists"), db.writing() as s:
        new_program(s, AuditLog(s, ADMIN.name), "Lakeside ACT")
    with pytest.raises(ValidationProblem, match="no consensus in the record"), db.writing() as s:
        log = AuditLog(s, ADMIN.name)
        program = new_program(s, log, "Hillside ACT")
        record = FinalReviewRecord(dt.date(2025, 6, 1), None, "baseline", ["ana"], {}, "f.xlsx")
        store_final_review(s, log, program, scale, record)
    assert svc.find_program(db, "Hillside ACT", actor=ADMIN) is None  # nothing was written
