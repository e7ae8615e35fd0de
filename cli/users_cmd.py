"""`fidelity users ...`: who may sign in to the app, in which role, over which programs.

The CLI acts as the local admin, so the first agency admin is added here
(`fidelity users add you@agency.org --role agency_admin`) before sign-in is switched on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import cli_actor, database, dumps, fail
from services.errors import FidelityError

if TYPE_CHECKING:
    from services.database import Database
    from services.users import UserView

users_app = typer.Typer(
    help="Users who sign in to the app, their roles and program scopes.", no_args_is_help=True
)

ROLE_HELP = "agency_admin, reviewer or program_manager."
PROGRAM_HELP = "A program the program manager manages (exact name; repeat for several)."


def _checked(db: Database, email: str, role: str | None, programs: list[str] | None) -> tuple[Any, ...]:
    """The e-mail address, role and program ids, every problem with them reported at once."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    problems: list[str] = []
    key = role_value = None
    program_ids: list[int] = []
    try:
        key = users.normalize_email(email)
    except FidelityError as exc:
        problems.extend(exc.problems)
    if role is not None:
        try:
            role_value = users.parse_role(role)
        except FidelityError as exc:
            problems.extend(exc.problems)
    if programs:
        try:
            program_ids = users.program_ids_by_name(db, programs, actor=cli_actor())
        except FidelityError as exc:
            problems.extend(exc.problems)
    if problems:
        fail(problems)
    return key, role_value, program_ids


def _describe(user: UserView) -> str:
    parts = [f"{user.email}", user.role_text]
    if user.name:
        parts.insert(1, repr(user.name))
    if user.programs:
        parts.append("programs: " + ", ".join(user.programs))
    if user.reviews:
        parts.append("assigned to open review(s) " + ", ".join(str(r) for r in user.reviews))
    if not user.active:
        parts.append("DEACTIVATED")
    return "  ".join(parts)


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The e-mail address the person signs in with.")],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    program: Annotated[list[str] | None, typer.Option("--program", help=PROGRAM_HELP)] = None,
    name: Annotated[str | None, typer.Option("--name", help="The person's name, shown in the app.")] = None,
) -> None:
    """Register a user with a role (a program manager with their programs)."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        key, role_value, program_ids = _checked(db, email, role, program)
        user = users.add_user(db, key, role=role_value, name=name, program_ids=program_ids, actor=cli_actor())
    typer.echo(f"added {_describe(user)}")


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the users, their roles and programs."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        found = users.list_users(db, actor=cli_actor())
    if as_json:
        rows = [
            {
                "email": u.email,
                "name": u.name,
                "role": u.role.value,
                "active": u.active,
                "programs": list(u.programs),
                "assigned_reviews": list(u.reviews),
            }
            for u in found
        ]
        typer.echo(dumps(rows))
        return
    if not found:
        typer.echo("no users (without sign-in configured, everyone is the local admin)")
    for user in found:
        typer.echo(_describe(user))


@users_app.command("set-role")
def users_set_role(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
    program: Annotated[list[str] | None, typer.Option("--program", help=PROGRAM_HELP)] = None,
) -> None:
    """Change a user's role (a new program manager needs --program)."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        key, role_value, program_ids = _checked(db, email, role, program)
        user = users.set_role(db, key, role_value, program_ids=program_ids or None, actor=cli_actor())
    typer.echo(f"changed {_describe(user)}")


@users_app.command("set-programs")
def users_set_programs(
    email: Annotated[str, typer.Argument(help="The program manager's e-mail address.")],
    program: Annotated[list[str], typer.Option("--program", help=PROGRAM_HELP)],
) -> None:
    """Replace a program manager's programs."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        key, _role, program_ids = _checked(db, email, None, program)
        user = users.set_programs(db, key, program_ids, actor=cli_actor())
    typer.echo(f"changed {_describe(user)}")


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Stop a user from signing in (their name stays in the history of changes)."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        user = users.set_active(db, email, False, actor=cli_actor())
    typer.echo(f"deactivated {_describe(user)}")


@users_app.command("activate")
def users_activate(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]) -> None:
    """Let a deactivated user sign in again."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        user = users.set_active(db, email, True, actor=cli_actor())
    typer.echo(f"activated {_describe(user)}")
