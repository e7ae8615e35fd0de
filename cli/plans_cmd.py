"""`fidelity plans ...`: list action plan entries and update their status, for batch work.

Each command acts as the CLI's local admin, or with `--as EMAIL` as that registered user (their
role and programs), and the services check the one access policy either way: a program manager
lists and updates their own programs' entries only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import AsOption, acting, database, dumps, fail

if TYPE_CHECKING:
    pass

plans_app = typer.Typer(
    help="Action plans: the entries final reviews opened for their weak items.", no_args_is_help=True
)


@plans_app.command("list")
def plans_list(
    program: Annotated[str | None, typer.Option(help="Only this program's entries.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only entries past their due date.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also done and dropped entries.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_user: AsOption = None,
) -> None:
    """List open action plan entries (open, in progress), overdue first, then by due date."""
    from services import action_plans  # not at the top: start-up time (loads SQLAlchemy)
    from services import reviews as svc

    with database() as db:
        actor = acting(db, as_user)
        program_id = None
        if program is not None:
            found = svc.find_program(db, program, actor=actor)
            if found is None:
                fail([f"no program named {program!r}"])
            program_id = found.id
        statuses = None if show_all else ("open", "in progress")
        entries = action_plans.list_entries(
            db, actor=actor, program_id=program_id, statuses=statuses, overdue_only=overdue
        )
    if as_json:
        typer.echo(dumps([e.to_dict() for e in entries]))
        return
    if not entries:
        typer.echo("no action plan entries")
    for e in entries:
        late = "  OVERDUE" if e.overdue else ""
        owner = f"  owner {e.owner}" if e.owner else ""
        typer.echo(
            f"{e.id:>4}  due {e.due_date}  {e.status:<11} {e.program:<28} {e.item_id:<5} "
            f"rated {e.rating if e.rating is not None else '-'}, goal {e.goal}{owner}{late}"
        )


@plans_app.command("update")
def plans_update(
    entry: Annotated[int, typer.Argument(help="The entry id (see `fidelity plans list`).", metavar="ENTRY")],
    status: Annotated[str, typer.Option(help="open, in progress, done or dropped.")],
    note: Annotated[str | None, typer.Option(help="A dated progress note.")] = None,
    as_user: AsOption = None,
) -> None:
    """Set an entry's status, with an optional progress note (both recorded in the audit log)."""
    from services import action_plans  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        actor = acting(db, as_user)
        updated = action_plans.update_entry(db, entry, status=status, note=note, actor=actor)
    typer.echo(f"entry {updated.id} ({updated.program}, {updated.item_id}): {updated.status}")
