"""`fidelity review ...`: store review files in the database and show stored reviews.

The database services are imported inside the commands (SQLAlchemy takes a second to load),
so `fidelity --help` and `fidelity score` do not pay for them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.common import acting, cli_actor, database, dumps, fail, format_score
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
        bool,
        typer.Option(
            "--json", help="Print JSON (the shape of `score --json`, plus ids and each rater's ratings)."
        ),
    ] = False,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as", help="Show it as this registered user sees it (blind rating: whose ratings show)."
        ),
    ] = None,
) -> None:
    """Show a stored review and its score."""
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)

    with database() as db:
        actor = acting(db, as_user)
        data = svc.review_json(db, review_id, actor=actor)
        score = svc.live_score(db, review_id, actor=actor) if not as_json else None
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


@review_app.command("start")
def review_start(
    program: Annotated[str, typer.Option(help="The program (team) reviewed: its exact name.")],
    scale: Annotated[
        str, typer.Option(help="The scale id, e.g. dacts (add :VERSION for another than the newest).")
    ],
    date: Annotated[str, typer.Option(help="The review date, YYYY-MM-DD.")],
    rater: Annotated[list[str], typer.Option("--rater", help="A rater (e-mail address); repeat for each.")],
    review_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="baseline, follow-up or self-assessment. Default: baseline for the "
            "program's first review, follow-up after that.",
        ),
    ] = None,
) -> None:
    """Start a draft review (as the app's Programs page does); prints its id."""
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)

    try:
        review_date = dt.date.fromisoformat(date)
    except ValueError:
        fail([f"--date: {date!r} is not a date (YYYY-MM-DD)"])
    scale_id, _, version = scale.partition(":")
    actor = cli_actor()
    with database() as db:
        found = svc.find_program(db, program, actor=actor)
        if found is None:
            fail([f"no program named {program!r}"])
        kind = review_type or (
            "follow-up" if svc.count_reviews(db, actor=actor, program_id=found.id) else "baseline"
        )
        view = svc.start_review(
            db, found.id, scale_id, version or None, review_date, kind, rater, actor=actor
        )
    typer.echo(view.id)


def _input_pairs(values: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs as the inputs of a computed item (numbers as numbers)."""
    inputs: dict[str, object] = {}
    problems = []
    for pair in values:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            problems.append(f"--input {pair!r}: expected NAME=VALUE")
            continue
        number: object = value.strip()
        for kind in (int, float):
            try:
                number = kind(value)
                break
            except ValueError:
                continue
        inputs[name.strip()] = number
    if problems:
        fail(problems)
    return inputs


@review_app.command("rate")
def review_rate(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="REVIEW_ID")],
    rater: Annotated[str, typer.Option("--rater", help="The rater whose rating this is.")],
    item: Annotated[str, typer.Option("--item", help="The item id, e.g. H1.")],
    rating: Annotated[int | None, typer.Option("--rating", help="The rating (a rated item).")] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", help="NAME=VALUE, a computed item's input; repeat for each."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="The rater's note.")] = None,
) -> None:
    """Save one rater's rating of one item, through the same checks as the app's Rate page."""
    from services import reviews as svc  # not at the top: start-up time (loads SQLAlchemy)
    from services.access import acting_for  # start-up time, as above

    UNSET = svc.UNSET
    if (rating is None) == (not inputs):
        fail(["give either --rating N or --input NAME=VALUE (one or more)"])
    given = _input_pairs(inputs) if inputs else UNSET
    with database() as db:
        view = svc.save_rating(
            db,
            review_id,
            rater,
            item,
            actor=acting_for(cli_actor(), rater),
            rating=UNSET if rating is None else rating,
            inputs=given,
            note=UNSET if note is None else note,
        )
    shown = "-" if view.rating is None else str(view.rating)
    pending = f" ({view.pending})" if view.pending else ""
    typer.echo(
        f"review {review_id}: {view.rater} rated {view.item_id} {shown}{pending} (version {view.version})"
    )
