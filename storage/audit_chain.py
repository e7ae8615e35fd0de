"""The audit log's hash chain: each audit row's `chain` is the keyed digest
(storage.integrity.keyed_digest) of the previous row's `chain` and this row's content, so an
edited, inserted, deleted or reordered row breaks the chain at that row (`verify_chain`).

The chain's order is the rows' id order. The id itself is not digested: the database gives
it at INSERT, after the digest is taken, and ids may legitimately have gaps (PostgreSQL
spends a sequence number on a rolled-back insert); the order is what matters, and moving,
dropping or adding a row changes which digest each row must follow.

Appending is serialized: a transaction reads the chain's head (the newest row's digest) and
holds the write lock until it commits, so two transactions never chain onto the same row.
SQLite writers hold the database's write lock from BEGIN IMMEDIATE (storage.db.writer);
on PostgreSQL every writing transaction of services.database takes a transaction-level
advisory lock first (`lock_chain`; `chain_head` takes it too, for other sessions).

The chain alone cannot tell that its newest rows were deleted: what remains is still a whole
chain. So every transaction that appends rows also updates `audit_chain_head`, one row naming
the newest audit row and its digest, sealed with the key (`write_anchor`, run before commit),
and new rows follow the sealed head's digest, not the newest row's (`anchored_head`). Deleting
the newest rows leaves the sealed head pointing past the end, and the next rows appended break
the chain where they start; a writer without the key cannot seal an earlier head, unless they
kept an old copy of that row (a backup): see README, Integrity.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, event, select, text
from sqlalchemy.orm import Session

from storage.integrity import NO_KEY, NOT_KEYED, OK, digest_status, keyed_digest, session_key
from storage.models import AuditChainHead, AuditEntry

CHAIN_COLUMNS = ("at", "actor", "review_id", "program_id", "entity", "field", "old_value", "new_value")
"""What an audit row's digest covers, besides the previous row's digest (not the id: see above)."""
PG_CHAIN_LOCK = 7_261_503_117  # pg_advisory_xact_lock key: one appender at a time
_HEAD = "fidelity_audit_chain_head"  # Session.info: (the transaction, the head's digest)
AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
ANCHOR: Table = AuditChainHead.__table__  # type: ignore[assignment]


def row_text(previous: str | None, row: Mapping[Any, Any]) -> str:
    """The canonical text an audit row's digest covers: the previous digest ("" for the first
    row) and the row's content, as JSON with aware UTC timestamps in ISO form."""
    values = [previous or ""]
    for name in CHAIN_COLUMNS:
        value = row[name]
        values.append(_iso(value) if isinstance(value, dt.datetime) else value)
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=64)  # the rows of one log share their time: an import's ~170 per review
def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def link(key: str | None, previous: str | None, row: Mapping[Any, Any]) -> str:
    """The `chain` value of `row` following a row whose chain is `previous`."""
    return keyed_digest(key, row_text(previous, row))


def lock_chain(conn: Connection) -> None:
    """Make this transaction the chain's only appender until it ends (PostgreSQL; a SQLite
    writer already holds the database's write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_CHAIN_LOCK})


def read_head(conn: Connection) -> str | None:
    """The newest audit row's digest (None: no rows yet, or that row has none)."""
    return conn.execute(select(AUDIT.c.chain).order_by(AUDIT.c.id.desc()).limit(1)).scalar()


def read_head_row(conn: Connection) -> tuple[int | None, str | None]:
    """The newest audit row's id and digest ((None, None): no rows yet)."""
    row = conn.execute(select(AUDIT.c.id, AUDIT.c.chain).order_by(AUDIT.c.id.desc()).limit(1)).first()
    return (None, None) if row is None else (row.id, row.chain)


def anchor_text(row_id: int | None, chain: str | None) -> str:
    """What the head's seal covers (its own kind named first: no row digest can pass for it)."""
    return json.dumps(["audit chain head", row_id, chain or ""], separators=(",", ":"))


