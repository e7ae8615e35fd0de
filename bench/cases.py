"""The benchmarks: each measures the project's code against a floor measured in the same run.

Floors are the least work that gives the same numbers: one hand-written SQL query run with
the database driver alone (sqlite3 or psycopg, no SQLAlchemy, no pandas), a plain pandas
groupby, a Streamlit page with nothing on it. The hand-written queries are written for the
benchmark's data (every review is DACTS, whose item ids start with their subscale's letter).
Every benchmark that computes numbers also checks that both sides agree.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.measure import ROOT, Result, best_of, interleaved, ms, run_job
from bench.targets import Target, dbapi_connect
from scales import ScaleRegistry
from services.access import LOCAL_ADMIN
from services.database import Database
from storage.migrate import upgrade_to_head

SCALE = "dacts"  # every review the generator makes
SUBSCALES = ("H", "O", "S")  # DACTS; the floors read an item's subscale from its id's first letter
FINAL = (
    "r.status = 'final' AND NOT EXISTS "
    "(SELECT 1 FROM reviews n WHERE n.amendment_of = r.id AND n.status = 'final')"
)
MEANS = ", ".join(
    ["avg(c.rating) AS total"]
    + [f"avg(CASE WHEN substr(c.item_id, 1, 1) = '{s}' THEN c.rating END) AS {s.lower()}" for s in SUBSCALES]
)
BAND = (  # DACTS 1.0: the total mean rounded to 2 decimals, then its band
    "CASE WHEN round(s.total, 2) >= 4 THEN 'Full implementation' "
    "WHEN round(s.total, 2) >= 3 THEN 'Fair implementation' ELSE 'Not ACT' END"
)
# The same columns as the project's result: the review, its program, the means and the band.
# The means are added up per review first and the names joined to the 20,000 sums after, as
# anyone tuning this query by hand would (grouping by the names too makes SQLite sort every rating).
RESULT = (
    "SELECT r.id, p.id, p.name, pr.name, p.region, r.scale_version, r.review_date, "
    f"s.total, {', '.join(f's.{x.lower()}' for x in SUBSCALES)}, {BAND} "
    "FROM s JOIN reviews r ON r.id = s.id JOIN programs p ON p.id = r.program_id "
    "LEFT JOIN providers pr ON pr.id = p.provider_id "
)
SERIES_SQL = (
    f"WITH s AS (SELECT r.id AS id, {MEANS} FROM reviews r JOIN consensus_ratings c ON c.review_id = r.id "
    f"WHERE {FINAL}{{program}} GROUP BY r.id) {RESULT} ORDER BY r.review_date, r.id"
)
DASHBOARD_SQL = f"""WITH ranked AS (
    SELECT r.id, row_number() OVER (PARTITION BY r.program_id, r.scale_id
                                    ORDER BY r.review_date DESC, r.id DESC) AS k
    FROM reviews r WHERE {FINAL}),
