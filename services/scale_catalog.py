"""The one catalogue of scales every service reads: the bundled scales (and FIDELITY_SCALES_DIRS)
plus the scale versions agency admins published in the database (`authored_scales`).

`Database.registry` is a `CatalogRegistry`: a copy of the file registry to which the published
rows are added when the database is opened, again when a lookup by id and version misses (a
scale another process published since), and when `refresh_published` is called (the review
start picker does, so a scale published a moment ago is offered at once). Drafts are never
added: only a published version can be rated.

A published row's definition is the resolved scale as JSON, fixed when it was published; it is
loaded only if it still hashes to the stored content hash (a row edited outside the application
is reported as a problem, like a broken scale file, and not loaded).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from scales import Scale, ScaleProblem, ScaleRegistry, UnknownScaleError
from storage.models import AuthoredScale

__all__ = ["CatalogRegistry", "add_published", "database_path", "no_database_at", "published_scale"]

PUBLISHED = "published"


@dataclass
class CatalogRegistry(ScaleRegistry):
    """A ScaleRegistry that looks in the database again when a scale version is not found."""

    refresher: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    published: set[tuple[str, str]] = field(default_factory=set, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def copy_of(cls, base: ScaleRegistry) -> CatalogRegistry:
        return cls(scales=dict(base.scales), paths=dict(base.paths), problems=list(base.problems))

    def get(self, scale_id: str, version: str | None = None) -> Scale:
        try:
            return super().get(scale_id, version)
        except UnknownScaleError:
            if self.refresher is None:
                raise
            self.refresher()
            return super().get(scale_id, version)

    def is_published(self, scale_id: str, version: str) -> bool:
        """Whether this version was published in the database (not a bundled file)."""
        return (scale_id, version) in self.published


def no_database_at(url: str) -> bool:
    """Whether `url` is a SQLite file that does not exist (listing scales does not create it)."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        return False  # opening it says what is wrong
    if parsed.get_backend_name() != "sqlite":
        return False
    name = parsed.database
    return not name or name == ":memory:" or not Path(name).is_file()


def database_path(row: AuthoredScale) -> str:
    """Where a published scale comes from, as `fidelity scales list` and the pages show it."""
    when = f"{row.published_at:%Y-%m-%d}" if row.published_at else "?"
    return f"database (published by {row.published_by} on {when})"


def published_scale(row: AuthoredScale) -> Scale:
    """The scale of a published row; ValueError when its definition no longer matches its hash."""
    try:
        scale = Scale.model_validate(json.loads(row.definition or "null"))
    except (ValueError, ValidationError) as exc:
        raise ValueError(f"its stored definition cannot be read ({type(exc).__name__})") from None
    if scale.content_hash != row.content_hash:
        raise ValueError(
            f"its stored definition hashes to {scale.content_hash}, not the {row.content_hash} it "
            "was published with (changed outside the application)"
        )
    return scale


def add_published(registry: CatalogRegistry, s: Session) -> int:
    """Add the published rows not yet in `registry`; returns how many were added. A database
    without the table yet (not migrated) adds none."""
    published = AuthoredScale.status == PUBLISHED
    try:
        # The keys first (asked on every review start picker's run): definitions only of new ones.
        keys = s.execute(
            select(AuthoredScale.id, AuthoredScale.scale_id, AuthoredScale.version).where(published)
        )
        new_ids = [
            row_id for row_id, scale_id, version in keys if (scale_id, version) not in registry.published
        ]
        rows = (
            list(
                s.scalars(
                    select(AuthoredScale).where(AuthoredScale.id.in_(new_ids)).order_by(AuthoredScale.id)
                )
            )
            if new_ids
            else []
        )
    except (sa_exc.OperationalError, sa_exc.ProgrammingError):
        return 0
    added = 0
    with registry.lock:
        scales, paths, problems = dict(registry.scales), dict(registry.paths), list(registry.problems)
        for row in rows:
            key = (row.scale_id, row.version)
            if key in registry.published:
                continue
            path = database_path(row)
            try:
                scale = published_scale(row)
            except ValueError as exc:
                problem = ScaleProblem(path, 0, f"scale {row.scale_id} {row.version} is not loaded: {exc}")
                if problem not in problems:
                    problems.append(problem)
                continue
            if key in scales and scales[key].content_hash != scale.content_hash:
                problems.append(
                    ScaleProblem(
                        path,
                        0,
                        f"scale {row.scale_id} version {row.version} is also a scale file "
                        f"({paths[key]}) with different content; the file's is used",
                    )
                )
                continue
            scales.setdefault(key, scale)
            paths.setdefault(key, path)
            registry.published.add(key)
            added += 1
        # Swapped whole: a page iterating the old dicts in another thread is not disturbed.
        registry.scales, registry.paths, registry.problems = scales, paths, problems
    return added
