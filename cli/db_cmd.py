"""`fidelity db ...` and `fidelity programs ...`: commands on the database at FIDELITY_DATABASE_URL.

The service layer (SQLAlchemy, Alembic) is imported inside the commands, so commands that
need no database, such as `fidelity score`, do not pay for loading it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import cli_actor, database, dumps

db_app = typer.Typer(help="The database (FIDELITY_DATABASE_URL).", no_args_is_help=True)
programs_app = typer.Typer(help="Programs (teams) in the database.", no_args_is_help=True)


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
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)

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
