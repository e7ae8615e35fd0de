"""Every role against every action, through the real services, on SQLite and PostgreSQL.

ONE table (TABLE): action × scope case → allowed for agency admin, reviewer, program manager.
A refused call must raise AccessDenied with one line; a list or an export must leave out what
the role may not see. Scope cases: own vs other program, assigned vs unassigned review, final
vs draft review. Each case makes its own targets as the admin, so cases never see each other's
changes; the database is shared per backend to keep the table fast.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest

from scales import ScaleRegistry
from services import integrity, users
from services import reviews as svc
from services.access import LOCAL_ADMIN, POLICY, Action, Actor, Role
from services.analytics_data import finalized_ratings
from services.database import Database
from services.errors import AccessDenied, ValidationProblem
from services.exports import item_ratings_table, review_export_json, reviews_table, wide_table
from services.historical_import import import_wide, plan_wide, read_wide_file
from services.outcomes import Period, PeriodKind, list_values, save_measure, save_values
from services.report_data import from_stored_review
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.testing import SqliteTemplate, postgres_schema

GOI = [f"G{i}" for i in range(1, 13)]
Y, N = True, False

ADMIN, REVIEWER, MANAGER = "admin@agency.org", "rev@agency.org", "pm@agency.org"
MARCH_2025 = Period(dt.date(2025, 3, 1), PeriodKind.MONTH)
ROLES = {Role.AGENCY_ADMIN: ADMIN, Role.REVIEWER: REVIEWER, Role.PROGRAM_MANAGER: MANAGER}


# ---- the world: two programs, three signed-in users, reviews made to order ---------------------


@dataclass
class World:
    db: Database
    own: svc.ProgramView  # the program manager's program
    other: svc.ProgramView
    actors: dict[Role, Actor]
    days: Iterator[int] = field(default_factory=itertools.count)

    def review(self, *, program: str = "own", final: bool = False, assigned: bool = False) -> svc.ReviewView:
        """A new GOI review (a draft whose every item has a consensus, or a final one),
        assigned to the reviewer or not."""
        target = self.own if program == "own" else self.other
        when = dt.date(2020, 1, 1) + dt.timedelta(days=next(self.days))
        if final:
            data = {
                "scale": "goi",
                "date": when,
                "raters": ["ana", "ben"],
                "items": {i: {"rating": 4} for i in GOI},
            }
            review_file = parse_review_data(data, self.db.registry)
            review = import_review_file(self.db, review_file, program=target.name, actor=LOCAL_ADMIN).review
        else:
            # The reviewer rates as themselves (the rater named by their e-mail address); the
            # consensus is open, so what the roles may read is what this table is about.
            review = svc.start_review(
                self.db,
                target.id,
                "goi",
                "1.0",
                when,
                "follow-up",
                ["ana", "ben", REVIEWER],
                actor=LOCAL_ADMIN,
            )
            svc.open_consensus(self.db, review.id, "the access table reads every rater", actor=LOCAL_ADMIN)
            for item_id in GOI:
                svc.save_consensus(
                    self.db, review.id, item_id, rating=4, expected_version=0, actor=LOCAL_ADMIN
                )
        if assigned:
            users.assign_reviewer(self.db, review.id, REVIEWER, actor=LOCAL_ADMIN)
        return svc.get_review(self.db, review.id, actor=LOCAL_ADMIN)


def _world(db: Database) -> World:
    own = svc.create_program(db, "Own GOI Team", provider="Own Provider", actor=LOCAL_ADMIN)
    other = svc.create_program(db, "Other GOI Team", provider="Other Provider", actor=LOCAL_ADMIN)
    users.add_user(db, ADMIN, role=Role.AGENCY_ADMIN, actor=LOCAL_ADMIN)
    users.add_user(db, REVIEWER, role=Role.REVIEWER, actor=LOCAL_ADMIN)
    users.add_user(db, MANAGER, role=Role.PROGRAM_MANAGER, program_ids=[own.id], actor=LOCAL_ADMIN)
    actors = {role: users.actor_for_email(db, email) for role, email in ROLES.items()}
    assert all(actors.values())
    return World(db, own, other, actors)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, registry: ScaleRegistry
) -> Iterator[World]:
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp("access")
        url = SqliteTemplate(directory).copy(directory / "access.db")
        with Database(url, registry=registry) as db:
            yield _world(db)
        return
    base = request.getfixturevalue("postgres_url")
    with postgres_schema(base) as url, Database(url, registry=registry) as db:
        yield _world(db)


# ---- the actions --------------------------------------------------------------------------------

# (world, actor, scope case) -> whether the actor could take the action (a list: whether the
# target is in it). A refusal must be AccessDenied; anything else is a failure.
Run = Callable[[World, Actor, str], bool]


def refused_or_not(call: Callable[[], object]) -> bool:
    try:
        call()
    except AccessDenied as exc:
        assert len(exc.problems) == 1 and "\n" not in exc.problems[0], exc.problems
        assert exc.problems[0].startswith("Not allowed"), exc.problems
        return False
    return True


def rekey_with_a_wrong_key(w: World, a: Actor) -> None:
    """Re-keying from a wrong previous key: allowed, it refuses the records and writes nothing."""
    keyed = Database(w.db.url, registry=w.db.registry, migrate=False, integrity_key="new")
    try:
        integrity.rekey(keyed, "not the previous key", actor=a)
    except ValidationProblem as exc:
        assert exc.problems[0].startswith("nothing was re-keyed"), exc.problems
        return
    finally:
        keyed.dispose()
    raise AssertionError("re-keyed from a wrong previous key")


def target_review(w: World, case: str) -> svc.ReviewView:
    """A review for the scope case: "own|other, final|draft[, assigned]"."""
    parts = [p.strip() for p in case.split(",")]
    return w.review(program=parts[0], final=parts[1] == "final", assigned="assigned" in parts[2:])


def target_program(w: World, case: str) -> svc.ProgramView:
    return w.own if case == "own" else w.other


def on_review(call: Callable[[World, Actor, svc.ReviewView], object]) -> Run:
    return lambda w, a, case: refused_or_not(lambda: call(w, a, target_review(w, case)))


def on_program(call: Callable[[World, Actor, svc.ProgramView], object]) -> Run:
    return lambda w, a, case: refused_or_not(lambda: call(w, a, target_program(w, case)))


def lists_review(listing: Callable[[World, Actor], list[int]]) -> Run:
    def run(w: World, a: Actor, case: str) -> bool:
        review = target_review(w, case)
        try:
            return review.id in listing(w, a)
        except AccessDenied:
            return False

    return run


def run_import_file(w: World, a: Actor, case: str) -> bool:
    data = {"scale": "goi", "date": "2019-06-01", "items": {i: {"rating": 3} for i in GOI}}
    name = f"Imported {a.role} {next(w.days)}"
    return refused_or_not(
        lambda: import_review_file(w.db, parse_review_data(data, w.db.registry), program=name, actor=a)
    )


def wide_frame(w: World, a: Actor) -> pd.DataFrame:
    """A historical file with one new program's review (a new name each time)."""
    header = ",".join(["program", "date", "scale", *GOI])
    line = ",".join([f"Wide {a.role} {next(w.days)}", "2018-05-01", "goi", *["4"] * len(GOI)])
    return read_wide_file(f"{header}\n{line}\n".encode(), "history.csv")


