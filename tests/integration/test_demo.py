"""`fidelity demo` and services.demo: the synthetic agency a newcomer opens the app on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from scoring.analytics import agency_overview, drift, review_totals
from services import reviews as svc
from services.access import local_admin
from services.agreement import agency_agreement
from services.analytics_data import finalized_ratings
from services.database import Database, open_database
from services.demo import (
    DRIFT_BANDS,
    DRIFT_FALLS,
    DRIFT_LOW_TWICE,
    DRIFT_TOTALS,
    DRIFTING_PROGRAM,
    PROVIDERS,
    DemoRefused,
    DemoSummary,
    build_demo,
)
from services.demo_ratings import HARD_TO_AGREE, LENIENT_RATER
from storage.models import AuditEntry, RaterRating, Review
from storage.testing import postgres_schema

TODAY = dt.date(2026, 6, 1)  # the demo's "today": fixed, so the data is the same on every run
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, DemoSummary]]:
    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    summary = build_demo(db, today=TODAY)
    yield db, summary
    db.dispose()


@pytest.fixture(scope="module")
def ratings(built: tuple[Database, DemoSummary]) -> pd.DataFrame:
    return finalized_ratings(built[0], actor=local_admin())


def program_id(db: Database, name: str) -> int:
    found = svc.find_program(db, name, actor=local_admin())
    assert found is not None, name
    return found.id


def test_fills_an_empty_database_with_a_labelled_synthetic_agency(built) -> None:
    db, summary = built
    programs = svc.list_programs(db, actor=local_admin())
    assert len(programs) == 12
    assert all(p.name.startswith("Demo ") for p in programs)
    assert sorted(svc.list_providers(db, actor=local_admin())) == sorted(PROVIDERS)
    assert all(p.startswith("Demo: ") for p in PROVIDERS)
    assert {p.model for p in programs} == {"ACT", "IDDT"}
    assert sum(p.model == "ACT" for p in programs) == 8
    assert len({p.region for p in programs}) == 3

    reviews = svc.list_reviews(db, actor=local_admin())
    assert {r.status for r in reviews} == {"final"}  # nothing left half done
    assert summary.reviews == len(reviews) - summary.amendments  # an amended review counts once
    assert 60 <= summary.reviews <= 100
    assert summary.reviews_by_scale.keys() == {"dacts", "iddt"}
    assert all(
        "Synthetic demo review" in (svc.get_review(db, r.id, actor=local_admin()).summary or "")
        for r in reviews[:5]
    )
    # Five years of reviews, the last ones shortly before "today".
    assert TODAY - dt.timedelta(days=5 * 366) <= summary.first_review
    assert summary.first_review <= TODAY - dt.timedelta(days=4 * 365)
    assert TODAY - dt.timedelta(days=120) <= summary.last_review < TODAY
    assert summary.drifting_program == DRIFTING_PROGRAM
    assert "Demo ACT Team 3" in " ".join(summary.lines())


def test_programs_are_reviewed_every_6_to_12_months(ratings) -> None:
    reviews = ratings.drop_duplicates("review_id").sort_values(["program_id", "review_date"])
    gaps = reviews.groupby("program_id")["review_date"].diff().dropna().dt.days
    assert gaps.between(183, 365).all(), gaps.describe()
    per_program = reviews.groupby("program")["review_id"].count()
    assert per_program[DRIFTING_PROGRAM] >= 5
    assert per_program["Demo ACT Team 8"] == 1  # a new team: one review, so its drift says it needs two


def test_trajectories_improve_stay_and_drift(built, ratings) -> None:
    db, _ = built
    totals = review_totals(ratings, db.registry)
    series = totals.groupby("program")["banded_value"].agg(list)
    improving = series["Demo ACT Team 1"]
    assert improving[0] < 3.0 and improving[-1] >= 4.0  # Not ACT to Full implementation
    assert min(series["Demo ACT Team 2"]) >= 4.0  # stable and high
    assert all(3.0 <= v < 4.0 for v in series["Demo ACT Team 4"])  # stable and fair
    iddt = series["Demo IDDT Program 1"]
    assert iddt[0] <= 41 and iddt[-1] >= 56  # Not IDDT to Good implementation (sums)
    assert tuple(series[DRIFTING_PROGRAM][-2:]) == DRIFT_TOTALS


def test_the_drifting_program_has_the_expected_alerts(built, ratings) -> None:
    db, _ = built
    report = drift(ratings, db.registry, program_id(db, DRIFTING_PROGRAM))
    falls = report.falls
    assert list(falls["item_id"]) == list(DRIFT_FALLS)  # largest fall first, then scale order
    for item_id, (before, after) in DRIFT_FALLS.items():
        row = falls.loc[falls["item_id"] == item_id].iloc[0]
        assert (row["previous_rating"], row["rating"]) == (before, after)
        assert row["previous_evidence"] and row["evidence"]  # evidence from both reviews
    h1 = falls.loc[falls["item_id"] == "H1"].iloc[0]
    assert "Caseload rose to 14 clients per FTE after two vacancies" in h1["evidence"]
    assert "9.6 clients per FTE" in h1["previous_evidence"]
    assert list(report.consecutive_low["item_id"]) == list(DRIFT_LOW_TWICE)
    change = report.band_change
    assert change is not None
    assert (change.previous_band, change.band, change.direction) == (*DRIFT_BANDS, "fell")
    assert (change.previous_value, change.value) == DRIFT_TOTALS
    assert not report.mixed_versions


def test_the_latest_drifting_review_went_through_the_two_rater_workflow(built) -> None:
    db, _ = built
    latest = svc.list_reviews(db, program_id=program_id(db, DRIFTING_PROGRAM), actor=local_admin())[0]
    review = svc.get_review(db, latest.id, actor=local_admin())
    assert len(review.raters) == 2 and all(r.endswith("(demo)") for r in review.raters)
    assert all(len(review.ratings[r]) == 28 for r in review.raters)
    agreement = svc.compare_raters(db, review.id, *review.raters, actor=local_admin())
    assert {d.item_id for d in agreement.differences} == {"H3", "S4", "O4", "S9"}
    assert review.consensus["H1"].source == "computed"  # computed from clients and staff FTE
    assert review.consensus["H1"].inputs == {"clients": 112, "staff_fte": 8.0}
    assert review.strengths and review.recommendations
    with db.reading() as s:
        fields = set(s.scalars(select(AuditEntry.field).where(AuditEntry.review_id == review.id)))
        assert {"created", "rater_added", "rating", "status", "final_score", "strengths"} <= fields
        assert s.scalar(select(func.count(RaterRating.id)).where(RaterRating.review_id == review.id)) == 56


def test_an_amended_review_counts_as_its_amendment(built, ratings) -> None:
    db, _ = built
    with db.reading() as s:
        amendment = s.scalars(select(Review).where(Review.amendment_of.is_not(None))).one()
        original = amendment.amendment_of
    assert amendment.status == "final"
    ids = set(ratings["review_id"])
    assert amendment.id in ids and original not in ids
    evidence = ratings.loc[(ratings["review_id"] == amendment.id) & (ratings["item_id"] == "H1"), "evidence"]
    assert evidence.iloc[0].startswith("Corrected:")


def test_computed_items_are_rated_from_inputs(built) -> None:
    db, _ = built
    with db.reading() as s:
        sources = dict(
            s.execute(
                select(RaterRating.item_id, func.count())
                .where(RaterRating.rating_source == "computed")
                .group_by(RaterRating.item_id)
            ).all()
        )
    assert {"H1", "H5", "H6", "S5"} <= set(sources)
    review = svc.get_review(
        db,
        svc.list_reviews(db, program_id=program_id(db, "Demo IDDT Program 2"), actor=local_admin())[0].id,
        actor=local_admin(),
    )
    assert review.consensus["I1"].source == "computed"


def test_compare_shows_programs_below_full_implementation(built, ratings) -> None:
    db, _ = built
    overview = agency_overview(ratings, db.registry, "dacts")
    below = set(overview.below_full["program"])
    assert DRIFTING_PROGRAM in below and "Demo ACT Team 8" in below
    assert "Demo ACT Team 2" not in below
    assert len(set(overview.below_full["provider"])) >= 2
    assert set(overview.distribution["programs"]) != {0}


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(tmp_path: Path, ratings) -> None:
    def build(name: str, seed: int) -> pd.DataFrame:
        with open_database(f"sqlite:///{tmp_path / name}") as db:
            build_demo(db, seed=seed, today=TODAY)
            return finalized_ratings(db, actor=local_admin())

    again = build("again.db", 2026)
    pd.testing.assert_frame_equal(again.drop(columns="review_id"), ratings.drop(columns="review_id"))
    other = build("other.db", 7)
    assert not other.drop(columns="review_id").equals(ratings.drop(columns="review_id"))
    # The drifting program's last two reviews are scripted: the same alerts with any seed.
    drifting = other.loc[other["program"] == DRIFTING_PROGRAM, "program_id"].iloc[0]
    with open_database(f"sqlite:///{tmp_path / 'other.db'}") as db:
        assert list(drift(other, db.registry, int(drifting)).falls["item_id"]) == list(DRIFT_FALLS)


def test_the_summary_says_what_the_demo_built(built) -> None:
    # How long the build takes is measured in bench/, never asserted here (no wall-clock tests).
    _, summary = built
    text = "\n".join(summary.lines())
    assert f"{summary.reviews}" in text and summary.reviews > 0
    assert summary.action_plans is not None and summary.action_plans.overdue > 0
    assert summary.action_plans.open >= summary.action_plans.overdue and summary.action_plans.closed > 0
    assert summary.outcome_values > 0 and f"{summary.outcome_values} outcome values" in text


def test_the_agency_agreement_view_names_the_items_raters_disagree_on_most(built) -> None:
    db, _ = built
    view = agency_agreement(db, "dacts", actor=local_admin())
    assert view.reviews >= 12  # each ACT program's latest two reviews, rated by two raters
    assert set(view.items["item_id"].head(3)) == set(HARD_TO_AGREE["dacts"])
    assert view.items["exact_pct"].iloc[2] < view.items["exact_pct"].iloc[3]  # no tie at third place
    assert len(view.pairs) >= 3 and view.pairs["kappa"].notna().all()
    # The lenient rater's ratings sit above the consensus in the latest year only.
    lenient = view.raters[view.raters["rater"] == LENIENT_RATER].set_index("year")["mean_difference"]
    assert lenient.iloc[-1] > 0 and lenient.iloc[-1] > lenient.iloc[0]


def test_refuses_a_database_with_programs_unless_forced(tmp_path: Path) -> None:
    with open_database(f"sqlite:///{tmp_path / 'busy.db'}") as db:
        svc.create_program(db, "Riverside ACT Team", model="ACT", actor=local_admin("admin"))
        with pytest.raises(DemoRefused, match=r"already has 1 program\(s\).*--force"):
            build_demo(db, today=TODAY)
        assert len(svc.list_programs(db, actor=local_admin())) == 1  # nothing written
        build_demo(db, today=TODAY, force=True)  # alongside the existing program
        assert len(svc.list_programs(db, actor=local_admin())) == 13
        with pytest.raises(DemoRefused, match="already in this database"):
            build_demo(db, today=TODAY, force=True)  # never twice


# ---- the command ------------------------------------------------------------------------------


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_fidelity_demo_fills_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    code, out, err = fidelity("demo", "--seed", "11")
    assert code == 0, err
    assert "12 programs" in out and DRIFTING_PROGRAM in out and "seed 11" in out
    with open_database(url) as db:
        assert len(svc.list_programs(db, actor=local_admin())) == 12
        with db.reading() as s:
            actors = set(s.scalars(select(AuditEntry.actor)))
        assert any(a.endswith("(fidelity demo)") for a in actors)


def test_fidelity_demo_refuses_a_non_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as db:
        svc.create_program(db, "Riverside ACT Team", model="ACT", actor=local_admin("admin"))
    code, out, err = fidelity("demo")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "already has 1 program(s)" in err and "--force" in err


def test_demo_on_postgresql(postgres_url: str) -> None:
    base = postgres_url
    with postgres_schema(base) as url, open_database(url) as db:
        summary = build_demo(db, today=TODAY)
        ratings = finalized_ratings(db, actor=local_admin())
        assert ratings["review_id"].nunique() == summary.reviews
        report = drift(ratings, db.registry, program_id(db, DRIFTING_PROGRAM))
        assert list(report.falls["item_id"]) == list(DRIFT_FALLS)
        agreement = agency_agreement(db, "dacts", actor=local_admin())  # the same figures on PostgreSQL
        assert set(agreement.items["item_id"].head(3)) == set(HARD_TO_AGREE["dacts"])
