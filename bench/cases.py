"""The benchmarks: each measures the project's code against a floor measured in the same run.

Floors are the fastest reasonable way to the same numbers (bench/floors.py says why for each):
hand-written SQL run with the database driver alone (sqlite3 or psycopg, no SQLAlchemy, no
pandas; the dashboard's an index seek per program over stored per-review sums), numpy
`bincount` for the scoring, a Streamlit page with nothing on it. The hand-written queries are
written for DACTS, whose item ids start with their subscale's letter. Both sides run
interleaved, every round kept (bench/timing.py): a goal holds the ratio of the medians.
Every benchmark that computes numbers also checks that both sides agree.

The benchmarks that run the project in a fresh process (app start, a PDF report, a historical
import) are in bench/process_cases.py; `BENCHMARKS` below lists them all, in the order they run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from bench.context import Context  # also what bench/run.py and the tests import from here
from bench.floors import bincount_means, dashboard_floor_sql, ensure_floor_sums
from bench.measure import ROOT, Result, best_of, ms
from bench.memory import memory
from bench.mixed import LIMITED_EMAIL
from bench.page_cases import EMPTY_PAGE, RERUN_GOAL, app_database, page_runs
from bench.process_cases import import_csv, pdf, pdf_limits, start
from bench.timing import paired
from scoring.analytics import review_totals
from scoring.rounding import as_float
from services.access import LOCAL_ADMIN, Actor
from services.analytics_data import finalized_ratings, review_scores
from services.users import actor_for_email

SCALE = "dacts"  # every review the generator makes
SUBSCALES = ("H", "O", "S")  # DACTS; the floors read an item's subscale from its id's first letter
FINAL = (
    f"r.scale_id = '{SCALE}' AND r.status = 'final' AND NOT EXISTS "
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
TOLERANCE = 1e-9


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


def dashboard(ctx: Context) -> list[Result]:
    """The local admin's dashboard (every program) and a program manager's (every 10th program)."""
    limited = actor_for_email(ctx.db, LIMITED_EMAIL)
    if limited is None:
        raise LookupError(f"the bench database has no {LIMITED_EMAIL}: generate it again (--regenerate)")
    results = []
    for who, actor, email in (
        ("local admin", LOCAL_ADMIN, None),
        ("program-limited user", limited, LIMITED_EMAIL),
    ):

        def project(actor: Actor = actor) -> pd.DataFrame:
            return review_scores(ctx.db, actor=actor, scale_id=SCALE, latest=1).frame

        with ctx.raw() as conn:
            ensure_floor_sums(conn, ctx.dialect)
            sql = dashboard_floor_sql(SCALE, ctx.dialect, user_email=email)

            def floor(conn: Any = conn, sql: str = sql) -> list[tuple[Any, ...]]:
                return conn.execute(sql).fetchall()

            timing = paired(project, floor, rounds=ctx.rounds)
            shown = floor()
            checks = _compare_means(project(), shown, f"dashboard of the {who}")
        results.append(
            Result(
                ctx.dialect,
                f"dashboard, {who} (latest final review per program, total and subscale means)",
                f"{len(shown)} programs: "
                + timing.text(
                    "services.analytics_data.review_scores(latest=1)",
                    "an index seek per program over stored per-review sums, driver alone",
                ),
                timing.ratio,
                2.0,
                "<= 2x (medians)",
                checks,
                timing.figures(),
            )
        )
    return results


# ---- 2. drift series --------------------------------------------------------------------------


def series_one(ctx: Context) -> Result:
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

            timing = paired(project, floor, rounds=ctx.rounds, collect=False)
            total_project += timing.project.median
            total_floor += timing.floor.median
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
        f"{ctx.reviews_per_program} reviews, mean of {n} programs' medians ({ctx.rounds} rounds each): "
        f"project {ms(total_project / n)} "
        f"(review_scores(program_id=...)), floor {ms(total_floor / n)} (hand-written SQL, driver alone)",
        total_project / total_floor,
        2.0,
        "<= 2x",
        checks,
        {"project_s": total_project / n, "floor_s": total_floor / n},
    )


def series_all(ctx: Context) -> Result:
    sql = SERIES_SQL.format(program="")

    def project() -> pd.DataFrame:
        return review_scores(ctx.db, actor=LOCAL_ADMIN, scale_id=SCALE).frame

    with ctx.raw() as conn:

        def floor() -> list[tuple[Any, ...]]:
            return conn.execute(sql).fetchall()

        # 5 rounds (fewer when --rounds says so: at 5,000 programs a round takes minutes)
        timing = paired(project, floor, rounds=min(5, ctx.rounds))
        checks = _compare_means(project(), floor(), "all programs")
    return Result(
        ctx.dialect,
        "drift series, all programs",
        f"{ctx.programs * ctx.reviews_per_program} reviews: "
        + timing.text("review_scores()", "hand-written SQL, driver alone"),
        timing.ratio,
        2.0,
        "<= 2x (medians)",
        checks,
        timing.figures(),
    )


# ---- 3. scoring every review ------------------------------------------------------------------


def rating_frame(ctx: Context) -> pd.DataFrame:
    """Every final review's ratings, as scoring.analytics reads them (loaded once, not timed)."""
    if "ratings" not in ctx.cache:
        ctx.cache["ratings"] = finalized_ratings(ctx.db, actor=LOCAL_ADMIN)
    frame: pd.DataFrame = ctx.cache["ratings"]
    return frame


