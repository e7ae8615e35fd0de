"""`fidelity demo`: a seeded, clearly labelled synthetic agency, so a newcomer sees every chart.

Three demo providers run twelve programs (eight ACT teams rated on DACTS, four IDDT programs
rated on the IDDT scale), reviewed every 6 to 12 months over the five years before today.
Some programs improve, some stay high or fair, and one drifts:
`DRIFTING_PROGRAM`'s latest review falls from Full to Fair implementation on named items,
with evidence on both reviews saying why (see `DRIFT_FALLS`).

Everything goes through the service layer, so the demo obeys every rule the app enforces
and leaves audit rows: programs with `create_program`; the drifting program's latest review
with the whole two-rater workflow (`start_review`, `save_rating` for both raters,
`save_consensus`, `update_review`, `finalize`); one review corrected with `amend`; and the
history with `import_review_file`, which stores a consensus review and finalizes it in one
transaction each (the two-rater workflow costs about a second per review on SQLite; the
history would take minutes that way).

Names are clearly synthetic ("Demo: …" providers, "Demo …" programs, "(demo)" reviewers) and
every review summary says the data is synthetic. The same seed and day give the same data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select

from scales import Scale
from scales.schema import Item
from scoring import ItemEntry, rate_item
from services import access
from services import reviews as svc
from services.access import Action, Actor, local_admin
from services.database import Database
from services.errors import FidelityError
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.models import Program

DEFAULT_SEED: Final = 2026
YEARS: Final = 5

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

DEMO_ACTOR: Final = local_admin("demo")
"""Whom the audit log names for the demo when no actor is given: the local admin, as "demo"."""


class DemoRefused(FidelityError):
    """The database is not empty (or already holds the demo)."""


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    providers: tuple[str, ...]
    programs: tuple[str, ...]
    reviews: int  # final reviews that count (an amended review counts once, as its amendment)
    reviews_by_scale: dict[str, int]
    amendments: int
    first_review: dt.date
    last_review: dt.date
    drifting_program: str
    drifting_items: tuple[str, ...]
    seconds: float

    def lines(self) -> list[str]:
        """The summary in words, for the CLI."""
        scales = ", ".join(f"{n} {scale_id.upper()}" for scale_id, n in sorted(self.reviews_by_scale.items()))
        falls = ", ".join(f"{i} {DRIFT_FALLS[i][0]}→{DRIFT_FALLS[i][1]}" for i in self.drifting_items)
        return [
            f"Demo agency added (synthetic data, seed {self.seed}) in {self.seconds:.1f} s:",
            f"  {len(self.providers)} providers: {', '.join(self.providers)}",
            f"  {len(self.programs)} programs, {self.reviews} final reviews ({scales}), "
            f"{self.first_review} to {self.last_review}; {self.amendments} amended review",
            f"  Drifting: {self.drifting_program} fell from {DRIFT_BANDS[0]} to {DRIFT_BANDS[1]} "
            f"(falls: {falls}; rated below 3 twice: {', '.join(DRIFT_LOW_TWICE)})",
            "Open the app (streamlit run app.py) and look at Analytics → Drift and Compare.",
        ]


# --------------------------------------------------------------------------------------------
# The agency
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    name: str
    provider: str
    region: str
    model: str
    scale_id: str
    targets: Callable[[float], float]  # mean item rating at time t (0 = first review, 1 = latest)
    story: str
    single_review: bool = False


def _line(start: float, end: float) -> Callable[[float], float]:
    return lambda t: start + (end - start) * t


def _flat(level: float) -> Callable[[float], float]:
    return lambda t: level


def _late_fall(level: float, end: float, fall_after: float) -> Callable[[float], float]:
    return lambda t: level if t < fall_after else level + (end - level) * (t - fall_after) / (1 - fall_after)


N, R, L = PROVIDERS
PLANS: Final[tuple[_Plan, ...]] = (
    _Plan("Demo ACT Team 1", N, "Demo North", "ACT", "dacts", _line(2.75, 4.3), "improving"),
    _Plan("Demo ACT Team 2", N, "Demo North", "ACT", "dacts", _flat(4.45), "stable and high"),
    _Plan(DRIFTING_PROGRAM, N, "Demo Central", "ACT", "dacts", _flat(4.3), "drifting"),
    _Plan("Demo ACT Team 4", R, "Demo Central", "ACT", "dacts", _flat(3.5), "stable and fair"),
    _Plan("Demo ACT Team 5", R, "Demo Central", "ACT", "dacts", _line(3.25, 4.15), "improving"),
    _Plan("Demo ACT Team 6", R, "Demo South", "ACT", "dacts", _flat(4.25), "stable and high"),
    _Plan("Demo ACT Team 7", L, "Demo South", "ACT", "dacts", _line(3.75, 3.25), "slowly declining"),
    _Plan("Demo ACT Team 8", L, "Demo South", "ACT", "dacts", _flat(2.8), "new team", single_review=True),
    _Plan("Demo IDDT Program 1", N, "Demo North", "IDDT", "iddt", _line(2.6, 4.25), "improving"),
    _Plan("Demo IDDT Program 2", R, "Demo Central", "IDDT", "iddt", _flat(4.35), "stable and high"),
    _Plan("Demo IDDT Program 3", L, "Demo South", "IDDT", "iddt", _flat(3.45), "stable and fair"),
    _Plan("Demo IDDT Program 4", L, "Demo South", "IDDT", "iddt", _late_fall(4.3, 3.85, 0.75), "declining"),
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
_PERCENT_INPUTS: Final[Mapping[str, tuple[str, Mapping[int, float], str]]] = {
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
_CASELOAD: Final[Mapping[int, float]] = {5: 9, 4: 14, 3: 26, 2: 41, 1: 56}  # H1: clients per FTE

# The drifting program's last two DACTS reviews, scripted: every rating and the evidence of
# the items that change. Previous: sum 117 over 28 items, mean 4.18 (Full). Latest: 107, 3.82 (Fair).
_DRIFT_BEFORE: Final[Mapping[str, int]] = {
    "H1": 5, "H2": 5, "H3": 5, "H4": 4, "H5": 4, "H6": 5, "H7": 4, "H8": 4, "H9": 4, "H10": 2, "H11": 5,
    "O1": 5, "O2": 4, "O3": 4, "O4": 4, "O5": 4, "O6": 4, "O7": 5,
    "S1": 4, "S2": 5, "S3": 5, "S4": 4, "S5": 4, "S6": 4, "S7": 4, "S8": 4, "S9": 4, "S10": 2,
}  # fmt: skip
_DRIFT_AFTER: Final[Mapping[str, int]] = {
    **_DRIFT_BEFORE,
    **{i: after for i, (_, after) in DRIFT_FALLS.items()},
}
_DRIFT_INPUTS: Final[Mapping[str, tuple[dict[str, float], dict[str, float]]]] = {
    "H1": ({"clients": 96, "staff_fte": 10.0}, {"clients": 112, "staff_fte": 8.0}),
    "H5": ({"pct_turnover_2y": 25}, {"pct_turnover_2y": 65}),
    "H6": ({"pct_positions_filled_12m": 96}, {"pct_positions_filled_12m": 72}),
    "S5": ({"avg_contacts_per_week": 3.2}, {"avg_contacts_per_week": 1.6}),
}
_DRIFT_EVIDENCE: Final[Mapping[str, tuple[str, str]]] = {
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
_DRIFT_TEXTS: Final = {
    "strengths": "Caseload ownership and crisis response remain strong; the team still meets its "
    "admission criteria and keeps clients without time limits.",
    "summary": "Synthetic demo review. Two vacancies and the loss of the team leader since the last "
    "review have cut the team meeting, contact frequency and intensity: the total fell from 4.18 "
    "(Full implementation) to 3.82 (Fair implementation).",
    "recommendations": "Fill the two vacant care-coordinator posts; restore the daily team meeting; "
    "fund a peer specialist post (S10 rated 2 on two reviews in a row).",
}
_RATER_B_DIFFERS: Final = {"H3": 2, "S4": 2, "O4": 5, "S9": 3}  # where the second rater first disagreed


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_demo(
    db: Database,
    *,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    actor: Actor = DEMO_ACTOR,
    today: dt.date | None = None,
) -> DemoSummary:
    """Fill the database with the demo agency and return what was added.

    Refuses (DemoRefused) a database that already has programs, unless `force`; with `force`
    the demo is added alongside them, but never twice (refused if a demo program name exists).
    `today` fixes "now" (default: today), so the same seed and day give the same data.
    Only an agency admin may build it (it creates programs and imports reviews).
    """
    access.require(actor, Action.IMPORT)
    started = time.perf_counter()
    today = today or dt.date.today()
    _refuse_unless_empty(db, force)
    rng = random.Random(seed)
    builder = _Builder(db, actor, rng, seed, today)
    for plan in PLANS:
        builder.program(plan)
    return DemoSummary(
        seed=seed,
        providers=PROVIDERS,
        programs=tuple(p.name for p in PLANS),
        reviews=builder.finals - builder.amendments,
        reviews_by_scale=dict(sorted(builder.by_scale.items())),
        amendments=builder.amendments,
        first_review=min(builder.dates),
        last_review=max(builder.dates),
        drifting_program=DRIFTING_PROGRAM,
        drifting_items=tuple(DRIFT_FALLS),
        seconds=time.perf_counter() - started,
    )


def _refuse_unless_empty(db: Database, force: bool) -> None:
    names = [p.name for p in PLANS]
    with db.reading() as s:
        programs = s.scalar(select(func.count(Program.id))) or 0
        existing = list(s.scalars(select(Program.name).where(Program.name.in_(names)).order_by(Program.name)))
    if existing:
        raise DemoRefused(
            f"the demo is already in this database ({len(existing)} demo programs, e.g. {existing[0]!r}); "
            "use a new database to build it again"
        )
    if programs and not force:
        raise DemoRefused(
            f"the database {db.display_url} already has {programs} program(s); `fidelity demo` fills an "
            "empty database (use --force to add the demo programs alongside them)"
        )


@dataclass
class _Builder:
    db: Database
    actor: Actor
    rng: random.Random
    seed: int
    today: dt.date
    finals: int = 0
    amendments: int = 0
    by_scale: dict[str, int] = field(default_factory=dict)
    dates: list[dt.date] = field(default_factory=list)

    # ---- programs and schedules ------------------------------------------------------------

    def program(self, plan: _Plan) -> None:
        rng = self.rng
        dates = self._schedule(plan)
        program = svc.create_program(
            self.db,
            plan.name,
            actor=self.actor,
            provider=plan.provider,
            region=plan.region,
            model=plan.model,
            active_from=dates[0] - dt.timedelta(days=rng.randint(60, 400)),
        )
        scale = self.db.registry.get(plan.scale_id)
        ease = {i: ITEM_EASE[plan.scale_id].get(i, 0.0) + rng.uniform(-0.5, 0.5) for i in scale.item_ids}
        raters = list(rng.sample(REVIEWERS, 2))
        ratings: dict[str, int] | None = None
        last = len(dates) - 1
        for k, when in enumerate(dates):
            t = k / last if last else 1.0
            if rng.random() < 0.3:  # a team sometimes changes one of its two reviewers
                raters = [raters[0], rng.choice([r for r in REVIEWERS if r not in raters])]
            scripted = plan.name == DRIFTING_PROGRAM and k >= last - 1
            if scripted and k == last:
                self._two_rater_review(program.id, scale, when, raters)
                continue
            ratings = (
                dict(_DRIFT_BEFORE) if scripted else _ratings(scale, plan.targets(t), ease, ratings, rng)
            )
            unrated = {}
            if plan.name == "Demo ACT Team 4" and k == 2:
                unrated = {"S7": "No substance-use treatment records were available on the visit days."}
            review_id = self._import(plan, scale, when, ratings, raters, k, unrated, scripted=scripted)
            if plan.name == "Demo ACT Team 1" and k == 2:
                self._amend(review_id, scale, ratings)

    def _schedule(self, plan: _Plan) -> list[dt.date]:
        """Review dates, oldest first: the latest 3 to 16 weeks before today, each earlier one
        6 to 12 months before the next, back to five years before today."""
        rng = self.rng
        latest = self.today - dt.timedelta(days=rng.randint(21, 110))
        if plan.single_review:
            return [latest]
        start = self.today - dt.timedelta(days=round(365.25 * YEARS))
        dates = [latest]
        while True:
            earlier = dates[-1] - dt.timedelta(days=rng.randint(183, 365))
            if earlier < start:
                break
            dates.append(earlier)
        return dates[::-1]

    # ---- writing reviews -------------------------------------------------------------------

    def _import(
        self,
        plan: _Plan,
        scale: Scale,
        when: dt.date,
        ratings: Mapping[str, int],
        raters: Sequence[str],
        k: int,
        unrated: Mapping[str, str],
        *,
        scripted: bool = False,
    ) -> int:
        items: dict[str, dict[str, Any]] = {}
        for item in scale.items:
            if item.id in unrated:
                items[item.id] = {"rating": None, "not_rated_reason": unrated[item.id]}
                continue
            rating = ratings[item.id]
            inputs, evidence = _inputs(item, rating, self.rng, scale)
            if scripted and item.id in _DRIFT_EVIDENCE:
                evidence = _DRIFT_EVIDENCE[item.id][0]
                inputs = _DRIFT_INPUTS[item.id][0] if item.id in _DRIFT_INPUTS else None
            items[item.id] = {"inputs": inputs, "evidence": evidence} if inputs else {"rating": rating}
            items[item.id].setdefault("evidence", evidence)
        data = {
            "scale": scale.id,
            "version": scale.version,
            "date": when,
            "type": "baseline" if k == 0 else "follow-up",
            "raters": list(raters),
            "items": items,
            "summary": f"Synthetic demo review ({plan.story} program), made by `fidelity demo` "
            f"with seed {self.seed}. Not real data.",
        }
        review_file = parse_review_data(data, self.db.registry, where=f"demo {plan.name} {when}")
        result = import_review_file(
            self.db,
            review_file,
            actor=self.actor,
            program=plan.name,
            source=f"fidelity demo (seed {self.seed})",
        )
        self._count(scale.id, when)
        return result.review.id

    def _two_rater_review(self, program_id: int, scale: Scale, when: dt.date, raters: Sequence[str]) -> None:
        """The drifting program's latest review, through the whole workflow the app uses."""
        db, actor = self.db, self.actor
        review = svc.start_review(
            db, program_id, scale.id, scale.version, when, "follow-up", raters, actor=actor
        )
        first, second = review.raters
        for item in scale.items:
            rating = _DRIFT_AFTER[item.id]
            inputs = _DRIFT_INPUTS.get(item.id, (None, None))[1]
            note = _DRIFT_EVIDENCE.get(item.id, (None, None))[1]
            for rater in (first, second):
                given: dict[str, Any] = {"inputs": inputs} if inputs else {"rating": rating}
                if rater == second and item.id in _RATER_B_DIFFERS:
                    given = {"rating": _RATER_B_DIFFERS[item.id]}
                # Each rater's entries are recorded under their name, as the app records them.
                as_rater = dataclasses.replace(actor, name=rater)
                svc.save_rating(db, review.id, rater, item.id, actor=as_rater, note=note, **given)
            evidence = note or _anchor(item, rating)
            fields: dict[str, Any] = {"inputs": inputs} if inputs else {"rating": rating}
            svc.save_consensus(
                db, review.id, item.id, expected_version=0, actor=actor, evidence=evidence, **fields
            )
        svc.update_review(db, review.id, actor=actor, **_DRIFT_TEXTS)
        svc.finalize(db, review.id, actor=actor)
        self._count(scale.id, when)

    def _amend(self, review_id: int, scale: Scale, ratings: Mapping[str, int]) -> None:
        """Correct one imported review, as a reviewer would: the amendment replaces it."""
        amended = svc.amend(
            self.db,
            review_id,
            "H1: the client count was taken from the wrong month (demo correction)",
            actor=self.actor,
        )
        staff = 9.0
        clients = round(_CASELOAD[min(ratings["H1"] + 1, 5)] * staff)
        svc.save_consensus(
            self.db,
            amended.id,
            "H1",
            expected_version=amended.consensus_version("H1"),
            actor=self.actor,
            inputs={"clients": clients, "staff_fte": staff},
            evidence=f"Corrected: {clients} active clients and {staff:.1f} clinical FTE in the review month.",
        )
        svc.finalize(self.db, amended.id, actor=self.actor)
        self.finals += 1
        self.amendments += 1

    def _count(self, scale_id: str, when: dt.date) -> None:
        self.finals += 1
        self.by_scale[scale_id] = self.by_scale.get(scale_id, 0) + 1
        self.dates.append(when)


