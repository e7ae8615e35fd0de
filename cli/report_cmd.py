"""`fidelity report`: the PDF report of a review file, of a stored review, or of every final review.

fpdf2 loads only when a report is made (services/report_data.py), so other commands such as
`fidelity score` do not pay for loading it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cli.common import cli_actor, database, fail
from services import reviews as svc
from services.errors import FidelityError
from services.report_data import (
    from_stored_review,
    load_final_ratings,
    report_pdf,
    review_file_pdf,
    safe_filename,
)
from services.review_file import ReviewFileError, read_review_file
from services.settings import get_registry


def report(
    review_file: Annotated[
        Path | None, typer.Argument(help="A review file (YAML or JSON).", show_default=False)
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The PDF file to write.")] = None,
    review: Annotated[
        int | None, typer.Option("--review", metavar="ID", help="A review stored in the database.")
    ] = None,
    all_final: Annotated[
        bool,
        typer.Option(
            "--all-final",
            help="Every final review in the database (not those a final amendment replaces), into --out-dir.",
        ),
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", help="The folder for --all-final (created if absent).")
    ] = None,
    charts: Annotated[
        bool, typer.Option("--charts/--no-charts", help="Draw the charts (the slow part).")
    ] = True,
) -> None:
    """Write the PDF report of a review.

    \b
      fidelity report REVIEW_FILE --out report.pdf   a review file (no database)
      fidelity report --review ID --out report.pdf   a review stored in the database
      fidelity report --all-final --out-dir DIR      every current final review, one file each
    """
    if (review_file is not None) + (review is not None) + all_final != 1:
        fail(["give one of REVIEW_FILE, --review ID or --all-final (see fidelity report --help)"])
    if all_final:
        if out is not None:
            fail(["--all-final writes one file per review: give --out-dir DIR, not --out"])
        if out_dir is None:
            fail(["--all-final needs --out-dir DIR, the folder to write the reports into"])
        _all_final(out_dir, charts)
        return
    if out_dir is not None:
        fail(["--out-dir goes with --all-final; for one report give --out FILE.pdf"])
    if out is None:
        fail(["missing --out FILE.pdf: where to write the report"])
    _check_out(out)
    if review_file is not None:
        _from_file(review_file, out, charts)
    else:
        assert review is not None
        _from_database(review, out, charts)


def _check_out(out: Path) -> None:
    if out.is_dir():
        fail([f"{out}: is a folder; give the PDF file to write, e.g. {out / 'report.pdf'}"])
    if not out.parent.is_dir():
        fail([f"{out}: the folder {out.parent} does not exist"])


def _write(path: Path, pdf: bytes) -> None:
    try:
        path.write_bytes(pdf)
    except OSError as exc:
        fail([f"{path}: cannot write the report: {exc.strerror or exc}"])


def _from_file(review_file: Path, out: Path, charts: bool) -> None:
    try:
        parsed = read_review_file(review_file, get_registry())
    except ReviewFileError as exc:
        fail(exc.problems)
    _write(out, review_file_pdf(parsed, source=f"review file {review_file.name}", charts=charts))
    typer.echo(f"wrote {out}")


def _from_database(review_id: int, out: Path, charts: bool) -> None:
    with database() as db:
        data = from_stored_review(db, review_id, actor=cli_actor(), drift=charts)
    _write(out, report_pdf(data, charts=charts))
    draft = " (DRAFT: the review is not final)" if data.is_draft else ""
    typer.echo(f"wrote {out}{draft}")


def _all_final(out_dir: Path, charts: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        fail([f"{out_dir}: is a file, not a folder"])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail([f"{out_dir}: cannot create the folder: {exc.strerror or exc}"])

    problems: list[str] = []
    written = 0
    started = time.perf_counter()
    with database() as db:
        finals = svc.list_reviews(db, actor=cli_actor(), status="final")
        final_ids = {r.id for r in finals}
        # A final amendment replaces the review it corrects: only the amendment is reported.
        current = [r for r in finals if r.amended_by not in final_ids]
        current.sort(key=lambda r: (r.program.casefold(), r.review_date, r.id))
        if not current:
            typer.echo("no final reviews: nothing to write")
            return
        ratings = load_final_ratings(db, actor=cli_actor()) if charts else None
        with typer.progressbar(current, label="Writing reports", show_pos=True) as bar:
            for summary in bar:
                if summary.problem:
                    problems.append(f"review {summary.id}: {summary.problem}")
                    continue
                try:
                    data = from_stored_review(
                        db, summary.id, actor=cli_actor(), final_ratings=ratings, drift=charts
                    )
                except FidelityError as exc:
                    problems.extend(f"review {summary.id}: {p}" for p in exc.problems)
                    continue
                path = out_dir / safe_filename(summary.program, summary.review_date, review_id=summary.id)
                try:
                    path.write_bytes(report_pdf(data, charts=charts))
                except OSError as exc:
                    problems.append(f"{path}: cannot write the report: {exc.strerror or exc}")
                    continue
                written += 1
    seconds = time.perf_counter() - started
    typer.echo(f"wrote {written} report(s) to {out_dir} in {seconds:.1f} s")
    if problems:
        fail(problems)
