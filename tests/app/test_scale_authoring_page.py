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