# --------------------------------------------------------------------------------------------
# Ratings
# --------------------------------------------------------------------------------------------


def _ratings(
    scale: Scale,
    target: float,
    ease: Mapping[str, float],
    previous: Mapping[str, int] | None,
    rng: random.Random,
) -> dict[str, int]:
    """Item ratings whose mean is within half a step of `target`.

    A team's items keep their previous rating unless the target moves or a little noise
    moves them, and an item moves toward where the team's profile puts it: so a stable team
    stays stable, and an improving team improves on the items it is weakest at.
    """
    low, high = scale.rating.min, scale.rating.max
    preferred = {i: min(max(target + ease[i], low), high) for i in scale.item_ids}
    if previous is None:
        ratings = {i: _clip(round(preferred[i] + rng.gauss(0, 0.3)), low, high) for i in scale.item_ids}
    else:
        ratings = dict(previous)
        for item_id in rng.sample(list(scale.item_ids), rng.randint(0, 2)):
            ratings[item_id] = _clip(ratings[item_id] + rng.choice((-1, 1)), low, high)
    step = 1 / len(ratings)
    goal = round((target + rng.gauss(0, 0.06)) * len(ratings))  # no team scores exactly alike twice
    for _ in range(10 * len(ratings)):
        total = sum(ratings.values())
        if total == goal:
            break
        up = total < goal
        movable = [i for i in scale.item_ids if (ratings[i] < high if up else ratings[i] > low)]
        gap = {i: (preferred[i] - ratings[i]) * (1 if up else -1) + rng.uniform(0, step) for i in movable}
        chosen = max(movable, key=lambda i: gap[i])
        ratings[chosen] += 1 if up else -1
    return ratings


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _anchor(item: Item, rating: int) -> str:
    return item.anchors.get(rating, f"Rated {rating}.")