def start(w: World, a: Actor, p: svc.ProgramView) -> svc.ReviewView:
    when = dt.date(2012, 1, 1) + dt.timedelta(days=next(w.days))  # a day no other review of the world has
    return svc.start_review(w.db, p.id, "goi", None, when, "baseline", ["ana"], actor=a)


def amend(w: World, a: Actor, r: svc.ReviewView) -> svc.ReviewView:
    return svc.amend(w.db, r.id, "a correction", actor=a)


def add_user(w: World, a: Actor, case: str) -> bool:
    return refused_or_not(
        lambda: users.add_user(w.db, f"new{next(w.days)}@agency.org", role=Role.REVIEWER, actor=a)
    )


def reviews_visible(w: World, a: Actor) -> list[int]:
    return [r.id for r in svc.list_reviews(w.db, actor=a)]


def exported(w: World, a: Actor) -> list[int]:
    return [int(i) for i in reviews_table(w.db, actor=a, status=None)["review_id"]]


def exported_items(w: World, a: Actor) -> list[int]:
    return [int(i) for i in item_ratings_table(w.db, actor=a, status=None)["review_id"]]


def analysed(w: World, a: Actor) -> list[int]:
    return [int(i) for i in finalized_ratings(w.db, actor=a)["review_id"]]


def programs_listed(w: World, a: Actor, case: str) -> bool:
    try:
        return target_program(w, case).id in [p.id for p in svc.list_programs(w.db, actor=a)]
    except AccessDenied:
        return False


