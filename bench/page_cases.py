"""Every page at agency scale (issue 22): each page's warm rerun against an empty page's, and its
first run after a data change, for the local admin and for the program-limited user.

The `pages` case (bench/cases.py) measures every view of Drift and Compare for the local admin;
this one goes through the pages a reviewer and a program manager use every day: Reviews, Rate,
Consensus, Results, Drift's two tabs, Compare's tabs and Action plans. Goals (issue 22): a rerun
within 2x an empty page (medians of interleaved rounds), and the first run after a change of the
data within 2 s.

"A data change" is a program's update made by SQL on another connection, as another process (an
import, the CLI, another server) would make it: the triggers of migration 0004 count it, so every
cache keyed on the data version is stale. The page notices within `VERSION_MAX_AGE` (one
second): the bench waits that long, then times the page's next run. That is the worst a user
meets after someone else's change; a change this server makes shows at once, the same way.

The limited user signs in as AppTest lets a test do (tests/app/test_app_signin.py): `[auth]` in
the secrets and `st.user` set to their verified e-mail. A page their role is not offered (Rate and
Consensus for a program manager) is listed as such, not measured.
"""

from __future__ import annotations

import os
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.context import Context
from bench.measure import ROOT, Result, best_of, ms
from bench.mixed import LIMITED_EMAIL
from bench.timing import paired
from domain.access import POLICY, Action, Role

EMPTY_PAGE = "import streamlit as st\n\nst.title('Empty')\n"
RERUN_GOAL = 2.0  # x an empty page's rerun
FIRST_RUN_GOAL_S = 2.0  # the first run after a data change
ROUNDS = 30  # interleaved reruns per view (the Results page took half a second a rerun)
WORK_RERUNS = 3  # reruns counted (calls_per_rerun): a count varies only with what a rerun finds cached
CHANGES = 3  # data changes per view; the median first run counts, the slowest is shown
# What AppTest needs to believe sign-in is configured (never contacted: st.user is set directly).
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-identity-cookie",
    "client_id": "bench.apps.example",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.example/.well-known/openid-configuration",
}
# A change the analytics triggers count, that changes nothing a page shows.
CHANGE_SQL = "UPDATE programs SET region = region WHERE id = (SELECT min(id) FROM programs)"


@dataclass(frozen=True)
class View:
    """One page (its file) in one state: a tab (`?view=`) or a section chosen; `needs` is what a
    role must be allowed to be offered the page (the navigation, app_pages/navigation.py)."""

    name: str
    page: str
    query: dict[str, str]
    needs: Action


VIEWS = [
    View("Reviews", "reviews", {}, Action.READ_REVIEW),
    View("Rate", "rate", {}, Action.EDIT_REVIEW),
    View("Consensus", "consensus", {}, Action.EDIT_REVIEW),
    View("Results", "results", {}, Action.READ_REVIEW),
    View("Drift: Agency", "drift", {"view": "Agency"}, Action.READ_ANALYTICS),
    View("Drift: Program", "drift", {"view": "Program"}, Action.READ_ANALYTICS),
    *(
        View(f"Compare: {tab}", "compare", {"view": tab}, Action.READ_ANALYTICS)
        for tab in ("Ranking", "Programs below", "Providers below", "Bands", "Items", "Weak spots")
    ),
    View("Action plans", "action_plans", {}, Action.READ_PLANS),
]
# user -> (e-mail to sign in with, or None: no sign-in configured; their role)
USERS: dict[str, tuple[str | None, Role]] = {
    "local admin": (None, Role.AGENCY_ADMIN),
    "program-limited user": (LIMITED_EMAIL, Role.PROGRAM_MANAGER),
}


def measured() -> list[tuple[str, View]]:
    """(user, view) for every view the user's role is offered; each gives two results."""
    return [(who, view) for who, (_, role) in USERS.items() for view in VIEWS if role in POLICY[view.needs]]


@contextmanager
def app_database(url: str) -> Iterator[None]:
    """The app opens `url` (FIDELITY_DATABASE_URL) inside the block; the variable as it was after."""
    saved = os.environ.get("FIDELITY_DATABASE_URL")
    os.environ["FIDELITY_DATABASE_URL"] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("FIDELITY_DATABASE_URL", None)
        else:
            os.environ["FIDELITY_DATABASE_URL"] = saved


def _app(email: str | None) -> Any:
    from streamlit.testing.v1 import AppTest  # loads Streamlit only when the pages are measured

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    if email is not None:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": email, "name": email, "email_verified": True}
    return at


