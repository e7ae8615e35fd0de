"""`fidelity db ...` and `fidelity programs ...`: commands on the database at FIDELITY_DATABASE_URL.

The service layer (SQLAlchemy, Alembic) is imported inside the commands, so commands that
need no database, such as `fidelity score`, do not pay for loading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import cli_actor, database, dumps, fail, refusals
from services.settings import get_settings

db_app = typer.Typer(help="The database (FIDELITY_DATABASE_URL).", no_args_is_help=True)
programs_app = typer.Typer(help="Programs (teams) in the database.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the tables, or migrate an older database to the newest schema."""
    with database() as db:
        typer.echo(f"{db.display_url}: schema at revision {db.revision} (head)")


@db_app.command("check")
def db_check() -> None:
    """Verify the database's tamper evidence: every final review's checksum, the audit log's
    hash chain, the schema revision and the immutability and append-only triggers.

    Prints one line per failure on stderr (naming the review id, the audit row id or the
    trigger), then a summary. Exit status 0 when everything holds; 2 when anything fails (as
    for invalid input: one line per problem on stderr).
    Without FIDELITY_INTEGRITY_KEY it says so: plain SHA-256 checksums can be recomputed by
    anyone who can write the database.
    """
    from services.integrity import check_database  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        report = check_database(db, actor=cli_actor())
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not report.ok:
        fail([*report.problems, f"{db.display_url}: {report.summary()}"])
    typer.echo(f"{db.display_url}: {report.summary()}")


@db_app.command("rekey")
def db_rekey() -> None:
    """Re-key every checksum and the audit chain to FIDELITY_INTEGRITY_KEY, from
    FIDELITY_INTEGRITY_PREVIOUS_KEY (empty: the database was keyless).

    Everything is verified under the previous key first: if anything fails, nothing is
    re-keyed and each failure is printed (exit status 2). Otherwise all digests are rewritten
    under the new key in one transaction, recorded in the audit log.
    """
    from services.integrity import rekey  # not at the top: start-up time (loads SQLAlchemy)

    previous = get_settings().integrity_previous_secret
    with database() as db:
        result = rekey(db, previous, actor=cli_actor())
    typer.echo(
        f"{db.display_url}: re-keyed {result.reviews} review checksum(s), {result.seals} ratings seal(s) "
        f"and {result.audit_rows} audit row(s)"
    )


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


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write.")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace PATH if it exists.")] = False,
) -> None:
    """Back the database up to PATH, consistently while the app runs.

    SQLite: SQLite's online backup API, a copy of the database file. PostgreSQL: pg_dump in its
    custom format (the PostgreSQL client tools must be installed). Restore with `fidelity db restore`.
    """
    from services.backup import backup_database  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        result = backup_database(db, path, actor=cli_actor(), overwrite=overwrite)
    typer.echo(f"{db.display_url}: backed up to {result.path} ({result.size} bytes, {result.method})")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `fidelity db backup`.")],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Overwrite a database that already exists (stop the app first)."),
    ] = False,
) -> None:
    """Restore a backup into the database at FIDELITY_DATABASE_URL, then check it as `db check` does.

    A database that already exists is refused unless --replace is given. SQLite: SQLite's backup
    API; PostgreSQL: pg_restore (with --replace: --clean). Exit status 2 if the check fails.
    """
    from services.backup import restore_database  # not at the top: start-up time (loads SQLAlchemy)

    settings = get_settings()
    with refusals():
        result = restore_database(
            settings.database_url,
            path,
            actor=cli_actor(),
            replace=replace,
            integrity_key=settings.integrity_secret,
        )
    report = result.check
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not report.ok:
        fail([*report.problems, f"{result.target}: restored from {path}, but {report.summary()}"])
    typer.echo(f"{result.target}: restored from {path}; {report.summary()}")


@db_app.command("copy")
def db_copy(
    to: Annotated[str, typer.Option("--to", help="The new PostgreSQL database's URL.")],
) -> None:
    """Copy the whole database (e.g. the laptop's SQLite file) into a new, empty PostgreSQL database.

    The target is migrated, every table's rows are copied with their ids, sequences are reset, and
    each table's count and content digest are compared and the target checked as `db check` does.
    A target that holds data is refused. Prints one line per table.
    """
    from services.db_copy import copy_database  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        result = copy_database(db, to, actor=cli_actor())
    typer.echo(f"{'table':<24} {'source':>8}    {'target':>8}  digest")
    for table in result.tables:
        typer.echo(table.line())
    if result.check is not None:
        typer.echo(f"{result.target}: {result.check.summary()}")
    if not result.ok:
        fail([*result.problems, f"{result.source} -> {result.target}: the copy does not match"])
    typer.echo(f"{result.source} -> {result.target}: copied {sum(t.target_rows for t in result.tables)} rows")
