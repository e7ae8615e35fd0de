"""Outcomes on SQLite and PostgreSQL: the seeded measures, values entered and audited, who may
enter them, and the import: every problem named by row and column with nothing written (CSV
and XLSX), a clean file stored once, a changed value audited."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from services import reviews as svc
from services import users
from services.access import Actor, local_admin
from services.database import Database
from services.errors import AccessDenied, ValidationProblem
from services.outcome_import import WideImportError, import_outcomes, plan_outcomes, read_outcome_file
from services.outcomes import Period, PeriodKind, list_measures, list_values, save_measure, save_values
from storage.models import AuditEntry, OutcomeValue

ADMIN = local_admin("admin")
MARCH = Period(dt.date(2025, 3, 1), PeriodKind.MONTH)
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def programs(db: Database) -> dict[str, int]:
    made = {}
    for name in ("Riverside ACT Team", "Hillside ACT Team"):
        made[name] = svc.create_program(db, name, model="ACT", actor=ADMIN).id
    return made


def _user(db: Database, email: str, role: str, program_ids: list[int] = []) -> Actor:  # noqa: B006
    users.add_user(db, email, role=role, program_ids=program_ids, actor=ADMIN)
    found = users.actor_for_email(db, email)
    assert found is not None
    return found


def _counts(db: Database) -> tuple[int, int]:
    with db.reading() as s:
        values = s.scalar(select(func.count()).select_from(OutcomeValue)) or 0
        audit = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return values, audit


def test_the_default_measures_are_seeded(db: Database) -> None:
    measures = list_measures(db, actor=ADMIN)
    assert [m.key for m in measures] == [
        "hospital_days", "admissions", "er_visits", "housed_pct", "employed_pct", "retention_pct",
        "jail_days", "caseload",
    ]  # fmt: skip
    hospital = measures[0]
    assert (hospital.unit.value, hospital.better.value) == ("days", "lower")
    assert measures[3].label == "Housing stability (% housed) (percent, higher is better)"


def test_values_are_saved_changed_removed_and_audited(db: Database, programs: dict[str, int]) -> None:
    rid = programs["Riverside ACT Team"]
    assert save_values(db, rid, MARCH, {"hospital_days": 42, "housed_pct": 88.5}, actor=ADMIN) == 2
    assert save_values(db, rid, MARCH, {"hospital_days": 42}, actor=ADMIN) == 0  # unchanged: no audit row
    assert save_values(db, rid, MARCH, {"hospital_days": 40, "housed_pct": None}, actor=ADMIN) == 2
    stored = list_values(db, actor=ADMIN, program="Riverside ACT Team")
    assert [(v.measure, v.period.label, v.value, v.updated_by) for v in stored] == [
        ("hospital_days", "2025-03", 40.0, "admin")
    ]
    with db.reading() as s:
        rows = s.execute(
            select(
                AuditEntry.entity,
                AuditEntry.field,
                AuditEntry.old_value,
                AuditEntry.new_value,
                AuditEntry.program_id,
            )
            .where(AuditEntry.entity == "outcome_value")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("outcome_value", "hospital_days 2025-03", None, "42.0", rid),
        ("outcome_value", "housed_pct 2025-03", None, "88.5", rid),
        ("outcome_value", "hospital_days 2025-03", "42.0", "40.0", rid),
        ("outcome_value", "housed_pct 2025-03", "88.5", None, rid),
    ]


def test_an_impossible_value_saves_nothing(db: Database, programs: dict[str, int]) -> None:
    rid = programs["Riverside ACT Team"]
    with pytest.raises(ValidationProblem) as caught:
        save_values(db, rid, MARCH, {"hospital_days": 3, "employed_pct": 130, "jail_days": -1}, actor=ADMIN)
    assert caught.value.problems == [
        "Employment (% working): 130 percent is impossible: a percentage is at most 100",
        "Jail days: -1 days is impossible: a value cannot be negative",
    ]
    assert _counts(db)[0] == 0


def test_who_may_enter_outcomes(db: Database, programs: dict[str, int]) -> None:
    rid, hid = programs["Riverside ACT Team"], programs["Hillside ACT Team"]
    manager = _user(db, "pm@agency.org", "program_manager", [rid])
    reviewer = _user(db, "rev@agency.org", "reviewer")
    assert save_values(db, rid, MARCH, {"caseload": 80}, actor=manager) == 1
    with pytest.raises(AccessDenied, match="not one of your programs"):
        save_values(db, hid, MARCH, {"caseload": 80}, actor=manager)
    with pytest.raises(AccessDenied, match="a reviewer may not enter or import outcomes"):
        save_values(db, rid, MARCH, {"caseload": 81}, actor=reviewer)
    with pytest.raises(AccessDenied, match="may not add or change outcome measures"):
        save_measure(db, actor=manager, key="x", name="X", unit="count", better="lower")
    save_values(db, hid, MARCH, {"caseload": 60}, actor=ADMIN)
    # Reading: a manager sees their own programs' values, a reviewer every program's.
    assert {v.program for v in list_values(db, actor=manager)} == {"Riverside ACT Team"}
    assert {v.program for v in list_values(db, actor=reviewer)} == {"Riverside ACT Team", "Hillside ACT Team"}


def test_measures_are_added_and_edited_by_an_admin(db: Database, programs: dict[str, int]) -> None:
    added = save_measure(
        db, actor=ADMIN, key="crisis_calls", name="Crisis calls", unit="count", better="lower"
    )
    assert added.key in [m.key for m in list_measures(db, actor=ADMIN)]
    with pytest.raises(ValidationProblem, match="exists already"):
        save_measure(db, actor=ADMIN, key="crisis_calls", name="Other", unit="count", better="lower")
    save_values(db, programs["Riverside ACT Team"], MARCH, {"crisis_calls": 12}, actor=ADMIN)
    with pytest.raises(ValidationProblem, match="its key and unit cannot change"):
        save_measure(db, actor=ADMIN, key="crisis_calls", name="Crisis calls", unit="percent", better="lower",
                     measure_id=added.id)  # fmt: skip
    renamed = save_measure(
        db, actor=ADMIN, key="crisis_calls", name="Crisis line calls", unit="count", better="lower",
        active=False, measure_id=added.id,
    )  # fmt: skip
    assert renamed.name == "Crisis line calls" and not renamed.active
    assert "crisis_calls" not in [m.key for m in list_measures(db, actor=ADMIN)]  # no longer tracked
    with db.reading() as s:
        fields = set(s.scalars(select(AuditEntry.field).where(AuditEntry.entity == "outcome_measure")))
    assert {"crisis_calls.name", "crisis_calls.active", "crisis_calls.unit"} <= fields


# ---- the import -------------------------------------------------------------------------------

BAD_ROWS = [
    ["program", "period", "hospital_days", "Housing stability (% housed)", "jail_days"],
    ["Riverside ACT Team", "2025-03", "12", "91", "0"],
    ["Riverside ACT Team", "2025-13", "-4", "101", ""],
    ["Nowhere Team", "2025-Q2", "3", "", "x"],
    ["hillside act team", "2025-04", "7", "88", "1"],
]
BAD_PROBLEMS = [
    "row 3, column period: '2025-13' is not a period: write a month (2025-03) or a quarter (2025-Q1)",
    "row 3, column hospital_days: -4 days is impossible: a value cannot be negative",
    "row 3, column Housing stability (% housed): 101 percent is impossible: a percentage is at most 100",
    "row 4, column jail_days: 'x' is not a number",
]


def _csv(rows: list[list[object]]) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([None if c == "" else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(
    db: Database, programs: dict[str, int], kind: str
) -> None:
    raw = _csv(BAD_ROWS) if kind == "csv" else _xlsx(BAD_ROWS)
    frame = read_outcome_file(raw, f"outcomes.{kind}")
    before = _counts(db)
    plan = plan_outcomes(db, frame, actor=ADMIN, today=TODAY)
    assert [str(p) for p in plan.problems] == BAD_PROBLEMS
    with pytest.raises(WideImportError) as caught:
        import_outcomes(db, frame, actor=ADMIN, today=TODAY)
    assert caught.value.problems == BAD_PROBLEMS
    assert _counts(db) == before  # no value and no audit row


def test_unknown_programs_and_columns_are_named(db: Database, programs: dict[str, int]) -> None:
    rows = [["program", "period", "hospital_days", "smiles"], ["Nowhere Team", "2025-03", "1", "2"]]
    frame = read_outcome_file(_csv(rows), "o.csv")
    with pytest.raises(WideImportError) as caught:
        import_outcomes(db, frame, actor=ADMIN, today=TODAY)
    assert caught.value.problems[0].startswith(
        "row 1, column smiles: 'smiles' is not a measure (the measures are: "
    )
    rows = [["program", "period", "hospital_days"], ["Nowhere Team", "2025-03", "1"], ["Riverside ACT Team", "2025-03", "1"],
            ["Riverside ACT Team", "2025-03", "2"]]  # fmt: skip
    with pytest.raises(WideImportError) as caught:
        import_outcomes(db, read_outcome_file(_csv(rows), "o.csv"), actor=ADMIN, today=TODAY)
    assert caught.value.problems == [
        "row 2, column program: no program named 'Nowhere Team'",
        "row 4, column hospital_days: Riverside ACT Team 2025-03 hospital_days is given twice (first in row 3)",
    ]
    assert _counts(db)[0] == 0


def test_a_clean_file_is_imported_once_and_a_change_is_audited(
    db: Database, programs: dict[str, int], tmp_path: Path
) -> None:
    good = [list(row) for i, row in enumerate(BAD_ROWS) if i in (0, 1, 4)]
    path = tmp_path / "outcomes.xlsx"
    path.write_bytes(_xlsx(good))
    first = import_outcomes(db, read_outcome_file(path), actor=ADMIN, today=TODAY)
    assert (first.new, first.changed, first.unchanged) == (6, 0, 0)
    assert first.programs == ("Riverside ACT Team", "hillside act team")  # as the file names them
    again = import_outcomes(db, read_outcome_file(path), actor=ADMIN, today=TODAY)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 6)
    good[1][2] = "15"
    changed = import_outcomes(db, read_outcome_file(_csv(good), "o.csv"), actor=ADMIN, today=TODAY)
    assert (changed.new, changed.changed, changed.unchanged) == (0, 1, 5)
    stored = {(v.program, v.measure): v.value for v in list_values(db, actor=ADMIN)}
    assert stored[("Riverside ACT Team", "hospital_days")] == 15.0
    assert stored[("Hillside ACT Team", "housed_pct")] == 88.0
    with db.reading() as s:
        last = s.execute(
            select(AuditEntry.field, AuditEntry.old_value, AuditEntry.new_value)
            .where(AuditEntry.entity == "outcome_value")
            .order_by(AuditEntry.id.desc())
        ).first()
    assert tuple(last or ()) == ("hospital_days 2025-03", "12.0", "15.0")


def test_a_program_manager_imports_only_their_own_programs(db: Database, programs: dict[str, int]) -> None:
    manager = _user(db, "pm@agency.org", "program_manager", [programs["Riverside ACT Team"]])
    good = [list(row) for i, row in enumerate(BAD_ROWS) if i in (0, 1, 4)]
    frame = read_outcome_file(_csv(good), "o.csv")
    with pytest.raises(WideImportError) as caught:
        import_outcomes(db, frame, actor=manager, today=TODAY)
    assert caught.value.problems == [
        "row 3, column program: hillside act team is not one of your programs: "
        "you may enter outcomes for your own only"
    ]
    assert _counts(db)[0] == 0
    own = read_outcome_file(_csv(good[:2]), "o.csv")
    assert import_outcomes(db, own, actor=manager, today=TODAY).new == 3
