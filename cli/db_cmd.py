"""`fidelity db ...` and `fidelity programs ...`: commands on the database at FIDELITY_DATABASE_URL.

The service layer (SQLAlchemy, Alembic) is imported inside the commands, so commands that
need no database, such as `fidelity score`, do not pay for loading it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from services.errors import FidelityError

if TYPE_CHECKING:
    from services.access import Actor
    from services.database import Database

EXIT_INVALID = 2  # as cli.main: invalid input, one line per problem on stderr

db_app = typer.Typer(help="The database (FIDELITY_DATABASE_URL).", no_args_is_help=True)
programs_app = typer.Typer(help="Programs (teams) in the database.", no_args_is_help=True)


def fail(problems: list[str]) -> NoReturn:
    # cli.main.fail, repeated because cli.main imports this module.
    for problem in problems:
        typer.echo(problem, err=True)
    raise typer.Exit(EXIT_INVALID)


@contextmanager
def database() -> Iterator[Database]:
    """The database for one command, migrated to head; domain errors become exit status 2."""
    from services.database import open_database

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
    try:
        yield
    except FidelityError as exc:
        fail(exc.problems)


def cli_actor() -> Actor:
    """The CLI acts as the local admin (its operator runs it on the server, with the database's
    credentials); the audit log names the login name, else "cli"."""
    from services.access import local_admin

    try:
        name = getpass.getuser() or "cli"
    except (KeyError, OSError):  # no login name, e.g. in a container
        name = "cli"
    return local_admin(name)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the tables, or migrate an older database to the newest schema."""
    with database() as db:
        typer.echo(f"{db.display_url}: schema at revision {db.revision} (head)")


@programs_app.command("list")
def programs_list(
    search: Annotated[str | None, typer.Option(help="Part of the program name.")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider's programs.")] = None,
    region: Annotated[str | None, typer.Option(help="Only programs in this region.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the programs."""
    from services import reviews as svc

    with database() as db:
        programs = svc.list_programs(db, actor=cli_actor(), search=search, provider=provider, region=region)
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "provider": p.provider,
            "region": p.region,
            "model": p.model,
            "active_from": p.active_from,
            "active_to": p.active_to,
        }
        for p in programs
    ]
    if as_json:
        typer.echo(dumps(rows))
        return
    if not rows:
        typer.echo("no programs")
    for row in rows:
        extra = "  ".join(str(row[k]) for k in ("provider", "region") if row[k])
        typer.echo(f"{row['id']:>4}  {row['name']:<40} {row['model'] or '-':<5} {extra}".rstrip())
