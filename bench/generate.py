"""A seeded, agency-sized database for the benchmarks.

`python -m bench.generate --programs 1000 --reviews-per-program 20 --db both` fills a fresh
SQLite file and a fresh PostgreSQL schema (see bench/targets.py) with `programs` ACT teams
(spread over providers and regions), each with `reviews-per-program` final DACTS reviews:
two raters per review and 28 consensus item ratings, with the inputs of the computed items
(H1's clients and staff FTE, ...), evidence text, and now and then an item left unrated with
a reason. Each review's `final_score` is what `scoring.score_ratings` gives, exactly as a
finalized review stores it. Reviews are stored the way the historical import stores them:
consensus ratings, no per-rater ratings, and no audit rows (the benchmarks do not read them).

Everything is written with bulk statements (executemany on SQLite, COPY on PostgreSQL) in
one transaction. The immutability triggers stay on: reviews are inserted as `consensus` (with
their final score already set), their ratings next, and then the statement that makes them
final also stores each one's content checksum (`storage.integrity.content_checksum`) and
ratings seal (`storage.integrity.ratings_seal`, unkeyed: the benchmarks open the database with
no integrity key), computed here from the same values, so the app, its integrity gate and the
exports treat them as verified final reviews.
The same arguments and seed give the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.item_pool import ItemChoice, ItemPool
from bench.mixed import Mixed, add_mixed
from bench.targets import DIALECTS, Target, dbapi_connect, default_target
from scales import Scale, ScaleRegistry, load_registry
from scoring.review import score_ratings
from storage.db import make_engine
from storage.final_sums import scale_subscales, store_missing
from storage.integrity import content_checksum, ratings_seal
from storage.migrate import upgrade_to_head

DEFAULT_PROGRAMS = 1000
DEFAULT_REVIEWS = 20
DEFAULT_SEED = 7
SCALE_ID = "dacts"
LAST_DAY = dt.date(2026, 6, 1)  # fixed, so a seed always gives the same dates
ACTOR = "bench generator"
PROGRAMS_PER_PROVIDER = 10
REGIONS = tuple(
    f"Region {name}"
    for name in (
        "North",
        "South",
        "East",
        "West",
        "Central",
        "Coast",
        "Valley",
        "Highlands",
        "Lakes",
        "Plains",
        "Metro",
        "Delta",
    )
)
RATERS = tuple(f"Bench Rater {i:02d}" for i in range(1, 41))
NOT_RATED_SHARE = 0.005
NOT_RATED_REASON = "No records for this item were available on the visit days."
FINAL = "final"  # the rows key of (review id, checksum) pairs

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "providers": ("id", "name", "created_at"),
    "programs": (
        "id",
        "name",
        "provider_id",
        "region",
        "model",
        "active_from",
        "active_to",
        "created_at",
        "updated_at",
    ),
    "reviews": (
        "id",
        "program_id",
        "scale_id",
        "scale_version",
        "scale_hash",
        "review_date",
        "review_type",
        "status",
        "summary",
        "amendment_number",
        "final_score",
        "created_at",
        "created_by",
        "updated_at",
        "finalized_at",
        "finalized_by",
        "version",
    ),
    "review_raters": ("id", "review_id", "rater", "added_at", "added_by"),
    "consensus_ratings": (
        "id",
        "review_id",
        "item_id",
        "rating",
        "rating_source",
        "inputs",
        "evidence",
        "not_rated_reason",
        "updated_at",
        "updated_by",
        "version",
    ),
}


@dataclass
class Summary:
    target: str
    programs: int
    reviews: int
    ratings: int
    seconds: float
    build_seconds: float = 0.0
    write_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    mixed: Mixed | None = None  # what bench/mixed.py added through the services
    mixed_seconds: float = 0.0

    def line(self) -> str:
        mixed = self.mixed
        extra = (
            ""
            if mixed is None
            else f"; then through the services in {self.mixed_seconds:.1f} s: {mixed.other_scale_reviews} "
            f"GOI reviews, {mixed.amendments} amendments, {mixed.drafts} drafts, a user limited to "
            f"{mixed.limited_programs} programs"
        )
        return (
            f"generated {self.target}: {self.programs} programs, {self.reviews} final reviews, "
            f"{self.ratings} item ratings in {self.seconds:.1f} s "
            f"(build {self.build_seconds:.1f} s, write {self.write_seconds:.1f} s){extra}"
        )


# --------------------------------------------------------------------------------------------
# Building the rows (each item's ways to be recorded are prepared in bench/item_pool.py)
# --------------------------------------------------------------------------------------------


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, math.floor(value + 0.5)))


def _iso(value: dt.datetime, dialect: str) -> Any:
    """A UTC timestamp as the column stores it: naive text on SQLite (as UTCDateTime writes it)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value


