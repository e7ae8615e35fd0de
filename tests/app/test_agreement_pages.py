"""Agreement between raters in the app (AppTest): the Consensus page's box and empty cells, its
bulk accept's feedback, and the agency's Agreement page on the demo data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services.access import acting_for, local_admin
from services.database import Database, open_database
from services.demo import build_demo
from services.demo_ratings import HARD_TO_AGREE
from services.reviews import create_program, save_rating, start_review, submit_ratings

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    database = open_database(url)
    yield database
    database.dispose()


def open_page(page: str, review_id: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if review_id is not None:
        at.query_params["review"] = str(review_id)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def rated(db: Database, ben: dict[str, int], items: int = 28) -> int:
    """A DACTS review: Ana rates the first `items` items 4, Ben the same except `ben`."""
    program = create_program(db, "Riverside ACT", actor=local_admin("test"), model="ACT")
    review = start_review(
        db,
        program.id,
        "dacts",
        "1.0",
        dt.date(2026, 3, 2),
        "baseline",
        ("Ana", "Ben"),
        actor=local_admin("test"),
    )
    for item_id in db.registry.get("dacts", "1.0").item_ids[:items]:
        save_rating(db, review.id, "Ana", item_id, actor=local_admin("test"), rating=4)
        save_rating(db, review.id, "Ben", item_id, actor=local_admin("test"), rating=ben.get(item_id, 4))
    for rater in (
        "Ana",
        "Ben",
    ):  # raters rate blind: the consensus (and its agreement) opens after both submit
        submit_ratings(db, review.id, rater, actor=acting_for(local_admin("test"), rater))
    return review.id


def texts(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_consensus_shows_the_reviews_weighted_kappa(db: Database) -> None:
    at = open_page("consensus", rated(db, {"H2": 5, "S3": 2}))
    shown = texts(at)
    assert "Agreement between Ana and Ben:" in shown
    assert (
        "28 items rated by both · exact 93% · within one 96% · weighted kappa 0.00 (linear weights)" in shown
    )
    assert "Cohen's weighted kappa with linear weights" in shown


def test_identical_ratings_show_kappa_undefined_never_nan(db: Database) -> None:
    at = open_page("consensus", rated(db, {}, items=4))
    shown = texts(at)
    assert "weighted kappa undefined: every rating is the same" in shown
    assert "nan" not in shown.replace("Financ", "").lower().split()


def test_consensus_table_leaves_cells_without_a_rating_empty(db: Database) -> None:
    at = open_page("consensus", rated(db, {}, items=3))  # 25 items nobody rated, no consensus yet
    frame = at.dataframe[0].value
    assert not frame.isna().any().any()
    assert "None" not in set(frame.to_numpy().ravel()) and "<NA>" not in set(frame.to_numpy().ravel())
    row = frame[frame["item"] == "S10"].iloc[0]
    assert (row["Ana"], row["Ben"], row["gap"], row["consensus"]) == ("", "", "", "")
    assert frame[frame["item"] == "H1"].iloc[0]["Ana"] == "4"


def test_accepting_agreed_ratings_says_how_many_in_a_toast(db: Database) -> None:
    at = open_page("consensus", rated(db, {"S3": 2}))
    next(b for b in at.button if b.label == "Accept every rating both raters agree on").click().run()
    assert [t.value for t in at.toast] == ["Saved: 27 agreed item(s) accepted"]
    next(b for b in at.button if b.label == "Accept every rating both raters agree on").click().run()
    assert [t.value for t in at.toast] == ["No item left that both raters rated alike"]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('agreement') / 'demo.db'}"
    with open_database(url) as demo:
        build_demo(demo, today=TODAY)
    return url


def test_agreement_page_names_the_three_items_raters_disagree_on_most(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", demo_url)
    at = open_page("agreement")
    # the items, their agreement by year, the rater pairs, the raters against the consensus
    items, _, pairs, raters = (d.value for d in at.dataframe)
    assert set(items["Item"].head(3)) == set(HARD_TO_AGREE["dacts"])
    assert len(pairs) >= 3 and pairs["Weighted kappa"].str.endswith("(linear weights)").all()
    assert {"Rater", "Year", "Same as consensus", "Rater minus consensus"} <= set(raters.columns)
    assert "nan" not in " ".join(str(v) for f in (items, pairs, raters) for v in f.to_numpy().ravel()).lower()
    at.session_state["agreement-scale"] = "iddt"
    at.run()
    assert not at.exception
    assert set(at.dataframe[0].value["Item"]) <= {f"I{i}" for i in range(1, 15)}


def test_agreement_page_on_an_empty_database_says_what_is_missing(db: Database) -> None:
    at = open_page("agreement")
    assert any("No final review on this scale has both raters' own ratings yet" in i.value for i in at.info)
