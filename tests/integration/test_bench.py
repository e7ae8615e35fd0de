"""The benchmarks keep working: the generator and every benchmark at a tiny size, on SQLite and
PostgreSQL. Benchmarks are not tests: nothing here looks at a time or a ratio, only that each
benchmark runs, prints its line and that the project's numbers agree with the floors'."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from bench import cases as bench_cases
from bench import memory as bench_memory
from bench.cases import BENCHMARKS, PAGE_VIEWS, Context
from bench.generate import count_rows, generate
from bench.measure import Result
from bench.page_cases import measured
from bench.run import main as bench_main
from bench.targets import Target, postgres_target, sqlite_target
from scales import ScaleRegistry
from services.access import LOCAL_ADMIN
from services.analytics_data import finalized_ratings, review_scores
from services.database import Database
from services.integrity_gate import gate
from storage.integrity import failing_reviews
from storage.models import Review

PROGRAMS = 20
REVIEWS = 5
SEED = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """An empty benchmark database: a file, or a schema of its own in the test database."""
    if request.param == "sqlite":
        made = sqlite_target(tmp_path / "agency.db")
    else:
        url = request.getfixturevalue("postgres_url")
        made = postgres_target(url, f"bench_test_{uuid.uuid4().hex[:10]}")
    try:
        yield made
    finally:
        made.drop()
        made.sibling("_import").drop()


def test_generator_and_every_benchmark_at_a_tiny_size(
    target: Target, registry: ScaleRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = generate(target, programs=PROGRAMS, reviews_per_program=REVIEWS, seed=SEED, registry=registry)
    assert (summary.programs, summary.reviews, summary.ratings) == (
        PROGRAMS,
        PROGRAMS * REVIEWS,
        PROGRAMS * REVIEWS * 28,
    )
    mixed = summary.mixed
    assert (
        mixed is not None and mixed.amendments >= 1 and mixed.drafts >= 1 and mixed.other_scale_reviews >= 2
    )
    counts = count_rows(target)
    finals = PROGRAMS * REVIEWS + mixed.amendments + mixed.other_scale_reviews
    assert counts["final_reviews"] == counts["sealed_reviews"] == finals
    assert counts["reviews"] == finals + mixed.drafts

    with Database(target.url, registry=registry) as db:
        with db.reading() as s:  # every generated final review carries the checksum the app verifies
            reviews = list(s.scalars(select(Review)))
            assert failing_reviews(s, reviews, None) == []
            assert not gate(s, select(Review.id))  # and the ratings seal the integrity gate checks
        ctx = Context(target, db, registry, PROGRAMS, REVIEWS, SEED, rounds=2)
        monkeypatch.setattr(bench_memory, "SESSIONS", 2)  # a real server and browser, two sessions
        lines: list[str] = []
        for name, benchmark in BENCHMARKS.items():
            outcome = benchmark(ctx)
            results = outcome if isinstance(outcome, list) else [outcome]
            assert results, name
            for result in results:
                assert isinstance(result, Result)
                assert result.checks == [], (name, result.checks)  # the project agrees with the floor
                assert result.ratio > 0
                line = result.line()
                assert line.startswith(f"[{target.dialect}] ")
                assert line.endswith(("PASS", "FAIL")) and " -> ratio " in line
                lines.append(line)
    # the pages benchmark prints a line for each view of Drift and Compare, the dashboard two,
    # page-runs two for each page and user (a rerun and a first run after a data change)
    extra = sum(len(views) for views in PAGE_VIEWS.values()) + 2 * len(measured()) - 1
    assert len(lines) == len(BENCHMARKS) + extra

    # A view the page no longer has (a renamed tab opens the first) is not measured unnoticed.
    monkeypatch.setattr(bench_cases, "PAGE_VIEWS", {"compare": [("Old tab", {"view": "Old"}, {})]})
    (stale,) = bench_cases.pages(ctx)
    assert stale.checks == ["compare_view shows 'Ranking', not 'Old'"] and not stale.passed


def test_review_scores_equal_the_scoring_of_the_rows(target: Target, registry: ScaleRegistry) -> None:
    """The sums the database adds up give exactly review_totals of the rows (bands included),
    for all programs, one program, and each program's latest review."""
    from scoring.analytics import review_totals

    generate(target, programs=6, reviews_per_program=4, seed=SEED, registry=registry, mixed=False)
    with Database(target.url, registry=registry) as db:
        ratings = finalized_ratings(db, actor=LOCAL_ADMIN)
        expected = review_totals(ratings, registry).set_index("review_id")
        columns = [
            "rated",
            "total_sum",
            "total_mean",
            "banded_value",
            "band",
            "band_level",
            "sub_H",
            "sub_O",
            "sub_S",
        ]
        for kwargs in ({}, {"program_id": 2}, {"latest": 1}, {"program_id": 3, "scale_id": "dacts"}):
            scores = review_scores(db, actor=LOCAL_ADMIN, **kwargs)
            assert scores.problems == ()
            got = scores.frame.set_index("review_id")
            assert len(got) == {"program_id": 4, "latest": 6}.get(next(iter(kwargs), ""), len(got))
            assert got[columns].astype(object).equals(expected.loc[got.index, columns].astype(object)), kwargs
        latest = finalized_ratings(db, actor=LOCAL_ADMIN, latest=2, evidence=False)
        assert latest["review_id"].nunique() == 12 and set(latest["final_reviews"]) == {4}
        assert latest["evidence"].isna().all()


def test_python_m_bench_runs_at_a_tiny_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command itself, on SQLite, with two quick benchmarks (the database is generated)."""
    from bench import targets

    saved = targets.DATA_DIR
    targets.DATA_DIR = tmp_path
    try:
        code = bench_main(["--programs", "4", "--reviews-per-program", "3", "--db", "sqlite",
                           "--only", "dashboard,scoring", "--rounds", "2"])  # fmt: skip
    finally:
        targets.DATA_DIR = saved
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("machine: ")
    assert any(line.startswith("[sqlite] generate the agency database") for line in out)
    assert sum(" -> ratio " in line for line in out) == 4  # generate, the two dashboards, scoring
    written = next(line for line in out if line.startswith("every figure: "))
    assert Path(written.split(": ", 1)[1]).parent == tmp_path
    assert any("benchmarks within their goals" in line for line in out[-2:])
    assert code in (0, 1)  # a time is never a test's business


def test_the_report_charts_of_a_bench_review_are_drawn(tmp_path: Path, registry: ScaleRegistry) -> None:
    """The benchmark's PDF case: a stored review's report draws both charts with fpdf2 (no
    image, no chart renderer), so its figures are those of the drawing."""
    from pypdf import PdfReader

    from services.report_data import stored_review_pdf

    target = sqlite_target(tmp_path / "charts.db")
    generate(target, programs=2, reviews_per_program=3, seed=SEED, registry=registry)
    with Database(target.url, registry=registry) as db:
        pdf = stored_review_pdf(db, 3, actor=LOCAL_ADMIN)
    reader = PdfReader(BytesIO(pdf))
    assert not any(page.images for page in reader.pages)
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Mean item rating" in text  # the subscale chart's axis
    assert "Rating (total and subscale means)" in text and "Total mean" in text  # the drift chart
