"""The `fidelity` command (DESIGN.md section 5): the typer app and its sub-apps, wired here; the
commands live in cli/*_cmd.py and what they share in cli/common.py.

Exit status: 0 success, 2 invalid input (one line per problem on stderr), 1 internal error.
"""

from __future__ import annotations

import os
import sys

import typer

from cli.common import EXIT_INTERNAL
from cli.db_cmd import db_app, programs_app
from cli.demo_cmd import demo_command
from cli.exchange_cmd import (
    export_app,
    import_command,
    review_export_command,
    scales_export_command,
    scales_from_redcap_command,
)
from cli.field_cmd import field_app
from cli.outcomes_cmd import outcomes_app
from cli.plans_cmd import plans_app
from cli.report_cmd import report
from cli.review_cmd import review_app
from cli.scales_cmd import scales_app, scales_list, scales_publish, scales_validate
from cli.score_cmd import score
from cli.users_cmd import users_app

app = typer.Typer(
    help="ebp-fidelity: fidelity reviews of ACT and IDDT teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# `--help` lists commands in the order they are registered here: keep it (the CLI is a contract).
app.command("report")(report)
app.command("demo")(demo_command)
app.command("import")(import_command)
app.command("score")(score)
app.add_typer(scales_app, name="scales")
app.add_typer(db_app, name="db")
app.add_typer(programs_app, name="programs")
app.add_typer(review_app, name="review")
app.add_typer(users_app, name="users")
app.add_typer(export_app, name="export")
app.add_typer(field_app, name="field")
app.add_typer(plans_app, name="plans")
app.add_typer(outcomes_app, name="outcomes")
scales_app.command("export")(scales_export_command)
scales_app.command("from-redcap")(scales_from_redcap_command)
scales_app.command("list")(scales_list)
scales_app.command("validate")(scales_validate)
scales_app.command("publish")(scales_publish)
review_app.command("export")(review_export_command)


def main() -> None:
    """The console script: run the app; an internal error is one line on stderr and exit 1."""
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
