"""What every `fidelity` command shares: exit statuses, reporting problems, the database for one
command, the CLI's actor, and printing (JSON, a score).

The service layer's database side (SQLAlchemy, Alembic: about a second to load) is imported
inside `database` and `cli_actor`, so `fidelity --help` and `fidelity score` do not pay for it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from scales import ScaleRegistry
from services.errors import FidelityError
from services.review_file import ReviewScore
from services.settings import get_registry

if TYPE_CHECKING:
    from services.access import Actor
    from services.database import Database

EXIT_INVALID = 2  # invalid input: one line per problem on stderr
EXIT_INTERNAL = 1  # an internal error: one line on stderr


def fail(problems: list[str], code: int = EXIT_INVALID) -> NoReturn:
    """Print each problem on its own line on stderr and exit (status 2 unless told)."""
    for problem in problems:
        typer.echo(problem, err=True)
    raise typer.Exit(code)


def registry() -> ScaleRegistry:
    """The bundled scales and those in FIDELITY_SCALES_DIRS."""
    return get_registry()


@contextmanager
def database() -> Iterator[Database]:
    """The database for one command, migrated to head; domain errors become exit status 2."""
    from services.database import open_database  # not at the top: start-up time (loads SQLAlchemy)

    try:
        db = open_database()
    except FidelityError as exc:
        fail(exc.problems)
    try:
        with refusals():
            yield db
    finally:
        db.dispose()


@contextmanager
def refusals() -> Iterator[None]:
    """A domain error (a refusal in the project's words) becomes exit status 2."""
    try:
        yield
    except FidelityError as exc:
        fail(exc.problems)


def cli_actor() -> Actor:
    """The CLI acts as the local admin (its operator runs it on the server, with the database's
    credentials); the audit log names the login name, else "cli"."""
    from services.access import local_admin  # not at the top: start-up time (loads SQLAlchemy)

    try:
        name = getpass.getuser() or "cli"
    except (KeyError, OSError):  # no login name, e.g. in a container
        name = "cli"
    return local_admin(name)


AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this registered user (their role and programs decide what is allowed); "
        "default: the local admin.",
        metavar="EMAIL",
    ),
]


def acting(db: Database, email: str | None) -> Actor:
    """The local admin, or the registered, active user with this e-mail address (`--as EMAIL`);
    exit 2 when there is none."""
    if email is None:
        return cli_actor()
    from services.users import actor_for_email  # not at the top: start-up time (loads SQLAlchemy)

    actor = actor_for_email(db, email)
    if actor is None:
        fail([f"--as {email}: no active user with that e-mail address (see `fidelity users list`)"])
    return actor


def dumps(value: Any) -> str:
    """JSON as the commands print it: indented, non-ASCII kept, dates as text."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def format_score(result: ReviewScore, reg: ScaleRegistry) -> str:
    """A score as text: one line per item and subscale, then the total, band, missing items and
    the action plan (`fidelity score` and `fidelity review show`)."""
    scale = reg.get(result.scale_id, result.version)
    lines = [f"{scale.title} ({scale.id} {scale.version})", ""]
    for item in scale.items:
        s = result.items[item.id]
        rating = "-" if s.rating is None else str(s.rating)
        working = ""
        if s.computation is not None:
            c = s.computation
            # As the Results page and the PDF word it: the value to 4 places, then the value
            # read against the anchors at the item's precision when rounding changed it.
            value = f"{c.value:.4f}".rstrip("0").rstrip(".")
            rounded = f"{c.rounded:.{c.precision}f}"
            working = f"  {value} {c.unit}" if c.value == c.rounded else f"  {value} -> {rounded} {c.unit}"
        lines.append(f"{item.id:<5} {item.name[:48]:<48} {rating:>2}  {s.source}{working}")
    lines.append("")
    for sub in result.subscales.values():
        mean = "-" if sub.mean is None else f"{float(sub.mean):.2f}"
        lines.append(f"{sub.id:<5} {sub.name[:48]:<48} mean {mean}  ({sub.rated}/{sub.items} rated)")
    total = result.total
    mean = "-" if total.mean is None else f"{float(total.mean):.2f}"
    complete = "" if total.complete else "  (incomplete)"
    lines.append(f"Total: sum {total.sum}, mean {mean}, {total.rated}/{total.items} rated{complete}")
    lines.append(f"Band: {result.band or 'not determined'}")
    if result.missing:
        lines.append(f"Missing: {', '.join(result.missing)}")
    if result.action_plan:
        due = f", due within {result.action_plan_due_days} days" if result.action_plan_due_days else ""
        lines.append(f"Action plan (items at or below the threshold{due}): {', '.join(result.action_plan)}")
    for condition in result.conditions:
        mark = {True: "met", False: "FAILED", None: "not determined"}[condition.met]
        lines.append(f"Condition {mark}: {condition.message}")
    return "\n".join(lines)
