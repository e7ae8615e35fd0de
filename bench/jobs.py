"""Benchmark work that runs in a fresh process, so its CPU time and peak memory are its own.

`python -m bench.jobs pdf URL REVIEW_ID`, `... import URL CSV`, `... import-floor URL CSV`; each
prints one JSON line. Peak memory is the process's peak resident set (ru_maxrss), which
includes the interpreter and the libraries (VmHWM); `baseline_mb` is the resident set before
the measured work starts.

Each job imports the project's modules inside its function, after its process starts: a job's
process loads only its own work, and the figures say which imports they count.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scales import Scale

PROVIDERS = 25


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """The process's peak resident set: VmHWM, which starts afresh at exec (ru_maxrss does not:
    on Linux it carries over the high-water mark of the parent that forked us)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pdf_job(url: str, review_id: int, first_review_id: int) -> dict[str, Any]:
    """Stored reviews' PDFs with their charts, as `fidelity report --review ID` makes them: the
    first report in a fresh process, then the report measured, of another program's review, as
    any later report in that process."""
    # In the job (module docstring), before the baseline: the project's database layer.
    from services.access import LOCAL_ADMIN
    from services.database import Database

    db = Database(url)
    baseline = _rss_mb()
    cpu = time.process_time()
    # What `fidelity report` imports before its first report (fpdf2, pandas): timed apart.
    import reports.drawing
    import reports.model
    import reports.pdf
    from services.report_data import stored_review_pdf

    del reports
    import_cpu = time.process_time() - cpu
    cpu = time.process_time()
    stored_review_pdf(db, first_review_id, actor=LOCAL_ADMIN)
    first_cpu = time.process_time() - cpu
    first_peak = _peak_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    document = stored_review_pdf(db, review_id, actor=LOCAL_ADMIN)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db.dispose()
    pages = document.count(b"/Type /Page\n") or document.count(b"/Type /Page")
    return {
        "cpu_s": cpu,
        "seconds": wall,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
        "first_cpu_s": first_cpu,
        "import_cpu_s": import_cpu,
        "first_peak_mb": first_peak,
        "bytes": len(document),
        "pages": pages,
    }


def start_job(url: str, what: str) -> dict[str, Any]:
    """A fresh server process's first run: the app's start page (Reviews, the local admin's
    view of every review) or a one-line empty page, with AppTest; the imports of AppTest and
    Streamlit themselves come before the clock starts, as in a server that is already up."""
    from streamlit.testing.v1 import AppTest  # in the job (module docstring)

    os.environ["FIDELITY_DATABASE_URL"] = url
    root = Path(__file__).resolve().parents[1]
    if what == "app":
        at = AppTest.from_file(str(root / "app.py"), default_timeout=600)
    else:
        at = AppTest.from_string("import streamlit as st\n\nst.title('Empty')\n", default_timeout=600)
    wall = time.perf_counter()
    at.run()
    return {
        "seconds": time.perf_counter() - wall,
        "modules": len(sys.modules),
        "problems": [str(e.value) for e in at.exception],
        "peak_mb": _peak_mb(),
    }


def import_job(url: str, path: str) -> dict[str, Any]:
    """`fidelity import FILE.csv` into an empty, migrated database."""
    # In the job (module docstring), before the baseline: what `fidelity import` loads.
    from services.access import LOCAL_ADMIN
    from services.database import Database
    from services.historical_import import import_wide, read_wide_file

    db = Database(url)
    baseline = _rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    frame = read_wide_file(Path(path))
    summary = import_wide(db, frame, actor=LOCAL_ADMIN, source=Path(path).name)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db.dispose()
    return {
        "rows": len(frame),
        "stored": summary.created,
        "seconds": wall,
        "cpu_s": cpu,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
    }


