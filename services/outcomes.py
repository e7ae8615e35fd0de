"""Outcomes beside fidelity: the measures the agency tracks (an agency admin adds and edits
them) and each program's values per month or quarter (entered on the Outcomes page, imported
by services.outcome_import, listed by `fidelity outcomes list`).

Access (domain.access): everyone who sees a program sees its outcomes (a program manager their
own programs'); agency admins enter and import outcomes for every program, program managers
for their own programs only; reviewers only read them. Only agency admins change the measures.
Every change of a value or a measure is in the audit log (entity `outcome_value` with the
program's id, field "<measure key> <period>"; entity `outcome_measure`, field "<key>.<what>").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import checks
from domain.outcomes import Better, Period, PeriodKind, Unit, check_measure_key, check_value, parse_period
from domain.vocabulary import NAME_LENGTH
from services import access
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import NotFound, ValidationProblem
from services.rows import actor_name, load_program
from storage.models import OutcomeMeasure, OutcomeValue, Program

__all__ = [
    "Better",
    "MeasureView",
    "OutcomeValueView",
    "Period",
    "PeriodKind",
    "Unit",
    "list_measures",
    "list_values",
    "parse_period",
    "save_measure",
    "save_values",
    "store_value",
    "stored_values",
]


@dataclass(frozen=True)
class MeasureView:
    id: int
    key: str
    name: str
    unit: Unit
    better: Better
    position: int
    active: bool

    @property
    def label(self) -> str:
        """ "Psychiatric hospital days (days, lower is better)"."""
        better = "" if self.better is Better.NEITHER else f", {self.better.value} is better"
        return f"{self.name} ({self.unit.value}{better})"


@dataclass(frozen=True)
class OutcomeValueView:
    program_id: int
    program: str
    measure: str  # key
    period: Period
    value: float
    updated_at: dt.datetime
    updated_by: str

    def as_dict(self) -> dict[str, object]:
        return {
            "program": self.program,
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "measure": self.measure,
            "value": self.value,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def measure_view(row: OutcomeMeasure) -> MeasureView:
    return MeasureView(
        row.id, row.key, row.name, Unit(row.unit), Better(row.better), row.position, row.active
    )


# ---- measures ---------------------------------------------------------------------------------


def list_measures(db: Database, *, actor: Actor, include_inactive: bool = False) -> list[MeasureView]:
    """The measures in the agency's order (those still tracked, unless `include_inactive`)."""
    access.require(actor, Action.READ_OUTCOMES)
    with db.reading() as s:
        return measures_in(s, include_inactive=include_inactive)


def measures_in(s: Session, *, include_inactive: bool = False) -> list[MeasureView]:
    query = select(OutcomeMeasure).order_by(OutcomeMeasure.position, OutcomeMeasure.id)
    if not include_inactive:
        query = query.where(OutcomeMeasure.active.is_(True))
    return [measure_view(m) for m in s.scalars(query)]


