"""The two agency-authored example scales (examples/scales): they load, say they are not
published instruments, and score hand-built reviews at each band edge and each computed item's
cut-points on both sides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from scales import Scale, load_scale_file
from scales.schema import TotalMethod, VerificationStatus
from scoring import ItemEntry, rate_item, score_review

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scales"


@pytest.fixture(scope="module")
def peer() -> Scale:
    return load_scale_file(EXAMPLES / "peer-support-review.yaml")


@pytest.fixture(scope="module")
def bhh() -> Scale:
    return load_scale_file(EXAMPLES / "behavioral-health-home-review.yaml")


def rated(scale: Scale, item_id: str, **inputs: float) -> int | None:
    return rate_item(scale.item(item_id), ItemEntry(inputs=inputs), scale.rating).rating


def test_both_say_they_are_agency_authored_not_published_instruments(peer: Scale, bhh: Scale) -> None:
    for scale in (peer, bhh):
        assert "agency-authored" in scale.title
        assert "not a published instrument" in scale.source
        assert all(
            item.provenance is not None
            and item.provenance.status is VerificationStatus.UNVERIFIED
            and item.provenance.source == "agency-authored"
            for item in scale.items
        )
        assert scale.unverified_items == scale.item_ids  # the app and the PDF flag every item


def test_the_health_home_review_covers_the_core_services_and_peer_specialists(bhh: Scale) -> None:
    names = [sub.name for sub in bhh.subscales]
    assert names == [
        "Comprehensive care management",
        "Health promotion",
        "Comprehensive transitional care",
        "Individual and family support",
        "Referral to community and social supports",
        "The health home team",
    ]
    assert bhh.item("TM1").name == "Peer specialists on the team"
    assert bhh.scoring.method is TotalMethod.MEAN_OF_SUBSCALE_MEANS


def with_sum(scale: Scale, total: int) -> dict[str, ItemEntry]:
    base, extra = divmod(total, len(scale.items))
    return {item_id: ItemEntry(rating=base + (i < extra)) for i, item_id in enumerate(scale.item_ids)}


@pytest.mark.parametrize(
    ("total", "band", "banded"),
    [
        (50, "Established peer-support program", "5.00"),
        (40, "Established peer-support program", "4.00"),
        (39, "Developing peer-support program", "3.90"),
        (30, "Developing peer-support program", "3.00"),
        (29, "Not yet a peer-support program", "2.90"),
        (10, "Not yet a peer-support program", "1.00"),
    ],
)
def test_peer_support_band_edges(peer: Scale, total: int, band: str, banded: str) -> None:
    result = score_review(peer, with_sum(peer, total))
    assert result.total.sum == total and result.total.rated == 10
    assert (result.band, result.banded_value) == (band, Decimal(banded))


def test_peer_support_mean_of_rated_items_when_one_is_missing(peer: Scale) -> None:
    entries = {i: ItemEntry(rating=4) for i in peer.item_ids} | {
        "PO2": ItemEntry(rating=None),
        "PO1": ItemEntry(rating=3),
    }
    result = score_review(peer, entries)
    assert result.missing == ["PO2"]
    assert (result.banded_value, result.band) == (
        Decimal("3.89"),
        "Developing peer-support program",
    )  # 35 / 9


@pytest.mark.parametrize(
    ("peer_fte", "team_fte", "rating"),
    [(2, 10, 5), (1.95, 10, 5), (1.949, 10, 4), (1.5, 10, 4), (1.449, 10, 3), (1.0, 10, 3),
     (0.9, 10, 2), (0.5, 10, 2), (0.449, 10, 1), (0, 10, 1)],
)  # fmt: skip
def test_peer_specialist_share_cut_points(peer: Scale, peer_fte: float, team_fte: float, rating: int) -> None:
    """Under 5% of the team's FTE 1, 5-9% 2, 10-14% 3, 15-19% 4, 20% or more 5 (rounded to whole %)."""
    assert rated(peer, "PW1", peer_fte=peer_fte, team_fte=team_fte) == rating


@pytest.mark.parametrize(
    ("certified", "peers", "rating"),
    [
        (9, 10, 5),
        (89, 100, 4),
        (75, 100, 4),
        (74, 100, 3),
        (50, 100, 3),
        (49, 100, 2),
        (25, 100, 2),
        (24, 100, 1),
    ],
)
def test_certified_peer_cut_points(peer: Scale, certified: int, peers: int, rating: int) -> None:
    assert rated(peer, "PW2", certified=certified, peers=peers) == rating


def by_subscale(scale: Scale, ratings: dict[str, list[int | None]]) -> dict[str, ItemEntry]:
    return {
        item_id: ItemEntry(rating=r)
        for sub in scale.subscales
        for item_id, r in zip(sub.items, ratings[sub.id], strict=True)
    }


ALL_4 = {s: [4, 4] for s in ("CM", "HP", "TC", "IF", "RC", "TM")}
ALL_3 = {s: [3, 3] for s in ("CM", "HP", "TC", "IF", "RC", "TM")}


@pytest.mark.parametrize(
    ("ratings", "band", "banded"),
    [
        (ALL_4, "Full health home", "4.00"),
        (ALL_4 | {"TM": [4, 3]}, "Partial health home", "3.92"),  # (5 x 4 + 3.5) / 6 = 3.9167
        (ALL_3, "Partial health home", "3.00"),
        (ALL_3 | {"CM": [3, 2]}, "Not yet functioning as a health home", "2.92"),  # 17.5 / 6
        # Each component weighs the same: TM's one rated item counts as much as CM's two.
        (ALL_3 | {"TM": [5, None]}, "Partial health home", "3.33"),  # (5 x 3 + 5) / 6
    ],
)
def test_health_home_band_edges_on_the_mean_of_subscale_means(
    bhh: Scale, ratings: dict[str, list[int | None]], band: str, banded: str
) -> None:
    result = score_review(bhh, by_subscale(bhh, ratings))
    assert (result.band, result.banded_value) == (band, Decimal(banded))


@pytest.mark.parametrize(
    ("item_id", "numerator", "denominator", "rating"),
    [
        (
            "CM1",
            "assessed",
            "enrolled",
            [(90, 5), (89, 4), (80, 4), (79, 3), (65, 3), (64, 2), (50, 2), (49, 1)],
        ),
        ("HP1", "screened", "on_antipsychotics", [(90, 5), (89, 4), (50, 2), (49, 1)]),
        (
            "TC1",
            "seen_7_days",
            "discharges",
            [(85, 5), (84, 4), (70, 4), (69, 3), (55, 3), (54, 2), (40, 2), (39, 1)],
        ),
    ],
)
def test_health_home_computed_cut_points(
    bhh: Scale, item_id: str, numerator: str, denominator: str, rating: list[tuple[int, int]]
) -> None:
    for count, expected in rating:
        assert rated(bhh, item_id, **{numerator: count, denominator: 100}) == expected, (item_id, count)
