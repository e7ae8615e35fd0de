"""The load run (issue 21, part 5): many raters saving at once on one database while two app
processes rerun pages, on loopback only.

    python -m bench.load                          # 20 then 50 raters x 100 saves, SQLite and PostgreSQL
    python -m bench.load --raters 20 --saves 20 --db sqlite --no-nginx

Each run starts:
- two "app" processes of raters (as two Streamlit processes each serving half the sessions):
  every rater is a thread saving `saves` ratings with a note each, through services.rating's
  save_rating, on a review they are assigned to (two raters per review);
- two page processes rerunning the Rate page of one of those reviews with Streamlit's AppTest
  (the page's own script and services, against the same database) as fast as they can, and,
  with nginx, a GET of /_stcore/health through the proxy after each rerun;
- with nginx (the default when it is installed): `bench.cluster`, two real `streamlit run`
  processes behind nginx on the same database.

Then it reads everything back: a save is lost when the rater's last value for an item (rating
and note) is not what is stored, overwritten when a row names another rater as its writer, and
each save's note must have its audit row. Errors (any exception: "database is locked", a
deadlock, a pool timeout) are counted and the first ones printed. Latencies are printed against
the same run with one rater (one user) on the same database, measured first: ratios, not goals.
PostgreSQL writers are serialized by the audit chain's advisory lock (storage.audit_chain), as
SQLite's are by its write lock: the ratio of save latency shows that cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from bench.cluster import ROOT, Cluster
from bench.targets import (
    DEFAULT_POSTGRES_URL,
    POSTGRES_URL_VARIABLE,
    Target,
    ensure_postgres_database,
    postgres_target,
    sqlite_target,
)
from services import reviews as svc
from services.access import local_admin
from services.database import Database
from services.integrity import check_database
from services.rating import save_rating
from services.reviews import get_review
from services.settings import get_registry
from storage.migrate import upgrade_to_head
from storage.models import AuditEntry, RaterRating

DACTS = [f"H{i}" for i in range(1, 12)] + [f"O{i}" for i in range(1, 8)] + [f"S{i}" for i in range(1, 11)]
APP_PROCESSES = 2
PAGE_PROCESSES = 2
Job = tuple[int, str]  # (review id, rater)


def planned(rater: str, i: int) -> tuple[str, int, str]:
    """What rater's save number i writes: (item, rating, note). Deterministic, so the check
    knows each rater's last value per item without being told."""
    return DACTS[i % len(DACTS)], 1 + (i * 7 + len(rater)) % 5, f"{rater}: save {i}"


@dataclass
class LoadResult:
    backend: str
    raters: int
    saves_per_rater: int
    seconds: float = 0.0
    saved: int = 0
    lost: int = 0
    overwritten: int = 0
    unaudited: int = 0
    errors: list[str] = field(default_factory=list)
    save_ms: list[float] = field(default_factory=list)
    rerun_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    integrity_ok: bool = False

    @property
    def clean(self) -> bool:
        return not (self.lost or self.overwritten or self.unaudited or self.errors) and self.integrity_ok


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- the raters: two processes of threads ------------------------------------------------------


