"""Checking the whole database's tamper evidence (`fidelity db check`, the app's Integrity page)
and re-keying it (`fidelity db rekey`).

The check reads, in one consistent snapshot: every final review's checksum against its rows,
the audit log's hash chain row by row, the schema revision, and the triggers that make final
reviews immutable and the audit log append-only; and says whether a key is configured. Each
failure is one line naming the review id, the audit row id or the trigger.

Re-keying verifies everything under the previous key first and refuses, naming each failure,
when anything fails (it never re-signs a tampered record), then rewrites the review checksums,
the ratings seals and the audit chain under the new key in one transaction, audited.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, text

from services import access
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import ValidationProblem
from services.rows import actor_name
from storage.audit_chain import (
    ChainWalk,
    anchor_problems,
    lock_chain,
    read_head_row,
    relink_all,
    row_text,
    verify_chain,
    walk_chain,
    write_anchor,
)
from storage.final_sums import Subscales, scale_subscales
from storage.final_sums import problems as sum_problems
from storage.final_sums import rewrite_all as rewrite_sums
from storage.integrity import (
    MISMATCH,
    MISSING,
    NO_KEY,
    NOT_KEYED,
    OK,
    digest_status,
    keyed_digest,
    resealed,
)
from storage.migrate import HEAD_REVISION
from storage.triggers import lifted_triggers, trigger_problems
from storage.verify import REVIEWS, final_review_texts

__all__ = ["NO_KEY_WARNING", "IntegrityReport", "RekeyResult", "check_database", "rekey"]

NO_KEY_WARNING = (
    "no FIDELITY_INTEGRITY_KEY: checksums are plain SHA-256 that anyone who can write the database "
    "can recompute"
)
SEAL_PROBLEM = (
    "its ratings seal does not match its rows (changed outside the application, or never sealed under "
    "this key): every read leaves it out"
)
REVIEW_PROBLEMS = {
    MISMATCH: "its content does not match its checksum (it was changed outside the application)",
    MISSING: "it has no checksum",
    NOT_KEYED: "its checksum is plain SHA-256 while a key is configured (not keyed: it could have "
    "been recomputed by anyone; `fidelity db rekey` keys it)",
    NO_KEY: "its checksum is keyed but no FIDELITY_INTEGRITY_KEY is configured, so it cannot be verified",
}


@dataclass(frozen=True)
class IntegrityReport:
    """What `check_database` found: `problems` (one line each) empty means everything holds."""

    key_configured: bool
    reviews: int
    audit_rows: int
    revision: str | None
    problems: list[str] = field(default_factory=list)
    audit_head_id: int | None = None
    audit_head: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def warnings(self) -> list[str]:
        """What holds but protects less than it could: no key configured."""
        return [] if self.key_configured else [NO_KEY_WARNING]

    def summary(self) -> str:
        verdict = "intact" if self.ok else f"{len(self.problems)} problem(s)"
        head = "" if self.audit_head_id is None else f" (head: row {self.audit_head_id})"
        key = "keyed (HMAC-SHA256)" if self.key_configured else "NOT keyed (plain SHA-256)"
        return (
            f"{verdict}: {self.reviews} final review(s), {self.audit_rows} audit row(s){head}, "
            f"schema revision {self.revision}, digests {key}"
        )


def check_database(db: Database, *, actor: Actor) -> IntegrityReport:
    """Every final review, the audit chain, the schema and its triggers, under db's key."""
    access.require(actor, Action.CHECK_INTEGRITY)
    with _snapshot(db) as conn:
        return _check(conn, db.integrity_key, scale_subscales(db.registry.scales.values()))


def _check(
    conn: Connection, key: str | None, subscales: Mapping[tuple[str, str], Subscales]
) -> IntegrityReport:
    problems: list[str] = []
    revision = _revision(conn)
    if revision != HEAD_REVISION:
        problems.append(
            f"schema: the database is at revision {revision}, not {HEAD_REVISION} (run `fidelity db upgrade`)"
        )
    problems += trigger_problems(conn)
    reviews = 0
    for review in final_review_texts(conn):
        reviews += 1
        status = review.status(key)
        if status != OK:
            problems.append(f"review {review.review_id}: {REVIEW_PROBLEMS[status]}")
    _sealed, unsealed = resealed(conn, key, key)  # the integrity gate's seal, as every read checks it
    problems += [f"review {review_id}: {SEAL_PROBLEM}" for review_id in unsealed]
    problems += sum_problems(conn, key, subscales)  # the dashboard's stored sums (storage.final_sums)
    chain = verify_chain(conn, key)
    problems += chain.messages()
    problems += anchor_problems(conn, key, chain)
    return IntegrityReport(
        key_configured=key is not None,
        reviews=reviews,
        audit_rows=chain.rows,
        revision=revision,
        problems=problems,
        audit_head_id=chain.head_id,
        audit_head=chain.head,
    )


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """A read-only connection seeing one snapshot for the whole check (PostgreSQL: REPEATABLE
    READ; SQLite: one read transaction), rolled back at the end."""
    options: dict[str, Any] = {}
    if db.dialect == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with db.engine.connect().execution_options(**options) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def _revision(conn: Connection) -> str | None:
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ", ".join(rows) if rows else None


