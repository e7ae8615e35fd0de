"""The SAMHSA KIT scales bundled after DACTS, IDDT and GOI (SE, IMR, FPE, PSH) and the shapes of
the copyrighted IPS-25 and TMACT in examples/scales: hand-built reviews at each band edge, the
published cut-points of their computed items restated (so a typo in a YAML file cannot pass both
this and tests/unit/test_computed_items.py), and the provenance each scale must carry."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from scales import Scale, ScaleRegistry, load_scale_file
from scales.schema import VerificationStatus
from scoring import ItemEntry, rate_item, score_review
from scoring.review import mean_of_means
from scoring.rounding import round_half_up

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scales"
NEW_SCALES = ("se", "imr", "fpe", "psh")


def with_sum(scale: Scale, total: int) -> dict[str, ItemEntry]:
    """Ratings for every item that add up to `total` (as even as possible)."""
    base, extra = divmod(total, len(scale.items))
    return {item_id: ItemEntry(rating=base + (i < extra)) for i, item_id in enumerate(scale.item_ids)}


@pytest.mark.parametrize(
    ("scale_id", "total", "band", "banded"),
    [
        ("se", 75, "Good implementation", "75"), ("se", 66, "Good implementation", "66"),
        ("se", 65, "Fair implementation", "65"), ("se", 56, "Fair implementation", "56"),
        ("se", 55, "Not supported employment", "55"), ("se", 15, "Not supported employment", "15"),
        # 13 items: 52/13 = 4.00, 51/13 = 3.92, 39/13 = 3.00, 38/13 = 2.92
        ("imr", 52, "Good implementation", "4.00"), ("imr", 51, "Fair implementation", "3.92"),
        ("imr", 39, "Fair implementation", "3.00"), ("imr", 38, "Not IMR", "2.92"),
        # 14 items: 70/14 = 5.00, 69/14 = 4.93, 56/14 = 4.00, 55/14 = 3.93
        ("fpe", 70, "Full fidelity", "5.00"), ("fpe", 69, "Adequate fidelity", "4.93"),
        ("fpe", 56, "Adequate fidelity", "4.00"), ("fpe", 55, "Low fidelity", "3.93"),
    ],
)  # fmt: skip
def test_band_edges(registry: ScaleRegistry, scale_id: str, total: int, band: str, banded: str) -> None:
    scale = registry.get(scale_id, "1.0")
    result = score_review(scale, with_sum(scale, total))
    assert result.total.sum == total
    assert (result.band, result.banded_value) == (band, Decimal(banded))


def test_se_bands_only_a_complete_review(registry: ScaleRegistry) -> None:
    se = registry.get("se", "1.0")
    entries = with_sum(se, 75) | {"EV9": ItemEntry(rating=None)}
    result = score_review(se, entries)
    assert (result.band, result.banded_value, result.missing) == (None, None, ["EV9"])


def test_psh_total_is_the_mean_of_its_seven_dimension_scores(registry: ScaleRegistry) -> None:
    psh = registry.get("psh", "1.0")
    assert [len(sub.items) for sub in psh.subscales] == [3, 3, 2, 1, 2, 3, 8]
    assert (psh.rating.min, psh.rating.max) == (1, 4)
    ratings = {"P1a": 4, "P1b": 4, "P1c": 3, "P2a": 4, "P2b": 4, "P2c": 4, "P3a": 2, "P3b": 3, "P4a": 1}
    ratings |= {"P5a": 4, "P5b": 3, "P6a": 3, "P6b": 3, "P6c": 3} | {f"P7{c}": 2 for c in "abcdefgh"}
    result = score_review(psh, {k: ItemEntry(rating=v) for k, v in ratings.items()})
    # (11/3 + 4 + 2.5 + 1 + 3.5 + 3 + 2) / 7 = 2.8095...; the mean of the 22 items is 2.77
    assert result.banded_value == Decimal("2.81") and round_half_up(result.total.mean, 2) == Decimal("2.77")
    assert result.band == "No published bands"
    with pytest.raises(ValueError, match=r"out of range 1\.\.4"):
        score_review(psh, {"P1a": ItemEntry(rating=5)})


def rated(scale: Scale, item_id: str, **inputs: float) -> int | None:
    return rate_item(scale.item(item_id), ItemEntry(inputs=inputs), scale.rating).rating


@pytest.mark.parametrize(
    ("clients", "fte", "rating"),
    [(25, 1, 5), (25.4, 1, 5), (25.5, 1, 4), (26, 1, 4), (40, 1, 4), (41, 1, 3), (60, 1, 3),
     (61, 1, 2), (80, 1, 2), (81, 1, 1), (50, 2, 5), (52, 2, 4)],
)  # fmt: skip
def test_se_caseload_cut_points(registry: ScaleRegistry, clients: float, fte: float, rating: int) -> None:
    """Published: 25 or fewer clients per specialist 5, 26-40 4, 41-60 3, 61-80 2, 81 or more 1."""
    se = registry.get("se", "1.0")
    if clients != int(clients):  # a whole number of clients: make the ratio with the FTE instead
        clients, fte = clients * 10, fte * 10
    assert rated(se, "ES1", clients=clients, specialist_fte=fte) == rating


@pytest.mark.parametrize(
    ("months", "rating"),
    [(0, 5), (1.0, 5), (1.04, 5), (1.05, 4), (6.0, 4), (6.1, 3), (9.0, 3), (9.1, 2), (12.0, 2), (12.1, 1)],
)
def test_se_rapid_job_search_cut_points(registry: ScaleRegistry, months: float, rating: int) -> None:
    """Published: within 1 month 5; over 6 up to 9 months 3; over 9 up to 12 months 2; over a year 1."""
    assert rated(registry.get("se", "1.0"), "EV2", months_to_first_contact=months) == rating


@pytest.mark.parametrize(
    ("size", "rating"), [(1, 5), (8, 5), (9, 4), (10, 4), (11, 3), (12, 3), (13, 2), (15, 2), (16, 1)]
)
def test_imr_group_size_cut_points(registry: ScaleRegistry, size: int, rating: int) -> None:
    assert rated(registry.get("imr", "1.0"), "M1", largest_group=size) == rating


@pytest.mark.parametrize("item_id", [f"F{i}" for i in range(5, 13)])
@pytest.mark.parametrize(
    ("pct", "rating"),
    [
        (0, 1),
        (32, 1),
        (32.4, 1),
        (32.5, 2),
        (33, 2),
        (49, 2),
        (50, 3),
        (64, 3),
        (65, 4),
        (79, 4),
        (79.5, 5),
        (100, 5),
    ],
)
def test_fpe_share_of_families_cut_points(
    registry: ScaleRegistry, item_id: str, pct: float, rating: int
) -> None:
    """Published (items 6-12): under 33% 1, 33-49% 2, 50-64% 3, 65-79% 4, 80% or more 5."""
    assert rated(registry.get("fpe", "1.0"), item_id, pct_families=pct) == rating


@pytest.mark.parametrize("scale_id", NEW_SCALES)
def test_every_item_says_what_was_verified(registry: ScaleRegistry, scale_id: str) -> None:
    scale = registry.get(scale_id, "1.0")
    assert scale.licence and scale.source
    assert all(item.provenance is not None for item in scale.items)
    unverified = [
        i.id for i in scale.items if i.provenance and i.provenance.status is not VerificationStatus.VERIFIED
    ]
    assert scale.unverified_items == unverified
    assert "VERIFICATION STATUS" in (scale.notes or "")


def test_what_is_verified_and_what_is_not(registry: ScaleRegistry) -> None:
    assert registry.get("se", "1.0").unverified_items == [
        "ES3",
        "EO1",
        "EO2",
        "EO3",
        "EV2",
        *(f"EV{i}" for i in range(3, 10)),
    ]
    assert registry.get("fpe", "1.0").unverified_items == ["F1", "F2", "F3", "F4", "F5", "F13", "F14"]
    assert len(registry.get("psh", "1.0").unverified_items) == 22
    assert registry.get("dacts", "1.0").unverified_items == []  # no provenance recorded: nothing claimed


def test_an_empty_provenance_or_licence_leaves_the_content_hash_alone(dacts: Scale) -> None:
    data = dacts.model_dump(mode="json")
    assert Scale.model_validate(data | {"licence": None}).content_hash == dacts.content_hash
    assert Scale.model_validate(data | {"licence": "public domain"}).content_hash != dacts.content_hash
    data["items"][0]["provenance"] = {"status": "verified"}
    assert Scale.model_validate(data).content_hash != dacts.content_hash


# ---------------------------------------------------------------------------------------------
# Shapes of the copyrighted scales (examples/scales): structure and total rule, no text
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ips25() -> Scale:
    return load_scale_file(EXAMPLES / "ips-25-shape.yaml")


@pytest.fixture(scope="module")
def tmact() -> Scale:
    return load_scale_file(EXAMPLES / "tmact-shape.yaml")


def test_the_shapes_ship_no_text(ips25: Scale, tmact: Scale) -> None:
    for scale in (ips25, tmact):
        assert all("Placeholder" in item.definition for item in scale.items)
        assert all(text.startswith("Placeholder") for item in scale.items for text in item.anchors.values())
        assert scale.unverified_items == scale.item_ids


@pytest.mark.parametrize(
    ("total", "band"),
    [(125, "Exemplary fidelity"), (115, "Exemplary fidelity"), (114, "Good fidelity"), (100, "Good fidelity"),
     (99, "Fair fidelity"), (74, "Fair fidelity"), (73, "Not supported employment"), (25, "Not supported employment")],
)  # fmt: skip
def test_ips25_shape_bands_its_sum(ips25: Scale, total: int, band: str) -> None:
    assert [len(sub.items) for sub in ips25.subscales] == [3, 8, 14]
    result = score_review(ips25, with_sum(ips25, total))
    assert (result.total.sum, result.band) == (total, band)


@pytest.mark.parametrize(
    ("means", "total"),
    [((3.9, 3.3, 2.6, 3.6, 3.6, 2.2), "3.20"), ((4.2, 4.4, 4.2, 4.0, 4.1, 3.2), "4.02"),
     ((4.6, 4.0, 4.9, 4.0, 4.4, 4.2), "4.35")],
)  # fmt: skip
def test_tmact_published_totals_are_the_mean_of_subscale_means(means: tuple[float, ...], total: str) -> None:
    """The IJIC case study's three reviews (subscale means as printed, to one decimal)."""
    exact = mean_of_means([Fraction(str(m)) for m in means])
    assert exact is not None and round_half_up(exact, 2) == Decimal(total)