def save_measure(
    db: Database,
    *,
    actor: Actor,
    key: str,
    name: str,
    unit: Unit | str,
    better: Better | str,
    active: bool = True,
    measure_id: int | None = None,
) -> MeasureView:
    """Add a measure (`measure_id` None) or change one. A measure with values keeps its key and
    unit (its values were checked and are read in them): add a new measure instead."""
    who = actor_name(actor, Action.MANAGE_MEASURES)
    key = check_measure_key(key)
    name = checks.required_name(name, "a measure's name", NAME_LENGTH)
    try:
        unit, better = Unit(unit), Better(better)
    except ValueError:
        raise ValidationProblem(
            f"unit is one of {', '.join(u.value for u in Unit)}; better is one of "
            f"{', '.join(b.value for b in Better)}"
        ) from None
    now = dt.datetime.now(dt.UTC)
    with db.writing() as s:
        log = AuditLog(s, who, at=now)
        clash = s.scalars(
            select(OutcomeMeasure).where(
                (func.lower(OutcomeMeasure.key) == key.lower())
                | (func.lower(OutcomeMeasure.name) == name.lower())
            )
        ).all()
        if any(m.id != measure_id for m in clash):
            raise ValidationProblem(f"a measure with the key {key!r} or the name {name!r} exists already")
        if measure_id is None:
            position = (s.scalar(select(func.max(OutcomeMeasure.position))) or 0) + 1
            row = OutcomeMeasure(
                key=key,
                name=name,
                unit=unit.value,
                better=better.value,
                position=position,
                active=active,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            old: dict[str, object] = {}
        else:
            found = s.get(OutcomeMeasure, measure_id)
            if found is None:
                raise NotFound(f"no outcome measure with id {measure_id}")
            row = found
            old = {
                "key": row.key,
                "name": row.name,
                "unit": row.unit,
                "better": row.better,
                "active": row.active,
            }
            has_values = s.scalar(select(func.count()).where(OutcomeValue.measure_id == row.id)) or 0
            if has_values and (key != row.key or unit.value != row.unit):
                raise ValidationProblem(
                    f"{row.name} has {has_values} value(s): its key and unit cannot change "
                    "(add a new measure)"
                )
            row.key, row.name, row.unit, row.better, row.active = key, name, unit.value, better.value, active
            row.updated_at = now
        new = {"key": key, "name": name, "unit": unit.value, "better": better.value, "active": active}
        for what, value in new.items():
            log("outcome_measure", f"{key}.{what}", old.get(what), value)
        s.flush()
        return measure_view(row)


# ---- values -----------------------------------------------------------------------------------


def save_values(
    db: Database,
    program_id: int,
    period: Period,
    values: Mapping[str, float | None],
    *,
    actor: Actor,
) -> int:
    """Set a program's values of one period (measure key -> value; None removes the value), in
    one transaction, each change audited; returns how many values changed. Every value is
    checked first: one impossible value and nothing is saved."""
    who = actor_name(actor, Action.ENTER_OUTCOMES)
    access.require_program(actor, Action.ENTER_OUTCOMES, program_id)
    period = parse_period(period.label)
    with db.writing() as s:
        program = load_program(s, program_id)
        measures = {m.key: m for m in measures_in(s, include_inactive=True)}
        problems: list[str] = []
        checked: dict[str, float | None] = {}
        for key, value in values.items():
            measure = measures.get(key)
            if measure is None:
                problems.append(f"{key!r} is not an outcome measure")
            elif value is None:
                checked[key] = None
            else:
                try:
                    checked[key] = check_value(float(value), measure.unit)
                except (ValidationProblem, ValueError) as exc:
                    reason = (
                        exc.problems[0]
                        if isinstance(exc, ValidationProblem)
                        else f"{value!r} is not a number"
                    )
                    problems.append(f"{measure.name}: {reason}")
        if problems:
            raise ValidationProblem(problems)
        log = AuditLog(s, who, program_id=program.id)
        changed = 0
        for key, value in checked.items():
            changed += store_value(s, log, program.id, measures[key].id, key, period, value)
        return changed


StoredValues = dict[tuple[int, int, str, dt.date], OutcomeValue]
"""Stored rows by (program id, measure id, period kind, period start): `stored_values`."""


def stored_values(s: Session, program_ids: Sequence[int]) -> StoredValues:
    """These programs' stored values, read at once (an import then looks each one up here)."""
    found: StoredValues = {}
    ids = sorted(set(program_ids))
    for start in range(0, len(ids), 500):
        query = select(OutcomeValue).where(OutcomeValue.program_id.in_(ids[start : start + 500]))
        for row in s.scalars(query):
            found[(row.program_id, row.measure_id, row.period_kind, row.period_start)] = row
    return found


def store_value(
    s: Session,
    log: AuditLog,
    program_id: int,
    measure_id: int,
    key: str,
    period: Period,
    value: float | None,
    stored: StoredValues | None = None,
) -> int:
    """Insert, change or (value None) remove one stored value, audited; 1 when it changed.
    `stored` (from `stored_values`, kept up to date here) saves looking the row up."""
    where = (program_id, measure_id, period.kind.value, period.start)
    if stored is not None:
        row = stored.get(where)
    else:
        row = s.scalars(
            select(OutcomeValue).where(
                OutcomeValue.program_id == program_id,
                OutcomeValue.measure_id == measure_id,
                OutcomeValue.period_kind == period.kind.value,
                OutcomeValue.period_start == period.start,
            )
        ).one_or_none()
    old = None if row is None else row.value
    if old == value:
        return 0
    log.program_id = program_id
    log("outcome_value", f"{key} {period.label}", old, value)
    if value is None:
        assert row is not None
        s.delete(row)
        if stored is not None:
            stored.pop(where, None)
    elif row is None:
        row = OutcomeValue(
            program_id=program_id,
            measure_id=measure_id,
            period_kind=period.kind.value,
            period_start=period.start,
            value=value,
            updated_at=log.at,
            updated_by=log.actor,
        )
        s.add(row)
        if stored is not None:
            stored[where] = row
    else:
        row.value, row.updated_at, row.updated_by = value, log.at, log.actor
    return 1


def list_values(
    db: Database,
    *,
    actor: Actor,
    program_id: int | None = None,
    program: str | None = None,
    measures: Sequence[str] = (),
) -> list[OutcomeValueView]:
    """The stored values the actor may see, by program, period and measure order; narrowed to
    one program (by id or exact name) and some measure keys."""
    visible = access.program_filter(actor, Action.READ_OUTCOMES)
    query = (
        select(OutcomeValue, Program.name, OutcomeMeasure.key)
        .join(Program, Program.id == OutcomeValue.program_id)
        .join(OutcomeMeasure, OutcomeMeasure.id == OutcomeValue.measure_id)
        .order_by(Program.name, OutcomeValue.period_start, OutcomeValue.period_kind, OutcomeMeasure.position)
    )
    if visible is not None:
        query = query.where(visible)
    with db.reading() as s:
        if program is not None:
            found = s.scalar(select(Program.id).where(Program.name == program.strip()))
            if found is None or (visible is not None and found not in actor.program_ids):
                raise NotFound(f"no program named {program!r} that you may see")
            program_id = found
        if program_id is not None:
            query = query.where(OutcomeValue.program_id == program_id)
        if measures:
            query = query.where(OutcomeMeasure.key.in_(list(measures)))
        return [
            OutcomeValueView(
                row.program_id,
                name,
                key,
                Period(row.period_start, PeriodKind(row.period_kind)),
                row.value,
                row.updated_at,
                row.updated_by,
            )
            for row, name, key in s.execute(query)
        ]