def providers_listed(w: World, a: Actor, case: str) -> bool:
    provider = target_program(w, case).provider
    try:
        return provider in svc.list_providers(w.db, actor=a)
    except AccessDenied:
        return False


def wide_rows(w: World, a: Actor, case: str) -> bool:
    review = target_review(w, case)
    try:
        frame = wide_table(w.db, actor=a, status=None)
    except AccessDenied:
        return False
    return bool(((frame["program"] == review.program.name) & (frame["date"] == review.review_date)).any())


def outcomes_seen(w: World, a: Actor, case: str) -> bool:
    program = target_program(w, case)
    save_values(w.db, program.id, MARCH_2025, {"caseload": 80}, actor=LOCAL_ADMIN)
    return program.name in {v.program for v in list_values(w.db, actor=a)}


ACTIONS: dict[str, Run] = {
    # programs
    "see a program": on_program(lambda w, a, p: svc.get_program(w.db, p.id, actor=a)),
    "find a program by name": on_program(lambda w, a, p: svc.find_program(w.db, p.name, actor=a)),
    "list programs": programs_listed,
    "list providers": providers_listed,
    "add a program": lambda w, a, case: refused_or_not(
        lambda: svc.create_program(w.db, f"New {next(w.days)}", actor=a)
    ),
    "change a program": on_program(lambda w, a, p: svc.update_program(w.db, p.id, region="South", actor=a)),
    "see a program's history": on_program(lambda w, a, p: svc.program_audit_trail(w.db, p.id, actor=a)),
    # starting and reading reviews
    "start a review": on_program(start),
    "open a review": on_review(lambda w, a, r: svc.get_review(w.db, r.id, actor=a)),
    "score a review": on_review(lambda w, a, r: svc.live_score(w.db, r.id, actor=a)),
    "score one rater": on_review(lambda w, a, r: svc.live_score(w.db, r.id, "ana", actor=a)),
    "raters' scores": on_review(lambda w, a, r: svc.rater_scores(w.db, r.id, actor=a)),
    "compare raters": on_review(lambda w, a, r: svc.compare_raters(w.db, r.id, "ana", "ben", actor=a)),
    "review as JSON": on_review(lambda w, a, r: svc.review_json(w.db, r.id, actor=a)),
    "export a review file": on_review(lambda w, a, r: review_export_json(w.db, r.id, actor=a)),
    "PDF report data": on_review(lambda w, a, r: from_stored_review(w.db, r.id, actor=a, drift=True)),
    "reviewers of a review": on_review(lambda w, a, r: users.review_reviewers(w.db, r.id, actor=a)),
    "history of a review": on_review(lambda w, a, r: svc.audit_trail(w.db, r.id, actor=a)),
    "list reviews": lists_review(reviews_visible),
    "export reviews table": lists_review(exported),
    "export item ratings": lists_review(exported_items),
    "export wide layout": wide_rows,
    "drift and compare data": lists_review(analysed),
    # working on a review
    "add a rater": on_review(lambda w, a, r: svc.add_rater(w.db, r.id, "cat", actor=a)),
    "rate an item": on_review(lambda w, a, r: svc.save_rating(w.db, r.id, REVIEWER, "G1", rating=3, actor=a)),
    "agree an item": on_review(
        lambda w, a, r: svc.save_consensus(
            w.db, r.id, "G2", rating=5, expected_version=r.consensus_version("G2"), actor=a
        )
    ),
    "mark an item not rated": on_review(
        lambda w, a, r: svc.mark_not_rated(
            w.db, r.id, "G3", "no records", expected_version=r.consensus_version("G3"), actor=a
        )
    ),
    "write the summary": on_review(lambda w, a, r: svc.set_review_text(w.db, r.id, summary="ok", actor=a)),
    "change the review date": on_review(
        lambda w, a, r: svc.update_review(w.db, r.id, review_date=dt.date(2019, 1, 2), actor=a)
    ),
    "finalize": on_review(lambda w, a, r: svc.finalize(w.db, r.id, actor=a)),
    "amend": on_review(amend),
    # importing
    "import a review file": run_import_file,
    "plan a wide import": lambda w, a, case: refused_or_not(
        lambda: plan_wide(w.db, wide_frame(w, a), actor=a)
    ),
    "import a wide file": lambda w, a, case: refused_or_not(
        lambda: import_wide(w.db, wide_frame(w, a), actor=a)
    ),
    # users
    "add a user": add_user,
    "list users": lambda w, a, case: refused_or_not(lambda: users.list_users(w.db, actor=a)),
    "assign a reviewer": on_review(lambda w, a, r: users.assign_reviewer(w.db, r.id, REVIEWER, actor=a)),
    "change a role": lambda w, a, case: refused_or_not(
        lambda: users.set_role(w.db, REVIEWER, Role.REVIEWER, actor=a)
    ),
    # outcomes
    "see outcomes": outcomes_seen,
    "enter outcomes": on_program(
        lambda w, a, p: save_values(w.db, p.id, MARCH_2025, {"caseload": next(w.days)}, actor=a)
    ),
    "change the outcome measures": lambda w, a, case: refused_or_not(
        lambda: save_measure(
            w.db, actor=a, key=f"m{next(w.days)}", name=f"M {next(w.days)}", unit="count", better="lower"
        )
    ),
    # the database's tamper evidence
    "check the database": lambda w, a, case: refused_or_not(lambda: integrity.check_database(w.db, actor=a)),
    "re-key the database": lambda w, a, case: refused_or_not(lambda: rekey_with_a_wrong_key(w, a)),
}

