"""The Drift and Compare pages (AppTest on the demo database) and the data they load."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from services import reviews as svc
from services.access import local_admin
from services.analytics import (
    OVERVIEW_COLUMNS,
    RATING_COLUMNS,
    agency_overview,
    data_version,
    drift,
    drift_overview,
    finalized_ratings,
    scale_problems,
)
from services.database import Database, open_database
from services.demo import DRIFT_BANDS, DRIFT_FALLS, DRIFT_LOW_TWICE, DRIFTING_PROGRAM, build_demo

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 6, 1)
# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_file() -> str:
    return str(ROOT / "app.py")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'demo.db'}"
    with open_database(url) as db:
        build_demo(db, today=TODAY)
    yield url


@pytest.fixture(scope="module")
def demo_db(demo_url: str) -> Iterator[Database]:
    with open_database(demo_url) as db:
        yield db


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", demo_url)
    return demo_url


def open_page(app_file: str, page: str, state: dict[str, object] | None = None, **query: str) -> AppTest:
    """The page as a link opens it (query parameters), with widgets already set (`state`: a tab
    or popover opened, say)."""
    at = AppTest.from_file(app_file, default_timeout=60).run()
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choose(at: AppTest, key: str, value: object) -> AppTest:
    """Open a tab or section, or open or close a popover or expander, as a click does."""
    at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def popover_labels(at: AppTest) -> list[str]:
    return [str(p.proto.popover.label) for p in at.get("popover")]


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


# A read-only table has no id in AppTest (only a selectable one does): each is known by its first
# columns. Only the open tab and section are drawn, so the falls and the low items never meet.
TABLES = {
    "drift_overview_table": ["program", "scale", "band"],
    "drift_falls": ["item", "name", "before"],
    "drift_low": ["item", "name", "before"],
    "drift_all_falls": ["review", "previous", "item"],
    "compare_ranking_table": ["rank", "program"],
    "compare_below_programs": ["program", "provider", "region", "latest review"],
    "compare_below_providers": ["provider", "below", "of programs"],
    "compare_item_means": ["item_id", "item_name"],
}


def tables(at: AppTest, key: str) -> list[pd.DataFrame]:
    columns = TABLES[key]
    return [d.value for d in at.dataframe if list(d.value.columns[: len(columns)]) == columns]


def table(at: AppTest, key: str) -> pd.DataFrame:
    found = tables(at, key)
    assert len(found) == 1, f"{len(found)} {key} tables"
    return found[0]


def has_table(at: AppTest, key: str) -> bool:
    return bool(tables(at, key))


def chart_title(at: AppTest) -> str:
    (chart,) = at.get("vega_lite_chart")
    return str(json.loads(chart.proto.spec)["title"]["text"])


def headline(at: AppTest) -> str:
    """Compare's headline: the first Markdown line under the filters."""
    found = [m.value for m in at.markdown if re.match(r"\*\*[\d,]+\*\* programs? \(", str(m.value))]
    assert len(found) == 1, found
    return str(found[0])


def program_facts(at: AppTest) -> str:
    """The Program tab's heading and facts (Markdown escapes removed)."""
    (facts,) = [str(m.value) for m in at.markdown if str(m.value).startswith("### ")]
    return re.sub(r"\\(.)", r"\1", facts)


def shown_program(at: AppTest) -> str:
    """The program the Program tab shows (its heading; Markdown escapes removed)."""
    headings = [str(m.value).split("\n", 1)[0] for m in at.markdown if str(m.value).startswith("### ")]
    assert len(headings) == 1, headings
    return re.sub(r"\\(.)", r"\1", headings[0])


def program_id(db: Database, name: str) -> int:
    found = svc.find_program(db, name, actor=local_admin())
    assert found is not None
    return found.id


# ---- Drift --------------------------------------------------------------------------------------