def scoring(ctx: Context) -> Result:
    ratings = rating_frame(ctx)
    used = ratings.loc[:, ["scale_id", "scale_version"]].drop_duplicates().itertuples(index=False)
    subscale_of = {item.id: item.subscale for s in used for item in ctx.registry.get(s[0], s[1]).items}

    def project() -> pd.DataFrame:
        return review_totals(ratings, ctx.registry)

    def floor() -> pd.DataFrame:
        return bincount_means(ratings, subscale_of)

    timing = paired(project, floor, rounds=ctx.rounds)
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
        f"{n} reviews, {len(ratings)} ratings: "
        + timing.text("review_totals", "numpy bincount means")
        + "; totals, bands and subscale means also equal each review's stored "
        "score (scoring.score_ratings)" + ("" if not checks else ": NOT"),
        timing.ratio,
        3.0,
        "<= 3x (medians)",
        checks,
        {**timing.figures(), "reviews": n},
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
PAGE_ROUNDS = (
    60  # reruns are milliseconds: many interleaved rounds, the median of each (the machine is shared)
)


def pages(ctx: Context) -> list[Result]:
    # not at the top: Streamlit (with AppTest, about a second) loads only when the pages are measured
    from streamlit.testing.v1 import AppTest

    with app_database(ctx.target.url):
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
                timing = paired(
                    at.run, empty.run, rounds=max(PAGE_ROUNDS, ctx.rounds), warmup=2, collect=False
                )
                if at.exception:
                    problems += [f"the page raised: {e.value}" for e in at.exception]
                results.append(
                    Result(
                        ctx.dialect,
                        f"{page.title()} page rerun, {view} (AppTest, cache warm)",
                        timing.text("rerun", "an empty page's rerun") + f"; first run {ms(first)}",
                        timing.ratio,
                        RERUN_GOAL,  # issue 22's goal for every page (it was our own 3x before)
                        f"<= {RERUN_GOAL:.0f}x (medians)",
                        problems[:1],
                        {**timing.figures(), "first_s": first},
                    )
                )
        return results


BenchFn = Callable[[Context], "Result | list[Result]"]
BENCHMARKS: dict[str, BenchFn] = {
    "dashboard": dashboard,
    "series-one": series_one,
    "series-all": series_all,
    "scoring": scoring,
    "pages": pages,
    "page-runs": page_runs,  # every page, both users (bench/page_cases.py)
    "start": start,
    "pdf": pdf,
    "pdf-limits": pdf_limits,
    "import": import_csv,
    "memory": memory,
}