# fmt: off
TABLE: list[tuple[str, str, bool, bool, bool]] = [
    # action                     scope case                       admin reviewer manager
    ("see a program",            "own",                           Y, Y, Y),
    ("see a program",            "other",                         Y, Y, N),
    ("find a program by name",   "own",                           Y, Y, Y),
    ("find a program by name",   "other",                         Y, Y, N),
    ("list programs",            "own",                           Y, Y, Y),
    ("list programs",            "other",                         Y, Y, N),
    ("list providers",           "own",                           Y, Y, Y),
    ("list providers",           "other",                         Y, Y, N),
    ("add a program",            "-",                             Y, N, N),
    ("change a program",         "own",                           Y, N, N),
    ("see a program's history",  "own",                           Y, Y, N),
    ("start a review",           "own",                           Y, Y, N),
    ("start a review",           "other",                         Y, Y, N),
    ("open a review",            "own, final",                    Y, Y, Y),
    ("open a review",            "own, draft",                    Y, N, N),
    ("open a review",            "own, draft, assigned",          Y, Y, N),
    ("open a review",            "other, final",                  Y, Y, N),
    ("open a review",            "other, draft, assigned",        Y, Y, N),
    ("score a review",           "own, final",                    Y, Y, Y),
    ("score a review",           "own, draft",                    Y, N, N),
    ("score a review",           "other, final",                  Y, Y, N),
    ("score one rater",          "own, draft, assigned",          Y, Y, N),
    ("raters' scores",           "own, final",                    Y, Y, Y),
    ("raters' scores",           "own, draft",                    Y, N, N),
    ("compare raters",           "own, draft, assigned",          Y, Y, N),
    ("compare raters",           "other, final",                  Y, Y, N),
    ("review as JSON",           "own, final",                    Y, Y, Y),
    ("review as JSON",           "own, draft",                    Y, N, N),
    ("review as JSON",           "other, final",                  Y, Y, N),
    ("export a review file",     "own, final",                    Y, Y, Y),
    ("export a review file",     "other, final",                  Y, Y, N),
    ("export a review file",     "own, draft, assigned",          Y, Y, N),
    ("PDF report data",          "own, final",                    Y, Y, Y),
    ("PDF report data",          "own, draft",                    Y, N, N),
    ("PDF report data",          "other, final",                  Y, Y, N),
    ("reviewers of a review",    "own, final",                    Y, Y, Y),
    ("reviewers of a review",    "own, draft",                    Y, N, N),
    ("history of a review",      "own, final",                    Y, Y, N),
    ("history of a review",      "own, draft",                    Y, N, N),
    ("history of a review",      "own, draft, assigned",          Y, Y, N),
    ("list reviews",             "own, final",                    Y, Y, Y),
    ("list reviews",             "own, draft",                    Y, N, N),
    ("list reviews",             "own, draft, assigned",          Y, Y, N),
    ("list reviews",             "other, final",                  Y, Y, N),
    ("list reviews",             "other, draft, assigned",        Y, Y, N),
    ("export reviews table",     "own, final",                    Y, Y, Y),
    ("export reviews table",     "own, draft",                    Y, N, N),
    ("export reviews table",     "other, final",                  Y, Y, N),
    ("export item ratings",      "own, final",                    Y, Y, Y),
    ("export item ratings",      "other, final",                  Y, Y, N),
    ("export item ratings",      "other, draft, assigned",        Y, Y, N),
    ("export wide layout",       "own, final",                    Y, Y, Y),
    ("export wide layout",       "other, final",                  Y, Y, N),
    ("drift and compare data",   "own, final",                    Y, Y, Y),
    ("drift and compare data",   "other, final",                  Y, Y, N),
    ("add a rater",              "own, draft",                    Y, N, N),
    ("add a rater",              "own, draft, assigned",          Y, Y, N),
    ("rate an item",             "own, draft",                    Y, N, N),
    ("rate an item",             "own, draft, assigned",          Y, Y, N),
    ("rate an item",             "other, draft, assigned",        Y, Y, N),
    ("agree an item",            "own, draft",                    Y, N, N),
    ("agree an item",            "own, draft, assigned",          Y, Y, N),
    ("mark an item not rated",   "own, draft",                    Y, N, N),
    ("mark an item not rated",   "own, draft, assigned",          Y, Y, N),
    ("write the summary",        "own, draft",                    Y, N, N),
    ("write the summary",        "own, draft, assigned",          Y, Y, N),
    ("change the review date",   "own, draft",                    Y, N, N),
    ("change the review date",   "own, draft, assigned",          Y, Y, N),
    ("finalize",                 "own, draft",                    Y, N, N),
    ("finalize",                 "own, draft, assigned",          Y, Y, N),
    ("amend",                    "own, final",                    Y, N, N),
    ("amend",                    "own, final, assigned",          Y, Y, N),
    ("import a review file",     "-",                             Y, N, N),
    ("plan a wide import",       "-",                             Y, N, N),
    ("import a wide file",       "-",                             Y, N, N),
    ("add a user",               "-",                             Y, N, N),
    ("list users",               "-",                             Y, N, N),
    ("assign a reviewer",        "own, draft",                    Y, N, N),
    ("change a role",            "-",                             Y, N, N),
    ("check the database",       "-",                             Y, N, N),
    ("re-key the database",      "-",                             Y, N, N),
    ("see outcomes",             "own",                           Y, Y, Y),
    ("see outcomes",             "other",                         Y, Y, N),
    ("enter outcomes",           "own",                           Y, N, Y),
    ("enter outcomes",           "other",                         Y, N, N),
    ("change the outcome measures", "-",                          Y, N, N),
]
# fmt: on