# ---- re-keying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RekeyResult:
    reviews: int
    seals: int
    audit_rows: int


def rekey(db: Database, previous_key: str | None, *, actor: Actor) -> RekeyResult:
    """Rewrite every digest from `previous_key` (None: the installation was keyless) to db's
    key, after verifying all of them; ValidationProblem naming every failure otherwise.

    A digest already made with the new key is accepted too (written since the key was set).
    A plain checksum is accepted only from a keyless installation: under a previous key,
    anyone could have recomputed it."""
    who = actor_name(actor, Action.CHECK_INTEGRITY)
    new_key = db.integrity_key
    if new_key is None:
        raise ValidationProblem("FIDELITY_INTEGRITY_KEY: not set; set the new key before `fidelity db rekey`")
    with db.writing() as s:
        conn = s.connection()
        lock_chain(conn)  # no audit row is appended while the chain is verified and rewritten
        problems = [f"schema or trigger: {p}" for p in trigger_problems(conn)]
        checksums, review_problems = _verified_reviews(conn, previous_key, new_key)
        seals, seal_problems = _verified_seals(conn, previous_key, new_key)
        problems += review_problems + seal_problems + _chain_problems(conn, previous_key, new_key)
        problems += _anchor_problems(conn, previous_key, new_key)
        if problems:
            heading = "nothing was re-keyed: these records do not verify under the previous or the new key"
            raise ValidationProblem([heading, *problems])
        with lifted_triggers(conn, "reviews"):
            if checksums:
                conn.execute(
                    REVIEWS.update()
                    .where(REVIEWS.c.id == bindparam("review_id"))
                    .values(content_checksum=bindparam("checksum")),
                    [{"review_id": i, "checksum": c} for i, c in checksums.items()],
                )
            if seals:
                conn.execute(
                    REVIEWS.update()
                    .where(REVIEWS.c.id == bindparam("review_id"))
                    .values(ratings_seal=bindparam("seal")),
                    [{"review_id": i, "seal": seal} for i, seal in seals.items()],
                )
        rewrite_sums(conn, new_key, scale_subscales(db.registry.scales.values()))  # from verified ratings
        with lifted_triggers(conn, "audit_log"):
            audit_rows = relink_all(conn, new_key)
        write_anchor(conn, new_key, *read_head_row(conn))
        AuditLog(s, who)(
            "database",
            "integrity_key",
            "keyless" if previous_key is None else "previous key",
            {"key": "new key", "reviews": len(checksums), "seals": len(seals), "audit_rows": audit_rows},
        )
    return RekeyResult(len(checksums), len(seals), audit_rows)


def _verified_seals(
    conn: Connection, previous_key: str | None, new_key: str
) -> tuple[dict[int, str], list[str]]:
    """Each final review's ratings seal under `new_key`, and a problem per review whose stored
    seal verifies under neither the previous key nor the new one (storage.integrity.resealed)."""
    seals, failing = resealed(conn, previous_key, new_key)
    if failing:
        already, _still = resealed(conn, new_key, new_key)  # sealed since the new key was set
        seals.update({i: already[i] for i in failing if i in already})
    problems = [f"review {i}: {SEAL_PROBLEM}" for i in failing if i not in seals]
    return seals, problems


def _accepted(previous_key: str | None, new_key: str, content: str, stored: str | None) -> str:
    """OK when `stored` verifies under the previous key or the new one; else the status under
    the previous key (what the record would be reported as)."""
    status = digest_status(previous_key, content, stored)
    if status == OK or digest_status(new_key, content, stored) == OK:
        return OK
    return status


def _verified_reviews(
    conn: Connection, previous_key: str | None, new_key: str
) -> tuple[dict[int, str], list[str]]:
    """Each final review's new checksum, and a problem per review that does not verify."""
    checksums: dict[int, str] = {}
    problems = []
    for review in final_review_texts(conn):
        status = _accepted(previous_key, new_key, review.text, review.stored)
        if status == OK:
            checksums[review.review_id] = keyed_digest(new_key, review.text)
        else:
            problems.append(f"review {review.review_id}: {REVIEW_PROBLEMS[status]}")
    return checksums, problems


def _anchor_problems(conn: Connection, previous_key: str | None, new_key: str) -> list[str]:
    """The sealed head must verify under one of the keys and name the chain's newest row."""
    head_id, head = read_head_row(conn)
    walk = ChainWalk(problems=[], head_id=head_id, head=head)
    problems = anchor_problems(conn, previous_key, walk)
    if problems and not anchor_problems(conn, new_key, walk):
        return []
    return problems


def _chain_problems(conn: Connection, previous_key: str | None, new_key: str) -> list[str]:
    problems = []
    for row, previous, _status in walk_chain(conn, previous_key):
        if _accepted(previous_key, new_key, row_text(previous, row), row["chain"]) != OK:
            problems.append(
                f"audit row {row['id']}: its chain digest does not verify (edited, or a row moved)"
            )
    return problems
