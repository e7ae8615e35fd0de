"""The Scales page's authoring mode, run headless with AppTest on a fresh SQLite file: an agency
admin copies a scale, edits it in the forms (the loader's messages after each save), previews
and publishes it, and a review is started on the published version from the Reviews page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services import reviews as svc
from services import scale_library as lib
from services.access import local_admin
from services.database import Database, open_database

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("FIDELITY_DATABASE_URL", url)
    return url


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = open_database(url)
    yield database
    database.dispose()


def authoring(url: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/scales.py").run()
    at.radio(key="scales_mode").set_value("Author and publish").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements: object) -> list[str]:
    """The elements' texts, without the backslashes that escape Markdown (goi\\@1.0)."""
    return [str(e.value).replace("\\", "") for e in elements]  # type: ignore[attr-defined]


def test_copy_edit_preview_publish_then_start_a_review_on_it(url: str, db: Database) -> None:
    at = authoring(url)
    # Copy GOI to a new scale of our own.
    copy_form = at.get("selectbox")
    base = next(s for s in copy_form if s.label == "Scale to copy")
    base.set_value("goi@1.0")
    next(t for t in at.text_input if t.label == "New scale id").input("goi-local")
    next(t for t in at.text_input if t.label == "New version").input("1.0")
    submit(at, "Create draft from copy")
    assert any("Draft goi-local 1.0 created from a copy of goi@1.0." in t for t in texts(at.success)), (
        texts(at.success),
        texts(at.error),
        [s.value for s in at.selectbox],
    )
    (draft,) = lib.list_authored(db, actor=local_admin())
    assert (draft.status, draft.origin, draft.problems) == ("draft", "copy of goi@1.0", ())

    # A bad edit is saved (nothing lost) and the loader's message names the line and field.
    next(t for t in at.text_input if t.label == "Title").input("")
    submit(at, "Save scale details")
    errors = texts(at.error)
    assert any("draft goi-local 1.0:" in e and "title: must not be empty" in e for e in errors), errors
    assert lib.get_authored(db, draft.id, actor=local_admin()).problems

    # Fixed: no problems, the preview shows it as the Scales page does.
    next(t for t in at.text_input if t.label == "Title").input("GOI as our agency uses it")
    submit(at, "Save scale details")
    assert "The scale loader accepts this draft: it can be previewed and published." in texts(at.success)
    assert "GOI as our agency uses it" in texts(at.title)  # the Preview tab

    # Publish (after ticking the box): a published version is read-only from then on.
    next(c for c in at.checkbox if c.label.startswith("Publish goi-local 1.0")).check()
    submit(at, "Publish")
    assert any(t.startswith("Published goi-local 1.0 (sha256:") for t in texts(at.success))
    published = lib.get_authored(db, draft.id, actor=local_admin())
    assert published.status == "published"
    assert any("never changes" in t for t in texts(at.info))
    assert not [b for b in at.button if b.label in ("Save scale details", "Publish")]

    # The Reviews page offers it (the app's own database found it) and a review starts on it.
    program = svc.create_program(db, "Riverside ACT Team", model="ACT", actor=local_admin("admin"))
    at.switch_page("app_pages/reviews.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="reviews_start_program").set_value(program.id).run()
    assert "GOI as our agency uses it" in at.selectbox(key="reviews_start_scale").options  # titles
    at.selectbox(key="reviews_start_scale").set_value("goi-local").run()
    assert at.selectbox(key="reviews_start_version").options == ["1.0"]
    at.text_input(key="reviews_start_rater_1").input("Ana")
    at.button(key="reviews_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (summary,) = svc.list_reviews(db, actor=local_admin())
    assert (summary.scale_id, summary.scale_version) == ("goi-local", "1.0")
    review = svc.get_review(db, summary.id, actor=local_admin())
    assert review.scale_hash == published.content_hash


def test_drafts_are_not_offered_to_new_reviews(url: str, db: Database) -> None:
    text = lib.copy_scale_text(db.registry.get("goi"), "goi-draft", "1.0")
    lib.new_draft(db, text, origin="test", actor=local_admin())
    svc.create_program(db, "Riverside ACT Team", model="ACT", actor=local_admin("admin"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/reviews.py").run()
    assert not at.exception
    titles = at.selectbox(key="reviews_start_scale").options
    assert len(titles) == 10 and not any("draft" in t.lower() for t in titles)


def test_a_reviewer_sees_no_authoring_mode(url: str, db: Database) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("app_pages/scales.py").run()
    assert [r.label for r in at.radio if r.key == "scales_mode"] == ["Mode"]  # the local admin
    with pytest.raises(Exception, match="Not allowed"):
        from services.access import Actor, Role

        lib.list_authored(db, actor=Actor(name="rita", role=Role.REVIEWER))


# ---- a published scale on every page ------------------------------------------------------------


def publish_goi_versions(db: Database) -> None:
    """goi-local 1.0 (a copy of GOI) and 2.0, whose G1 is renamed G1R and says it replaces G1."""
    admin = local_admin("admin")
    for version in ("1.0", "2.0"):
        text = lib.copy_scale_text(db.registry.get("goi", "1.0"), "goi-local", version)
        if version == "2.0":
            text = text.replace("- id: G1\n", "- id: G1R\n  replaces: G1\n", 1)
            text = text.replace("- G1\n", "- G1R\n", 1)
        draft = lib.new_draft(db, text, origin="test", actor=admin)
        assert draft.problems == (), draft.problems
        lib.publish_draft(db, draft.id, actor=admin)


def final_review(db: Database, program_id: int, version: str, day: str, ratings: dict[str, int]) -> int:
    import datetime as dt

    admin = local_admin("admin")
    review = svc.start_review(
        db, program_id, "goi-local", version, dt.date.fromisoformat(day), "baseline", ["Ana"], actor=admin
    )
    for item_id, rating in ratings.items():
        svc.save_consensus(db, review.id, item_id, rating=rating, expected_version=0, actor=admin)
    return svc.finalize(db, review.id, actor=admin).id


def test_reviews_on_a_published_scale_open_on_every_page(url: str, db: Database) -> None:
    from services.access import acting_for

    publish_goi_versions(db)
    program = svc.create_program(db, "Harbor Team", provider="Harbor", actor=local_admin("admin"))
    v1 = db.registry.get("goi-local", "1.0")
    v2 = db.registry.get("goi-local", "2.0")
    final_review(db, program.id, "1.0", "2025-03-01", dict.fromkeys(v1.item_ids, 4))
    latest = final_review(db, program.id, "2.0", "2026-03-01", dict.fromkeys(v2.item_ids, 4) | {"G1R": 2})
    draft = svc.start_review(
        db,
        program.id,
        "goi-local",
        "2.0",
        __import__("datetime").date(2026, 6, 1),
        "follow-up",
        ["Ana"],
        actor=local_admin("admin"),
    )
    svc.save_rating(db, draft.id, "Ana", "G2", rating=3, actor=acting_for(local_admin("admin"), "Ana"))

    at = AppTest.from_file(APP, default_timeout=60).run()
    for page, review_id in (("rate", draft.id), ("results", latest)):
        at.query_params["review"] = str(review_id)
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
    results = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.title) + texts(at.subheader))
    assert "goi-local" in results or "General Organizational Index" in results

    at.query_params.clear()
    at.query_params["program"] = str(program.id)
    at.switch_page("app_pages/drift.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.startswith("Mapped items:") for c in texts(at.caption))
    mapped = next(df.value for df in at.dataframe if "maps to" in df.value.columns)
    assert mapped.to_dict("records") == [
        {
            "item": f"G1R {v2.item('G1R').name}",
            "in": "goi-local@2.0",
            "maps to": f"G1 {v1.item('G1').name}",
            "of": "goi-local@1.0",
        }
    ]
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
