"""`fidelity outcomes ...`: programs' outcome series (hospital days, housing, work, ...) per month
or quarter, imported from a file and listed, checked by the same access policy as the app.

The CLI acts as the local admin; `--as EMAIL` acts as that registered, active user instead
(their role and programs decide, as when they sign in to the app): a script run on behalf of
a program manager can then import only that manager's programs' outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import AsOption, acting, database, dumps, fail
from services.errors import FidelityError

if TYPE_CHECKING:
    pass

outcomes_app = typer.Typer(
    help="Programs' outcomes per month or quarter (hospital days, housing, employment, ...).",
    no_args_is_help=True,
)


@outcomes_app.command("import")
def outcomes_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv or .xlsx file: columns program, period (2025-03 or 2025-Q1), then one column per "
            "measure key (hospital_days, ...).",
            metavar="FILE",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything and say what would change; write nothing.")
    ] = False,
    as_user: AsOption = None,
) -> None:
    """Import outcome values: every row is checked first; any problem is printed as
    "row N, column X: message" and nothing is imported. Importing a file again changes nothing."""
    from services.outcome_import import import_outcomes, plan_outcomes, read_outcome_file  # start-up time

    try:
        frame = read_outcome_file(file)
    except FidelityError as exc:
        typer.echo("nothing was imported")
        fail(exc.problems)
    with database() as db:
        actor = acting(db, as_user)
        plan = plan_outcomes(db, frame, actor=actor)
        if plan.problems:
            count = len(plan.problems)
            typer.echo(f"{count} problem{'s' if count != 1 else ''}; nothing was imported")
            fail([str(p) for p in plan.problems])
        if dry_run:
            typer.echo(f"dry run: {plan.text}; nothing written")
            return
        summary = import_outcomes(db, frame, actor=actor, source=str(file))
    typer.echo(f"imported {summary.text}")


@outcomes_app.command("list")
def outcomes_list(
    program: Annotated[str | None, typer.Option("--program", help="Only this program (exact name).")] = None,
    measure: Annotated[
        list[str] | None, typer.Option("--measure", help="Only this measure key (repeat for several).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list of values.")] = False,
    as_user: AsOption = None,
) -> None:
    """The stored outcome values the acting user may see, by program, period and measure."""
    from services.outcomes import list_measures, list_values  # start-up time

    with database() as db:
        actor = acting(db, as_user)
        measures = {m.key: m for m in list_measures(db, actor=actor, include_inactive=True)}
        unknown = [f"no outcome measure {key!r}" for key in measure or [] if key not in measures]
        if unknown:
            fail(unknown)
        values = list_values(db, actor=actor, program=program, measures=measure or [])
    if as_json:
        typer.echo(dumps([{**v.as_dict(), "unit": measures[v.measure].unit.value} for v in values]))
        return
    if not values:
        typer.echo("no outcome values")
        return
    for v in values:
        unit = measures[v.measure].unit.value
        typer.echo(f"{v.program}\t{v.period.label}\t{v.measure}\t{v.value:g} {unit}")


@outcomes_app.command("measures")
def outcomes_measures(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list of measures.")] = False,
    as_user: AsOption = None,
) -> None:
    """The measures the agency tracks: key (the import file's column), name, unit, which way is better."""
    from services.outcomes import list_measures  # start-up time

    with database() as db:
        measures = list_measures(db, actor=acting(db, as_user), include_inactive=True)
    if as_json:
        typer.echo(
            dumps(
                [
                    {
                        "key": m.key,
                        "name": m.name,
                        "unit": m.unit.value,
                        "better": m.better.value,
                        "active": m.active,
                    }
                    for m in measures
                ]
            )
        )
        return
    for m in measures:
        typer.echo(f"{m.key}\t{m.label}{'' if m.active else '  (no longer tracked)'}")