def _raters_process(url: str, jobs: list[Job], saves: int, ready: Any, go: Any, results: Any) -> None:

    db = Database(
        url, registry=get_registry(), pool_options={"pool_size": max(1, len(jobs)), "max_overflow": 5}
    )
    save_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def rate(review_id: int, rater: str) -> None:
        actor = local_admin(rater)
        for i in range(saves):
            item, rating, note = planned(rater, i)
            start = time.perf_counter()
            try:
                save_rating(db, review_id, rater, item, rating=rating, note=note, actor=actor)
            except Exception as exc:  # counted and reported: the run must have none
                with lock:
                    errors.append(f"{rater} save {i}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                save_ms.append(elapsed)

    threads = [threading.Thread(target=rate, args=job) for job in jobs]
    for review_id, rater in jobs:  # warm: the scale, the pool's connections, as an open page has them
        get_review(db, review_id, actor=local_admin(rater))
    ready.put("raters")
    go.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    results.put({"save_ms": save_ms, "errors": errors})


# ---- the pages: AppTest reruns, and the proxy's health check ------------------------------------


def _page_process(
    url: str, review_id: int, health_url: str | None, ready: Any, go: Any, stop: Any, results: Any
) -> None:
    os.environ["FIDELITY_DATABASE_URL"] = url

    errors: list[str] = []
    rerun_ms: list[float] = []
    health_ms: list[float] = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.query_params["review"] = str(review_id)
    at.switch_page("app_pages/rate.py").run()
    ready.put("page")
    go.wait()
    while not rerun_ms or not stop.is_set():
        start = time.perf_counter()
        at.run()
        rerun_ms.append((time.perf_counter() - start) * 1000)
        errors += [f"page rerun: {e.value}" for e in at.exception]
        if health_url is not None:
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(health_url, timeout=30) as response:
                    if response.read().decode().strip() != "ok":
                        errors.append("health check through nginx: not ok")
            except OSError as exc:
                errors.append(f"health check through nginx: {exc}")
            health_ms.append((time.perf_counter() - start) * 1000)
    results.put({"rerun_ms": rerun_ms, "health_ms": health_ms, "errors": errors})


# ---- one run ------------------------------------------------------------------------------------


def prepare(url: str, raters: int, label: str) -> list[Job]:
    """A program and reviews with two raters each (the last alone when `raters` is odd)."""

    lead = local_admin("lead")
    names = [f"{label}-r{n:03d}" for n in range(1, raters + 1)]
    jobs: list[Job] = []
    with Database(url, registry=get_registry()) as db:
        program = svc.create_program(db, f"Load {label} {uuid.uuid4().hex[:6]}", actor=lead)
        for pair in range(0, raters, 2):
            pair_names = names[pair : pair + 2]
            review = svc.start_review(
                db, program.id, "dacts", "1.0", dt.date(2026, 3, 14), "baseline", pair_names, actor=lead
            )
            jobs += [(review.id, name) for name in pair_names]
    return jobs


def run_load(
    url: str,
    backend: str,
    raters: int,
    saves: int,
    *,
    health_url: str | None = None,
    pages: int = PAGE_PROCESSES,
) -> LoadResult:
    """Run `raters` raters x `saves` saves against the database at `url` and check everything."""
    jobs = prepare(url, raters, f"{backend[:2]}{raters}x{saves}")
    ctx = mp.get_context("spawn")
    ready, go, stop, results = ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Queue()
    split = [jobs[i::APP_PROCESSES] for i in range(APP_PROCESSES)]
    workers = [
        ctx.Process(target=_raters_process, args=(url, part, saves, ready, go, results))
        for part in split
        if part
    ]
    page_workers = [
        ctx.Process(target=_page_process, args=(url, jobs[0][0], health_url, ready, go, stop, results))
        for _ in range(pages)
    ]
    for process in [*workers, *page_workers]:
        process.start()
    for _ in [*workers, *page_workers]:  # every process set up (AppTest's first run done) before the clock
        ready.get(timeout=600)
    result = LoadResult(backend=backend, raters=raters, saves_per_rater=saves)
    start = time.perf_counter()
    go.set()
    parts = [results.get(timeout=1800) for _ in workers]
    result.seconds = time.perf_counter() - start
    stop.set()
    parts += [results.get(timeout=600) for _ in page_workers]
    for process in [*workers, *page_workers]:
        process.join(60)
    for part in parts:
        result.save_ms += part.get("save_ms", [])
        result.rerun_ms += part.get("rerun_ms", [])
        result.health_ms += part.get("health_ms", [])
        result.errors += part["errors"]
    result.saved = len(result.save_ms)
    _verify(url, jobs, saves, result)
    return result


def _verify(url: str, jobs: list[Job], saves: int, result: LoadResult) -> None:

    review_ids = sorted({review_id for review_id, _ in jobs})
    with Database(url, registry=get_registry()) as db:
        with db.reading() as s:
            rows = s.execute(
                select(
                    RaterRating.review_id, RaterRating.rater, RaterRating.item_id,
                    RaterRating.rating, RaterRating.note, RaterRating.updated_by,
                ).where(RaterRating.review_id.in_(review_ids))
            ).all()  # fmt: skip
            notes = s.execute(
                select(AuditEntry.review_id, AuditEntry.actor, func.count())
                .where(AuditEntry.review_id.in_(review_ids), AuditEntry.field == "note")
                .group_by(AuditEntry.review_id, AuditEntry.actor)
            ).all()
        result.integrity_ok = check_database(db, actor=local_admin("bench")).ok
    stored: dict[Job, dict[str, tuple[int | None, str | None]]] = {}
    for review_id, rater, item, rating, note, writer in rows:
        stored.setdefault((review_id, rater), {})[item] = (rating, note)
        result.overwritten += writer != rater
    audited = {(review_id, actor): count for review_id, actor, count in notes}
    for review_id, rater in jobs:
        expected = {item: (rating, note) for item, rating, note in (planned(rater, i) for i in range(saves))}
        have = stored.get((review_id, rater), {})
        result.lost += sum(1 for item, value in expected.items() if have.get(item) != value)
        result.unaudited += max(0, saves - audited.get((review_id, rater), 0))


def report(result: LoadResult, single: LoadResult | None) -> list[str]:
    def figures(values: list[float], base: list[float] | None) -> str:
        p50, p95 = percentile(values, 50), percentile(values, 95)
        text = f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
        if base:
            text += f"  (x{p50 / percentile(base, 50):.1f} / x{p95 / percentile(base, 95):.1f} one user)"
        return text

    lines = [
        f"{result.backend:<10} {result.raters:>3} raters x {result.saves_per_rater} saves: "
        f"{result.saved} saved in {result.seconds:.1f} s ({result.saved / max(result.seconds, 1e-9):.0f}/s); "
        f"lost {result.lost}, overwritten {result.overwritten}, unaudited {result.unaudited}, "
        f"errors {len(result.errors)}, db check {'ok' if result.integrity_ok else 'FAILED'}",
        f"{'':<10} save latency   {figures(result.save_ms, single.save_ms if single else None)}",
        f"{'':<10} page rerun     {figures(result.rerun_ms, single.rerun_ms if single else None)}"
        f"  ({len(result.rerun_ms)} reruns)",
    ]
    if result.health_ms:
        lines.append(
            f"{'':<10} nginx health   {figures(result.health_ms, single.health_ms if single else None)}"
        )
    lines += [f"{'':<10} error: {error}" for error in result.errors[:5]]
    return lines


def _targets(dialects: Sequence[str], tmp: Path) -> list[Target]:
    found = []
    for dialect in dialects:
        if dialect == "sqlite":
            found.append(sqlite_target(tmp / f"load-{uuid.uuid4().hex[:8]}.db"))
        else:
            base = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
            found.append(postgres_target(base, f"load_{uuid.uuid4().hex[:10]}"))
    return found


def main(argv: Sequence[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", default="20,50", help="comma-separated numbers of raters")
    parser.add_argument("--saves", type=int, default=100, help="saves per rater")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--no-nginx", action="store_true", help="no streamlit processes behind nginx")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.raters.split(",")]
    clean = True
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for target in _targets(args.db.split(","), tmp):
        if target.dialect == "postgresql":
            assert target.base_url is not None
            ensure_postgres_database(target.base_url)
        target.reset()
        upgrade_to_head(target.url)
        cluster = None if args.no_nginx else Cluster(target.url).start()
        health = None if cluster is None else f"{cluster.url}/_stcore/health"
        try:
            if cluster is not None:
                print(f"{target.dialect}: apps {', '.join(cluster.app_urls)} behind nginx {cluster.url}")
            single = run_load(target.url, target.dialect, 1, args.saves, health_url=health, pages=1)
            for line in report(single, None):
                print(line.replace(" 1 raters", " 1 rater (one user)"), flush=True)
            clean &= single.clean
            for raters in counts:
                result = run_load(target.url, target.dialect, raters, args.saves, health_url=health)
                print("\n".join(report(result, single)), flush=True)
                clean &= result.clean
        finally:
            if cluster is not None:
                cluster.stop()
            target.drop()
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
