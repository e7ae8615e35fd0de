"""`fidelity demo`: fill an empty database (FIDELITY_DATABASE_URL) with a synthetic demo agency.

The service layer is imported inside the command, so `fidelity score` does not pay for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import cli_actor, database

DEFAULT_SEED = 2026  # services.demo.DEFAULT_SEED, repeated to keep this module light


def demo_command(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Add the demo to a database that already has programs (never twice: a database that "
            "already holds the demo programs is refused).",
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic data: the same seed, the same data.")
    ] = DEFAULT_SEED,
) -> None:
    """Fill an empty database with a clearly labelled synthetic agency: 3 providers, 12 programs,
    five years of DACTS and IDDT reviews, with improving, stable and drifting programs."""
    # not at the top: start-up time (loads SQLAlchemy)
    from services.access import local_admin
    from services.demo import build_demo

    with database() as db:
        summary = build_demo(
            db, seed=seed, force=force, actor=local_admin(f"{cli_actor().name} (fidelity demo)")
        )
    for line in summary.lines():
        typer.echo(line)