s AS (SELECT r.id AS id, {MEANS} FROM ranked r JOIN consensus_ratings c ON c.review_id = r.id
      WHERE r.k = 1 GROUP BY r.id)
{RESULT} ORDER BY p.name"""
EMPTY_PAGE = "import streamlit as st\n\nst.title('Empty')\n"
TOLERANCE = 1e-9


@dataclass
class Context:
    """What every benchmark of one database gets."""

    target: Target
    db: Database
    registry: ScaleRegistry
    programs: int
    reviews_per_program: int
    seed: int
    rounds: int  # interleaved rounds for the fast benchmarks
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.target.dialect

    def placeholder(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    @contextmanager
    def raw(self) -> Iterator[Any]:
        """A plain driver connection (the floors' only tool)."""
        conn = dbapi_connect(self.target.url)
        try:
            yield conn
        finally:
            conn.close()


# ---- helpers ----------------------------------------------------------------------------------


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOLERANCE


def _compare_means(project: pd.DataFrame, floor_rows: list[tuple[Any, ...]], what: str) -> list[str]:
    """The floor rows are (review id, ..., total mean, H, O, S means, band)."""
    problems: list[str] = []
    means = slice(-2 - len(SUBSCALES), -1)
    expected = {int(row[0]): [_float(v) for v in row[means]] for row in floor_rows}
    bands = {int(row[0]): row[-1] for row in floor_rows}
    got = {
        int(rid): [float(v) for v in values]
        for rid, *values in project.loc[
            :, ["review_id", "total_mean", *(f"sub_{s}" for s in SUBSCALES)]
        ].itertuples(index=False, name=None)
    }
    if set(expected) != set(got):
        problems.append(f"{what}: {len(set(expected) ^ set(got))} reviews differ between project and floor")
        return problems
    wrong = [rid for rid, values in expected.items() if not all(map(_close, values, got[rid]))]
    if wrong:
        problems.append(f"{what}: means differ for {len(wrong)} reviews, e.g. review {wrong[0]}")
    got_bands = dict(zip(project["review_id"].astype(int), project["band"], strict=True))
    wrong = [rid for rid, band in bands.items() if got_bands[rid] != band]
    if wrong:
        problems.append(f"{what}: bands differ for {len(wrong)} reviews, e.g. review {wrong[0]}")
    return problems


# ---- 1. the agency dashboard ------------------------------------------------------------------


def dashboard(ctx: Context) -> Result:
    from services.analytics_data import review_scores

    def project() -> pd.DataFrame:
        return review_scores(ctx.db, actor=LOCAL_ADMIN, scale_id=SCALE, latest=1).frame

    with ctx.raw() as conn:

        def floor() -> list[tuple[Any, ...]]:
            return conn.execute(DASHBOARD_SQL).fetchall()

        best_project, best_floor = interleaved(project, floor, rounds=max(3, ctx.rounds // 4))
        checks = _compare_means(project(), floor(), "dashboard")
    ratio = best_project / best_floor
    return Result(
        ctx.dialect,
        "dashboard (latest final review per program, total and subscale means)",
        f"{ctx.programs} programs: project {ms(best_project)} "
        "(services.analytics_data.review_scores(latest=1)), "
        f"floor {ms(best_floor)} (one hand-written SQL query, driver alone)",
        ratio,
        2.0,
        "<= 2x",
        checks,
        {"project_s": best_project, "floor_s": best_floor},
    )


# ---- 2. drift series --------------------------------------------------------------------------


def series_one(ctx: Context) -> Result:
    from services.analytics_data import review_scores

    programs = list(range(1, ctx.programs + 1))[: min(50, ctx.programs)]
    sql = SERIES_SQL.format(program=f" AND r.program_id = {ctx.placeholder()}")
    total_project = total_floor = 0.0
    checks: list[str] = []
    with ctx.raw() as conn:
        for program_id in programs:

            def project(p: int = program_id) -> Any:
                return review_scores(ctx.db, actor=LOCAL_ADMIN, program_id=p, scale_id=SCALE)

            def floor(p: int = program_id) -> list[tuple[Any, ...]]:
                return conn.execute(sql, (p,)).fetchall()

            best_project, best_floor = interleaved(project, floor, rounds=ctx.rounds, collect=False)
            total_project += best_project
            total_floor += best_floor
        for program_id in programs[:5]:
            checks += _compare_means(
                review_scores(ctx.db, actor=LOCAL_ADMIN, program_id=program_id, scale_id=SCALE).frame,
                conn.execute(sql, (program_id,)).fetchall(),
                f"program {program_id}",
            )
    n = len(programs)
    return Result(
        ctx.dialect,
        "drift series, one program (each review's total and subscale means)",
        f"{ctx.reviews_per_program} reviews, mean of {n} programs: project {ms(total_project / n)} "
        f"(review_scores(program_id=...)), floor {ms(total_floor / n)} (hand-written SQL, driver alone)",
        total_project / total_floor,
        2.0,
        "<= 2x",
        checks,
        {"project_s": total_project / n, "floor_s": total_floor / n},
    )


def series_all(ctx: Context) -> Result:
    from services.analytics_data import review_scores

    sql = SERIES_SQL.format(program="")

    def project() -> pd.DataFrame:
        return review_scores(ctx.db, actor=LOCAL_ADMIN, scale_id=SCALE).frame

    with ctx.raw() as conn:

        def floor() -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()

        best_project, best_floor = interleaved(project, floor, rounds=3)
        checks = _compare_means(project(), floor(), "all programs")
    return Result(
        ctx.dialect,
        "drift series, all programs",
        f"{ctx.programs * ctx.reviews_per_program} reviews: project {ms(best_project)} (review_scores()), "
        f"floor {ms(best_floor)} (hand-written SQL, driver alone)",
        best_project / best_floor,
        2.0,
        "<= 2x",
        checks,
        {"project_s": best_project, "floor_s": best_floor},
    )


# ---- 3. scoring every review ------------------------------------------------------------------


def rating_frame(ctx: Context) -> pd.DataFrame:
    """Every final review's ratings, as scoring.analytics reads them (loaded once, not timed)."""
    if "ratings" not in ctx.cache:
        from services.analytics_data import finalized_ratings

        ctx.cache["ratings"] = finalized_ratings(ctx.db, actor=LOCAL_ADMIN)
    frame: pd.DataFrame = ctx.cache["ratings"]
    return frame


def scoring(ctx: Context) -> Result:
    from scoring.analytics import review_totals

    ratings = rating_frame(ctx)
    scale = ctx.registry.get("dacts")
    subscale_of = {item.id: item.subscale for item in scale.items}

    def project() -> pd.DataFrame:
        return review_totals(ratings, ctx.registry)

    def floor() -> pd.DataFrame:
        # The same numbers, as a pandas user would compute them: two groupbys.
        frame = ratings.loc[:, ["review_id", "item_id", "rating"]]
        frame = frame.assign(subscale=frame["item_id"].map(subscale_of))
        totals = frame.groupby("review_id")["rating"].mean().rename("total_mean")
        subs = frame.groupby(["review_id", "subscale"])["rating"].mean().unstack("subscale")
        return pd.concat([totals, subs.add_prefix("sub_")], axis=1)

    best_project, best_floor = interleaved(project, floor, rounds=3)
    totals, expected = project(), floor()
    checks: list[str] = []
    got = totals.set_index("review_id").loc[expected.index, list(expected.columns)]
    diff = (got.astype("float64") - expected.astype("float64")).abs().fillna(0.0).to_numpy().max()
    if diff > TOLERANCE:
        checks.append(f"means differ from pandas' by up to {diff}")
    checks += _check_finalized_scores(ctx, totals)
    ctx.cache.pop("ratings", None)  # half a gigabyte the other benchmarks do not need
    n = totals.shape[0]
    return Result(
        ctx.dialect,
        "scoring every review (scoring.analytics.review_totals)",
        f"{n} reviews, {len(ratings)} ratings: project {ms(best_project)}, floor {ms(best_floor)} "
        "(pandas groupby means); totals, bands and subscale means also equal each review's stored "
        "score (scoring.score_ratings)" + ("" if not checks else ": NOT"),
        best_project / best_floor,
        3.0,
        "<= 3x",
        checks,
        {"project_s": best_project, "floor_s": best_floor, "reviews": n},
    )


def _check_finalized_scores(ctx: Context, totals: pd.DataFrame) -> list[str]:
    """The vectorised scores against each review's final_score, which the generator computed
    one review at a time with scoring.score_ratings."""
    with ctx.raw() as conn:
        stored = conn.execute("SELECT id, final_score FROM reviews WHERE status = 'final'").fetchall()
    scores = {rid: (json.loads(s) if isinstance(s, str) else s) for rid, s in stored}
    wrong: list[int] = []
    for row in totals.itertuples(index=False):
        score = scores.get(int(row.review_id))
        if score is None:
            wrong.append(int(row.review_id))
            continue
        banded = score["banded_value"]
        same = (
            score["band"] == row.band
            and (banded is None) == pd.isna(row.banded_value)
            and (banded is None or abs(banded - row.banded_value) < 1e-9)
            and score["total"]["rated"] == row.rated
            and score["total"]["sum"] == row.total_sum
            and all(
                score["subscales"][s]["mean"] == _round2(getattr(row, f"sub_{s}"))
                for s in SUBSCALES
                if s in score["subscales"]
            )
        )
        if not same:
            wrong.append(int(row.review_id))
    return [f"{len(wrong)} reviews differ from their stored score, e.g. {wrong[0]}"] if wrong else []


def _round2(value: float) -> float | None:
    from decimal import Decimal

    from scoring.rounding import as_float

    return None if pd.isna(value) else as_float(Decimal(repr(float(value))), 2)


# ---- 4. the Drift and Compare pages -----------------------------------------------------------


# Each view of the two pages: a page draws its open tab (and section) only, so each is a rerun of
# its own; a page is within its goal when every view is. (query parameters, session state)
PAGE_VIEWS: dict[str, list[tuple[str, dict[str, str], dict[str, str]]]] = {
    "drift": [
        ("Agency tab", {"view": "Agency"}, {}),
        ("Program tab, Items that fell", {"view": "Program"}, {}),
        ("Program tab, Low twice", {"view": "Program"}, {"drift_section": "Low twice"}),
        ("Program tab, Scores over time", {"view": "Program"}, {"drift_section": "Scores over time"}),
        ("Program tab, Item ratings", {"view": "Program"}, {"drift_section": "Item ratings"}),
        ("Program tab, Every fall", {"view": "Program"}, {"drift_section": "Every fall"}),
    ],
    "compare": [
        (f"{tab} tab", {"view": tab}, {})
        for tab in ("Ranking", "Programs below", "Providers below", "Bands", "Items", "Weak spots")
    ],
}
PAGE_ROUNDS = 60  # reruns are milliseconds: many interleaved rounds, best of each (the machine is shared)


def pages(ctx: Context) -> list[Result]:
    from streamlit.testing.v1 import AppTest

    saved = os.environ.get("FIDELITY_DATABASE_URL")
    os.environ["FIDELITY_DATABASE_URL"] = ctx.target.url
    try:
        empty = AppTest.from_string(EMPTY_PAGE, default_timeout=600)
        empty.run()
        results = []
        for page, views in PAGE_VIEWS.items():
            for view, query, state in views:
                at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
                for key, value in query.items():
                    at.query_params[key] = value
                for key, value in state.items():
                    at.session_state[key] = value
                at.switch_page(f"app_pages/{page}.py")
                first = best_of(at.run, 1)  # the page's first view is cold: loads the data, fills the caches
                problems = [f"the page raised: {e.value}" for e in at.exception] if at.exception else []
                # An unknown tab opens the first one: measure the view asked for, or say so.
                wanted = {f"{page}_view": query["view"], **state}
                problems += [
                    f"{key} shows {shown!r}, not {label!r}"
                    for key, label in wanted.items()
                    if (shown := at.session_state.get(key)) != label
                ]
                best_page, best_empty = interleaved(
                    at.run, empty.run, rounds=max(PAGE_ROUNDS, ctx.rounds), warmup=2, collect=False
                )
                if at.exception:
                    problems += [f"the page raised: {e.value}" for e in at.exception]
                results.append(
                    Result(
                        ctx.dialect,
                        f"{page.title()} page rerun, {view} (AppTest, cache warm)",
                        f"rerun {ms(best_page)} vs empty page {ms(best_empty)}; first run {ms(first)}",
                        best_page / best_empty,
                        3.0,
                        "<= 3x",
                        problems[:1],
                        {"project_s": best_page, "floor_s": best_empty, "first_s": first},
                    )
                )
        return results
    finally:
        if saved is None:
            os.environ.pop("FIDELITY_DATABASE_URL", None)
        else:
            os.environ["FIDELITY_DATABASE_URL"] = saved


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


# ---- 6. a historical import -------------------------------------------------------------------


IMPORT_REVIEWS = 5000
IMPORT_REVIEWS_PER_PROGRAM = 20


def import_csv(ctx: Context) -> Result:
    from bench.jobs import write_import_csv

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
    ratio = max(IMPORT_RATE / rate, job["peak_mb"] / IMPORT_PEAK_MB)
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
        f">= {IMPORT_RATE} rows/s and < {IMPORT_PEAK_MB} MB (ours; the issue sets none): "
        "ratio = the larger share of its limit, <= 1",
        checks,
        {**job, "floor_s": floor["seconds"], "rows_per_s": rate},
    )


IMPORT_RATE = 50  # rows per second: a 5,000-review history in under 100 s, with a progress bar
IMPORT_PEAK_MB = 300


BenchFn = Callable[[Context], "Result | list[Result]"]
BENCHMARKS: dict[str, BenchFn] = {
    "dashboard": dashboard,
    "series-one": series_one,
    "series-all": series_all,
    "scoring": scoring,
    "pages": pages,
    "start": start,
    "pdf": pdf,
    "import": import_csv,
}