CASES = [
    pytest.param(action, case, role, expected, id=f"{action} [{case}] {role.value}")
    for action, case, *allowed in TABLE
    for role, expected in zip(ROLES, allowed, strict=True)
]


@pytest.mark.parametrize(("action", "case", "role", "expected"), CASES)
def test_role_against_action(world: World, action: str, case: str, role: Role, expected: bool) -> None:
    allowed = ACTIONS[action](world, world.actors[role], case)
    assert allowed is expected, f"{role.value} {'may' if expected else 'may not'} {action} ({case})"


def test_the_table_covers_every_action_and_every_service_rule() -> None:
    assert {row[0] for row in TABLE} == set(ACTIONS)
    # Each policy action appears with each role at least once in the table above.
    assert set(POLICY) == set(Action)


def test_a_refusal_says_why_in_one_line(world: World) -> None:
    pm, reviewer = world.actors[Role.PROGRAM_MANAGER], world.actors[Role.REVIEWER]
    draft = world.review(program="own")
    other_final = world.review(program="other", final=True)
    messages = {}
    for who, call in {
        "pm draft": lambda: svc.get_review(world.db, draft.id, actor=pm),
        "pm other": lambda: svc.get_review(world.db, other_final.id, actor=pm),
        "pm rate": lambda: svc.save_rating(world.db, draft.id, "ana", "G1", rating=3, actor=pm),
        "reviewer unassigned": lambda: svc.save_rating(
            world.db, draft.id, "ana", "G1", rating=3, actor=reviewer
        ),
        "reviewer users": lambda: users.list_users(world.db, actor=reviewer),
    }.items():
        with pytest.raises(AccessDenied) as caught:
            call()
        messages[who] = caught.value.problems
    assert messages == {
        "pm draft": [
            f"Not allowed: review {draft.id} is not final yet; a program manager sees final reviews only."
        ],
        "pm other": [
            f"Not allowed: review {other_final.id} is of a program that is not one of your programs."
        ],
        "pm rate": [
            "Not allowed: a program manager may not rate, agree or finalize reviews "
            "(only agency admins and reviewers may)."
        ],
        "reviewer unassigned": [
            f"Not allowed: review {draft.id} is not assigned to you (an agency admin can assign you to it)."
        ],
        "reviewer users": [
            "Not allowed: a reviewer may not manage users and their access (only agency admins may)."
        ],
    }