def test_drift_opens_on_the_agency_at_a_glance(app_file: str, demo: str, demo_db: Database) -> None:
    at = open_page(app_file, "drift")
    assert texts(at.title) == ["Drift"]
    assert at.segmented_control(key="drift_view").options == ["Agency", "Program"]
    errors = " ".join(texts(at.error))
    assert f"**{DRIFTING_PROGRAM}** (DACTS)" in errors  # the agency summary names it

    glance = table(at, "drift_overview_table")
    first = glance.iloc[0]
    assert first["program"] == DRIFTING_PROGRAM
    assert first["items that fell"] == ", ".join(DRIFT_FALLS)
    assert first["band"] == f"{DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}"
    assert "Download the overview (CSV)" in {b.label for b in at.get("download_button")}
    compared = glance.loc[~glance["band"].str.endswith("(one review)")]
    order = {  # each scale's bands, lowest first
        scale: [b.label for b in demo_db.registry.get(scale.lower()).scoring.bands]
        for scale in set(compared["scale"])
    }
    changes = [
        (order[scale], band.split(" → "))
        for scale, band in zip(compared["scale"], compared["band"], strict=True)
        if " → " in band
    ]
    fell = sum(bands.index(after) < bands.index(before) for bands, (before, after) in changes)
    counts = (
        f"**{len(compared)}** programs compared · **{fell}** whose band fell · "
        f"**{int((compared['falls'].fillna(0) > 0).sum())}** with falling items"
    )
    # The heading and the counts, in one line above the table (every row fits on its one page here).
    headings = [str(m.value) for m in at.markdown if str(m.value).startswith("### ")]
    assert len(headings) == 1 and headings[0].startswith(f"### Programs at a glance\n\n{counts}"), counts
    # Only the open view is drawn: nothing of one program yet (no heading of its own).
    assert len(at.dataframe) == 1 and not at.get("vega_lite_chart")


def test_drift_program_tab_shows_the_drifting_program_section_by_section(
    app_file: str, demo: str, demo_db: Database
) -> None:
    at = choose(open_page(app_file, "drift"), "drift_view", "Program")
    assert DRIFTING_PROGRAM in shown_program(at)  # the worst drift first
    assert at.query_params["program"] == str(program_id(demo_db, DRIFTING_PROGRAM))
    assert f"Band fell: {DRIFT_BANDS[0]} → {DRIFT_BANDS[1]}** (4.18 → 3.82)" in " ".join(texts(at.error))
    assert at.segmented_control(key="drift_section").options == [
        *("Items that fell", "Low twice", "Scores over time", "Item ratings", "Every fall")
    ]

    # Items that fell (the section open first): both ratings, and the evidence from both reviews.
    falls = table(at, "drift_falls")
    assert list(falls["item"]) == list(DRIFT_FALLS)
    assert [(b, a) for b, a in zip(falls["before"], falls["after"], strict=True)] == list(
        DRIFT_FALLS.values()
    )
    h1 = falls.loc[falls["item"] == "H1"].iloc[0]
    assert "Caseload rose to 14 clients per FTE after two vacancies" in h1["evidence after"]
    assert "Fully staffed" in h1["evidence before"]
    assert "Download the falls (CSV)" in {b.label for b in at.get("download_button")}
    assert len(at.dataframe) == 1 and not at.get("vega_lite_chart")  # the falls only

    choose(at, "drift_section", "Low twice")
    assert list(table(at, "drift_low")["item"]) == list(DRIFT_LOW_TWICE)
    assert "Rated below 3 on both reviews" in " ".join(texts(at.warning))
    assert len(at.dataframe) == 1

    choose(at, "drift_section", "Scores over time")
    assert len(at.get("vega_lite_chart")) == 1  # the scores against the band thresholds
    assert [b.label for b in at.get("download_button")] == ["Download the scores over time (CSV)"]
    choose(at, "drift_section", "Item ratings")
    assert len(at.get("vega_lite_chart")) == 1  # every item rating of every review
    assert [b.label for b in at.get("download_button")] == ["Download the item ratings (CSV)"]

    choose(at, "drift_section", "Every fall")
    every = table(at, "drift_all_falls")
    assert set(DRIFT_FALLS) <= set(every["item"])  # the latest falls are among them
    assert "Download every fall (CSV)" in {b.label for b in at.get("download_button")}


