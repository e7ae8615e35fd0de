"""Mixed data on top of the bulk-generated agency, written through the project's own services
(so each has real seals, checksums and audit rows): the paths uniform data never takes.

- another scale: every 20th program also has two final GOI reviews (a historical import);
- amendments: every 25th program's latest DACTS review is amended (one rating changed) and the
  amendment finalized, so the amendment replaces it in every analytics read;
- drafts: every 40th program has a DACTS review in progress, with one consensus rating;
- a program-limited user: `LIMITED_EMAIL`, a program manager of every 10th program.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bench.targets import Target, dbapi_connect
from scales import ScaleRegistry
from services.access import LOCAL_ADMIN
from services.consensus import save_consensus
from services.database import Database
from services.historical_import import import_wide
from services.lifecycle import amend, finalize
from services.reviews import start_review
from services.users import add_user

LIMITED_EMAIL = "limited.manager@bench.example"
OTHER_SCALE = "goi"
EVERY_OTHER_SCALE, EVERY_AMENDMENT, EVERY_DRAFT, EVERY_LIMITED = 20, 25, 40, 10
AMENDED_ITEM = "O1"  # a rated (not computed) DACTS item
DRAFT_DAY = dt.date(2026, 6, 15)  # after every generated review


@dataclass(frozen=True)
class Mixed:
    other_scale_reviews: int
    amendments: int
    drafts: int
    limited_programs: int


def add_mixed(target: Target, registry: ScaleRegistry, programs: int) -> Mixed:
    ids = list(range(1, programs + 1))
    db = Database(target.url, registry=registry)
    try:
        limited = ids[::EVERY_LIMITED]
        add_user(db, LIMITED_EMAIL, role="program_manager", actor=LOCAL_ADMIN, program_ids=limited)
        other = _other_scale(db, target, registry, ids[::EVERY_OTHER_SCALE])
        amended = ids[::EVERY_AMENDMENT]
        for program_id in amended:
            latest = _one(target, _LATEST, (program_id,))
            new = amend(db, latest, "Benchmark: a corrected rating", actor=LOCAL_ADMIN).id
            rating, version = _row(target, _RATING, (new, AMENDED_ITEM))
            changed = 1 + (int(rating or 3) % 5)  # another rating on the 1-5 scale
            save_consensus(db, new, AMENDED_ITEM, expected_version=version, rating=changed, actor=LOCAL_ADMIN)
            finalize(db, new, actor=LOCAL_ADMIN)
        drafts = ids[::EVERY_DRAFT]
        for program_id in drafts:
            draft = start_review(
                db, program_id, "dacts", None, DRAFT_DAY, "follow-up", ["Bench Rater 01"], actor=LOCAL_ADMIN
            ).id
            save_consensus(db, draft, AMENDED_ITEM, expected_version=0, rating=4, actor=LOCAL_ADMIN)
    finally:
        db.dispose()
    return Mixed(other, len(amended), len(drafts), len(limited))


def has_mixed(target: Target) -> bool:
    try:
        return bool(_one(target, _USER, (LIMITED_EMAIL,)))
    except Exception:  # no users table yet
        return False


_LATEST = (
    "SELECT id FROM reviews WHERE program_id = {p} AND scale_id = 'dacts' AND status = 'final' "
    "ORDER BY review_date DESC, id DESC LIMIT 1"
)
_RATING = "SELECT rating, version FROM consensus_ratings WHERE review_id = {p} AND item_id = {p}"
_USER = "SELECT count(*) FROM users WHERE email = {p}"
_PROGRAMS = (
    "SELECT p.id, p.name, pr.name, p.region FROM programs p LEFT JOIN providers pr ON pr.id = p.provider_id"
)


def _row(target: Target, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    conn = dbapi_connect(target.url)
    try:
        mark = "?" if target.dialect == "sqlite" else "%s"
        row = conn.execute(sql.format(p=mark), params).fetchone()
        if row is None:
            raise LookupError(f"bench mixed data: nothing for {params}")
        return tuple(row)
    finally:
        conn.close()


def _one(target: Target, sql: str, params: tuple[Any, ...]) -> Any:
    return _row(target, sql, params)[0]


def _other_scale(db: Database, target: Target, registry: ScaleRegistry, program_ids: list[int]) -> int:
    """Two final GOI reviews for each of the programs, stored by a historical import."""
    scale = registry.get(OTHER_SCALE)
    conn = dbapi_connect(target.url)
    try:
        found = {row[0]: row[1:] for row in conn.execute(_PROGRAMS).fetchall()}
    finally:
        conn.close()
    rows = []
    for program_id in program_ids:
        name, provider, region = found[program_id]
        for k, day in enumerate((dt.date(2024, 3, 1), dt.date(2025, 3, 1))):
            ratings = {item.id: str(1 + (program_id + k + n) % 5) for n, item in enumerate(scale.items)}
            rows.append(
                {"program": name, "provider": provider or "", "region": region or "",
                 "date": day.isoformat(), "scale": scale.id, "version": scale.version, **ratings}
            )  # fmt: skip
    if not rows:
        return 0
    frame = pd.DataFrame(rows, dtype=str)
    return import_wide(db, frame, actor=LOCAL_ADMIN, source="bench mixed data").created
