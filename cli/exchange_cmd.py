"""Data exchange commands: `fidelity import`, `fidelity export ...`, `fidelity scales export`,
`fidelity scales from-redcap` and `fidelity review export`.

services.exports and services.historical_import (with pandas, SQLAlchemy and the formats)
are imported inside the commands, so commands that need none of them (such as `fidelity
score`) do not pay for loading them: they take `fidelity --help` from about 0.9 s to 5 s of
imports (`python -X importtime -m cli.main --help`).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import cli_actor, database, fail, refusals
from cli.scales_cmd import catalog
from scales import Scale, ScaleFileError, UnknownScaleError, parse_scale_text
from services.errors import FidelityError

if TYPE_CHECKING:
    import pandas as pd

export_app = typer.Typer(
    help="Export reviews from the database (FIDELITY_DATABASE_URL) as CSV, XLSX or JSON.",
    no_args_is_help=True,
)


class StatusChoice(StrEnum):
    FINAL = "final"
    CONSENSUS = "consensus"
    DRAFT = "draft"
    ALL = "all"


class ScaleFormat(StrEnum):
    REDCAP = "redcap"
    FHIR = "fhir"


class ReviewFormat(StrEnum):
    JSON = "json"
    FHIR_RESPONSE = "fhir-response"


OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="FILE.csv or FILE.xlsx (default: CSV on standard output)."),
]
ScaleFilter = Annotated[str | None, typer.Option("--scale", help="Only reviews on this scale id.")]
ProgramFilter = Annotated[str | None, typer.Option("--program", help="Only this program's reviews.")]
StatusFilter = Annotated[
    StatusChoice, typer.Option("--status", help="Reviews with this status (default: final ones).")
]


# --------------------------------------------------------------------------------------------
# fidelity import
# --------------------------------------------------------------------------------------------


def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Spreadsheets (.csv or .xlsx) in the wide layout: program, date, scale, optional "
            "version, provider, region, type, raters, and one column per item id.",
            metavar="FILE",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check everything and say what would be imported; write nothing."),
    ] = False,
) -> None:
    """Import historical reviews: every row of every file becomes a final review, in one step.

    Every row is checked first; each problem is printed as "row N, column X: message" and
    nothing is imported. Rows imported before are skipped, so importing a file again is safe.
    """
    from services.historical_import import (  # start-up time
        combine_wide,
        import_wide,
        plan_wide,
        read_wide_file,
    )

    frames: list[pd.DataFrame] = []
    problems: list[str] = []
    for path in files:
        try:
            frames.append(read_wide_file(path, label=str(path) if len(files) > 1 else None))
        except FidelityError as exc:
            problems.extend(exc.problems)
    if problems:
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was imported")
        fail(problems)
    frame = combine_wide(frames)
    with database() as db:
        plan = plan_wide(db, frame, actor=cli_actor())
        if plan.problems:
            count = len(plan.problems)
            typer.echo(f"{count} problem{'s' if count != 1 else ''}; nothing was imported")
            fail([str(p) for p in plan.problems])
        for note in plan.notes:
            typer.echo(f"note: {note}")
        new, stored = len(plan.to_create), len(plan.already_stored)
        if dry_run:
            typer.echo(
                f"dry run: would import {new} review{'s' if new != 1 else ''} "
                f"({stored} already imported) and create {len(plan.programs_new)} programs; nothing written"
            )
            return
        with typer.progressbar(length=len(plan.reviews), label=f"Importing {new} reviews") as bar:
            summary = import_wide(
                db,
                frame,
                actor=cli_actor(),
                progress=lambda done, total: bar.update(1),
                source=str(files[0]) if len(files) == 1 else None,
            )
    typer.echo(str(summary))


# --------------------------------------------------------------------------------------------
# fidelity export ...
# --------------------------------------------------------------------------------------------


@export_app.command("reviews")
def export_reviews(
    out: OutOption = None,
    scale: ScaleFilter = None,
    program: ProgramFilter = None,
    status: StatusFilter = StatusChoice.FINAL,
) -> None:
    """One row per review, with its total, band and subscale means.

    Columns: ids, program, provider, region, scale, version, date, type, status, total sum
    and mean, rated/items, band, one column per subscale mean. An .xlsx file also gets a
    sheet "item ratings" with one row per item rating.
    """
    from services.exports import item_ratings_table, reviews_table  # start-up time

    with database() as db:
        filters = _filters(db, scale, program, status)
        sheets = {"reviews": reviews_table(db, **filters)}
        if out is not None and out.suffix.lower() == ".xlsx":
            sheets["item ratings"] = item_ratings_table(db, **filters)
    _write(sheets, out)


@export_app.command("items")
def export_items(
    out: OutOption = None,
    scale: ScaleFilter = None,
    program: ProgramFilter = None,
    status: StatusFilter = StatusChoice.FINAL,
) -> None:
    """One row per item rating, with its evidence and recommendation.

    Columns: review id, program, date, scale, version, item id and name, rating, source,
    evidence, recommendation, and why an item was not rated.
    """
    from services.exports import item_ratings_table  # start-up time

    with database() as db:
        sheets = {"item ratings": item_ratings_table(db, **_filters(db, scale, program, status))}
    _write(sheets, out)


@export_app.command("wide")
def export_wide(
    out: OutOption = None,
    scale: ScaleFilter = None,
    program: ProgramFilter = None,
    status: StatusFilter = StatusChoice.FINAL,
) -> None:
    """One row per review with one column per item: the layout `fidelity import` reads."""
    from services.exports import wide_table  # start-up time

    with database() as db:
        sheets = {"reviews": wide_table(db, **_filters(db, scale, program, status))}
    _write(sheets, out)


@export_app.command("review")
def export_review(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="ID")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="FILE.json (default: standard output).")
    ] = None,
) -> None:
    """A whole review as a review file (JSON) that `fidelity review import` reads back."""
    _export_review(review_id, ReviewFormat.JSON, out)


def _filters(db: object, scale: str | None, program: str | None, status: StatusChoice) -> dict[str, object]:
    from services import reviews as svc  # start-up time

    program_id = None
    if program is not None:
        found = svc.find_program(db, program, actor=cli_actor())  # type: ignore[arg-type]
        if found is None:
            fail([f"no program named {program!r}"])
        program_id = found.id
    return {
        "actor": cli_actor(),
        "scale_id": scale,
        "program_id": program_id,
        "status": None if status is StatusChoice.ALL else status.value,
    }


def _write(sheets: dict[str, pd.DataFrame], out: Path | None) -> None:
    from services.exports import left_out, table_csv, write_tables  # start-up time

    # Reviews the integrity checks left out are named on stderr (the others are exported).
    for message in dict.fromkeys(m for frame in sheets.values() for m in left_out(frame)):
        typer.echo(f"warning: {message}", err=True)
    if out is None:
        typer.echo(table_csv(next(iter(sheets.values()))).decode("utf-8-sig"), nl=False)
        return
    with refusals():
        write_tables(sheets, out)
    rows = len(next(iter(sheets.values())))
    typer.echo(f"wrote {out} ({rows} row{'s' if rows != 1 else ''})")


# --------------------------------------------------------------------------------------------
# fidelity review export, fidelity scales export / from-redcap
# --------------------------------------------------------------------------------------------


def review_export_command(
    review_id: Annotated[int, typer.Argument(help="The review id.", metavar="ID")],
    format: Annotated[
        ReviewFormat,
        typer.Option(
            "--format",
            "-f",
            help="json: a review file that `fidelity review import` reads back; "
            "fhir-response: a FHIR R4 QuestionnaireResponse.",
        ),
    ] = ReviewFormat.JSON,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (default: standard output).")
    ] = None,
) -> None:
    """Export a stored review as a review file (JSON) or a FHIR QuestionnaireResponse."""
    _export_review(review_id, format, out)


def _export_review(review_id: int, format: ReviewFormat, out: Path | None) -> None:
    from services import reviews as svc  # start-up time
    from services.exports import (  # start-up time
        dump_review_json,
        review_export_json,
        review_to_questionnaire_response,
    )

    with database() as db:
        if format is ReviewFormat.JSON:
            text = dump_review_json(review_export_json(db, review_id, actor=cli_actor()))
        else:
            data = svc.review_json(db, review_id, actor=cli_actor())
            scale = db.registry.get(data["scale"], data["version"])
            text = (
                json.dumps(review_to_questionnaire_response(data, scale), indent=2, ensure_ascii=False) + "\n"
            )
    _emit(text, out)


def scales_export_command(
    scale_ref: Annotated[
        str, typer.Argument(help="The scale, as ID@VERSION (e.g. dacts@1.0) or ID for its newest version.")
    ],
    format: Annotated[
        ScaleFormat,
        typer.Option(
            "--format",
            "-f",
            help="redcap: a REDCap data dictionary (CSV); fhir: a FHIR R4 Questionnaire (JSON).",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (default: standard output).")
    ] = None,
) -> None:
    """Write a scale as a REDCap instrument (data dictionary CSV) or a FHIR R4 Questionnaire."""
    from services.exports import scale_to_questionnaire, scale_to_redcap  # start-up time

    scale = _scale(scale_ref)
    if format is ScaleFormat.REDCAP:
        text = scale_to_redcap(scale)
    else:
        text = json.dumps(scale_to_questionnaire(scale), indent=2, ensure_ascii=False) + "\n"
    _emit(text, out)


def scales_from_redcap_command(
    data_dictionary: Annotated[Path, typer.Argument(help="A REDCap data dictionary (CSV).", metavar="FILE")],
    scale_id: Annotated[
        str | None, typer.Option("--id", help="The scale id (default: as the data dictionary says).")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="The version (default: as the data dictionary says).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Scale file to write (default: standard output).")
    ] = None,
) -> None:
    """Read a REDCap data dictionary as a scale file (YAML).

    Computed-item rules are not part of a data dictionary, so every item of the result
    takes an entered rating.
    """
    from services.exports import RedcapError, redcap_to_scale, scale_to_yaml  # start-up time

    try:
        text = data_dictionary.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail([f"{data_dictionary}: cannot read file: {exc.strerror}"])
    except UnicodeDecodeError:
        fail([f"{data_dictionary}: not UTF-8 text"])
    try:
        scale = redcap_to_scale(text, scale_id=scale_id, version=version)
        yaml_text = scale_to_yaml(scale)
        parse_scale_text(yaml_text, str(out or "<scale>"))  # what is written must load as written
    except RedcapError as exc:
        fail([f"{data_dictionary}: {p}" for p in exc.problems])
    except ScaleFileError as exc:
        fail([str(p) for p in exc.problems])
    _emit(yaml_text, out)


def _scale(scale_ref: str) -> Scale:
    scale_id, _, version = scale_ref.partition("@")
    try:
        return catalog().get(scale_id.strip(), version.strip() or None)  # published ones too
    except UnknownScaleError as exc:
        fail([str(exc.args[0] if exc.args else exc)])


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        fail([f"{out}: cannot write: {exc.strerror}"])
    typer.echo(f"wrote {out}")
