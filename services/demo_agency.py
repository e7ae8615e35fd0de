"""The demo agency (services/demo.py builds it): its providers, reviewers and twelve programs,
which items teams find hard, the inputs of computed items, and the drifting program's last two
DACTS reviews, scripted item by item. Tables only: no database, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

PROVIDERS: Final = (
    "Demo: Northfield Behavioral Health",
    "Demo: Riverbend Community Services",
    "Demo: Lakeshore Recovery Partners",
)
REVIEWERS: Final = (
    "A. Okafor (demo)",
    "B. Lindqvist (demo)",
    "C. Ramírez (demo)",
    "D. Chen (demo)",
    "E. Novak (demo)",
)

DRIFTING_PROGRAM: Final = "Demo ACT Team 3"
"""The program whose latest DACTS review drifts: the Drift page opens on it."""
DRIFT_FALLS: Final[Mapping[str, tuple[int, int]]] = {
    "H3": (5, 3),
    "H5": (4, 2),
    "H6": (5, 3),
    "S5": (4, 2),
    "H1": (5, 4),
    "S4": (4, 3),
}
"""Item -> (previous rating, latest rating) of the drifting program's last two DACTS reviews,
in the order drift() lists falls (largest fall first, then scale order)."""
DRIFT_LOW_TWICE: Final = ("H10", "S10")
"""Items the drifting program rated below 3 on both of its last two DACTS reviews."""
DRIFT_BANDS: Final = ("Full implementation", "Fair implementation")
DRIFT_TOTALS: Final = (4.18, 3.82)
"""The drifting program's DACTS total means on its previous and latest review."""


@dataclass(frozen=True)
class ProgramPlan:
    """One demo program: who runs it, where, on which scale, and how its ratings move."""

    name: str
    provider: str
    region: str
    model: str
    scale_id: str
    targets: Callable[[float], float]  # mean item rating at time t (0 = first review, 1 = latest)
    story: str
    single_review: bool = False


def rising(start: float, end: float) -> Callable[[float], float]:
    """A straight line from `start` (first review) to `end` (latest), rising or falling."""
    return lambda t: start + (end - start) * t


def flat(level: float) -> Callable[[float], float]:
    """The same level on every review."""
    return lambda t: level


def late_fall(level: float, end: float, fall_after: float) -> Callable[[float], float]:
    """`level` until `fall_after`, then a straight fall to `end` at the latest review."""
    return lambda t: level if t < fall_after else level + (end - level) * (t - fall_after) / (1 - fall_after)


N, R, L = PROVIDERS
PLANS: Final[tuple[ProgramPlan, ...]] = (
    ProgramPlan("Demo ACT Team 1", N, "Demo North", "ACT", "dacts", rising(2.75, 4.3), "improving"),
    ProgramPlan("Demo ACT Team 2", N, "Demo North", "ACT", "dacts", flat(4.45), "stable and high"),
    ProgramPlan(DRIFTING_PROGRAM, N, "Demo Central", "ACT", "dacts", flat(4.3), "drifting"),
    ProgramPlan("Demo ACT Team 4", R, "Demo Central", "ACT", "dacts", flat(3.5), "stable and fair"),
    ProgramPlan("Demo ACT Team 5", R, "Demo Central", "ACT", "dacts", rising(3.25, 4.15), "improving"),
    ProgramPlan("Demo ACT Team 6", R, "Demo South", "ACT", "dacts", flat(4.25), "stable and high"),
    ProgramPlan("Demo ACT Team 7", L, "Demo South", "ACT", "dacts", rising(3.75, 3.25), "slowly declining"),
    ProgramPlan(
        "Demo ACT Team 8", L, "Demo South", "ACT", "dacts", flat(2.8), "new team", single_review=True
    ),
    ProgramPlan("Demo IDDT Program 1", N, "Demo North", "IDDT", "iddt", rising(2.6, 4.25), "improving"),
    ProgramPlan("Demo IDDT Program 2", R, "Demo Central", "IDDT", "iddt", flat(4.35), "stable and high"),
    ProgramPlan("Demo IDDT Program 3", L, "Demo South", "IDDT", "iddt", flat(3.45), "stable and fair"),
    ProgramPlan(
        "Demo IDDT Program 4", L, "Demo South", "IDDT", "iddt", late_fall(4.3, 3.85, 0.75), "declining"
    ),
)

# Items most agencies find hard (negative) or easy (positive): the state's weak spots.
ITEM_EASE: Final[Mapping[str, Mapping[str, float]]] = {
    "dacts": {
        "H3": 0.4, "H9": -0.8, "H10": -1.1, "H11": 0.5, "O1": 0.6, "O4": -0.3, "O7": 0.5,
        "S1": 0.3, "S2": 0.4, "S7": -0.5, "S8": -0.6, "S9": -0.4, "S10": -1.3,
    },
    "iddt": {"I1": 0.5, "I5": 0.5, "I6": 0.3, "I10": -1.0, "I11": -0.4, "I13": -0.3, "I14": -0.8},
}  # fmt: skip

