"""Issue 21: a review checked out for the field, rated offline in a second installation's own
SQLite database, checked back in; conflicts settled; every refusal changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from exchange.field_package import PackageError, sealed
from services import field_checkout, field_sync
from services import reviews as svc
from services.access import acting_for, local_admin
from services.database import Database
from services.errors import AccessDenied, StaleWriteError, ValidationProblem
from storage.testing import SqliteTemplate
from tests.integration.conftest import REVIEW_DATE
from tests.integration.test_storage_integrity import DACTS

ADMIN = local_admin("admin")
ANA = acting_for(ADMIN, "ana")


@pytest.fixture
def laptop(tmp_path: Path, sqlite_template: SqliteTemplate, open_db: Callable[..., Database]) -> Database:
    """A second installation: its own SQLite database (the laptop's embedded default)."""
    return open_db(sqlite_template.copy(tmp_path / "laptop.db"))


def rate(db: Database, review_id: int, item: str, rating: int, note: str | None = None) -> None:
    svc.save_rating(db, review_id, "ana", item, rating=rating, note=note, actor=ANA)


def ratings(db: Database, review_id: int, rater: str = "ana") -> dict[str, tuple[Any, ...]]:
    """The rater's ratings as stored: item -> (global id, rating, source, note, inputs)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT item_id, global_id, rating, rating_source, note, inputs FROM rater_ratings "
                "WHERE review_id = :r AND rater = :rater"
            ),
            {"r": review_id, "rater": rater},
        ).all()
    # JSON read as text (SQLite) or decoded (PostgreSQL); JSON null as no inputs
    inputs = [json.loads(row[5]) if isinstance(row[5], str) else row[5] for row in rows]
    return {row[0]: (row[1], row[2], row[3], row[4], given) for row, given in zip(rows, inputs, strict=True)}


def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a check-in could change: every rating row, the audit log, the field tables."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM rater_ratings ORDER BY id")).all()
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("audit_log", "field_checkins", "field_conflicts", "consensus_ratings")
        ]
    return tuple(map(tuple, rows)), tuple(counts)


def take_out(db: Database, laptop: Database, review_id: int) -> int:
    """Check the review out for ana and open it on the laptop; the laptop's review id."""
    package = field_checkout.checkout_review(db, review_id, actor=ADMIN, rater_email="ana")
    return field_checkout.open_package(laptop, package.text, actor=local_admin("ana")).review_id


def bring_back(laptop: Database, local_id: int) -> str:
    return field_checkout.export_field_copy(laptop, local_id, actor=local_admin("ana")).text


def test_round_trip_the_server_holds_exactly_the_field_ratings(
    db: Database, laptop: Database, review: svc.ReviewView
) -> None:
    rate(db, review.id, "H3", 3, "before the visit")
    rate(db, review.id, "O1", 4)
    svc.save_rating(db, review.id, "ben", "H3", rating=1, actor=acting_for(ADMIN, "ben"))
    local = take_out(db, laptop, review.id)
    copy = field_checkout.field_copy(laptop, local, actor=ADMIN)
    assert copy is not None and "field copy" in copy.banner and "agency server" in copy.banner
    assert ratings(laptop, local) == ratings(db, review.id)  # the same rows, the same global ids
    assert ratings(laptop, local, "ben") == {}  # only that rater's ratings travel

    # Offline, on the laptop: change one, rate two more (one computed from its inputs).
    svc.save_rating(laptop, local, "ana", "H3", rating=4, note="seen on site", actor=acting_for(ADMIN, "ana"))
    svc.save_rating(laptop, local, "ana", "O2", rating=5, actor=acting_for(ADMIN, "ana"))
    svc.save_rating(
        laptop, local, "ana", "H1", inputs={"clients": 96, "staff_fte": 9.5}, actor=acting_for(ADMIN, "ana")
    )
    result = field_sync.checkin_package(db, bring_back(laptop, local), actor=ADMIN)

    assert sorted(result.merged) == ["H1", "H3", "O2"] and result.conflicts == []
    assert ratings(db, review.id) == ratings(laptop, local)
    assert ratings(db, review.id, "ben")["H3"][1] == 1  # the other rater's ratings untouched
    trail = svc.audit_trail(db, review.id, actor=ADMIN)
    assert ("rating[H3][rater=ana]", "rating", 3, 4) in [
        (a.entity, a.field, a.old_value, a.new_value) for a in trail
    ]
    assert any(a.field == "checked_in" for a in trail)

    # A second export from the same field copy brings only what changed since.
    svc.save_rating(laptop, local, "ana", "O3", rating=2, actor=acting_for(ADMIN, "ana"))
    again = field_sync.checkin_package(db, bring_back(laptop, local), actor=ADMIN)
    assert again.merged == ["O3"] and again.conflicts == []
    assert ratings(db, review.id) == ratings(laptop, local)


def test_an_entry_changed_on_both_sides_is_a_conflict_kept_until_the_reviewer_chooses(
    db: Database, laptop: Database, review: svc.ReviewView, open_db: Callable[..., Database], db_url: str
) -> None:
    rate(db, review.id, "H3", 3)
    rate(db, review.id, "H4", 3)
    local = take_out(db, laptop, review.id)
    rate(db, review.id, "H3", 2, "office: changed after the visit")  # the server changes H3...
    rate(db, review.id, "O2", 1)  # ...and rates O2, which the field rates too
    rate(db, review.id, "H4", 4)  # the same change on both sides: no conflict
    for item, value in (("H3", 4), ("O2", 5), ("H4", 4), ("O1", 3)):
        svc.save_rating(laptop, local, "ana", item, rating=value, actor=acting_for(ADMIN, "ana"))
    before = ratings(db, review.id)

    result = field_sync.checkin_package(db, bring_back(laptop, local), actor=ADMIN)

    assert result.merged == ["O1"]
    assert {(c.item_id, c.server, c.field) for c in result.conflicts} == {
        ("H3", "2; note: office: changed after the visit", "4"),
        ("O2", "1", "5"),
    }
    after = ratings(db, review.id)
    assert {k: after[k] for k in ("H3", "O2", "H4")} == {
        k: before[k] for k in ("H3", "O2", "H4")
    }  # not overwritten
    h3 = next(c for c in result.conflicts if c.item_id == "H3")
    assert h3.server_by == "ana" and h3.field_by == "ana" and "UTC" in h3.server_at and "UTC" in h3.field_at

    reloaded = open_db(db_url)  # the choice survives a reload: the conflicts are stored
    pending = field_sync.pending_conflicts(reloaded, review.id, actor=ADMIN)
    assert {c.item_id for c in pending} == {"H3", "O2"}
    field_sync.settle_conflict(reloaded, h3.id, "field", actor=ANA)
    o2 = next(c for c in pending if c.item_id == "O2")
    field_sync.settle_conflict(reloaded, o2.id, "server", actor=ANA)
    assert field_sync.pending_conflicts(reloaded, review.id, actor=ADMIN) == []
    settled = ratings(db, review.id)
    assert settled["H3"][1:4] == (4, "rated", None) and settled["O2"][1] == 1
    trail = {(a.entity, a.field) for a in svc.audit_trail(db, review.id, actor=ADMIN)}
    assert ("rating[H3][rater=ana]", "field_conflict") in trail
    assert ("rating[O2][rater=ana]", "field_conflict_settled") in trail


def test_settling_a_conflict_after_the_server_changed_again_is_refused(
    db: Database, laptop: Database, review: svc.ReviewView
) -> None:
    rate(db, review.id, "H3", 3)
    local = take_out(db, laptop, review.id)
    rate(db, review.id, "H3", 2)
    svc.save_rating(laptop, local, "ana", "H3", rating=4, actor=acting_for(ADMIN, "ana"))
    (conflict,) = field_sync.checkin_package(db, bring_back(laptop, local), actor=ADMIN).conflicts
    rate(db, review.id, "H3", 1)
    with pytest.raises(StaleWriteError, match="changed again"):
        field_sync.settle_conflict(db, conflict.id, "field", actor=ANA)
    assert ratings(db, review.id)["H3"][1] == 1


def _finalize(db: Database, review_id: int) -> None:
    for item in DACTS:
        svc.save_consensus(db, review_id, item, rating=3, expected_version=0, actor=ADMIN)
    svc.finalize(db, review_id, actor=ADMIN)


def _reseal(package: str, change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(package)
    change(data)
    data.pop("checksum")
    return json.dumps(sealed(data))


REFUSALS = ["finalized", "wrong rater", "renamed rater", "tampered", "other scale", "replayed", "older"]


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_refused_package_says_why_and_changes_nothing(
    kind: str, db: Database, laptop: Database, review: svc.ReviewView
) -> None:
    rate(db, review.id, "H3", 3)
    local = take_out(db, laptop, review.id)
    svc.save_rating(laptop, local, "ana", "H3", rating=4, actor=acting_for(ADMIN, "ana"))
    package, actor = bring_back(laptop, local), ADMIN
    reason = {
        "finalized": "was finalized",
        "wrong rater": "for rater ana",
        "renamed rater": "for rater ana",
        "tampered": "checksum",
        "other scale": "hash",
        "replayed": "already checked in",
        "older": "older",
    }[kind]
    if kind == "finalized":
        _finalize(db, review.id)
    elif kind == "wrong rater":
        actor = acting_for(ADMIN, "ben")  # ben checking in ana's package
    elif kind == "renamed rater":
        package = _reseal(package, lambda d: d["rater"].update(name="ben"))
    elif kind == "tampered":
        package = package.replace('"rating": 4', '"rating": 5')
    elif kind == "other scale":
        package = _reseal(package, lambda d: d["scale"].update(hash="sha256:" + "0" * 64))
    elif kind == "replayed":
        field_sync.checkin_package(db, package, actor=ADMIN)
    elif kind == "older":
        svc.save_rating(laptop, local, "ana", "H4", rating=2, actor=acting_for(ADMIN, "ana"))
        field_sync.checkin_package(db, bring_back(laptop, local), actor=ADMIN)  # export 2 first
    before = snapshot(db)
    with pytest.raises(PackageError, match=reason):
        field_sync.checkin_package(db, package, actor=actor)
    assert snapshot(db) == before


def test_a_package_for_a_scale_this_laptop_does_not_have_is_not_opened(
    db: Database, laptop: Database, review: svc.ReviewView
) -> None:
    package = field_checkout.checkout_review(db, review.id, actor=ADMIN, rater_email="ana").text
    other = _reseal(package, lambda d: d["scale"].update(hash="sha256:" + "1" * 64))
    with pytest.raises(PackageError, match="install the agency's scale file"):
        field_checkout.open_package(laptop, other, actor=ADMIN)
    assert snapshot(laptop)[0] == ()


def test_only_a_rater_on_the_review_is_checked_out(db: Database, review: svc.ReviewView) -> None:
    with pytest.raises(ValidationProblem, match="not a rater on review"):
        field_checkout.checkout_review(db, review.id, actor=ADMIN, rater_email="cy@agency.org")


def test_a_signed_in_reviewer_checks_out_only_a_review_they_are_assigned_to_as_themselves(
    db: Database, program: svc.ProgramView
) -> None:
    from services import users  # only this test signs anyone in

    for email in ("ana@agency.org", "cy@agency.org"):
        users.add_user(db, email, role="reviewer", actor=ADMIN)
    review = svc.start_review(
        db,
        program.id,
        "dacts",
        "1.0",
        REVIEW_DATE,
        "baseline",
        ["ana@agency.org", "ben"],
        actor=ADMIN,
        reviewers=["ana@agency.org"],
    )
    ana = users.actor_for_email(db, "ana@agency.org")
    cy = users.actor_for_email(db, "cy@agency.org")
    assert ana is not None and cy is not None
    package = json.loads(field_checkout.checkout_review(db, review.id, actor=ana).text)
    assert package["rater"]["name"] == "ana@agency.org" and package["rater"]["user_global_id"]
    with pytest.raises(AccessDenied):
        field_checkout.checkout_review(db, review.id, actor=cy)  # not assigned
    with pytest.raises(AccessDenied):
        field_checkout.checkout_review(
            db, review.id, actor=ana, rater_email="ben"
        )  # only admins name a rater
