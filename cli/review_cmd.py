"""`fidelity review ...`: store review files in the database and show stored reviews.

The database services are imported inside the commands (SQLAlchemy takes a second to load),
so `fidelity --help` and `fidelity score` do not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import cli_actor, database, dumps, fail, format_score
from services.review_file import ReviewFileError, read_review_file

review_app = typer.Typer(help="Reviews stored in the database (FIDELITY_DATABASE_URL).", no_args_is_help=True)


@review_app.command("import")
def review_import(
    review_file: Annotated[Path, typer.Argument(help="A review file (YAML or JSON).")],
    program: Annotated[
        str | None,
        typer.Option(help="The program (team) it reviews; created if absent. Default: the file's program."),
    ] = None,
    review_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="baseline, follow-up or self-assessment. Default: the file's type, else baseline "
            "for a program's first review and follow-up after that.",
        ),
    ] = None,
) -> None:
    """Store a review file as a final consensus review. Importing the same file again changes nothing."""
    from services.review_import import import_review_file  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        try:
            parsed = read_review_file(review_file, db.registry)
        except ReviewFileError as exc:
            fail(exc.problems)
        result = import_review_file(
            db, parsed, actor=cli_actor(), program=program, review_type=review_type, source=str(review_file)
        )
    review = result.review
    score = review.final_score or {}
    if not result.created:
        where = f"{review.program.name}, {review.review_date}"
        typer.echo(f"already imported as review {review.id} ({where}); nothing changed")
        return
    if result.program_created:
        typer.echo(f"created program {review.program.id}: {review.program.name}")
    mean = score.get("total", {}).get("mean")
    typer.echo(
        f"imported review {review.id}: {review.program.name}, {review.scale_id} {review.scale_version}, "
        f"{review.review_date}, {review.review_type}{' (inferred)' if result.review_type_inferred else ''}, "
        f"{review.status}; mean {'-' if mean is None else f'{mean:.2f}'}, "
        f"band {score.get('band') or 'not determined'}"
    )


@review_app.command("show")
def review_show(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="ID")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the shape of `score --json`, plus ids).")
    ] = False,
) -> None:
    """Show a stored review and its score."""
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        data = svc.review_json(db, review_id, actor=cli_actor())
        score = svc.live_score(db, review_id, actor=cli_actor()) if not as_json else None
        registry = db.registry
    if as_json:
        typer.echo(dumps(data))
        return
    amendment = (
        f", amendment {data['amendment_number']} of review {data['amendment_of']}"
        if data["amendment_of"]
        else ""
    )
    lines = [
        f"Review {data['review_id']}: {data['program']} (program {data['program_id']}), "
        f"{data['review_date']}, {data['review_type']}, {data['status']}{amendment}",
    ]
    if data["amended_by"]:
        lines.append(f"Amended by review {data['amended_by']}")
    if data["raters"]:
        lines.append(f"Raters: {', '.join(data['raters'])}")
    assert score is not None
    typer.echo("\n".join([*lines, "", format_score(score, registry)]))


@review_app.command("list")
def review_list(
    program: Annotated[str | None, typer.Option(help="Only this program's reviews.")] = None,
    status: Annotated[str | None, typer.Option(help="draft, consensus or final.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List stored reviews, newest first."""
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        program_id = None
        if program is not None:
            found = svc.find_program(db, program, actor=cli_actor())
            if found is None:
                fail([f"no program named {program!r}"])
            program_id = found.id
        summaries = svc.list_reviews(db, actor=cli_actor(), program_id=program_id, status=status)
    if as_json:
        typer.echo(dumps([s.__dict__ for s in summaries]))
        return
    if not summaries:
        typer.echo("no reviews")
    for s in summaries:
        mean = "-" if s.total_mean is None else f"{s.total_mean:.2f}"
        typer.echo(
            f"{s.id:>4}  {s.review_date}  {s.program:<32} {s.scale_id} {s.scale_version:<5} {s.status:<9} "
            f"mean {mean:<5} {s.band or s.problem or ''}".rstrip()
        )


@review_app.command("assign")
def review_assign(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="REVIEW_ID")],
    email: Annotated[str, typer.Argument(help="The reviewer's e-mail address.")],
) -> None:
    """Assign a registered reviewer to a review: they may then rate, agree and finalize it."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        reviewers = users.assign_reviewer(db, review_id, email, actor=cli_actor())
    typer.echo(f"review {review_id}: reviewers {', '.join(reviewers)}")


@review_app.command("unassign")
def review_unassign(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="REVIEW_ID")],
    email: Annotated[str, typer.Argument(help="The reviewer's e-mail address.")],
) -> None:
    """Take a reviewer off a review (what they entered stays)."""
    from services import users  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        reviewers = users.unassign_reviewer(db, review_id, email, actor=cli_actor())
    typer.echo(f"review {review_id}: reviewers {', '.join(reviewers) or 'none'}")
