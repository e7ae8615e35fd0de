"""Importing outcomes from CSV or XLSX, all or nothing, as the historical import does: the file is
read by the same reader (exchange.historical.read_wide_file: size limits, sheets, headings),
every row is checked (exchange.outcomes: the period, each value against its measure's unit),
then against the database (the program exists, and the actor may enter its outcomes); any
problem is reported as "row N, column X: message" and nothing is written. A clean file is
stored in one transaction, each changed value audited; importing it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.historical import RowProblem, WideImportError, read_wide_file
from exchange.historical.layout import name_key
from exchange.outcomes import MeasureColumn, OutcomeRow, parse_outcomes
from services import access
from services.access import Action, Actor, Scope
from services.audit import BufferedAuditLog
from services.database import Database
from services.outcomes import measures_in, store_value, stored_values
from services.rows import actor_name
from storage.models import OutcomeMeasure, OutcomeValue, Program

__all__ = ["OutcomeImport", "WideImportError", "import_outcomes", "plan_outcomes", "read_outcome_file"]

read_outcome_file = read_wide_file  # the same reading, limits and structural checks


@dataclass(frozen=True)
class OutcomeImport:
    """What an import does (`plan_outcomes`) or did (`import_outcomes`): values new, changed,
    and already stored as the file gives them, over how many rows and programs."""

    rows: int
    programs: tuple[str, ...]
    new: int
    changed: int
    unchanged: int
    problems: tuple[RowProblem, ...] = field(default=())

    @property
    def text(self) -> str:
        return (
            f"{self.rows} row(s) of {len(self.programs)} program(s): {self.new} new value(s), "
            f"{self.changed} changed, {self.unchanged} already stored"
        )


def plan_outcomes(
    db: Database, frame: pd.DataFrame, *, actor: Actor, today: dt.date | None = None
) -> OutcomeImport:
    """Check every row against the file's rules and the database, writing nothing (the dry run)."""
    access.require(actor, Action.ENTER_OUTCOMES)
    with db.reading() as s:
        rows, programs, problems = _checked(s, frame, actor, today)
        if problems:
            return OutcomeImport(len(frame), (), 0, 0, 0, tuple(problems))
        return _count(s, rows, programs)


def import_outcomes(
    db: Database,
    frame: pd.DataFrame,
    *,
    actor: Actor,
    source: str | None = None,
    today: dt.date | None = None,
) -> OutcomeImport:
    """Store every value of the file in one transaction; WideImportError (nothing written) when
    any row has a problem. `source` (the file name) is not stored; the audit rows name the actor."""
    who = actor_name(actor, Action.ENTER_OUTCOMES)
    with db.writing() as s:
        rows, programs, problems = _checked(s, frame, actor, today)
        if problems:
            raise WideImportError(problems)
        summary = _count(s, rows, programs)
        measures = {m.key: m.id for m in measures_in(s, include_inactive=True)}
        log = BufferedAuditLog(s, who)  # one INSERT of the audit rows, as the historical import
        stored = stored_values(s, list(programs.values()))  # one read, not one per value
        for row in rows:
            program_id = programs[row.program]
            for key, value in row.values.items():
                store_value(s, log, program_id, measures[key], key, row.period, value, stored)
        log.write()
        return summary


def _checked(
    s: Session, frame: pd.DataFrame, actor: Actor, today: dt.date | None
) -> tuple[list[OutcomeRow], dict[str, int], list[RowProblem]]:
    """The file's rows, its programs' ids by the names the rows give, and every problem."""
    columns = [MeasureColumn(m.key, m.name, m.unit) for m in measures_in(s, include_inactive=False)]
    rows, problems = parse_outcomes(frame, columns, today)
    stored: dict[str, list[tuple[str, int]]] = {}
    for name, program_id in s.execute(select(Program.name, Program.id)):
        stored.setdefault(name_key(name), []).append((name, program_id))
    scope = access.require(actor, Action.ENTER_OUTCOMES)
    programs: dict[str, int] = {}
    for row in rows:
        found = stored.get(name_key(row.program), [])
        exact = [pid for name, pid in found if name == row.program]
        column = row.columns["program"]
        if not found:
            problems.append(RowProblem(row.row, column, f"no program named {row.program!r}", row.source))
        elif len(found) > 1 and not exact:
            listed = ", ".join(repr(n) for n, _ in found)
            message = f"{row.program!r} matches several programs ({listed}); write one name exactly"
            problems.append(RowProblem(row.row, column, message, row.source))
        else:
            program_id = exact[0] if exact else found[0][1]
            if scope is Scope.OWN_PROGRAMS and program_id not in actor.program_ids:
                message = (
                    f"{row.program} is not one of your programs: you may enter outcomes for your own only"
                )
                problems.append(RowProblem(row.row, column, message, row.source))
            programs[row.program] = program_id
    problems.sort(key=lambda p: (p.source or "", p.row))
    return rows, programs, problems


def _count(s: Session, rows: list[OutcomeRow], programs: dict[str, int]) -> OutcomeImport:
    stored: dict[tuple[int, str, str, dt.date], float] = {}
    ids = sorted(set(programs.values()))
    if ids:
        query = (
            select(
                OutcomeValue.program_id,
                OutcomeMeasure.key,
                OutcomeValue.period_kind,
                OutcomeValue.period_start,
                OutcomeValue.value,
            )
            .join(OutcomeMeasure, OutcomeMeasure.id == OutcomeValue.measure_id)
            .where(OutcomeValue.program_id.in_(ids))
        )
        stored = {(p, k, kind, start): v for p, k, kind, start, v in s.execute(query)}
    new = changed = unchanged = 0
    for row in rows:
        for key, value in row.values.items():
            old = stored.get((programs[row.program], key, row.period.kind.value, row.period.start))
            if old is None:
                new += 1
            elif old == value:
                unchanged += 1
            else:
                changed += 1
    names = tuple(sorted({row.program for row in rows}))
    return OutcomeImport(len(rows), names, new, changed, unchanged)
