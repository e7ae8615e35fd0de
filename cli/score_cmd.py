"""`fidelity score`: score one review file, with no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import fail, format_score, registry
from services.review_file import ReviewFileError, read_review_file


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
