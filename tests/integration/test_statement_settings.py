"""A read's PostgreSQL settings (services.analytics_query.run_statement's postgres_settings, what
the all-programs scores query runs with) hold for that statement alone: the pooled connection
goes back with the server's defaults, so no other read inherits them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, literal, select

from services.analytics_query import run_unpinged
from services.database import Database

SETTINGS = (("jit", "off"), ("max_parallel_workers_per_gather", "0"))


@pytest.mark.parametrize("backend", ["postgresql"])
def test_settings_hold_for_their_statement_alone(db: Database) -> None:
    shown = select(func.current_setting("jit"), func.current_setting("max_parallel_workers_per_gather"))
    before = run_unpinged(db, shown, {})
    assert before is not None and before[0] != ("off", "0")  # the test would prove nothing otherwise
    for _ in range(3):  # the same pooled connection again and again
        assert run_unpinged(db, shown, {}, postgres_settings=SETTINGS) == [("off", "0")]
        assert run_unpinged(db, shown, {}) == before


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_ignores_them(db: Database) -> None:
    assert run_unpinged(db, select(literal(1)), {}, postgres_settings=SETTINGS) == [(1,)]
