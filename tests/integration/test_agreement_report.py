"""A review's agreement between its raters: the service, the Consensus box's figures and the PDF's
method note."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from reports.pdf import render_report
from services import reviews as svc
from services.access import acting_for, local_admin
from services.agreement import review_rater_agreement
from services.database import Database, open_database
from services.errors import AccessDenied
from services.report_data import from_stored_review

RATERS = ("R. One", "R. Two")


@pytest.fixture
def db() -> Any:
    database = open_database()  # FIDELITY_DATABASE_URL: a temporary SQLite file (tests/conftest.py)
    yield database
    database.dispose()


def rated_review(db: Database, ratings_b: dict[str, int], *, count: int = 28, submit: bool = True) -> int:
    """A DACTS review whose first rater rates `count` items 4 (H1 and then in scale order), the
    second the same except `ratings_b`; both submit (the consensus opens), unless not `submit`."""
    program = svc.create_program(db, "Agreement Team", actor=local_admin(), model="ACT")
    review = svc.start_review(
        db, program.id, "dacts", "1.0", dt.date(2026, 3, 14), "follow-up", list(RATERS), actor=local_admin()
    )
    items = db.registry.get("dacts", "1.0").item_ids[:count]
    for rater in RATERS:
        as_rater = acting_for(local_admin(), rater)
        for item_id in items:
            rating = ratings_b.get(item_id, 4) if rater == RATERS[1] else 4
            svc.save_rating(db, review.id, rater, item_id, actor=as_rater, rating=rating)
        if submit:
            svc.submit_ratings(db, review.id, rater, actor=as_rater)
    return review.id


def test_no_agreement_before_both_raters_submit(db: Database) -> None:
    """Raters rate blind: comparing them is the consensus' first step, not before."""
    review_id = rated_review(db, {"H2": 5}, submit=False)
    with pytest.raises(AccessDenied, match="compared once every rater has submitted"):
        review_rater_agreement(db, review_id, actor=local_admin())
    assert from_stored_review(db, review_id, actor=local_admin()).agreement is None


def test_the_method_note_gives_exact_within_one_and_weighted_kappa(db: Database) -> None:
    # 28 items, rater two differs by one on H2 and H3 (5) and by two on S1 (2). Rater one rates
    # every item 4, so kappa is 0 (rater one's ratings carry no information beyond chance) —
    # and defined, since rater two's ratings vary.
    review_id = rated_review(db, {"H2": 5, "H3": 5, "S1": 2})
    result = review_rater_agreement(db, review_id, actor=local_admin())
    assert result is not None
    assert (result.counts.compared, result.counts.exact, result.counts.within_one) == (28, 25, 27)
    assert result.kappa.value == pytest.approx(0.0)
    text = " ".join(
        page.extract_text()
        for page in PdfReader(
            BytesIO(render_report(from_stored_review(db, review_id, actor=local_admin())))
        ).pages
    )
    flat = " ".join(text.split())
    assert "Inter-rater agreement before consensus (R. One and R. Two" in flat
    assert "25 of 28 items rated alike (89% exact agreement), 96% within one point" in flat
    assert "Cohen's weighted kappa 0.00 (linear weights)" in flat


def test_identical_ratings_say_kappa_is_undefined_never_nan(db: Database) -> None:
    review_id = rated_review(db, {}, count=5)
    result = review_rater_agreement(db, review_id, actor=local_admin())
    assert result is not None and result.kappa.value is None
    assert "undefined: every rating is the same" in result.summary()
    data = from_stored_review(db, review_id, actor=local_admin())
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(render_report(data))).pages).split())
    assert "weighted kappa undefined: every rating is the same" in text and "kappa nan" not in text.lower()


def test_a_review_without_the_raters_own_ratings_has_no_agreement_note(db: Database) -> None:
    review_id = rated_review(db, {}, count=0)
    assert from_stored_review(db, review_id, actor=local_admin()).agreement is None
    data = from_stored_review(db, review_id, actor=local_admin())
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(render_report(data))).pages)
    assert "Inter-rater agreement" not in text
