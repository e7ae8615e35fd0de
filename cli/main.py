"""The `fidelity` command (DESIGN.md section 5).

Exit status: 0 success, 2 invalid input (one line per problem on stderr), 1 internal error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cli.db_cmd import db_app, programs_app
from cli.demo_cmd import demo_command
from cli.exchange_cmd import (
    export_app,
    import_command,
    review_export_command,
    scales_export_command,
    scales_from_redcap_command,
)
from cli.report_cmd import report
from cli.review_cmd import review_app
from cli.users_cmd import users_app
from scales import ScaleFileError, ScaleRegistry, load_scale_file
from scales.loader import scale_files
from scoring import ReviewScore
from services.review_file import ReviewFileError, read_review_file
from services.settings import get_registry

EXIT_INVALID = 2
EXIT_INTERNAL = 1

app = typer.Typer(
    help="ebp-fidelity: fidelity reviews of ACT and IDDT teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scales_app = typer.Typer(help="Scale definitions.", no_args_is_help=True)
app.add_typer(scales_app, name="scales")
app.add_typer(db_app, name="db")
app.add_typer(programs_app, name="programs")
app.add_typer(review_app, name="review")
app.add_typer(users_app, name="users")
app.command("report")(report)
app.command("demo")(demo_command)
app.command("import")(import_command)
app.add_typer(export_app, name="export")
scales_app.command("export")(scales_export_command)
scales_app.command("from-redcap")(scales_from_redcap_command)
review_app.command("export")(review_export_command)


def fail(problems: list[str], code: int = EXIT_INVALID) -> NoReturn:
    for problem in problems:
        typer.echo(problem, err=True)
    raise typer.Exit(code)


def registry() -> ScaleRegistry:
    return get_registry()


@scales_app.command("list")
def scales_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the bundled scales and those in FIDELITY_SCALES_DIRS."""
    reg = registry()
    rows = [
        {
            "id": s.id,
            "version": s.version,
            "title": s.title,
            "items": len(s.items),
            "content_hash": s.content_hash,
            "path": reg.paths[(s.id, s.version)],
        }
        for s in reg.all()
    ]
    for problem in reg.problems:
        typer.echo(f"warning: {problem}", err=True)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']:<10} {row['version']:<8} {row['items']:>3} items  {row['title']}")


@scales_app.command("validate")
def scales_validate(
    paths: Annotated[list[Path], typer.Argument(help="Scale files or folders of them.")],
) -> None:
    """Check scale files; each problem is printed as PATH:LINE: message."""
    problems: list[str] = []
    seen = ScaleRegistry()
    for path in paths:
        files = scale_files(path) if path.is_dir() else [path]
        if path.is_dir() and not files:
            problems.append(f"{path}:0: no .yaml scale files in this folder")
        for file in files:
            try:
                scale = load_scale_file(file)
            except ScaleFileError as exc:
                problems.extend(str(p) for p in exc.problems)
                continue
            before = len(seen.problems)
            seen.add(scale, str(file))
            if len(seen.problems) > before:
                problems.extend(str(p) for p in seen.problems[before:])
            else:
                typer.echo(f"{file}: ok ({scale.id} {scale.version}, {len(scale.items)} items)")
    if problems:
        fail(problems)


@app.command("score")
def score(
    review_file: Annotated[Path, typer.Argument(help="A review file (YAML or JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score one review file, with no database."""
    try:
        review = read_review_file(review_file, registry())
    except ReviewFileError as exc:
        fail(exc.problems)
    if as_json:
        typer.echo(json.dumps(review.score.to_dict(), indent=2))
    else:
        typer.echo(format_score(review.score, registry()))


def format_score(result: ReviewScore, reg: ScaleRegistry) -> str:
    scale = reg.get(result.scale_id, result.version)
    lines = [f"{scale.title} ({scale.id} {scale.version})", ""]
    for item in scale.items:
        s = result.items[item.id]
        rating = "-" if s.rating is None else str(s.rating)
        working = ""
        if s.computation is not None:
            c = s.computation
            working = f"  {c.value.normalize():f} -> {c.rounded} {c.unit}"
        lines.append(f"{item.id:<5} {item.name[:48]:<48} {rating:>2}  {s.source}{working}")
    lines.append("")
    for sub in result.subscales.values():
        mean = "-" if sub.mean is None else f"{float(sub.mean):.2f}"
        lines.append(f"{sub.id:<5} {sub.name[:48]:<48} mean {mean}  ({sub.rated}/{sub.items} rated)")
    total = result.total
    mean = "-" if total.mean is None else f"{float(total.mean):.2f}"
    complete = "" if total.complete else "  (incomplete)"
    lines.append(f"Total: sum {total.sum}, mean {mean}, {total.rated}/{total.items} rated{complete}")
    lines.append(f"Band: {result.band or 'not determined'}")
    if result.missing:
        lines.append(f"Missing: {', '.join(result.missing)}")
    if result.action_plan:
        lines.append(f"Action plan (items at or below the threshold): {', '.join(result.action_plan)}")
    return "\n".join(lines)


def main() -> None:
    try:
        app()
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # an internal error: say so in one line, exit 1
        if os.environ.get("FIDELITY_DEBUG"):
            raise
        print(f"fidelity: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
