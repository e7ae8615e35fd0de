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

The agency's tables (providers, programs, the scripted drift) are in services/demo_agency.py,
the synthetic ratings in services/demo_ratings.py; this module writes them.

Names are clearly synthetic ("Demo: …" providers, "Demo …" programs, "(demo)" reviewers) and
every review summary says the data is synthetic. The same seed and day give the same data.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, select

from scales import Scale
from services import access
from services import reviews as svc
from services.access import Action, Actor, acting_for, local_admin
from services.database import Database
from services.demo_agency import (
    CASELOAD,
    DRIFT_AFTER,
    DRIFT_BANDS,
    DRIFT_BEFORE,
    DRIFT_EVIDENCE,
    DRIFT_FALLS,
    DRIFT_INPUTS,
    DRIFT_LOW_TWICE,
    DRIFT_TEXTS,
    DRIFT_TOTALS,
    DRIFTING_PROGRAM,
    ITEM_EASE,
    PLANS,
    PROVIDERS,
    RATER_B_DIFFERS,
    REVIEWERS,
    ProgramPlan,
)
from services.demo_outcomes import add_demo_outcomes
from services.demo_plans import PlanCounts, follow_up_demo_plans
from services.demo_ratings import anchor_text, computed_inputs, rater_ratings, synthetic_ratings
from services.errors import FidelityError
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.models import Program

__all__ = [  # the demo's public face; the tables behind it are in services/demo_agency.py
    "DEFAULT_SEED",
    "DEMO_ACTOR",
    "DRIFTING_PROGRAM",
    "DRIFT_BANDS",
    "DRIFT_FALLS",
    "DRIFT_LOW_TWICE",
    "DRIFT_TOTALS",
    "PROVIDERS",
    "YEARS",
    "DemoRefused",
    "DemoSummary",
    "build_demo",
]