def _day(value: dt.date, dialect: str) -> Any:
    return value.isoformat() if dialect == "sqlite" else value


def build_rows(
    scale: Scale, programs: int, reviews_per_program: int, seed: int, dialect: str, key: str | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in TABLE_COLUMNS order, with explicit ids from 1; seals keyed with `key`
    (the integrity key the benchmarks open the database with)."""
    rng = random.Random(seed)
    pool = ItemPool(scale, rng)
    low, high = scale.rating.min, scale.rating.max
    item_ids = [item.id for item in scale.items]
    stamp = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

    n_providers = max(1, math.ceil(programs / PROGRAMS_PER_PROVIDER))
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLE_COLUMNS}
    rows["providers"] = [
        (p, f"Bench Provider {p:04d}", _iso(stamp, dialect)) for p in range(1, n_providers + 1)
    ]
    review_id = rater_id = rating_id = 0
    reviews, raters, ratings = rows["reviews"], rows["review_raters"], rows["consensus_ratings"]
    # (review id, content checksum, ratings seal): written when the review becomes final
    checksums = rows[FINAL] = []
    for program_id in range(1, programs + 1):
        dates = [LAST_DAY - dt.timedelta(days=rng.randint(14, 200))]
        for _ in range(reviews_per_program - 1):
            dates.append(dates[-1] - dt.timedelta(days=rng.randint(150, 300)))
        dates.reverse()
        rows["programs"].append(
            (
                program_id,
                f"Bench ACT Team {program_id:04d}",
                (program_id - 1) % n_providers + 1,
                REGIONS[rng.randrange(len(REGIONS))],
                "ACT",
                _day(dates[0] - dt.timedelta(days=rng.randint(60, 400)), dialect),
                None,
                _iso(stamp, dialect),
                _iso(stamp, dialect),
            )
        )
        level = rng.uniform(2.2, 4.6)
        trend = rng.uniform(-0.04, 0.05)
        ease = [rng.gauss(0.0, 0.6) for _ in item_ids]
        team = list(rng.sample(RATERS, 2))
        for k, when in enumerate(dates):
            review_id += 1
            if rng.random() < 0.25:
                team = [team[0], rng.choice([r for r in RATERS if r not in team])]
            at = dt.datetime.combine(when + dt.timedelta(days=rng.randint(3, 30)), dt.time(15), tzinfo=dt.UTC)
            stamp_at = _iso(at, dialect)
            mood = level + trend * k + rng.gauss(0.0, 0.15)
            chosen: dict[str, ItemChoice] = {}
            for item_id, offset in zip(item_ids, ease, strict=True):
                if rng.random() < NOT_RATED_SHARE:
                    chosen[item_id] = pool.missing[item_id]
                    continue
                rating = _clip(mood + offset + rng.gauss(0.0, 0.45), low, high)
                options = pool.choices[item_id][rating]
                chosen[item_id] = options[rng.randrange(len(options))] if len(options) > 1 else options[0]
            score = score_ratings(scale, {i: c.score for i, c in chosen.items()})
            final_score = json.loads(json.dumps(score.to_dict()))  # exactly as the column gives it back
            summary = f"Synthetic benchmark review (bench/generate.py, seed {seed}). Not real data."
            reviews.append(
                (
                    review_id,
                    program_id,
                    scale.id,
                    scale.version,
                    scale.content_hash,
                    _day(when, dialect),
                    "baseline" if k == 0 else "follow-up",
                    "consensus",  # made final after the ratings are in: see write_rows
                    summary,
                    0,
                    json.dumps(final_score),
                    stamp_at,
                    ACTOR,
                    stamp_at,
                    stamp_at,
                    ACTOR,
                    1,
                )
            )
            for rater in team:
                rater_id += 1
                raters.append((rater_id, review_id, rater, stamp_at, ACTOR))
            for item_id, c in chosen.items():
                rating_id += 1
                reason = NOT_RATED_REASON if c.rating is None else None
                ratings.append(
                    (
                        rating_id,
                        review_id,
                        item_id,
                        c.rating,
                        c.source,
                        c.inputs,
                        c.evidence,
                        reason,
                        stamp_at,
                        ACTOR,
                        1,
                    )
                )
            checksum = _checksum(
                review_id, program_id, scale, when, k, summary, final_score, at, team, chosen
            )
            sealed = {
                "id": review_id,
                "program_id": program_id,
                "scale_id": scale.id,
                "scale_version": scale.version,
                "scale_hash": scale.content_hash,
                "review_date": when,
                "amendment_of": None,
            }
            pairs = [(item_id, c.rating) for item_id, c in chosen.items()]
            checksums.append((review_id, checksum, ratings_seal(key, sealed, pairs, final_score)))
    return rows


def _checksum(
    review_id: int,
    program_id: int,
    scale: Scale,
    when: dt.date,
    k: int,
    summary: str,
    final_score: dict[str, Any],
    at: dt.datetime,
    team: list[str],
    chosen: dict[str, ItemChoice],
) -> str:
    """The review's content checksum, as storage.integrity takes it when a review is finalized
    (the same values the ORM would read back from the rows written here)."""
    review = {
        "id": review_id,
        "program_id": program_id,
        "scale_id": scale.id,
        "scale_version": scale.version,
        "scale_hash": scale.content_hash,
        "review_date": when,
        "review_type": "baseline" if k == 0 else "follow-up",
        "summary": summary,
        "amendment_number": 0,
        "final_score": final_score,
        "finalized_at": at,
        "finalized_by": ACTOR,
    }
    consensus = [
        {
            "item_id": item_id,
            "rating": c.rating,
            "rating_source": c.source,
            "inputs": c.inputs_value,
            "evidence": c.evidence,
            "not_rated_reason": NOT_RATED_REASON if c.rating is None else None,
        }
        for item_id, c in chosen.items()
    ]
    return content_checksum(None, review, team, consensus)


# --------------------------------------------------------------------------------------------
# Writing them
# --------------------------------------------------------------------------------------------


def write_rows(target: Target, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """All rows in one transaction, then every review made final, with its content checksum and
    ratings seal, in
    the statement that makes it final (as the services do)."""
    conn = dbapi_connect(target.url)
    try:
        if target.dialect == "sqlite":
            conn.isolation_level = None
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE")
            for table, columns in TABLE_COLUMNS.items():
                marks = ", ".join("?" for _ in columns)
                conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows[table])
            conn.executemany(
                "UPDATE reviews SET status = 'final', content_checksum = ?, ratings_seal = ? WHERE id = ?",
                [(checksum, seal, review_id) for review_id, checksum, seal in rows[FINAL]],
            )
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
        else:
            with conn.transaction(), conn.cursor() as cur:
                for table, columns in TABLE_COLUMNS.items():
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows[table]:
                            copy.write_row(row)
                cur.execute(
                    "CREATE TEMPORARY TABLE bench_final (id integer, checksum text, seal text) ON COMMIT DROP"
                )
                with cur.copy("COPY bench_final (id, checksum, seal) FROM STDIN") as copy:
                    for row in rows[FINAL]:
                        copy.write_row(row)
                cur.execute(
                    "UPDATE reviews SET status = 'final', content_checksum = f.checksum, "
                    "ratings_seal = f.seal FROM bench_final f WHERE reviews.id = f.id"
                )
                for table in TABLE_COLUMNS:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")  # as autovacuum would soon: statistics and the visibility map
    finally:
        conn.close()


def store_sums(target: Target, registry: ScaleRegistry) -> None:
    """Each final review's stored sums (storage.final_sums), as finalizing stores them (unkeyed)."""
    engine = make_engine(target.url)
    try:
        with engine.begin() as conn:
            store_missing(conn, None, scale_subscales(registry.scales.values()))
    finally:
        engine.dispose()


def count_rows(target: Target) -> dict[str, int]:
    conn = dbapi_connect(target.url)
    try:
        counts = {}
        for table in (*TABLE_COLUMNS, "rater_ratings", "audit_log"):
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        counts["final_reviews"] = conn.execute(
            "SELECT count(*) FROM reviews WHERE status = 'final'"
        ).fetchone()[0]
        counts["sealed_reviews"] = conn.execute(  # a database made before seals has none: made again
            "SELECT count(*) FROM reviews WHERE status = 'final' AND ratings_seal IS NOT NULL"
        ).fetchone()[0]
        return counts
    finally:
        conn.close()


def generate(
    target: Target,
    *,
    programs: int = DEFAULT_PROGRAMS,
    reviews_per_program: int = DEFAULT_REVIEWS,
    seed: int = DEFAULT_SEED,
    registry: ScaleRegistry | None = None,
    reset: bool = True,
    mixed: bool = True,
) -> Summary:
    """Fill `target` (emptied first unless `reset` is False: then it must be empty); `mixed`
    adds bench/mixed.py's other scale, amendments, drafts and program-limited user."""
    if programs < 1 or reviews_per_program < 1:
        raise ValueError("programs and reviews per program must be at least 1")
    started = time.perf_counter()
    if reset:
        target.reset()
    upgrade_to_head(target.url)
    registry = registry or load_registry()
    scale = registry.get(SCALE_ID)
    built = time.perf_counter()
    rows = build_rows(scale, programs, reviews_per_program, seed, target.dialect)
    written = time.perf_counter()
    write_rows(target, rows)
    store_sums(target, registry)
    done = time.perf_counter()
    added = add_mixed(target, registry, programs) if mixed else None
    return Summary(
        target=target.label,
        programs=programs,
        reviews=len(rows["reviews"]),
        ratings=len(rows["consensus_ratings"]),
        seconds=done - started,
        build_seconds=written - built,
        write_seconds=done - written,
        mixed=added,
        mixed_seconds=time.perf_counter() - done,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=DEFAULT_PROGRAMS)
    parser.add_argument("--reviews-per-program", type=int, default=DEFAULT_REVIEWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql, both, or a comma-separated list")
    args = parser.parse_args(argv)
    for dialect in parse_dialects(args.db):
        target = default_target(dialect, args.programs, args.reviews_per_program, args.seed)
        summary = generate(
            target, programs=args.programs, reviews_per_program=args.reviews_per_program, seed=args.seed
        )
        print(summary.line())
    return 0


def parse_dialects(value: str | Iterable[str]) -> list[str]:
    words = value.split(",") if isinstance(value, str) else list(value)
    chosen: list[str] = []
    for word in (w.strip().lower() for w in words):
        names = (
            DIALECTS if word in ("both", "all") else ("postgresql" if word in ("pg", "postgres") else word,)
        )
        for name in names:
            if name not in DIALECTS:
                raise SystemExit(f"unknown --db {word!r}: use sqlite, postgresql or both")
            if name not in chosen:
                chosen.append(name)
    return chosen


if __name__ == "__main__":
    sys.exit(main())