def write_anchor(
    conn: Connection, key: str | None, row_id: int | None, chain: str | None, *, insert: bool = False
) -> None:
    """Seal `row_id` and its digest `chain` as the chain's head. A deleted anchor row is not
    put back (an UPDATE of nothing): `fidelity db check` reports it."""
    values = {"row_id": row_id, "chain": chain, "seal": keyed_digest(key, anchor_text(row_id, chain))}
    if insert:
        conn.execute(ANCHOR.insert().values(id=1, **values))
    else:
        conn.execute(ANCHOR.update().where(ANCHOR.c.id == 1).values(**values))


def read_anchor(conn: Connection) -> tuple[int | None, str | None, str] | None:
    """The sealed head: (row id, digest, seal); None when the row is gone."""
    row = conn.execute(select(ANCHOR.c.row_id, ANCHOR.c.chain, ANCHOR.c.seal).where(ANCHOR.c.id == 1)).first()
    return None if row is None else (row.row_id, row.chain, row.seal)


@event.listens_for(Session, "before_commit")
def _seal_head(s: Session) -> None:
    """A transaction that appended audit rows seals the new head as it commits."""
    cached = s.info.get(_HEAD)
    if cached is None or cached[0] is not s.get_transaction():
        return
    s.flush()  # its last audit rows are written and have their ids
    conn = s.connection()
    write_anchor(conn, session_key(s), *read_head_row(conn))


def chain_head(s: Session) -> str | None:
    """The digest the next audit row of `s`'s transaction follows: read (after taking the
    lock) at the transaction's first audit row, then the digest of its last one."""
    transaction = s.get_transaction()
    cached = s.info.get(_HEAD)
    if cached is not None and cached[0] is transaction:
        return cached[1]
    conn = s.connection()
    lock_chain(conn)
    head = anchored_head(conn, session_key(s))
    set_head(s, head)
    return head


def anchored_head(conn: Connection, key: str | None) -> str | None:
    """The digest new rows follow: the sealed head's when its seal verifies, so that rows
    appended after the newest rows were deleted do not follow the shortened chain (which would
    hide the deletion) but break it, at the first new row; else the newest row's digest."""
    anchor = read_anchor(conn)
    if anchor is not None and digest_status(key, anchor_text(anchor[0], anchor[1]), anchor[2]) == OK:
        return anchor[1]
    return read_head(conn)


def set_head(s: Session, head: str | None) -> None:
    """Record the digest of the last audit row `s`'s transaction wrote."""
    s.info[_HEAD] = (s.get_transaction(), head)


def next_links(s: Session, key: str | None, rows: list[dict[str, Any]]) -> None:
    """Set each row's "chain", in order, continuing the chain of `s`'s transaction."""
    head = chain_head(s)
    for row in rows:
        head = row["chain"] = link(key, head, row)
    set_head(s, head)


@dataclass(frozen=True)
class ChainProblem:
    """One audit row that breaks the chain."""

    row_id: int
    status: str  # storage.integrity: MISMATCH, MISSING, NOT_KEYED, NO_KEY
    previous_id: int | None

    @property
    def message(self) -> str:
        after = "the first row" if self.previous_id is None else f"after row {self.previous_id}"
        what = {
            "missing": "has no chain digest (written outside the application)",
            "not keyed": "has a plain SHA-256 chain digest while a key is configured (not keyed; "
            "`fidelity db rekey` keys it)",
            "keyed, no key": "has a keyed chain digest but no FIDELITY_INTEGRITY_KEY is configured",
        }.get(
            self.status,
            f"does not match its chain digest as {after}: this row was edited, or a row "
            "before it was deleted, inserted or moved",
        )
        return f"audit row {self.row_id}: {what}"


@dataclass
class ChainWalk:
    """What `walk_chain` found: the problems, and how many rows it read and the last one."""

    problems: list[ChainProblem]
    rows: int = 0
    head_id: int | None = None
    head: str | None = None

    def messages(self) -> list[str]:
        """One line per problem; a run of rows that are only not keyed (a database from before
        the key, not yet re-keyed) is one line naming the first and last row."""
        lines: list[str] = []
        run: list[ChainProblem] = []

        def close() -> None:
            if len(run) == 1:
                lines.append(run[0].message)
            elif run:
                first, last = run[0].row_id, run[-1].row_id
                lines.append(
                    f"audit rows {first} to {last}: plain SHA-256 chain digests while a key is "
                    "configured (not keyed; `fidelity db rekey` keys them)"
                )
            run.clear()

        for problem in self.problems:
            if problem.status == NOT_KEYED and (not run or run[-1].row_id == problem.previous_id):
                run.append(problem)
                continue
            close()
            if problem.status == NOT_KEYED:
                run.append(problem)
            else:
                lines.append(problem.message)
        close()
        return lines