def test_tmact_shape_scores_the_mean_of_subscale_means(tmact: Scale) -> None:
    assert [(sub.id, len(sub.items)) for sub in tmact.subscales] == [
        ("OS", 12), ("CT", 7), ("ST", 8), ("CP", 8), ("EP", 8), ("PP", 4)
    ]  # fmt: skip
    # Means 3.9 (10 of 12 rated), 3.4, 2.6, 3.6, 3.6 (5 rated each) and 2.0: total 19.1 / 6 = 3.18
    plan = {"OS": [4] * 9 + [3], "CT": [4, 4, 3, 3, 3], "ST": [3, 3, 3, 2, 2], "CP": [4, 4, 4, 3, 3]}
    plan |= {"EP": [4, 4, 4, 3, 3], "PP": [2, 2, 2, 2]}
    entries = {
        f"{sub}{i}": ItemEntry(rating=r) for sub, ratings in plan.items() for i, r in enumerate(ratings, 1)
    }
    result = score_review(tmact, entries)
    assert [round_half_up(s.mean, 1) for s in result.subscales.values() if s.mean is not None] == [
        Decimal(v) for v in ("3.9", "3.4", "2.6", "3.6", "3.6", "2.0")
    ]
    assert result.banded_value == Decimal("3.18") and result.band == "3 to 3.99"
    assert round_half_up(result.total.mean, 2) == Decimal("3.32")  # the mean of the 34 rated items differs
