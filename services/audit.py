"""The one audit log: every change a service makes is recorded by AuditLog in the same
transaction, one row per changed field with its old and new value as JSON.

The `*_fields` snapshots are what the log compares and records for each kind of row; the
rows are read back as AuditRecord (services.reviews.audit_trail). Nothing ever updates or
deletes an audit row (the database refuses both), and each row carries its link of the audit
hash chain (storage.audit_chain), keyed with the database's integrity key, taken as the row is
logged, in the order the rows are inserted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from storage.audit_chain import next_links
from storage.bulk import bulk_insert
from storage.integrity import ConsensusValues, session_key
from storage.models import AuditEntry, ConsensusRating, Program, RaterRating, Review

__all__ = [
    "AUDIT_COLUMNS",
    "AuditLog",
    "AuditRecord",
    "BufferedAuditLog",
    "audit_record",
    "consensus_fields",
    "json_text",
    "program_fields",
    "rating_fields",
    "review_fields",
]


def json_text(value: Any) -> str | None:
    """How the log stores a value: JSON with sorted keys (None stays NULL); dates as text."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class AuditLog:
    """Writes audit rows into the caller's transaction.

    Call it with (entity, field, old, new); an unchanged value writes nothing. `review_id`
    and `program_id` say what the rows belong to; a service sets them once the row it is
    creating has its id. All rows of one call share `at`.
    """

    session: Session
    actor: str
    review_id: int | None = None
    program_id: int | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __call__(self, entity: str, field_name: str, old: Any, new: Any) -> None:
        if old == new:
            return
        row = self._row(entity, field_name, old, new)
        # Linked now: the ORM inserts a session's new rows in the order they were added.
        next_links(self.session, session_key(self.session), [row])
        self.session.add(AuditEntry(**row))

    def _row(self, entity: str, field_name: str, old: Any, new: Any) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "review_id": self.review_id,
            "program_id": self.program_id,
            "entity": entity,
            "field": field_name,
            "old_value": json_text(old),
            "new_value": json_text(new),
        }


AUDIT_COLUMNS = ("at", "actor", "review_id", "program_id", "entity", "field", "old_value", "new_value")
"""The columns of an audit row a log writes (the rest, its id, the database gives)."""


@dataclass
class BufferedAuditLog(AuditLog):
    """An AuditLog that keeps its rows as plain rows and writes them with one INSERT (`write`),
    not as an ORM object each: for an importer storing many reviews (an imported review has
    about 170 rows; building and flushing them was a third of an import's time).

    The rows are the ones AuditLog writes. The caller calls `write` once the rows they refer
    to (the review, the program) are flushed, before the transaction commits.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, entity: str, field_name: str, old: Any, new: Any) -> None:
        if old == new:
            return
        self.rows.append(self._row(entity, field_name, old, new))

    def write(self) -> None:
        """Write the rows kept so far, in the order they were logged, and forget them.

        Their chain links are taken here, in memory, after the session's pending rows (audit
        rows of an AuditLog among them) are flushed: the chain follows the order of insertion."""
        if not self.rows:
            return
        self.session.flush()
        next_links(self.session, session_key(self.session), self.rows)
        # COPY on PostgreSQL (the append-only triggers fire as for INSERT), executemany on SQLite.
        bulk_insert(self.session.connection(), cast(Table, AuditEntry.__table__), self.rows)
        self.rows.clear()


@dataclass(frozen=True)
class AuditRecord:
    """One recorded change, its values decoded from JSON."""

    id: int
    at: dt.datetime
    actor: str
    review_id: int | None
    program_id: int | None
    entity: str
    field: str
    old_value: Any
    new_value: Any


def audit_record(row: AuditEntry) -> AuditRecord:
    """The stored audit row as the frozen record callers get."""
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        review_id=row.review_id,
        program_id=row.program_id,
        entity=row.entity,
        field=row.field,
        old_value=None if row.old_value is None else json.loads(row.old_value),
        new_value=None if row.new_value is None else json.loads(row.new_value),
    )


# ---- snapshots: what the log records of each kind of row ----------------------------------------


def program_fields(p: Program) -> dict[str, Any]:
    """A program's recorded fields (its provider by name)."""
    return {
        "name": p.name,
        "provider": None if p.provider is None else p.provider.name,
        "region": p.region,
        "model": p.model,
        "active_from": p.active_from,
        "active_to": p.active_to,
    }


def review_fields(r: Review) -> dict[str, Any]:
    """A review's recorded fields (not its status, which is logged as it changes)."""
    return {
        "program_id": r.program_id,
        "scale": f"{r.scale_id} {r.scale_version}",
        "scale_hash": r.scale_hash,
        "review_date": r.review_date,
        "review_end_date": r.review_end_date,
        "review_type": r.review_type,
        "strengths": r.strengths,
        "summary": r.summary,
        "recommendations": r.recommendations,
    }


def rating_fields(row: RaterRating) -> dict[str, Any]:
    """One rater's rating of an item, as recorded."""
    return {
        "rating": row.rating,
        "inputs": row.inputs,
        "override_reason": row.override_reason,
        "note": row.note,
        "data_sources": row.data_sources,
    }


def consensus_fields(row: ConsensusRating | ConsensusValues) -> dict[str, Any]:
    """An item's consensus, as recorded."""
    return {
        "rating": row.rating,
        "inputs": row.inputs,
        "evidence": row.evidence,
        "recommendation": row.recommendation,
        "data_sources": row.data_sources,
        "not_rated_reason": row.not_rated_reason,
        "override_reason": row.override_reason,
    }