def walk_chain(
    conn: Connection, key: str | None, chunk: int = 5000
) -> Iterator[tuple[Mapping[Any, Any], str | None, str]]:
    """Every audit row in id order, with the digest it follows and its status under `key`.

    After a broken link the walk goes on from the row's stored digest, so one edited row is
    reported once, not with every row after it. Plain column selects, a chunk at a time."""
    columns = [AUDIT.c.id, *(AUDIT.c[name] for name in CHAIN_COLUMNS), AUDIT.c.chain]
    previous: str | None = None
    last_id: int | None = None
    while True:
        query = select(*columns).order_by(AUDIT.c.id).limit(chunk)
        if last_id is not None:
            query = query.where(AUDIT.c.id > last_id)
        rows = conn.execute(query).mappings().all()
        for row in rows:
            status = digest_status(key, row_text(previous, row), row["chain"])
            yield row, previous, status
            previous = row["chain"]
            last_id = row["id"]
        if len(rows) < chunk:
            return


def verify_chain(conn: Connection, key: str | None) -> ChainWalk:
    """Check the whole chain under `key`: one ChainProblem per row that breaks it."""
    found = ChainWalk(problems=[])
    previous_id: int | None = None
    for row, _previous, status in walk_chain(conn, key):
        if status != OK:
            found.problems.append(ChainProblem(row["id"], status, previous_id))
        previous_id = row["id"]
        found.rows += 1
        found.head_id, found.head = row["id"], row["chain"]
    return found


def anchor_problems(conn: Connection, key: str | None, walk: ChainWalk) -> list[str]:
    """Whether the sealed head is the chain's newest row (verify_chain's `walk`)."""
    anchor = read_anchor(conn)
    if anchor is None:
        return ["audit head: the row sealing the chain's newest row is missing (it was deleted)"]
    row_id, chain, seal = anchor
    status = digest_status(key, anchor_text(row_id, chain), seal)
    if status == NOT_KEYED:
        return [
            "audit head: its seal is plain SHA-256 while a key is configured (not keyed; `fidelity db rekey`)"
        ]
    if status == NO_KEY:
        return ["audit head: its seal is keyed but no FIDELITY_INTEGRITY_KEY is configured"]
    if status != OK:
        return ["audit head: its seal does not verify: it was written outside the application"]
    if (row_id, chain) == (walk.head_id, walk.head):
        return []
    if row_id is not None and (walk.head_id is None or row_id > walk.head_id):
        return [
            f"audit head: the chain ends at row {walk.head_id}, but its sealed newest row is {row_id}: "
            "the newest audit rows were deleted"
        ]
    return [
        f"audit head: the chain's newest row {walk.head_id} is not its sealed newest row ({row_id}): "
        "rows were added or changed at the end outside the application"
    ]


def relink_all(conn: Connection, key: str | None, chunk: int = 5000) -> int:
    """Rewrite every audit row's digest under `key`, in id order (migration 0006's backfill,
    `fidelity db rekey`). The caller lifts the append-only triggers and holds the chain's lock.
    Returns the number of rows."""
    previous: str | None = None
    count = 0
    updates: list[dict[str, Any]] = []
    columns = [AUDIT.c.id, *(AUDIT.c[name] for name in CHAIN_COLUMNS)]
    last_id = 0
    statement = AUDIT.update().where(AUDIT.c.id == bindparam("row_id")).values(chain=bindparam("new_chain"))
    while True:
        rows = conn.execute(
            select(*columns).where(AUDIT.c.id > last_id).order_by(AUDIT.c.id).limit(chunk)
        ).mappings()
        updates.clear()
        for row in rows:
            previous = link(key, previous, row)
            updates.append({"row_id": row["id"], "new_chain": previous})
            last_id = row["id"]
        if updates:
            conn.execute(statement, updates)
            count += len(updates)
        if len(updates) < chunk:
            return count
