"""`fidelity scales list`, `fidelity scales validate` and `fidelity scales publish`: the scale
definitions. `list` adds the versions published in the database when there is one (it does not
create one); `publish` stores a scale file in it as a published, never-changing version.

The commands are registered on `scales_app` in cli/main.py, after `export` and `from-redcap`
(cli/exchange_cmd.py), which keeps the order `fidelity scales --help` has always shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import acting, database, fail, registry
from scales import ScaleFileError, ScaleRegistry, load_scale_file
from scales.derived import is_derived
from scales.loader import load_yaml_data, scale_files
from services.settings import get_settings

scales_app = typer.Typer(help="Scale definitions.", no_args_is_help=True)


def scales_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the bundled scales, those in FIDELITY_SCALES_DIRS and those published in the database."""
    reg = catalog()
    rows = [
        {
            "id": s.id,
            "version": s.version,
            "title": s.title,
            "items": len(s.items),
            "content_hash": s.content_hash,
            "path": reg.paths[(s.id, s.version)],
            "derived_from": s.derived_from,
            "unverified_items": s.unverified_items,
        }
        for s in reg.all()
    ]
    for problem in reg.problems:
        typer.echo(f"warning: {problem}", err=True)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        unverified = row["unverified_items"]
        flag = f"  [{len(unverified)} item(s) unverified]" if unverified else ""
        published = "  [published in the database]" if str(row["path"]).startswith("database") else ""
        line = f"{row['id']:<14} {row['version']:<8} {row['items']:>3} items  {row['title']}{flag}{published}"
        typer.echo(line)


def catalog() -> ScaleRegistry:
    """The scale files, plus the database's published versions when a database exists: a
    SQLite file that is not there is not created just to list scales."""
    from services.scale_catalog import no_database_at  # not at the top: start-up time (SQLAlchemy)

    if no_database_at(get_settings().database_url):
        return registry()
    with database() as db:
        db.refresh_published()
        return db.registry


def scales_publish(
    file: Annotated[Path, typer.Argument(help="The scale file (YAML) to publish.")],
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Publish as this registered user (the access policy: agency admins only)."),
    ] = None,
) -> None:
    """Publish a scale file in the database: from then on it never changes, and new reviews may
    use it. Problems are printed as PATH:LINE: field: message; agency admins only."""
    from services.scale_library import publish_file  # not at the top: start-up time

    with database() as db:
        actor = acting(db, as_user)
        try:
            published = publish_file(db, file, actor=actor)
        except ScaleFileError as exc:
            fail([str(p) for p in exc.problems])
    typer.echo(
        f"published {published.scale_id} {published.version} ({published.title}), "
        f"content {published.content_hash}"
    )


def scales_validate(
    paths: Annotated[list[Path], typer.Argument(help="Scale files or folders of them.")],
) -> None:
    """Check scale files; each problem is printed as PATH:LINE: message."""
    problems: list[str] = []
    seen = ScaleRegistry()
    known = registry()  # the bases a derived file may name, with the files checked before it
    files: list[Path] = []
    for path in paths:
        found = scale_files(path) if path.is_dir() else [path]
        if path.is_dir() and not found:
            problems.append(f"{path}:0: no .yaml scale files in this folder")
        files += found
    # Derived scales after the others, so a variant is checked against a base given with it.
    for file in sorted(files, key=_is_derived_file):
        problems.extend(_validate_file(file, seen, known))
    if problems:
        fail(problems)


def _is_derived_file(file: Path) -> bool:
    try:
        return is_derived(load_yaml_data(file.read_bytes(), str(file)))
    except (OSError, ScaleFileError):
        return False  # reported when the file itself is checked


def _validate_file(file: Path, seen: ScaleRegistry, known: ScaleRegistry) -> list[str]:
    """One scale file's problems (also a clash with a scale seen before); prints "ok" if none."""
    try:
        scale = load_scale_file(file, ScaleRegistry(scales={**known.scales, **seen.scales}))
    except ScaleFileError as exc:
        return [str(p) for p in exc.problems]
    before = len(seen.problems)
    seen.add(scale, str(file))
    if len(seen.problems) > before:
        return [str(p) for p in seen.problems[before:]]
    typer.echo(f"{file}: ok ({scale.id} {scale.version}, {len(scale.items)} items)")
    return []