DEFAULT_SEED: Final = 2026
YEARS: Final = 5

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
    action_plans: PlanCounts | None = None
    outcome_values: int = 0  # services.demo_outcomes

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
            *(
                [
                    f"  Action plans: {self.action_plans.open} open entries "
                    f"({self.action_plans.overdue} overdue), {self.action_plans.closed} done or dropped"
                ]
                if self.action_plans
                else []
            ),
            f"  {self.outcome_values} outcome values (monthly; IDDT quarterly) that move with fidelity",
            "Open the app (streamlit run app.py) and look at Analytics → Drift and Compare.",
        ]


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
    plans = follow_up_demo_plans(db, [p.name for p in PLANS], actor=actor, today=today)
    outcomes = add_demo_outcomes(db, [p.name for p in PLANS], actor=actor, seed=seed, today=today)
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
        action_plans=plans,
        outcome_values=outcomes.new,
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

    def program(self, plan: ProgramPlan) -> None:
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
            if scripted:
                ratings = dict(DRIFT_BEFORE)
            else:
                ratings = synthetic_ratings(scale, plan.targets(t), ease, ratings, rng)
            unrated = {}
            if plan.name == "Demo ACT Team 4" and k == 2:
                unrated = {"S7": "No substance-use treatment records were available on the visit days."}
            if (
                k >= last - 1
                and not (scripted or unrated)
                and not (plan.name == "Demo ACT Team 1" and k == 2)
            ):
                # Each program's latest two reviews go through the two-rater workflow, so the
                # raters' own ratings are there for the agency's agreement figures over time.
                self._rated_review(program.id, plan, scale, when, ratings, raters, k)
                continue
            review_id = self._import(plan, scale, when, ratings, raters, k, unrated, scripted=scripted)
            if plan.name == "Demo ACT Team 1" and k == 2:
                self._amend(review_id, scale, ratings)

    def _schedule(self, plan: ProgramPlan) -> list[dt.date]:
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
        plan: ProgramPlan,
        scale: Scale,
        when: dt.date,
        ratings: Mapping[str, int],
        raters: Sequence[str],
        k: int,
        unrated: Mapping[str, str],
        *,
        scripted: bool = False,
    ) -> int:
        data = self._review_data(plan, scale, when, ratings, raters, k, unrated, scripted=scripted)
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

    def _review_data(
        self,
        plan: ProgramPlan,
        scale: Scale,
        when: dt.date,
        ratings: Mapping[str, int],
        raters: Sequence[str],
        k: int,
        unrated: Mapping[str, str],
        *,
        scripted: bool = False,
    ) -> dict[str, Any]:
        """The review in the review-file shape: each item's rating (or inputs) and evidence."""
        items: dict[str, dict[str, Any]] = {}
        for item in scale.items:
            if item.id in unrated:
                items[item.id] = {"rating": None, "not_rated_reason": unrated[item.id]}
                continue
            rating = ratings[item.id]
            inputs, evidence = computed_inputs(item, rating, self.rng, scale)
            if scripted and item.id in DRIFT_EVIDENCE:
                evidence = DRIFT_EVIDENCE[item.id][0]
                inputs = DRIFT_INPUTS[item.id][0] if item.id in DRIFT_INPUTS else None
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
        return data

    def _rated_review(
        self,
        program_id: int,
        plan: ProgramPlan,
        scale: Scale,
        when: dt.date,
        ratings: Mapping[str, int],
        raters: Sequence[str],
        k: int,
    ) -> None:
        """A review through the two-rater workflow: each rater's own ratings (which differ
        from the consensus now and then), then the consensus the import would have stored."""
        db, actor = self.db, self.actor
        data = self._review_data(plan, scale, when, ratings, raters, k, {})
        review = svc.start_review(
            db, program_id, scale.id, scale.version, when, data["type"], raters, actor=actor
        )
        # A generator of its own: the rest of the demo draws the same numbers as before.
        rng = random.Random(f"{self.seed}-{plan.name}-raters")
        recent = (self.today - when).days < 365
        for rater in review.raters:
            own = rater_ratings(scale, ratings, rater, recent, rng)
            as_rater = acting_for(actor, rater)  # each rater rates blind, as themselves, then submits
            for item in scale.items:
                entry = data["items"][item.id]
                given: dict[str, Any] = {"rating": own[item.id]}
                if own[item.id] == ratings[item.id] and entry.get("inputs"):
                    given = {"inputs": entry["inputs"]}
                svc.save_rating(db, review.id, rater, item.id, actor=as_rater, **given)
            svc.submit_ratings(db, review.id, rater, actor=as_rater)
        for item in scale.items:
            entry = data["items"][item.id]
            fields: dict[str, Any] = (
                {"inputs": entry["inputs"]} if entry.get("inputs") else {"rating": ratings[item.id]}
            )
            svc.save_consensus(
                db, review.id, item.id, expected_version=0, actor=actor, evidence=entry["evidence"], **fields
            )
        svc.update_review(db, review.id, actor=actor, summary=data["summary"])
        svc.finalize(db, review.id, actor=actor)
        self._count(scale.id, when)

    def _two_rater_review(self, program_id: int, scale: Scale, when: dt.date, raters: Sequence[str]) -> None:
        """The drifting program's latest review, through the whole workflow the app uses."""
        db, actor = self.db, self.actor
        review = svc.start_review(
            db, program_id, scale.id, scale.version, when, "follow-up", raters, actor=actor
        )
        first, second = review.raters
        for rater in (first, second):
            # Each rater rates blind, as themselves (recorded under their name), then submits.
            as_rater = acting_for(actor, rater)
            for item in scale.items:
                inputs = DRIFT_INPUTS.get(item.id, (None, None))[1]
                note = DRIFT_EVIDENCE.get(item.id, (None, None))[1]
                given: dict[str, Any] = {"inputs": inputs} if inputs else {"rating": DRIFT_AFTER[item.id]}
                if rater == second and item.id in RATER_B_DIFFERS:
                    given = {"rating": RATER_B_DIFFERS[item.id]}
                svc.save_rating(db, review.id, rater, item.id, actor=as_rater, note=note, **given)
            svc.submit_ratings(db, review.id, rater, actor=as_rater)
        for item in scale.items:
            rating = DRIFT_AFTER[item.id]
            inputs = DRIFT_INPUTS.get(item.id, (None, None))[1]
            note = DRIFT_EVIDENCE.get(item.id, (None, None))[1]
            evidence = note or anchor_text(item, rating)
            fields: dict[str, Any] = {"inputs": inputs} if inputs else {"rating": rating}
            svc.save_consensus(
                db, review.id, item.id, expected_version=0, actor=actor, evidence=evidence, **fields
            )
        svc.update_review(
            db,
            review.id,
            actor=actor,
            strengths=DRIFT_TEXTS["strengths"],
            summary=DRIFT_TEXTS["summary"],
            recommendations=DRIFT_TEXTS["recommendations"],
        )
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
        clients = round(CASELOAD[min(ratings["H1"] + 1, 5)] * staff)
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
