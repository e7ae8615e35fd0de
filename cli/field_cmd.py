"""`fidelity field ...`: take a review to the field and bring it back (issue 21).

On the agency server: `checkout` writes a review package for one rater, `checkin` merges the
field copy's export, `conflicts` and `settle` deal with entries changed on both sides. On the
laptop: `open` loads a package into the local database, `export` writes the field copy back
out. The package format is docs/field-package.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import cli_actor, database, dumps, fail

field_app = typer.Typer(
    help="Review packages: rating a review in the field without a network.", no_args_is_help=True
)

OUT_HELP = "The package file to write."


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail([f"cannot write {path}: {exc.strerror}"])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail([f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"])


@field_app.command("checkout")
def field_checkout(
    review_id: Annotated[int, typer.Argument(help="The review id on this server.", metavar="REVIEW_ID")],
    rater: Annotated[
        str, typer.Option("--rater", help="The rater's e-mail address (a rater on the review).")
    ],
    out: Annotated[Path, typer.Option("--out", help=OUT_HELP)],
) -> None:
    """Write the review package of a review for one rater, to rate it in the field."""
    from services.field_checkout import checkout_review  # not at the top: start-up time

    with database() as db:
        done = checkout_review(db, review_id, actor=cli_actor(), rater_email=rater)
    _write(out, done.text)
    typer.echo(f"checked out review {done.review_id} for {done.rater}: {out} (package {done.package_id})")


@field_app.command("open")
def field_open(
    package: Annotated[Path, typer.Argument(help="A review package from the agency server.")],
) -> None:
    """Load a review package into this computer's database as a field copy; prints its review id."""
    from services.field_checkout import open_package  # not at the top: start-up time

    text = _read(package)
    with database() as db:
        copy = open_package(db, text, actor=cli_actor(), name=str(package))
    typer.echo(f"opened as review {copy.review_id}: {copy.banner}")


@field_app.command("export")
def field_export(
    review_id: Annotated[
        int, typer.Argument(help="The field copy's review id on this computer.", metavar="REVIEW_ID")
    ],
    out: Annotated[Path, typer.Option("--out", help=OUT_HELP)],
) -> None:
    """Write the field copy's ratings as a package for the agency server to check in."""
    from services.field_checkout import export_field_copy  # not at the top: start-up time

    with database() as db:
        done = export_field_copy(db, review_id, actor=cli_actor())
    _write(out, done.text)
    typer.echo(f"exported review {done.review_id} ({done.rater}): {out}")


@field_app.command("checkin")
def field_checkin(package: Annotated[Path, typer.Argument(help="A field copy's export.")]) -> None:
    """Merge a field copy's export into the review; exit 2 with the reason when it is refused."""
    from services.field_sync import checkin_package  # not at the top: start-up time

    text = _read(package)
    with database() as db:
        result = checkin_package(db, text, actor=cli_actor(), name=str(package))
    typer.echo(result.summary)
    for c in result.conflicts:
        typer.echo(
            f"  conflict {c.id} {c.item_id}: server {c.server} ({c.server_by}, {c.server_at}) | "
            f"field {c.field} ({c.field_by}, {c.field_at})"
        )


@field_app.command("conflicts")
def field_conflicts(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="REVIEW_ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the review's conflicts waiting for a choice."""
    from services.field_sync import pending_conflicts  # not at the top: start-up time

    with database() as db:
        conflicts = pending_conflicts(db, review_id, actor=cli_actor())
    if as_json:
        typer.echo(dumps([c.__dict__ for c in conflicts]))
        return
    if not conflicts:
        typer.echo(f"review {review_id}: no conflicts to settle")
    for c in conflicts:
        typer.echo(f"{c.id:>4}  {c.rater}  {c.item_id}: server {c.server} | field {c.field}")


@field_app.command("settle")
def field_settle(
    conflict_id: Annotated[int, typer.Argument(help="The conflict id.", metavar="CONFLICT_ID")],
    keep: Annotated[str, typer.Option("--keep", help="server or field: the value to keep.")],
) -> None:
    """Settle a conflict by keeping the server's or the field's value (audited)."""
    from services.field_sync import settle_conflict  # not at the top: start-up time

    with database() as db:
        c = settle_conflict(db, conflict_id, keep, actor=cli_actor())
    typer.echo(f"conflict {c.id} ({c.item_id}, {c.rater}): kept the {c.choice}'s value")
