"""Analytics on hand-built frames of finalized reviews, with answers worked out by hand."""

from __future__ import annotations

import copy
import random
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from scales import Scale, ScaleRegistry, load_registry, parse_scale_text
from scoring import ItemScore, score_ratings
from scoring.analytics import (
    RATING_COLUMNS,
    agency_overview,
    drift,
    item_series,
    program_series,
    review_totals,
    subscale_means,
)

# ---------------------------------------------------------------------------------------------
# Building frames
# ---------------------------------------------------------------------------------------------

PROGRAMS = {
    1: ("Riverside ACT", "North Care", "North"),
    2: ("Lakeside ACT", "North Care", "North"),
    3: ("Hilltop ACT", "South Health", "South"),
    4: ("Bayview ACT", "South Health", None),
    5: ("Valley IDDT", "South Health", "South"),
}


def review(
    review_id: int,
    when: str,
    ratings: dict[str, int | None],
    *,
    program_id: int = 1,
    scale: str = "dacts",
    version: str = "1.0",
    evidence: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows of one review; an item absent from `ratings` gets no row at all."""
    program, provider, region = PROGRAMS[program_id]
    return [
        {
            "review_id": review_id,
            "program_id": program_id,
            "program": program,
            "provider": provider,
            "region": region,
            "scale_id": scale,
            "scale_version": version,
            "review_date": date.fromisoformat(when),
            "item_id": item_id,
            "rating": rating,
            "evidence": (evidence or {}).get(item_id, f"note {item_id} r{review_id}"),
        }
        for item_id, rating in ratings.items()
    ]


def frame(*reviews: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [row for rows in reviews for row in rows]
    out = pd.DataFrame(rows, columns=list(RATING_COLUMNS))
    out["rating"] = out["rating"].astype("Int64")
    return out


def all_rated(scale: Scale, rating: int, **overrides: int | None) -> dict[str, int | None]:
    ratings: dict[str, int | None] = dict.fromkeys(scale.item_ids, rating)
    ratings.update(overrides)
    return ratings


def dacts_r1(dacts: Scale) -> dict[str, int | None]:
    """Sum 112 over 28 items: mean 4.00, Full implementation (the lowest Full)."""
    ratings = all_rated(dacts, 4, O1=2, O2=1, S1=2)
    ratings.update({f"H{i}": 5 for i in range(5, 12)})
    return ratings


def dacts_r2(dacts: Scale) -> dict[str, int | None]:
    """H1 falls 1, H2 falls 2, H3 unchanged, H4 rises; O1 and O2 low again; S1 rises to 3.

    H5..H11 are not rated (H5..H8 have no row, H9..H11 a row with NA). Sum 77 over 21 rated
    items: mean 3.67, Fair implementation.
    """
    ratings = dacts_r1(dacts)
    ratings.update(H1=3, H2=2, H3=4, H4=5, O1=2, O2=2, S1=3, H9=None, H10=None, H11=None)
    for item in ("H5", "H6", "H7", "H8"):
        del ratings[item]
    return ratings


def variant(scale: Scale, tmp_path: Path, change: Any, name: str | None = None) -> Path:
    """Write a changed copy of `scale` as YAML; `change` edits the dumped data in place."""
    data = scale.model_dump(mode="json", exclude_none=True)
    change(data)
    folder = tmp_path / data["id"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or data['version']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def dacts_1_1(data: dict[str, Any]) -> None:
    """DACTS 1.1: O7 dropped, a new item O8, and H1 renamed (same id, so still compared)."""
    data["version"] = "1.1"
    data["items"] = [item for item in data["items"] if item["id"] != "O7"]
    o6 = next(item for item in data["items"] if item["id"] == "O6")
    o8 = copy.deepcopy(o6) | {"id": "O8", "name": "Peer support"}
    data["items"].insert(data["items"].index(o6) + 1, o8)
    data["items"][0]["name"] = "Small caseload (revised)"
    for sub in data["subscales"]:
        if sub["id"] == "O":
            sub["items"] = ["O1", "O2", "O3", "O4", "O5", "O6", "O8"]


@pytest.fixture
def two_dacts(tmp_path: Path, dacts: Scale) -> ScaleRegistry:
    variant(dacts, tmp_path, dacts_1_1)
    registry = load_registry([tmp_path])
    assert not registry.problems, [str(p) for p in registry.problems]
    return registry


# ---------------------------------------------------------------------------------------------
# Drift
# ---------------------------------------------------------------------------------------------


class TestDrift:
    @pytest.fixture
    def ratings(self, dacts: Scale) -> pd.DataFrame:
        r0 = dacts_r1(dacts) | {"H1": 5}  # H1 falls 5 -> 4 between the first two reviews
        # Review ids are not in date order: the order is by review_date.
        return frame(
            review(30, "2025-07-15", dacts_r2(dacts), evidence={"H2": "two vacancies since May"}),
            review(20, "2024-07-01", r0),
            review(10, "2025-01-15", dacts_r1(dacts), evidence={"H2": "fully staffed"}),
        )

    def test_falls_of_one_and_two_but_not_unchanged_or_rises(self, ratings, registry, dacts) -> None:
        report = drift(ratings, registry, 1)
        assert (report.previous_review_id, report.review_id) == (10, 30)
        falls = report.falls.set_index("item_id")
        assert list(falls.index) == ["H2", "H1"]  # largest fall first
        assert falls.loc["H1", ["previous_rating", "rating", "change"]].tolist() == [4, 3, -1]
        assert falls.loc["H2", ["previous_rating", "rating", "change"]].tolist() == [4, 2, -2]
        assert falls.loc["H2", "previous_evidence"] == "fully staffed"
        assert falls.loc["H2", "evidence"] == "two vacancies since May"
        assert falls.loc["H2", "item_name"] == dacts.item("H2").name
        assert falls.loc["H2", "previous_review_date"] == pd.Timestamp("2025-01-15")
        assert falls.loc["H2", "review_date"] == pd.Timestamp("2025-07-15")
        compared = report.compared.set_index("item_id")
        assert compared.loc["H3", "change"] == 0  # unchanged: compared, not a fall
        assert compared.loc["H4", "change"] == 1  # a rise: compared, not a fall
        assert "H3" not in falls.index and "H4" not in falls.index

    def test_unrated_items_are_not_falls(self, ratings, registry) -> None:
        report = drift(ratings, registry, 1)
        unrated = {f"H{i}" for i in range(5, 12)}  # rated 5, then absent or NA
        assert unrated.isdisjoint(report.compared["item_id"])
        assert unrated.isdisjoint(report.falls["item_id"])
        assert "7 of these items were not rated on both reviews" in report.note

    def test_all_pairs(self, ratings, registry) -> None:
        report = drift(ratings, registry, 1)
        pairs = list(report.all_falls[["review_id", "item_id", "change"]].itertuples(index=False, name=None))
        assert pairs == [(10, "H1", -1), (30, "H2", -2), (30, "H1", -1)]

    def test_consecutive_lows(self, ratings, registry) -> None:
        low = drift(ratings, registry, 1).consecutive_low.set_index("item_id")
        assert sorted(low.index) == ["O1", "O2"]  # S1 went 2 -> 3: not low twice
        assert low.loc["O1", ["previous_rating", "rating"]].tolist() == [2, 2]
        assert low.loc["O2", ["previous_rating", "rating"]].tolist() == [1, 2]

    def test_band_change_full_to_fair(self, ratings, registry) -> None:
        change = drift(ratings, registry, 1).band_change
        assert change is not None
        assert (change.previous_band, change.band, change.direction) == (
            "Full implementation",
            "Fair implementation",
            "fell",
        )
        assert (change.previous_value, change.value) == (4.0, 3.67)

    def test_band_rises_and_stays(self, dacts, registry) -> None:
        low = all_rated(dacts, 2)
        rising = frame(review(1, "2025-01-01", low), review(2, "2025-06-01", all_rated(dacts, 3)))
        assert drift(rising, registry, 1).band_change.direction == "rose"
        same = frame(review(1, "2025-01-01", low), review(2, "2025-06-01", low))
        report = drift(same, registry, 1)
        assert report.band_change.direction == "same"
        assert report.falls.empty
        assert len(report.consecutive_low) == 28

    def test_same_day_reviews_are_ordered_by_id(self, dacts, registry) -> None:
        ratings = frame(
            review(8, "2025-03-01", all_rated(dacts, 3)),
            review(7, "2025-03-01", all_rated(dacts, 4)),
        )
        report = drift(ratings, registry, 1)
        assert (report.previous_review_id, report.review_id) == (7, 8)
        assert len(report.falls) == 28 and set(report.falls["change"]) == {-1}

    def test_same_version_note(self, ratings, registry) -> None:
        report = drift(ratings, registry, 1)
        assert not report.mixed_versions
        assert len(report.shared_items) == 28 and report.not_shared == ()
        assert report.note.startswith(
            "dacts 1.0: the review of 2025-07-15 against that of 2025-01-15, on all 28"
        )

    def test_incomplete_sum_scale_band_change_is_unknown(self, iddt, registry) -> None:
        ratings = frame(
            review(1, "2025-01-01", all_rated(iddt, 4), program_id=5, scale="iddt"),
            review(2, "2025-06-01", all_rated(iddt, 4, I3=None), program_id=5, scale="iddt"),
        )
        change = drift(ratings, registry, 5).band_change
        assert (change.previous_band, change.band, change.direction) == (
            "Good implementation",
            None,
            "unknown",
        )

    def test_no_review_and_one_review(self, dacts, registry) -> None:
        ratings = frame(review(1, "2025-01-01", all_rated(dacts, 4)))
        none = drift(ratings, registry, 99)
        assert none.review_id is None and none.falls.empty and none.band_change is None
        assert "No finalized reviews" in none.note
        one = drift(ratings, registry, 1)
        assert one.review_id == 1 and one.previous_review_id is None
        assert one.falls.empty and one.consecutive_low.empty and one.all_falls.empty
        assert one.note.startswith("Only one dacts review (2025-01-01)")

    def test_other_scales_of_the_program_are_not_compared(self, dacts, goi, registry) -> None:
        ratings = frame(
            review(1, "2025-01-01", all_rated(dacts, 5)),
            review(2, "2025-02-01", all_rated(goi, 2), scale="goi"),
            review(3, "2025-06-01", all_rated(dacts, 4)),
        )
        report = drift(ratings, registry, 1)  # the latest review is DACTS
        assert (report.scale_id, report.previous_review_id, report.review_id) == ("dacts", 1, 3)
        assert drift(ratings, registry, 1, scale_id="goi").note.startswith("Only one goi review")


class TestMixedVersions:
    def ratings(self, dacts: Scale, two_dacts: ScaleRegistry) -> pd.DataFrame:
        new = two_dacts.get("dacts", "1.1")
        before = all_rated(dacts, 4, O7=5)
        after = all_rated(new, 4, H1=2, O8=1)  # O7 is not in 1.1; O8 is new
        return frame(review(1, "2025-01-10", before), review(2, "2025-08-10", after, version="1.1"))

    def test_only_shared_items_are_compared_and_the_note_says_so(self, dacts, two_dacts) -> None:
        report = drift(self.ratings(dacts, two_dacts), two_dacts, 1)
        assert report.mixed_versions
        assert (report.previous_scale_version, report.scale_version) == ("1.0", "1.1")
        assert len(report.shared_items) == 27
        assert "O7" not in report.shared_items and "O8" not in report.shared_items
        assert set(report.not_shared) == {"O7", "O8"}
        assert set(report.compared["item_id"]) == set(report.shared_items)
        assert report.falls["item_id"].tolist() == ["H1"]  # matched by id despite the new name
        assert report.falls["item_name"].tolist() == ["Small caseload (revised)"]
        assert report.note.startswith("dacts 1.0 and 1.1 compared on the 27 items they share")
        assert "O7 only in 1.0" in report.note and "O8 only in 1.1" in report.note

    def test_series_and_matrix_across_versions(self, dacts, two_dacts) -> None:
        ratings = self.ratings(dacts, two_dacts)
        series = program_series(ratings, two_dacts, 1)
        assert series.versions == ("1.0", "1.1")
        assert "dacts 1.0 and 1.1" in series.note
        totals = series.values.loc[series.values["measure"] == "Total"]
        # each review scored on its own version: 113/28 -> 4.04; (28*4 - 2 - 3)/28 -> 3.82
        assert totals["value"].tolist() == [4.04, 3.82]
        items = item_series(ratings, two_dacts, 1)
        assert items.matrix.loc["O7", 1] == 5 and pd.isna(items.matrix.loc["O7", 2])
        assert pd.isna(items.matrix.loc["O8", 1]) and items.matrix.loc["O8", 2] == 1
        assert items.matrix.index[-1] == "O7"  # only in the older version: after the newest's items
        assert "27 items are in every version" in items.note
        assert "O7" in items.note and "O8" in items.note

    def test_agency_item_means_use_shared_items(self, dacts, two_dacts) -> None:
        new = two_dacts.get("dacts", "1.1")
        ratings = frame(
            review(1, "2025-01-10", all_rated(dacts, 4, O7=1), program_id=1),
            review(2, "2025-02-10", all_rated(new, 3, O8=1), program_id=2, version="1.1"),
        )
        overview = agency_overview(ratings, two_dacts, "dacts")
        assert overview.versions == ("1.0", "1.1")
        assert len(overview.shared_items) == 27
        means = overview.item_means.set_index("item_id")
        assert "O7" not in means.index and "O8" not in means.index
        assert means.loc["H1", "mean"] == 3.5 and means.loc["H1", "n"] == 2
        assert list(overview.item_matrix.index) == list(overview.shared_items)
        assert overview.note.startswith("Latest reviews use dacts 1.0 and 1.1: item means use the 27 items")
        # totals stay on each review's own version
        programs = overview.programs.set_index("program_id")
        assert programs.loc[1, "total_sum"] == 28 * 4 - 3 and programs.loc[2, "total_sum"] == 27 * 3 + 1


# ---------------------------------------------------------------------------------------------
# Series for one program
# ---------------------------------------------------------------------------------------------


def test_program_series(dacts, registry) -> None:
    ratings = frame(review(2, "2025-07-15", dacts_r2(dacts)), review(1, "2025-01-15", dacts_r1(dacts)))
    series = program_series(ratings, registry, 1)
    values = series.values
    assert values["review_id"].drop_duplicates().tolist() == [1, 2]
    assert values.loc[values["review_id"] == 1, "measure"].tolist() == ["Total", "H", "O", "S"]
    first = values.loc[values["review_id"] == 1].set_index("measure")
    assert first.loc["Total", "value"] == 4.0 and first.loc["Total", "band"] == "Full implementation"
    assert first.loc["H", "value"] == pytest.approx(51 / 11)
    assert first.loc["O", "measure_name"] == "Organizational boundaries"
    second = values.loc[values["review_id"] == 2].set_index("measure")
    assert second.loc["H", "value"] == pytest.approx(14 / 4)  # only rated items count
    assert series.thresholds["label"].tolist() == ["Not ACT", "Fair implementation", "Full implementation"]
    assert series.thresholds["min"].tolist()[1:] == [3.0, 4.0]
    assert series.total_is_mean and series.total_measure == "Total mean" and series.note == ""


def test_program_series_of_a_sum_scale(iddt, registry) -> None:
    ratings = frame(review(1, "2025-01-01", all_rated(iddt, 4), program_id=5, scale="iddt"))
    series = program_series(ratings, registry, 5)
    assert not series.total_is_mean
    assert series.values.set_index("measure").loc["Total", "value"] == 56
    assert series.thresholds["min"].tolist()[1:] == [42, 56]


def test_item_series(dacts, registry) -> None:
    ratings = frame(review(2, "2025-07-15", dacts_r2(dacts)), review(1, "2025-01-15", dacts_r1(dacts)))
    items = item_series(ratings, registry, 1)
    assert list(items.matrix.index) == dacts.item_ids
    assert list(items.matrix.columns) == [1, 2]
    assert items.matrix.loc["H2"].tolist() == [4, 2]
    assert pd.isna(items.matrix.loc["H5", 2]) and pd.isna(items.matrix.loc["H9", 2])
    assert items.reviews["band"].tolist() == ["Full implementation", "Fair implementation"]
    assert items.items["item_name"].iloc[0] == dacts.item("H1").name


# ---------------------------------------------------------------------------------------------
# Agency overview
# ---------------------------------------------------------------------------------------------


class TestAgency:
    @pytest.fixture
    def ratings(self, dacts: Scale, iddt: Scale) -> pd.DataFrame:
        return frame(
            # Riverside: an old review all 5, the latest one counts
            review(1, "2024-01-10", all_rated(dacts, 5), program_id=1),
            review(2, "2025-02-10", all_rated(dacts, 4, H1=2), program_id=1),  # (112-2)/28 = 3.93 Fair
            # Lakeside: 4.00 Full
            review(3, "2025-03-01", all_rated(dacts, 4), program_id=2),
            # Hilltop: 3.93 Fair, the same mean as Riverside: name breaks the tie
            review(4, "2025-04-01", all_rated(dacts, 4, H1=2), program_id=3),
            # Bayview: 2.00 Not ACT, but its latest review is after the window's end
            review(5, "2024-06-01", all_rated(dacts, 3, H1=1, H2=1), program_id=4),
            review(6, "2025-12-01", all_rated(dacts, 2), program_id=4),
            # An IDDT program: not part of a DACTS overview
            review(7, "2025-05-01", all_rated(iddt, 1), program_id=5, scale="iddt"),
        )

    def test_latest_review_ranking_and_distribution(self, ratings, registry) -> None:
        overview = agency_overview(ratings, registry, "dacts")
        programs = overview.programs
        assert programs["program"].tolist() == ["Lakeside ACT", "Hilltop ACT", "Riverside ACT", "Bayview ACT"]
        assert programs["rank"].tolist() == [1, 2, 3, 4]
        assert programs["review_id"].tolist() == [3, 4, 2, 6]  # each program's latest review
        dist = overview.distribution
        assert dist["band"].tolist() == ["Not ACT", "Fair implementation", "Full implementation"]
        assert dist["programs"].tolist() == [1, 2, 1]
        assert dist["share"].tolist() == [0.25, 0.5, 0.25]
        assert overview.below_full["program"].tolist() == ["Hilltop ACT", "Riverside ACT", "Bayview ACT"]

    def test_item_means_weak_spots_first(self, ratings, registry) -> None:
        means = agency_overview(ratings, registry, "dacts").item_means
        assert means["item_id"].iloc[0] == "H1"  # (4 + 2 + 2 + 2) / 4
        first = means.iloc[0]
        assert (first["mean"], first["n"], first["low"]) == (2.5, 4, 3)
        assert means["mean"].is_monotonic_increasing
        assert means["item_id"].iloc[1] == "H2"  # ties keep the scale's order

    def test_filters(self, ratings, registry) -> None:
        window = agency_overview(
            ratings, registry, "dacts", date_from="2025-01-01", date_to=date(2025, 6, 30)
        )
        assert window.programs["program_id"].tolist() == [2, 3, 1]
        north = agency_overview(ratings, registry, "dacts", region="North")
        assert set(north.programs["program_id"]) == {1, 2}
        south = agency_overview(ratings, registry, "dacts", provider=["South Health"], date_to="2025-01-01")
        assert south.programs["review_id"].tolist() == [5]  # Bayview's older review; no region
        assert south.programs["total_mean"].tolist() == [pytest.approx(80 / 28)]
        iddt = agency_overview(ratings, registry, "iddt")
        assert iddt.programs["program"].tolist() == ["Valley IDDT"]
        assert iddt.programs["band"].tolist() == ["Not IDDT"]

    def test_nothing_in_the_window(self, ratings, registry) -> None:
        overview = agency_overview(ratings, registry, "dacts", region="Nowhere")
        assert overview.programs.empty and overview.item_means.empty and overview.below_full.empty
        assert overview.distribution["programs"].tolist() == [0, 0, 0]


# ---------------------------------------------------------------------------------------------
# Totals agree with score_ratings
# ---------------------------------------------------------------------------------------------


def random_reviews(
    scale: Scale, rng: random.Random, count: int, first_id: int
) -> list[dict[str, int | None]]:
    """Reviews from complete to empty; an unrated item has no row or a row with NA."""
    out: list[dict[str, int | None]] = []
    for n in range(count):
        missing_share = rng.choice([0.0, 0.0, 0.1, 0.3, 0.8, 1.0])
        ratings: dict[str, int | None] = {}
        for item_id in scale.item_ids:
            if rng.random() < missing_share:
                if rng.random() < 0.5:
                    ratings[item_id] = None
            else:
                ratings[item_id] = rng.randint(scale.rating.min, scale.rating.max)
        if n % 7 == 0:  # near band edges: everything one value, then one item moved
            ratings = all_rated(scale, rng.randint(2, 4))
            ratings[rng.choice(scale.item_ids)] = rng.randint(1, 5)
        out.append(ratings)
    return out


def check_agreement(scales: list[Scale], registry: ScaleRegistry, per_scale: int, seed: int) -> None:
    rng = random.Random(seed)
    rows: list[list[dict[str, Any]]] = []
    expected = {}
    review_id = 0
    for scale in scales:
        for ratings in random_reviews(scale, rng, per_scale, review_id):
            review_id += 1
            rows.append(review(review_id, "2025-01-01", ratings, scale=scale.id, version=scale.version))
            scores = {
                i: ItemScore(i, ratings.get(i), "rated" if ratings.get(i) is not None else "missing")
                for i in scale.item_ids
            }
            expected[review_id] = score_ratings(scale, scores)
    totals = review_totals(frame(*rows), registry).set_index("review_id")
    assert len(totals) == len(expected)
    for rid, score in expected.items():
        row = totals.loc[rid]
        assert row["total_sum"] == score.total.sum, rid
        assert row["rated"] == score.total.rated and row["items"] == score.total.items
        assert bool(row["complete"]) == score.total.complete
        assert (None if pd.isna(row["band"]) else row["band"]) == score.band, (rid, score.banded_value)
        banded = None if pd.isna(row["banded_value"]) else row["banded_value"]
        assert banded == (None if score.banded_value is None else float(score.banded_value))
        if score.total.mean is None:
            assert pd.isna(row["total_mean"])
        else:
            assert row["total_mean"] == float(score.total.mean)
        for sub in score.subscales.values():
            value = row[f"sub_{sub.id}"]
            assert pd.isna(value) if sub.mean is None else value == pytest.approx(float(sub.mean))


def test_totals_agree_with_score_ratings_on_bundled_scales(registry) -> None:
    check_agreement(registry.all(), registry, per_scale=250, seed=20260314)


def test_totals_agree_on_other_methods_and_precisions(dacts, tmp_path) -> None:
    """Mean of subscale means, and a precision-1 mean where exact halves (59/20 = 2.95) occur."""

    def by_subscale_means(data: dict[str, Any]) -> None:
        data["version"] = "9.1"
        data["scoring"]["method"] = "mean_of_subscale_means"

    def one_decimal(data: dict[str, Any]) -> None:
        data["version"] = "9.2"
        data["scoring"]["precision"] = 1
        data["scoring"]["bands"][0]["max"] = 2.9
        data["scoring"]["bands"][1]["max"] = 3.9

    variant(dacts, tmp_path, by_subscale_means)
    variant(dacts, tmp_path, one_decimal)
    registry = load_registry([tmp_path])
    assert not registry.problems, [str(p) for p in registry.problems]
    scales = [registry.get("dacts", "9.1"), registry.get("dacts", "9.2")]
    check_agreement(scales, registry, per_scale=200, seed=7)

    half = all_rated(dacts, 3)
    for item_id in dacts.item_ids[20:]:
        del half[item_id]
    for item_id in dacts.item_ids[:1]:
        half[item_id] = 2  # 59 over 20 rated items: 2.95 rounds half-up to 3.0
    totals = review_totals(frame(review(1, "2025-01-01", half, version="9.2")), registry)
    assert totals["banded_value"].tolist() == [3.0]
    assert totals["band"].tolist() == ["Fair implementation"]


def test_review_totals_columns_and_subscale_means(dacts, goi, registry) -> None:
    ratings = frame(
        review(1, "2025-01-15", dacts_r1(dacts)),
        review(2, "2025-02-15", all_rated(goi, 4, G2=None), scale="goi"),
    )
    totals = review_totals(ratings, registry).set_index("review_id")
    assert totals.loc[1, "band"] == "Full implementation" and totals.loc[1, "band_level"] == 2
    assert pd.isna(totals.loc[2, "band"]) and pd.isna(totals.loc[2, "band_level"])  # GOI incomplete
    assert totals.loc[2, "total_sum"] == 44 and not totals.loc[2, "complete"]
    assert {"sub_H", "sub_O", "sub_S", "sub_G"} <= set(totals.columns)
    assert pd.isna(totals.loc[1, "sub_G"]) and totals.loc[2, "sub_G"] == 4.0
    long = subscale_means(ratings, registry)
    assert long.loc[long["review_id"] == 1, "subscale"].tolist() == ["H", "O", "S"]
    o = long.loc[(long["review_id"] == 1) & (long["subscale"] == "O")].iloc[0]
    assert (o["mean"], o["rated"], o["items"]) == (pytest.approx(23 / 7), 7, 7)


# ---------------------------------------------------------------------------------------------
# The input contract
# ---------------------------------------------------------------------------------------------


def test_every_function_accepts_an_empty_frame(registry) -> None:
    for empty in (pd.DataFrame(), pd.DataFrame(columns=list(RATING_COLUMNS))):
        assert review_totals(empty, registry).empty
        assert subscale_means(empty, registry).empty
        assert program_series(empty, registry, 1).values.empty
        assert item_series(empty, registry, 1).matrix.empty
        report = drift(empty, registry, 1)
        assert report.falls.empty and report.band_change is None
        overview = agency_overview(empty, registry, "dacts")
        assert overview.programs.empty
        assert overview.distribution["programs"].tolist() == [0, 0, 0]


def test_dates_may_be_datetimes_and_ratings_plain_objects(dacts, registry) -> None:
    ratings = frame(review(1, "2025-01-15", dacts_r1(dacts)), review(2, "2025-07-15", dacts_r2(dacts)))
    ratings["review_date"] = pd.to_datetime(ratings["review_date"])
    ratings["rating"] = ratings["rating"].astype(object)
    assert drift(ratings, registry, 1).falls["item_id"].tolist() == ["H2", "H1"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: f.drop(columns="evidence"), "lacks column(s): evidence"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "rates item H1 more than once"),
        (lambda f: f.assign(item_id=f["item_id"].replace("H1", "Z9")), "item Z9 is not an item of dacts 1.0"),
        (lambda f: f.assign(review_date=[date(2025, 1, 1)] + [date(2025, 1, 2)] * (len(f) - 1)), "disagree"),
        (lambda f: f.assign(rating=f["rating"].astype("float64").where(f.index > 0, 3.5)), "whole numbers"),
    ],
)
def test_a_broken_frame_is_refused(dacts, registry, breakage, message) -> None:
    ratings = frame(review(1, "2025-01-15", dacts_r1(dacts)))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        review_totals(breakage(ratings), registry)


def test_scale_parses_from_text(dacts) -> None:
    """The variant helper round-trips: a dumped scale parses back to the same content."""
    data = dacts.model_dump(mode="json", exclude_none=True)
    again = parse_scale_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "copy.yaml")
    assert again.content_hash == dacts.content_hash
