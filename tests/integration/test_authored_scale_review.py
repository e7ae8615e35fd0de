"""Issue 19's "done when", as one chain on SQLite and PostgreSQL: an agency admin authors a new
scale (no file: a blank draft edited and saved, as the Scales page's forms do) and publishes it;
a signed-in reviewer starts reviews on it, rates, agrees and finalizes; and its results, PDF,
exports and drift work as DACTS's do, also in another process that never saw it published."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import yaml
from pypdf import PdfReader

from domain.vocabulary import Role
from scales import ScaleRegistry
from scoring.analytics import drift
from services import reviews as svc
from services import scale_library as lib
from services import users
from services.access import LOCAL_ADMIN, Actor
from services.analytics_data import finalized_ratings
from services.database import Database
from services.exports import item_ratings_table, review_export_json, reviews_table, wide_table
from services.report_data import stored_review_pdf
from services.review_file import parse_review_data

ADMIN = LOCAL_ADMIN


def author_and_publish(db: Database) -> lib.AuthoredScaleView:
    draft = lib.new_draft(
        db, lib.blank_scale_text("peer-check", "1.0", "Peer check"), origin="new", actor=ADMIN
    )
    data = yaml.safe_load(draft.source_text)
    data["subscales"] = [
        {"id": "A", "name": "Team", "items": ["A1", "A2"]},
        {"id": "B", "name": "Services", "items": ["B1"]},
    ]
    anchors = {r: f"Level {r}" for r in range(1, 6)}
    data["items"] = [
        {"id": i, "name": f"Item {i}", "subscale": i[0], "definition": f"About {i}", "anchors": anchors}
        for i in ("A1", "A2", "B1")
    ]
    data["scoring"]["bands"] = [
        {"label": "Low", "max": 2.99},
        {"label": "Middle", "min": 3.0, "max": 3.99},
        {"label": "High", "min": 4.0},
    ]
    saved = lib.save_draft(
        db, draft.id, lib.dump_scale_data(data), expected_revision=draft.revision, actor=ADMIN
    )
    assert saved.problems == ()
    return lib.publish_draft(db, draft.id, actor=ADMIN)


def run_review(db: Database, reviewer: Actor, program_id: int, day: dt.date, ratings: dict[str, int]) -> int:
    review = svc.start_review(db, program_id, "peer-check", "1.0", day, "baseline", ["rita"], actor=reviewer)
    for item_id, rating in ratings.items():
        svc.save_rating(db, review.id, "rita", item_id, rating=rating, note=f"seen {item_id}", actor=reviewer)
    svc.submit_ratings(db, review.id, "rita", actor=reviewer)
    for item_id, rating in ratings.items():
        svc.save_consensus(db, review.id, item_id, rating=rating, expected_version=0, actor=reviewer)
    return svc.finalize(db, review.id, actor=reviewer).id


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(BytesIO(pdf)).pages)


def test_a_scale_authored_and_published_in_the_app_works_like_dacts(
    db: Database, registry: ScaleRegistry
) -> None:
    published = author_and_publish(db)
    program = svc.create_program(db, "Harbor Peer Team", provider="Harbor", actor=ADMIN)
    users.add_user(db, "rita@agency.org", name="rita", role=Role.REVIEWER, actor=ADMIN)
    rita = users.actor_for_email(db, "rita@agency.org")
    assert rita is not None

    first = run_review(db, rita, program.id, dt.date(2026, 1, 10), {"A1": 4, "A2": 4, "B1": 4})
    second = run_review(db, rita, program.id, dt.date(2026, 7, 10), {"A1": 4, "A2": 2, "B1": 3})

    # Results: the score as the Results page and `fidelity review show --json` give it.
    scored = svc.review_json(db, second, actor=rita)
    assert (scored["scale"], scored["version"]) == ("peer-check", "1.0")
    assert scored["total"]["mean"] == 3.0 and scored["band"] == "Middle"
    assert svc.get_review(db, second, actor=rita).scale_hash == published.content_hash

    # Exports: the tables and one review's JSON.
    table = reviews_table(db, actor=ADMIN, scale_id="peer-check")
    assert table["review_id"].tolist() == [first, second]
    assert table["band"].tolist() == ["High", "Middle"]
    items = item_ratings_table(db, actor=ADMIN, scale_id="peer-check")
    assert len(items) == 6 and set(items["item_id"]) == {"A1", "A2", "B1"}
    wide = wide_table(db, actor=ADMIN, scale_id="peer-check")
    assert wide[["A1", "A2", "B1"]].values.tolist() == [[4, 4, 4], [4, 2, 3]]
    exported = review_export_json(db, second, actor=ADMIN)
    assert (exported["scale"], exported["version"]) == ("peer-check", "1.0")
    assert {k: v["rating"] for k, v in exported["items"].items()} == {"A1": 4, "A2": 2, "B1": 3}
    round_trip = parse_review_data(exported, db.registry)  # the review file reads back on the scale
    assert round_trip.score.band == "Middle"

    # Drift: the second review against the first.
    ratings = finalized_ratings(db, actor=ADMIN, scale_id="peer-check")
    report = drift(ratings, db.registry, program.id, scale_id="peer-check")
    assert (report.review_id, report.previous_review_id) == (second, first)
    falls = dict(zip(report.falls["item_id"], report.falls["change"], strict=True))
    assert falls == {"A2": -2, "B1": -1}

    # The PDF, made by another process that opened the database before knowing the scale.
    other = Database(db.url, registry=registry)
    try:
        assert other.registry.scales.get(("peer-check", "1.0")) is not None  # loaded when opened
        text = pdf_text(stored_review_pdf(other, second, actor=ADMIN))
    finally:
        other.dispose()
    assert "Peer check" in text and "Harbor Peer Team" in text and "Middle" in text