def test_a_reviewer_who_starts_a_review_is_assigned_and_an_amendment_keeps_the_assignment(
    world: World,
) -> None:
    reviewer = world.actors[Role.REVIEWER]
    started = start(world, reviewer, world.other)
    assert users.review_reviewers(world.db, started.id, actor=LOCAL_ADMIN) == [REVIEWER]
    for item_id in GOI:
        svc.save_consensus(world.db, started.id, item_id, rating=3, expected_version=0, actor=reviewer)
    final = svc.finalize(world.db, started.id, actor=reviewer)
    assert final.finalized_by == REVIEWER  # the audit name of a signed-in user is their e-mail
    amendment = svc.amend(world.db, final.id, "typo in G1", actor=reviewer)
    assert users.review_reviewers(world.db, amendment.id, actor=LOCAL_ADMIN) == [REVIEWER]
    trail = svc.audit_trail(world.db, amendment.id, actor=reviewer)
    assert {(e.actor, e.field, str(e.new_value)) for e in trail} >= {
        (REVIEWER, "reviewer_assigned", REVIEWER),
        (REVIEWER, "status", "final"),
    }


def test_only_an_admin_names_the_reviewers_of_a_new_review(world: World) -> None:
    reviewer = world.actors[Role.REVIEWER]
    when = dt.date(2011, 1, 1)
    with pytest.raises(AccessDenied, match="may not manage users"):
        svc.start_review(
            world.db,
            world.own.id,
            "goi",
            None,
            when,
            "baseline",
            ["ana"],
            actor=reviewer,
            reviewers=[REVIEWER],
        )
    review = svc.start_review(
        world.db,
        world.own.id,
        "goi",
        None,
        when,
        "baseline",
        ["ana"],
        actor=LOCAL_ADMIN,
        reviewers=[REVIEWER],
    )
    assert users.review_reviewers(world.db, review.id, actor=LOCAL_ADMIN) == [REVIEWER]


def test_services_take_an_actor_not_a_name(world: World) -> None:
    with pytest.raises(TypeError, match=r"services\.access\.Actor"):
        svc.list_programs(world.db, actor="admin")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"services\.access\.Actor"):
        svc.create_program(world.db, "By name", actor="admin")  # type: ignore[arg-type]