def _offered(at: Any, page: str) -> bool:
    """Whether the navigation this user got has the page (AppTest refuses to switch otherwise)."""
    at.run()
    try:
        at.switch_page(f"app_pages/{page}.py")
    except Exception:
        return False
    return True


def calls_per_rerun(run: Any, reruns: int = WORK_RERUNS) -> int:
    """The Python and C calls the script thread makes in a rerun (`run`: an AppTest's run), the
    median of `reruns`: a count, not a time, so it is the same on a loaded or a quiet machine
    and between machines, and shows a change of the work a page does that the wall-clock ratio's
    noise hides (docs/performance.md, sixth round). Counted with a profile function on the
    threads `run` starts (AppTest runs the script in a thread of its own), not on this one."""
    counts = []
    for _ in range(reruns):
        calls = 0

        def count(frame: Any, event: str, arg: Any) -> None:
            nonlocal calls
            if event in ("call", "c_call"):
                calls += 1

        threading.setprofile(count)
        try:
            run()
        finally:
            threading.setprofile(None)  # removes it
        counts.append(calls)
    return int(statistics.median(counts))


def _change(ctx: Context) -> None:
    with ctx.raw() as conn:
        conn.execute(CHANGE_SQL)
        conn.commit()


def page_runs(ctx: Context) -> list[Result]:
    """Each view for each user: a rerun's ratio to an empty page's, and the first run after a change."""
    # Not at the top: Streamlit and the app load only when the pages are measured.
    from streamlit.testing.v1 import AppTest  # noqa: I001
    from app_pages.shared import database
    from services.review_reads import forget_version

    # The CI size (tests/integration/test_bench.py, --rounds 2) checks that every view runs.
    rounds, changes = (ROUNDS, CHANGES) if ctx.rounds >= 12 else (ctx.rounds, 1)
    results: list[Result] = []
    with app_database(ctx.target.url):
        empty = AppTest.from_string(EMPTY_PAGE, default_timeout=600)
        empty.run()
        empty_calls = calls_per_rerun(empty.run)
        for who, view in measured():
            at = _app(USERS[who][0])
            for key, value in view.query.items():
                at.query_params[key] = value
            problems = [] if _offered(at, view.page) else [f"the navigation has no {view.page} for them"]
            cold = best_of(at.run, 1)  # the page's first run in a new session (the first one fills caches)
            problems += _problems(at, view)
            timing = paired(at.run, empty.run, rounds=rounds, warmup=2, collect=False)
            calls = calls_per_rerun(at.run)
            firsts = []
            for _ in range(changes):
                _change(ctx)
                # As if VERSION_MAX_AGE had passed (the page asks the version at most that
                # often): the run timed is the one that finds the new version.
                database().version_seen = None
                forget_version(database())  # the review pages' version (services.review_reads) too
                firsts.append(best_of(at.run, 1))
            problems += _problems(at, view)
            first = statistics.median(firsts)
            figures = {
                **timing.figures(),
                "cold_s": cold,
                "after_change_s": firsts,
                "user": who,
                "calls": calls,
                "empty_calls": empty_calls,
            }
            results.append(
                Result(
                    ctx.dialect,
                    f"{view.name} rerun, {who} (AppTest, cache warm)",
                    timing.text("rerun", "an empty page's rerun")
                    + f"; new session {ms(cold)}; work {calls:,} calls a rerun, an empty page's"
                    f" {empty_calls:,} ({calls / empty_calls:.1f}x)",
                    timing.ratio,
                    RERUN_GOAL,
                    f"<= {RERUN_GOAL:.0f}x (medians)",
                    problems[:1],
                    figures,
                )
            )
            results.append(
                Result(
                    ctx.dialect,
                    f"{view.name} first run after a data change, {who}",
                    f"median of {changes} changes {ms(first)}, slowest {ms(max(firsts))}",
                    first / FIRST_RUN_GOAL_S,
                    1.0,
                    f"< {FIRST_RUN_GOAL_S:.0f} s: ratio = seconds / {FIRST_RUN_GOAL_S:.0f}",
                    problems[:1],
                    {"seconds": first, "runs_s": firsts, "user": who},
                )
            )
    return results


def _problems(at: Any, view: View) -> list[str]:
    problems = [f"the page raised: {e.value}" for e in at.exception] if at.exception else []
    # An unknown tab opens the first one: measure the view asked for, or say so.
    if "view" in view.query and (shown := at.session_state.get(f"{view.page}_view")) != view.query["view"]:
        problems.append(f"{view.page}_view shows {shown!r}, not {view.query['view']!r}")
    return problems
