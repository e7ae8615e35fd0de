"""A program and a draft review on the test's database (`db`, from tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from services import reviews as svc
from services.access import local_admin
from services.database import Database

REVIEW_DATE = dt.date(2026, 3, 14)


@pytest.fixture
def program(db: Database) -> svc.ProgramView:
    return svc.create_program(
        db,
        "Riverside ACT Team",
        provider="Riverside Health",
        region="North",
        model="ACT",
        actor=local_admin("admin"),
    )


@pytest.fixture
def review(db: Database, program: svc.ProgramView) -> svc.ReviewView:
    """A draft DACTS 1.0 review with two raters, ana and ben."""
    return svc.start_review(
        db, program.id, "dacts", "1.0", REVIEW_DATE, "baseline", ["ana", "ben"], actor=local_admin("lead")
    )
