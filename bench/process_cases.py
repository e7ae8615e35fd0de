"""The benchmarks that run the project in a fresh process (bench/jobs.py, through run_job): the
app's first page, a PDF report and a historical import, each against its floor or its goal.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.context import Context
from bench.jobs import write_import_csv
from bench.longest import MAX_PAGES
from bench.measure import Result, run_job
from storage.migrate import upgrade_to_head


def start(ctx: Context) -> Result:
    """The app's first page in a fresh server process (imports, opening the database, the
    Reviews page of an agency), best of three, against an empty page's first run."""
    runs = [run_job(["start", ctx.target.url, "app"]) for _ in range(START_RUNS)]
    empty = min(run_job(["start", ctx.target.url, "empty"])["seconds"] for _ in range(START_RUNS))
    best = min(runs, key=lambda job: job["seconds"])
    return Result(
        ctx.dialect,
        "app start: the Reviews page's first run in a fresh process (AppTest)",
        f"{best['seconds']:.2f} s vs an empty page's first run {empty:.2f} s "
        f"({best['seconds'] / empty:.1f}x); {best['modules']} modules loaded",
        best["seconds"] / START_GOAL_S,
        1.0,
        f"< {START_GOAL_S:.0f} s (ours; the issue asks for lazy imports): "
        f"ratio = seconds / {START_GOAL_S:.0f}",
        [f"the page raised: {p}" for p in best["problems"][:1]],
        {**best, "empty_s": empty},
    )


START_RUNS = 3
START_GOAL_S = 3.0


# ---- 5. a PDF report --------------------------------------------------------------------------


def pdf(ctx: Context) -> Result:
    with ctx.raw() as conn:
        first, measured = (
            conn.execute(
                "SELECT max(id) FROM reviews WHERE program_id = "
                f"(SELECT {agg}(id) FROM programs) AND status = 'final'"
            ).fetchone()[0]
            for agg in ("max", "min")
        )
    # `fidelity report` is a fresh process and the app's later reports are warm: judged on the
    # worse of the two, so neither can fail unseen (the imports are shown, see the README). Best
    # of three fresh processes, as the other figures are best of several runs.
    jobs = [run_job(["pdf", ctx.target.url, str(measured), str(first)]) for _ in range(PDF_RUNS)]
    job = min(jobs, key=lambda j: max(j["cpu_s"], j["first_cpu_s"]))
    cpu, grown = job["cpu_s"], max(j["peak_mb"] - j["baseline_mb"] for j in jobs)
    worst = max(cpu, job["first_cpu_s"])
    ratio = max(worst / 1.0, grown / 300.0)
    return Result(
        ctx.dialect,
        "PDF report with charts (a stored review with its drift chart)",
        f"{cpu:.2f} CPU s warm, {job['first_cpu_s']:.2f} CPU s as the first report of a fresh process "
        f"(after {job['import_cpu_s']:.2f} CPU s importing fpdf2, pandas and the report modules, not "
        f"counted); peak memory +{grown:.0f} MB over the {job['baseline_mb']:.0f} MB process before "
        f"them ({job['peak_mb']:.0f} MB in all), {job['pages']} pages, {job['bytes'] // 1024} KiB",
        ratio,
        1.0,
        "< 1 s CPU (fresh and warm) and < 300 MB: ratio = the larger share of its limit, <= 1",
        [] if job["pages"] >= 1 else ["no pages"],
        job,
    )


PDF_RUNS = 3


def pdf_limits(ctx: Context) -> Result:
    """The PDF of the longest review the input rules allow (bench/longest.py), best of three
    fresh processes, judged on the worse of its first and its warm report."""
    jobs = [run_job(["pdf-limits", "-", "-"]) for _ in range(PDF_RUNS)]
    job = min(jobs, key=lambda j: max(j["cpu_s"], j["first_cpu_s"]))
    worst = max(job["cpu_s"], job["first_cpu_s"])
    too_long = job["pages"] > MAX_PAGES
    return Result(
        ctx.dialect,
        "PDF report at the input limits (every text of a DACTS review at its maximum length)",
        f"{job['cpu_s']:.2f} CPU s warm, {job['first_cpu_s']:.2f} CPU s as the first report of a fresh "
        f"process; {job['characters']:,} characters of text, {job['pages']} pages (at most {MAX_PAGES}), "
        f"{job['bytes'] // 1024} KiB",
        worst / 1.0,
        1.0,
        "< 1 s CPU (fresh and warm): ratio = CPU seconds",
        [f"{job['pages']} pages, more than {MAX_PAGES}"] if too_long else [],
        job,
    )


# ---- 6. a historical import -------------------------------------------------------------------


IMPORT_REVIEWS = 5000
IMPORT_REVIEWS_PER_PROGRAM = 20


def import_csv(ctx: Context) -> Result:
    n = IMPORT_REVIEWS if ctx.programs >= 100 else ctx.programs * 5
    scratch = ctx.target.sibling("_import")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "historical.csv"
        write_import_csv(path, ctx.registry.get("dacts"), n, IMPORT_REVIEWS_PER_PROGRAM, ctx.seed)
        try:
            scratch.reset()
            upgrade_to_head(scratch.url)
            job = run_job(["import", scratch.url, str(path)], timeout=1200)
            scratch.reset()
            upgrade_to_head(scratch.url)
            floor = run_job(["import-floor", scratch.url, str(path)], timeout=1200)
        finally:
            scratch.drop()
    rate = job["rows"] / job["seconds"]
    floor_rate = job["rows"] / floor["seconds"]
    ratio = max(IMPORT_SHARE * floor_rate / rate, job["peak_mb"] / IMPORT_PEAK_MB)
    checks = [] if job["stored"] == n else [f"{job['stored']} of {n} reviews stored"]
    return Result(
        ctx.dialect,
        f"historical import of a {n}-review CSV (fidelity import, fresh process)",
        f"{job['seconds']:.1f} s = {rate:,.0f} rows/s, {job['cpu_s']:.1f} CPU s, peak memory "
        f"{job['peak_mb']:.0f} MB (process; {job['baseline_mb']:.0f} MB before); floor: the same reviews "
        f"and ratings bulk-inserted with the driver alone in {floor['seconds']:.2f} s "
        f"({job['seconds'] / floor['seconds']:.0f}x faster: no checks, scores, checksums or audit trail)",
        ratio,
        1.0,
        f">= {IMPORT_SHARE:.0%} of the floor's {floor_rate:,.0f} rows/s and < {IMPORT_PEAK_MB} MB: "
        "ratio = the larger share of its limit, <= 1",
        checks,
        {**job, "floor_s": floor["seconds"], "rows_per_s": rate, "floor_rows_per_s": floor_rate},
    )


IMPORT_SHARE = 0.10  # of the driver's bulk insert (executemany on SQLite, COPY on PostgreSQL): issue 22
IMPORT_PEAK_MB = 300