def _inputs(item: Item, rating: int, rng: random.Random, scale: Scale) -> tuple[dict[str, float] | None, str]:
    """Inputs that give `rating` for the computed items the demo rates from numbers, with the
    evidence in words; (None, the anchor text) for the others."""
    inputs: dict[str, float] | None = None
    evidence = _anchor(item, rating)
    if item.id == "H1" and scale.id == "dacts":
        staff = rng.choice((8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0))
        clients = round(_CASELOAD[rating] * staff)
        inputs = {"clients": clients, "staff_fte": staff}
        evidence = (
            f"{clients} active clients and {staff:.1f} clinical FTE: {clients / staff:.1f} clients per FTE."
        )
    elif item.id in _PERCENT_INPUTS and item.compute is not None:
        name, middle, text = _PERCENT_INPUTS[item.id]
        spread = 0.2 if middle[5] < 10 else 2.0
        value = round(middle[rating] + rng.uniform(-spread, spread), 1 if spread < 1 else 0)
        value = int(value) if spread >= 1 else value
        inputs = {name: value}
        evidence = text.format(v=value)
    if inputs is not None and rate_item(item, ItemEntry(inputs=inputs), scale.rating).rating != rating:
        return None, _anchor(item, rating)  # never happens with the tables above; stay correct anyway
    return inputs, evidence


def _check_tables() -> None:  # pragma: no cover - a guard for whoever edits the tables
    assert math.isclose(sum(_DRIFT_BEFORE.values()) / 28, DRIFT_TOTALS[0], abs_tol=0.005)
    assert math.isclose(sum(_DRIFT_AFTER.values()) / 28, DRIFT_TOTALS[1], abs_tol=0.005)


_check_tables()