def import_floor_job(url: str, path: str) -> dict[str, Any]:
    """The floor of an import: the same CSV read with the csv module and its programs, reviews
    and consensus ratings written with the driver alone, in one transaction (executemany on
    SQLite, COPY on PostgreSQL: each driver's bulk way in)."""
    # In the job (module docstring): the driver and the scales, nothing of the services.
    import sqlite3  # here, not at the top: the start job counts the modules its process loads

    from bench.targets import dbapi_connect
    from services.settings import get_registry

    scale = get_registry().get("dacts")
    stamp = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    conn = dbapi_connect(url)
    sqlite = isinstance(conn, sqlite3.Connection)
    mark = "?" if sqlite else "%s"
    when: Any = stamp.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else stamp
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    programs: dict[str, int] = {}
    reviews: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    for review_id, row in enumerate(rows, start=1):
        program_id = programs.setdefault(row["program"], len(programs) + 1)
        reviews.append(
            (review_id, program_id, scale.id, scale.version, scale.content_hash, row["date"], "follow-up",
             "final", 0, when, "bench", when, when, "bench", 1)
        )  # fmt: skip
        for item in scale.items:
            value = row[item.id].strip()
            rating = int(value) if value else None
            reason = None if rating is not None else "not rated in the imported file"
            ratings.append(
                (
                    review_id,
                    item.id,
                    rating,
                    "rated" if rating is not None else None,
                    reason,
                    when,
                    "bench",
                    1,
                )
            )
    review_columns = (
        "id, program_id, scale_id, scale_version, scale_hash, review_date, review_type, status, "
        "amendment_number, created_at, created_by, updated_at, finalized_at, finalized_by, version"
    )
    rating_columns = (
        "review_id, item_id, rating, rating_source, not_rated_reason, updated_at, updated_by, version"
    )
    program_rows = [(pid, name, "ACT", when, when) for name, pid in programs.items()]
    statements = [
        (f"INSERT INTO programs (id, name, model, created_at, updated_at) VALUES ({', '.join([mark] * 5)})",
         program_rows),
        # Ratings go in while the reviews are still open (the triggers refuse rows of final reviews).
        (f"INSERT INTO reviews ({review_columns}) VALUES ({', '.join([mark] * 15)})",
         [(*r[:7], "consensus", *r[8:]) for r in reviews]),
        (f"INSERT INTO consensus_ratings ({rating_columns}) VALUES ({', '.join([mark] * 8)})", ratings),
    ]  # fmt: skip
    try:
        if sqlite:
            conn.isolation_level = None
            conn.execute("BEGIN IMMEDIATE")
            for sql, values in statements:
                conn.executemany(sql, values)
            conn.execute("UPDATE reviews SET status = 'final'")
            conn.execute("COMMIT")
        else:  # COPY: PostgreSQL's bulk load, the fastest way in for many rows
            with conn.transaction(), conn.cursor() as cur:
                for sql, values in statements:
                    table, columns = sql.split(" VALUES ", 1)[0].removeprefix("INSERT INTO ").split(" ", 1)
                    with cur.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
                cur.execute("UPDATE reviews SET status = 'final'")
    finally:
        conn.close()
    return {"rows": len(rows), "seconds": time.perf_counter() - started}


def write_import_csv(path: Path, scale: Scale, reviews: int, per_program: int, seed: int) -> None:
    """A historical wide CSV of `reviews` DACTS reviews, `per_program` per program (seeded)."""
    rng = random.Random(seed)
    items = [item.id for item in scale.items]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["program", "provider", "region", "date", "scale", "version", *items])
        for n in range(reviews):
            program = n // per_program + 1
            level = 2.5 + (program * 7919 % 200) / 100
            day = dt.date(2005, 1, 1) + dt.timedelta(days=182 * (n % per_program) + program % 90)
            ratings = []
            for _ in items:
                value = max(1, min(5, round(level + rng.gauss(0, 0.8))))
                ratings.append("" if rng.random() < 0.01 else str(value))
            out.writerow(
                [f"Historical Team {program:04d}", f"Historical Provider {program % PROVIDERS + 1:02d}",
                 f"Region {program % 7 + 1}", day.isoformat(), scale.id, scale.version, *ratings]
            )  # fmt: skip


def main(argv: Sequence[str]) -> int:
    kind, url, arg, *more = argv
    if kind == "pdf":
        result = pdf_job(url, int(arg), int(more[0]))
    elif kind == "start":
        result = start_job(url, arg)
    elif kind == "import":
        result = import_job(url, arg)
    elif kind == "import-floor":
        result = import_floor_job(url, arg)
    elif kind == "pdf-limits":  # no database: the longest review file allowed
        from bench.longest import pdf_limits_job  # in the job (module docstring)

        result = pdf_limits_job()
    else:
        raise SystemExit(f"unknown job {kind!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