# Computed items rated from inputs: the input value that lands in the middle of each rating.
PERCENT_INPUTS: Final[Mapping[str, tuple[str, Mapping[int, float], str]]] = {
    "H5": (
        "pct_turnover_2y",
        {5: 12, 4: 28, 3: 48, 2: 68, 1: 86},
        "{v:g}% of staff turned over in two years.",
    ),
    "H6": (
        "pct_positions_filled_12m",
        {5: 97, 4: 88, 3: 72, 2: 58, 1: 42},
        "{v:g}% of positions filled over the last 12 months.",
    ),
    "S5": (
        "avg_contacts_per_week",
        {5: 4.4, 4: 3.4, 3: 2.5, 2: 1.6, 1: 0.7},
        "{v:g} face-to-face contacts per client per week on average.",
    ),
    "I1": (
        "pct_clients_multidisciplinary",
        {5: 90, 4: 71, 3: 51, 2: 31, 1: 14},
        "{v:g}% of clients have their care shared by the multidisciplinary team.",
    ),
}
CASELOAD: Final[Mapping[int, float]] = {5: 9, 4: 14, 3: 26, 2: 41, 1: 56}  # H1: clients per FTE

# The drifting program's last two DACTS reviews, scripted: every rating and the evidence of
# the items that change. Previous: sum 117 over 28 items, mean 4.18 (Full). Latest: 107, 3.82 (Fair).
DRIFT_BEFORE: Final[Mapping[str, int]] = {
    "H1": 5, "H2": 5, "H3": 5, "H4": 4, "H5": 4, "H6": 5, "H7": 4, "H8": 4, "H9": 4, "H10": 2, "H11": 5,
    "O1": 5, "O2": 4, "O3": 4, "O4": 4, "O5": 4, "O6": 4, "O7": 5,
    "S1": 4, "S2": 5, "S3": 5, "S4": 4, "S5": 4, "S6": 4, "S7": 4, "S8": 4, "S9": 4, "S10": 2,
}  # fmt: skip
DRIFT_AFTER: Final[Mapping[str, int]] = {
    **DRIFT_BEFORE,
    **{i: after for i, (_, after) in DRIFT_FALLS.items()},
}
DRIFT_INPUTS: Final[Mapping[str, tuple[dict[str, float], dict[str, float]]]] = {
    "H1": ({"clients": 96, "staff_fte": 10.0}, {"clients": 112, "staff_fte": 8.0}),
    "H5": ({"pct_turnover_2y": 25}, {"pct_turnover_2y": 65}),
    "H6": ({"pct_positions_filled_12m": 96}, {"pct_positions_filled_12m": 72}),
    "S5": ({"avg_contacts_per_week": 3.2}, {"avg_contacts_per_week": 1.6}),
}
DRIFT_EVIDENCE: Final[Mapping[str, tuple[str, str]]] = {
    "H1": (
        "96 active clients and 10.0 clinical FTE: 9.6 clients per FTE. Fully staffed.",
        "Caseload rose to 14 clients per FTE after two vacancies (112 clients, 8.0 clinical FTE).",
    ),
    "H3": (
        "Daily team meeting, every client reviewed each day; observed on both visit days.",
        "Team meeting cut to twice a week while the team is short-staffed; not every client is reviewed.",
    ),
    "H5": (
        "25% of staff turned over in the last two years; long-standing core team.",
        "65% turnover in two years: the team leader and two care coordinators left.",
    ),
    "H6": (
        "96% of positions filled over the last 12 months.",
        "Only 72% of positions filled over the last 12 months: two posts vacant for seven months.",
    ),
    "S4": (
        "Average 95 minutes of face-to-face contact per client per week.",
        "Average fell to 60 minutes per client per week; agency staff cover only urgent visits.",
    ),
    "S5": (
        "3.2 face-to-face contacts per client per week on average.",
        "Contacts fell to 1.6 a week per client; home visits postponed during the vacancies.",
    ),
    "H10": (
        "Vocational specialist post (0.5 FTE) shared with another team.",
        "Still only 0.5 FTE vocational specialist, shared with another team.",
    ),
    "S10": (
        "No peer specialist on the team; the post is not funded.",
        "No peer specialist on the team; the post is still not funded.",
    ),
}
DRIFT_TEXTS: Final = {
    "strengths": "Caseload ownership and crisis response remain strong; the team still meets its "
    "admission criteria and keeps clients without time limits.",
    "summary": "Synthetic demo review. Two vacancies and the loss of the team leader since the last "
    "review have cut the team meeting, contact frequency and intensity: the total fell from 4.18 "
    "(Full implementation) to 3.82 (Fair implementation).",
    "recommendations": "Fill the two vacant care-coordinator posts; restore the daily team meeting; "
    "fund a peer specialist post (S10 rated 2 on two reviews in a row).",
}
RATER_B_DIFFERS: Final = {"H3": 2, "S4": 2, "O4": 5, "S9": 3}  # where the second rater first disagreed


def check_tables() -> None:  # pragma: no cover - a guard for whoever edits the tables
    """The scripted drift reviews add up to the totals the tests and the Drift page expect."""
    assert math.isclose(sum(DRIFT_BEFORE.values()) / 28, DRIFT_TOTALS[0], abs_tol=0.005)
    assert math.isclose(sum(DRIFT_AFTER.values()) / 28, DRIFT_TOTALS[1], abs_tol=0.005)


check_tables()