def test_drift_program_makes_its_charts_when_a_chart_section_is_first_opened(
    app_file: str, demo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sections opened first draw no chart: the program's charts are made when one that
    does is opened (a quarter of a first run after a data change), then kept."""
    from app_pages.views import drift_data

    made: list[str] = []
    real = drift_data.program_charts

    def counted(*args: Any) -> Any:
        made.append(args[-1])  # the program's name
        return real(*args)

    monkeypatch.setattr(drift_data, "program_charts", counted)
    drift_data.program_detail.clear()  # not one an earlier test made (and drew charts of)
    at = choose(open_page(app_file, "drift"), "drift_view", "Program")
    choose(at, "drift_section", "Low twice")
    assert made == [] and not at.get("vega_lite_chart")
    choose(at, "drift_section", "Scores over time")
    assert made == [DRIFTING_PROGRAM] and len(at.get("vega_lite_chart")) == 1
    choose(at, "drift_section", "Item ratings")
    assert made == [DRIFTING_PROGRAM] and len(at.get("vega_lite_chart")) == 1  # kept, not made again


def test_drift_follows_the_program_in_the_url(app_file: str, demo: str, demo_db: Database) -> None:
    iddt = program_id(demo_db, "Demo IDDT Program 4")
    at = open_page(app_file, "drift", program=str(iddt))  # a link to one program opens its tab
    assert "Demo IDDT Program 4" in shown_program(at)
    assert "Band fell: Good implementation → Fair implementation" in " ".join(texts(at.error))
    assert not table(at, "drift_falls").empty

    # Another program, chosen by name in the popover, which then closes.
    choose(at, "drift_program_picker", True)
    other = program_id(demo_db, "Demo ACT Team 2")
    at.selectbox(key="drift_program_pick").set_value(other).run()
    assert not at.exception
    assert "Demo ACT Team 2" in shown_program(at)
    assert at.query_params["program"] == str(other)
    assert not at.selectbox


def test_drift_of_a_program_with_one_review(app_file: str, demo: str, demo_db: Database) -> None:
    at = open_page(app_file, "drift", program=str(program_id(demo_db, "Demo ACT Team 8")))
    assert "This program has one final review: drift needs two." in texts(at.info)
    assert len(at.get("vega_lite_chart")) == 2  # its score and its items still show


def test_drift_with_an_unknown_program_in_the_url(app_file: str, demo: str, demo_db: Database) -> None:
    at = open_page(app_file, "drift", program="99999")
    assert "No program with id 99999 has a final review" in " ".join(texts(at.warning))
    assert DRIFTING_PROGRAM in shown_program(at)


# ---- Compare ------------------------------------------------------------------------------------


def test_compare_shows_which_programs_and_providers_are_below_full_implementation(
    app_file: str, demo: str, demo_db: Database
) -> None:
    at = open_page(app_file, "compare")
    assert texts(at.title) == ["Compare"]
    assert at.selectbox(key="compare_scale").value == "dacts"
    expected = agency_overview(finalized_ratings(demo_db, actor=local_admin()), demo_db.registry, "dacts")
    assert "**8** programs (all regions · all providers · all review dates) · " in headline(at)
    assert f" · **{8 - len(expected.below_full)}** in Full implementation · " in headline(at)
    assert f"**{len(expected.below_full)}** below Full implementation" in headline(at)
    weakest = expected.item_means.iloc[0]
    assert f"weakest item **{weakest['item_id']}** {weakest['item_name']}" in headline(at)
    assert at.segmented_control(key="compare_view").options == [
        *("Ranking", "Programs below", "Providers below", "Bands", "Items", "Weak spots")
    ]

    # Each tab draws its own part only.
    def downloads() -> set[str]:
        return {b.key for b in at.get("download_button")}

    assert len(at.get("vega_lite_chart")) == 1 and downloads() == {"compare_ranking_csv"}
    ranking = table(choose(at, "compare_ranking_expander", True), "compare_ranking_table")
    assert list(ranking["rank"]) == list(range(1, 9))  # every program on one page, in rank order

    choose(at, "compare_view", "Programs below")
    assert "**Programs whose latest review is below Full implementation**" in " ".join(texts(at.markdown))
    below = table(at, "compare_below_programs")
    assert list(below["program"]) == list(expected.below_full["program"])
    assert DRIFTING_PROGRAM in set(below["program"])
    assert downloads() == {"compare_below_csv"} and not at.get("vega_lite_chart")
    choose(at, "compare_view", "Providers below")
    providers = table(at, "compare_below_providers")
    assert set(providers["provider"]) == set(expected.below_full["provider"])
    assert providers["below"].sum() == len(expected.below_full)
    assert downloads() == {"compare_providers_csv"}

    choose(at, "compare_view", "Bands")
    assert len(at.get("vega_lite_chart")) == 1 and downloads() == {"compare_distribution_csv"}
    choose(at, "compare_view", "Items")
    assert len(at.get("vega_lite_chart")) == 1 and downloads() == {"compare_items_csv"}
    choose(at, "compare_view", "Weak spots")
    means = table(at, "compare_item_means")
    assert means.iloc[0]["item_id"] == expected.item_means.iloc[0]["item_id"]  # the weakest first
    assert downloads() == {"compare_item_means_csv"}


def test_compare_filters(app_file: str, demo: str) -> None:
    at = open_page(app_file, "compare", {"compare_ranking_expander": True})
    assert not at.multiselect  # the filters are drawn when their popover is opened
    at.selectbox(key="compare_scale").set_value("iddt").run()
    assert not at.exception
    assert "**4** programs" in headline(at) and "below Good implementation" in headline(at)

    choose(at, "compare_filters", True)
    at.multiselect(key="compare_providers_iddt").set_value(["Demo: Lakeshore Recovery Partners"]).run()
    assert "**2** programs" in headline(at)
    assert "(all regions · Demo: Lakeshore Recovery Partners · all review dates)" in headline(at)
    at.multiselect(key="compare_regions_iddt").set_value(["Demo North"]).run()
    assert "No final reviews of this scale match the filters." in texts(at.info)

    at.multiselect(key="compare_regions_iddt").set_value([]).run()
    # Closed, the popover keeps its filters: still the one provider.
    choose(at, "compare_filters", False)
    assert not at.multiselect and "**2** programs" in headline(at)
    choose(at, "compare_filters", True)
    assert at.multiselect(key="compare_providers_iddt").value == ["Demo: Lakeshore Recovery Partners"]
    at.multiselect(key="compare_providers_iddt").set_value([]).run()
    first, last = at.date_input(key="compare_window_iddt").value
    assert first < dt.date(2023, 1, 1) < last
    at.date_input(key="compare_window_iddt").set_value((first, dt.date(2023, 1, 1))).run()
    assert not at.exception
    ranking = table(at, "compare_ranking_table")
    assert pd.to_datetime(ranking["review_date"]).max() <= pd.Timestamp("2023-01-01")
    assert f"reviews of {first:%Y-%m-%d} to 2023-01-01)" in headline(at)


def test_compare_opens_a_programs_drift(app_file: str, demo: str, demo_db: Database) -> None:
    at = open_page(app_file, "compare", {"compare_open": True})
    target = program_id(demo_db, "Demo ACT Team 7")
    at.selectbox(key="compare_open_drift").set_value(target).run()
    assert not at.exception
    assert texts(at.title) == ["Drift"]
    assert at.query_params["program"] == str(target)
    assert "Demo ACT Team 7" in shown_program(at)  # its Program tab


def test_a_link_opens_a_tab(app_file: str, demo: str) -> None:
    """?view= opens that tab (the browser keeps it in the URL as tabs are clicked: see
    tests/e2e); an unknown one opens the first."""
    at = open_page(app_file, "compare", view="Bands")
    assert len(at.get("vega_lite_chart")) == 1 and not at.dataframe
    assert {b.key for b in at.get("download_button")} == {"compare_distribution_csv"}
    at = open_page(app_file, "compare", view="Nonsense")
    assert {b.key for b in at.get("download_button")} == {"compare_ranking_csv"}
    at = open_page(app_file, "drift", view="Program")
    assert DRIFTING_PROGRAM in shown_program(at)
    # Choosing another view puts it in the URL, for a reload or a link to open it.
    at.segmented_control(key="drift_view").set_value("Agency").run()
    assert at.query_params["view"] == "Agency" and len(at.dataframe) == 1


# ---- empty database -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["drift", "compare"])
def test_pages_say_what_to_do_on_an_empty_database(app_file: str, page: str) -> None:
    at = open_page(app_file, page)
    assert texts(at.info) == ["No final reviews yet: run `fidelity demo` or finalize a review."]


# ---- loading the data ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(f"sqlite:///{tmp_path / 'small.db'}") as database:
        yield database


def final_review(db: Database, program: int, when: dt.date, rating: int = 4) -> svc.ReviewView:
    scale = db.registry.get("iddt")
    review = svc.start_review(
        db, program, "iddt", None, when, "follow-up", ["Ana"], actor=local_admin("lead")
    )
    for item_id in scale.item_ids:
        fields = {"rating": rating} if item_id != "I14" else {"not_rated_reason": "no data"}
        svc.save_consensus(
            db, review.id, item_id, expected_version=0, actor=local_admin("lead"), evidence=item_id, **fields
        )
    return svc.finalize(db, review.id, actor=local_admin("lead"))


def test_finalized_ratings_reads_final_reviews_and_the_latest_final_amendment(db: Database) -> None:
    program = svc.create_program(
        db, "Lakeside IDDT", provider="Lake Care", model="IDDT", actor=local_admin("admin")
    )
    first = final_review(db, program.id, dt.date(2024, 1, 10))
    second = final_review(db, program.id, dt.date(2025, 1, 10))
    draft = svc.start_review(
        db, program.id, "iddt", None, dt.date(2025, 6, 1), "follow-up", ["Ana"], actor=local_admin("x")
    )
    amended = svc.amend(
        db, first.id, "typo in I1", actor=local_admin("lead")
    )  # in progress: the original still counts

    frame = finalized_ratings(db, actor=local_admin())
    assert list(frame.columns) == [*RATING_COLUMNS, "scale_hash"]
    assert set(frame["review_id"]) == {first.id, second.id}
    assert draft.id not in set(frame["review_id"])
    assert str(frame["rating"].dtype) == "Int64" and frame["review_date"].dtype.kind == "M"
    assert frame.loc[frame["item_id"] == "I14", "rating"].isna().all()  # not rated: NA
    assert (frame["provider"] == "Lake Care").all() and frame["region"].isna().all()
    assert list(frame.drop_duplicates("review_id")["review_id"]) == [first.id, second.id]  # by date

    svc.save_consensus(
        db,
        amended.id,
        "I1",
        expected_version=amended.consensus_version("I1"),
        actor=local_admin("l"),
        rating=2,
    )
    svc.finalize(db, amended.id, actor=local_admin("lead"))
    frame = finalized_ratings(db, actor=local_admin())
    assert set(frame["review_id"]) == {amended.id, second.id}  # the amendment replaces the original
    assert frame.loc[(frame["review_id"] == amended.id) & (frame["item_id"] == "I1"), "rating"].iloc[0] == 2


def test_finalized_ratings_is_one_query_and_the_gates(demo_db: Database) -> None:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(demo_db.engine, "before_cursor_execute", record)
    try:
        frame = finalized_ratings(demo_db, actor=local_admin())
    finally:
        event.remove(demo_db.engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # One query for the ratings, and the integrity gate's over the same reviews (their seals).
    assert len(selects) == 2, statements
    assert "ratings_seal" not in selects[0] and "ratings_seal" in selects[1]
    assert frame["program_id"].nunique() == 12


def test_data_version_changes_with_the_final_reviews_and_programs(db: Database) -> None:
    empty = data_version(db)
    program = svc.create_program(db, "Lakeside IDDT", model="IDDT", actor=local_admin("admin"))
    after_program = data_version(db)
    assert after_program != empty
    review = final_review(db, program.id, dt.date(2024, 1, 10))
    finalized = data_version(db)
    assert finalized != after_program
    amendment = svc.amend(db, review.id, "typo", actor=local_admin("lead"))
    assert data_version(db) == finalized  # an amendment in progress changes nothing yet
    svc.finalize(db, amendment.id, actor=local_admin("lead"))
    assert data_version(db) != finalized
    before_rename = data_version(db)
    svc.update_program(db, program.id, region="North", actor=local_admin("admin"))
    assert data_version(db) != before_rename


def test_reviews_on_a_changed_scale_file_are_left_out_with_a_message(demo_db: Database) -> None:
    frame = finalized_ratings(demo_db, actor=local_admin())
    tampered = frame.copy()
    tampered.loc[tampered["scale_id"] == "iddt", "scale_hash"] = "sha256:" + "0" * 64
    kept, problems = scale_problems(tampered, demo_db.registry)
    assert set(kept["scale_id"]) == {"dacts"}
    assert len(problems) == 1 and "iddt 1.0" in problems[0] and "changed" in problems[0]
    assert scale_problems(frame, demo_db.registry)[1] == []


def test_drift_overview_agrees_with_drift_for_every_program(demo_db: Database) -> None:
    ratings = finalized_ratings(demo_db, actor=local_admin())
    overview = drift_overview(ratings, demo_db.registry)
    assert list(overview.columns) == list(OVERVIEW_COLUMNS)
    assert len(overview) == 12 and overview.iloc[0]["program"] == DRIFTING_PROGRAM
    for row in overview.itertuples(index=False):
        report = drift(ratings, demo_db.registry, row.program_id, scale_id=row.scale_id)
        assert (", ".join(report.falls["item_id"]) or None) == row.fallen_items, row.program
        assert (", ".join(report.consecutive_low["item_id"]) or None) == row.low_items, row.program
        if report.band_change is None:
            assert row.band_direction is None and row.reviews == 1
        else:
            assert report.band_change.direction == row.band_direction
            assert report.previous_review_id == row.previous_review_id


# ---- several scales, several versions -----------------------------------------------------------


def import_review(db: Database, program: str, scale: str, version: str, when: str, ratings: dict) -> None:
    from services.review_file import parse_review_data
    from services.review_import import import_review_file

    data = {
        "scale": scale,
        "version": version,
        "date": when,
        "items": {
            item_id: {"rating": r, "evidence": f"{item_id} on {when}"} for item_id, r in ratings.items()
        },
    }
    import_review_file(db, parse_review_data(data, db.registry), actor=local_admin("test"), program=program)


def test_drift_offers_each_scale_a_program_was_rated_on(app_file: str, db: Database, monkeypatch) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", db.url)
    dacts, goi = db.registry.get("dacts"), db.registry.get("goi")
    svc.create_program(
        db, "Hill Team", provider="Hill Care", actor=local_admin("admin")
    )  # no model: any scale
    import_review(db, "Hill Team", "dacts", "1.0", "2024-01-10", dict.fromkeys(dacts.item_ids, 4))
    import_review(db, "Hill Team", "dacts", "1.0", "2025-01-10", dict.fromkeys(dacts.item_ids, 4) | {"H2": 2})
    import_review(db, "Hill Team", "goi", "1.0", "2025-06-10", dict.fromkeys(goi.item_ids, 4))

    at = open_page(app_file, "drift", view="Program")
    assert at.query_params["scale"] == "dacts"  # the scale with the most reviews, though GOI was the latest
    assert list(table(at, "drift_falls")["item"]) == ["H2"]
    assert f"also 1 on {goi.title} (choose above)" in program_facts(at)  # the other scale named
    assert not at.radio  # the scales are chosen in the popover, drawn when opened
    choose(at, "drift_program_picker", True)
    scale = at.radio(key=f"drift_scale_{program_id(db, 'Hill Team')}")
    assert scale.value == "dacts"
    scale.set_value("goi").run()
    assert not at.exception
    assert "This program has one final review: drift needs two." in texts(at.info)
    assert at.query_params["scale"] == "goi"
    assert not at.radio  # the popover closed
    assert f"1 on {goi.title}; also 2 on {dacts.title} (choose above)" in program_facts(at)


def test_drift_notes_reviews_on_two_versions_of_a_scale(
    app_file: str, db: Database, tmp_path: Path, monkeypatch
) -> None:
    from tests.unit.test_analytics import dacts_1_1, variant

    variant(db.registry.get("dacts", "1.0"), tmp_path / "scales", dacts_1_1)
    monkeypatch.setenv("FIDELITY_SCALES_DIRS", str(tmp_path / "scales"))
    url = f"sqlite:///{tmp_path / 'versions.db'}"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    with open_database(url) as versions_db:
        new = versions_db.registry.get("dacts", "1.1")
        old = versions_db.registry.get("dacts", "1.0")
        svc.create_program(versions_db, "Bay Team", model="ACT", actor=local_admin("admin"))
        import_review(versions_db, "Bay Team", "dacts", "1.0", "2024-01-10", dict.fromkeys(old.item_ids, 4))
        import_review(
            versions_db, "Bay Team", "dacts", "1.1", "2025-01-10", dict.fromkeys(new.item_ids, 4) | {"H1": 3}
        )

    at = open_page(app_file, "drift", view="Program")
    notes = " ".join(texts(at.info))
    assert "dacts 1.0 and 1.1 compared on the 27 items they share" in notes
    assert "O7 only in 1.0; O8 only in 1.1" in notes
    assert list(table(at, "drift_falls")["item"]) == ["H1"]


def test_a_large_agency_is_shown_a_page_at_a_time(
    app_file: str, registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 programs: Compare ranks, tabulates and maps 25 at a time, lowest totals first, with
    pages and the order to reach the others; Drift's agency table pages by 50, and the falls
    with their evidence are one table (not a card per item)."""
    from bench.generate import generate
    from bench.targets import sqlite_target

    target = sqlite_target(tmp_path / "agency.db")
    generate(target, programs=60, reviews_per_program=3, seed=3, registry=registry)
    monkeypatch.setenv("FIDELITY_DATABASE_URL", target.url)

    at = open_page(app_file, "compare", {"compare_ranking_expander": True})
    # The order and the page are in a popover named with the ranks shown, drawn when opened.
    assert "Ranks 36–60 of 60, lowest totals first" in popover_labels(at)
    assert not at.number_input and not [c for c in at.segmented_control if c.key == "compare_order"]
    choose(at, "compare_shown", True)
    assert at.segmented_control(key="compare_order").value == "Lowest totals first"
    assert list(table(at, "compare_ranking_table")["rank"]) == list(range(36, 61))  # best first on the page
    assert "total by program, ranks 36–60 of 60" in chart_title(at)  # the caption's part, in the title
    # AppTest sends no popover's open state with a widget's change (a browser keeps it open): it
    # is opened again before each change, and is closed after it, keeping the order and page.
    at.number_input(key="compare_page_60").set_value(3).run()
    assert "total by program, ranks 1–10 of 60" in chart_title(at)
    assert list(table(at, "compare_ranking_table")["rank"]) == list(range(1, 11))
    choose(at, "compare_shown", True)
    at.segmented_control(key="compare_order").set_value("Highest totals first").run()
    choose(at, "compare_shown", True)
    at.number_input(key="compare_page_60").set_value(1).run()
    assert not at.number_input  # closed, the popover keeps the order and page
    assert list(table(at, "compare_ranking_table")["rank"]) == list(range(1, 26))
    assert "Ranks 1–25 of 60, highest totals first" in popover_labels(at)
    choose(at, "compare_shown", True)  # opened again, its widgets show them
    assert at.segmented_control(key="compare_order").value == "Highest totals first"
    assert at.number_input(key="compare_page_60").value == 1
    assert len(at.get("vega_lite_chart")) == 1
    choose(at, "compare_open", True)
    assert len(at.selectbox(key="compare_open_drift").options) == 60  # any program's drift, by name

    # The item heatmap pages through the programs on its own.
    choose(at, "compare_view", "Items")
    assert "latest review, ranks 36–60 of 60" in chart_title(at)
    choose(at, "compare_items_shown", True)
    assert at.segmented_control(key="compare_items_order").value == "Lowest totals first"
    at.number_input(key="compare_items_page_60").set_value(3).run()
    assert "latest review, ranks 1–10 of 60" in chart_title(at)
    (download,) = at.get("download_button")
    assert download.proto.help == "Every program's item ratings, all 60 of them."

    # Drift's agency table has a row per program and scale: the generator's mixed data gives every
    # 20th program GOI reviews too, so 60 DACTS rows and 3 GOI rows.
    # Which rows are shown is said in the line above the table, with the counts.
    at = open_page(app_file, "drift")
    glance = table(at, "drift_overview_table")
    assert len(glance) == 50
    assert "Programs 1–50 of 63 (2 pages)." in " ".join(texts(at.markdown))
    assert not at.caption
    at.number_input(key="drift_overview_page_63").set_value(2).run()
    second = table(at, "drift_overview_table")
    assert len(second) == 13
    assert "Programs 51–63 of 63 (2 pages)." in " ".join(texts(at.markdown))
    assert len(pd.concat([glance, second]).drop_duplicates()) == 63
