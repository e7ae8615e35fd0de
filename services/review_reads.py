"""The review pages' reads, kept per change of what they read.

Reviews, Rate, Consensus and Results read on every rerun (each click) what changes on every
save: the list of reviews with the drafts' live scores, the review open with every rating, the
blind-rating state, its field copy. Read again each time, that took 50 to 100 ms a rerun at
agency scale. `cached` keeps each read's result per database, acting user and arguments, under
`review_version`: a counter the triggers of migration 0013 bump in the transaction of every
change of those tables, whoever makes it. So a read is served again only while nothing it could
show has changed: a change made through this process shows at once (its writes are counted), one
made by another process (the CLI, an import, a second server, SQL by hand) within `max_age`.

Only reads are kept, never an error (a refused or failing read is asked again next time), and
the kept results are frozen views shared by every session of the process: callers must not
change them (lists are copied on the way out).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import select

from services.access import Actor
from services.database import Database
from storage.models import ReviewChanges

T = TypeVar("T")

MAX_ENTRIES = 512  # per database: a few per open page and session, each a few KB to 100 KB

_VERSION = select(ReviewChanges.counter, ReviewChanges.changed_at).where(ReviewChanges.id == 1)
_lock = threading.Lock()
_seen: WeakKeyDictionary[Database, tuple[str, float, int]] = WeakKeyDictionary()
_kept: WeakKeyDictionary[Database, tuple[str, OrderedDict[Hashable, Any]]] = WeakKeyDictionary()
_unique = iter(range(1, 1 << 62))


def review_version(db: Database, *, max_age: float = 0.0) -> str:
    """A fingerprint of everything the review pages read: one primary-key lookup, asked again
    only after `max_age` seconds or a write through `db` (as analytics_data.data_version)."""
    writes = db.writes  # before the read: a write after it makes the next call ask again
    with _lock:
        seen = _seen.get(db)
    if max_age > 0 and seen is not None and seen[2] == writes and time.monotonic() - seen[1] < max_age:
        return seen[0]
    engine = db.unpinged_engine
    try:
        with engine.connect() as conn:
            row = conn.execute(_VERSION).first()
    except engine.dialect.loaded_dbapi.Error:  # a pooled connection the server closed: once more
        engine.dispose()
        with engine.connect() as conn:
            row = conn.execute(_VERSION).first()
    # No counter row (a schema made without the migrations): a version never seen again, so
    # nothing is served from what was kept.
    version = f"{row[0]}|{row[1]}" if row is not None else f"uncounted-{next(_unique)}"
    with _lock:
        _seen[db] = (version, time.monotonic(), writes)
    return version


def cached(
    db: Database, max_age: float, read: Callable[..., T], *args: Hashable, actor: Actor, **kwargs: Any
) -> T:
    """`read(db, *args, actor=actor, **kwargs)`, kept until the review version changes."""
    try:
        key: Hashable = (read, args, actor, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:  # an argument that cannot be a key: read it
        return read(db, *args, actor=actor, **kwargs)
    version = review_version(db, max_age=max_age)
    with _lock:
        kept = _kept.get(db)
        if kept is None or kept[0] != version:
            kept = _kept[db] = (version, OrderedDict())
        entries = kept[1]
        if key in entries:
            entries.move_to_end(key)
            return _out(entries[key])
    value = read(db, *args, actor=actor, **kwargs)  # outside the lock: reads run side by side
    with _lock:
        entries[key] = value  # kept under the version read before it: never older than that
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)
    return _out(value)


def _out(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def forget_version(db: Database) -> None:
    """Ask the version again on the next call, as `max_age` passing would (the bench)."""
    with _lock:
        _seen.pop(db, None)


def forget(db: Database) -> None:
    """Drop what is kept for `db` (tests; a restore that rewinds the counter's time stamp too)."""
    with _lock:
        _kept.pop(db, None)
        _seen.pop(db, None)
