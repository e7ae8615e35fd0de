"""What every benchmark of one database gets: the target, the project's Database, the scales,
the data's size, and a cache for what several benchmarks read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.targets import Target, dbapi_connect
from scales import ScaleRegistry
from services.database import Database


@dataclass
class Context:
    """What every benchmark of one database gets."""

    target: Target
    db: Database
    registry: ScaleRegistry
    programs: int
    reviews_per_program: int
    seed: int
    rounds: int  # interleaved rounds for the fast benchmarks
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.target.dialect

    def placeholder(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    @contextmanager
    def raw(self) -> Iterator[Any]:
        """A plain driver connection (the floors' only tool)."""
        conn = dbapi_connect(self.target.url)
        try:
            yield conn
        finally:
            conn.close()
