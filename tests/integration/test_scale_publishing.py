"""Scale authoring in the database (services.scale_library), on SQLite and PostgreSQL: drafts are
stored as typed and audited, publishing fixes a version, and a published version cannot change:
the service refuses, and the database refuses raw SQL too (migration 0008's triggers)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from exchange.redcap import scale_to_redcap
from scales import ScaleRegistry, parse_scale_text
from services import scale_library as lib
from services.access import Actor, Role, local_admin
from services.database import Database
from services.errors import AccessDenied, PublishedScaleError, StaleWriteError, ValidationProblem
from storage.models import AuditEntry

ADMIN = local_admin("ana")


def goi_copy(db: Database, scale_id: str = "goi-local", version: str = "1.0") -> str:
    return lib.copy_scale_text(db.registry.get("goi", "1.0"), scale_id, version)


@pytest.fixture
def published(db: Database) -> lib.AuthoredScaleView:
    draft = lib.new_draft(db, goi_copy(db), origin="copy of goi@1.0", actor=ADMIN)
    return lib.publish_draft(db, draft.id, actor=ADMIN)


def test_a_published_version_cannot_be_changed_by_the_service(
    db: Database, published: lib.AuthoredScaleView
) -> None:
    assert published.status == "published"
    assert published.content_hash == db.registry.get("goi-local", "1.0").content_hash
    changed = published.source_text.replace("title:", "title: Changed", 1)
    with pytest.raises(PublishedScaleError, match=r"goi-local 1\.0 is published and cannot be changed"):
        lib.save_draft(db, published.id, changed, expected_revision=published.revision, actor=ADMIN)
    with pytest.raises(PublishedScaleError):
        lib.publish_draft(db, published.id, actor=ADMIN)
    assert lib.get_authored(db, published.id, actor=ADMIN) == published


RAW_CHANGES = [
    "UPDATE authored_scales SET title = 'rewritten' WHERE id = :id",
    "UPDATE authored_scales SET status = 'draft' WHERE id = :id",
    "UPDATE authored_scales SET definition = '{}' WHERE id = :id",
    "DELETE FROM authored_scales WHERE id = :id",
]


def test_the_database_refuses_raw_changes_to_a_published_version(
    db: Database, published: lib.AuthoredScaleView
) -> None:
    for statement in RAW_CHANGES:
        with (
            pytest.raises(DBAPIError, match="a published scale version cannot be changed"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(statement), {"id": published.id})
    if db.dialect == "postgresql":  # TRUNCATE skips row triggers
        with pytest.raises(DBAPIError, match="cannot be truncated"), db.engine.begin() as conn:
            conn.execute(text("TRUNCATE authored_scales"))
    # Through the service's own transaction the trigger's refusal is the domain's error.
    with pytest.raises(PublishedScaleError), db.writing() as s:
        s.execute(text("UPDATE authored_scales SET title = 'x' WHERE id = :id"), {"id": published.id})
    assert lib.get_authored(db, published.id, actor=ADMIN) == published


def test_a_draft_may_change_and_be_deleted_in_the_database(db: Database) -> None:
    draft = lib.new_draft(db, goi_copy(db), origin="test", actor=ADMIN)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE authored_scales SET title = 'edited' WHERE id = :id"), {"id": draft.id})
        conn.execute(text("DELETE FROM authored_scales WHERE id = :id"), {"id": draft.id})


def test_drafts_keep_their_problems_and_are_audited(db: Database) -> None:
    draft = lib.new_draft(db, goi_copy(db), origin="copy of goi@1.0", actor=ADMIN)
    broken = re.sub(r"method: \w+", "method: median", draft.source_text, count=1)
    saved = lib.save_draft(db, draft.id, broken, expected_revision=draft.revision, actor=ADMIN)
    assert saved.source_text == broken and saved.revision == draft.revision + 1  # kept, not lost
    assert saved.scale is None
    assert len(saved.problems) == 1
    assert saved.problems[0].startswith("draft goi-local 1.0:")
    assert "scoring.method: must be one of" in saved.problems[0]
    with pytest.raises(ValidationProblem, match="cannot be published until its problems are fixed"):
        lib.publish_draft(db, draft.id, actor=ADMIN)
    with pytest.raises(StaleWriteError, match="was saved by ana since you loaded it"):
        lib.save_draft(db, draft.id, draft.source_text, expected_revision=draft.revision, actor=ADMIN)
    with db.reading() as s:
        fields = list(s.scalars(select(AuditEntry.field).where(AuditEntry.entity == "scale")))
    assert fields == ["goi-local 1.0 draft", "goi-local 1.0 draft text"]


def test_drafts_are_not_loaded_and_published_versions_are_found_by_another_process(db: Database) -> None:
    draft = lib.new_draft(db, goi_copy(db), origin="test", actor=ADMIN)
    other = Database(db.url, registry=db.registry)  # as the app's server process has it, opened before
    try:
        assert ("goi-local", "1.0") not in other.registry.scales
        assert "goi-local" not in {s.id for s in lib.available_scales(db)}
        lib.publish_draft(db, draft.id, actor=ADMIN)
        # The other process finds it when it looks it up (a miss reads the database again).
        found = other.registry.get("goi-local", "1.0")
        assert found.content_hash == db.registry.get("goi-local", "1.0").content_hash
        assert other.registry.paths[("goi-local", "1.0")].startswith("database (published by ana on ")
    finally:
        other.dispose()


def test_a_draft_may_not_take_a_bundled_or_used_id_and_version(
    db: Database, published: lib.AuthoredScaleView
) -> None:
    with pytest.raises(ValidationProblem, match=r"goi 1\.0 is a bundled scale version"):
        lib.new_draft(db, goi_copy(db, "goi", "1.0"), origin="test", actor=ADMIN)
    with pytest.raises(ValidationProblem, match=r"goi-local 1.0 is already published \(authored scale"):
        lib.new_draft(db, goi_copy(db), origin="test", actor=ADMIN)
    with pytest.raises(ValidationProblem, match="a draft needs an id"):
        lib.new_draft(db, "title: no id\n", origin="test", actor=ADMIN)
    new_version = lib.new_draft(db, goi_copy(db, "goi-local", "2.0"), origin="test", actor=ADMIN)
    assert new_version.problems == ()


def test_only_agency_admins_author(db: Database) -> None:
    reviewer = Actor(name="rita@example.org", role=Role.REVIEWER)
    with pytest.raises(AccessDenied, match="may not author, import or publish scales"):
        lib.new_draft(db, goi_copy(db), origin="test", actor=reviewer)
    with pytest.raises(AccessDenied):
        lib.list_authored(db, actor=reviewer)


def without_annotations(dictionary: str) -> str:
    """The dictionary as another tool writes it: no ebp-fidelity tags in the Field Annotation."""
    rows = list(csv.reader(io.StringIO(dictionary)))
    column = rows[0].index("Field Annotation")
    out = io.StringIO()
    csv.writer(out).writerows([*rows[:1], *([*r[:column], "", *r[column + 1 :]] for r in rows[1:])])
    return out.getvalue()


def test_a_redcap_data_dictionary_imports_as_a_draft(db: Database) -> None:
    goi = db.registry.get("goi", "1.0")
    dictionary = scale_to_redcap(parse_scale_text(goi_copy(db, "goi-redcap")))
    draft = lib.draft_from_redcap(db, dictionary, "goi.csv", actor=ADMIN)
    assert (draft.status, draft.origin) == ("draft", "REDCap dictionary goi.csv")
    assert draft.problems == () and draft.scale is not None
    assert draft.scale.item_ids == goi.item_ids
    assert [i.anchors for i in draft.scale.items] == [i.anchors for i in goi.items]
    assert "goi-redcap" not in {s.id for s in lib.available_scales(db)}  # a draft: not offered

    # A dictionary that does not name its scale needs an id and version, else it is refused.
    foreign = without_annotations(scale_to_redcap(goi))
    with pytest.raises(ValidationProblem, match=r"other\.csv: "):
        lib.draft_from_redcap(db, foreign, "other.csv", actor=ADMIN)
    named = lib.draft_from_redcap(db, foreign, "other.csv", scale_id="agency-goi", version="1", actor=ADMIN)
    assert named.scale is not None and len(named.scale.items) == len(goi.items)


def test_a_scale_yaml_file_imports_as_a_draft_problems_and_all(db: Database) -> None:
    raw = goi_copy(db, "goi-file").replace("items:", "itemz:", 1).encode()
    draft = lib.draft_from_yaml(db, raw, "goi-file.yaml", actor=ADMIN)
    assert draft.origin == "YAML file goi-file.yaml"
    assert any("unknown key 'itemz'" in p for p in draft.problems)
    with pytest.raises(ValidationProblem, match="not UTF-8"):
        lib.draft_from_yaml(db, b"\xff\xfe", "bad.yaml", actor=ADMIN)


def test_a_published_definition_edited_outside_the_application_is_not_loaded(
    db: Database, published: lib.AuthoredScaleView, registry: ScaleRegistry
) -> None:
    lift = (
        "DROP TRIGGER trg_authored_scales_published_update"
        if db.dialect == "sqlite"
        else "ALTER TABLE authored_scales DISABLE TRIGGER trg_authored_scales_published"
    )
    definition = json.loads(db.registry.get("goi-local", "1.0").model_dump_json())
    definition["title"] = "Tampered"
    with db.engine.begin() as conn:
        conn.execute(text(lift))
        conn.execute(
            text("UPDATE authored_scales SET definition = :d WHERE id = :id"),
            {"d": json.dumps(definition), "id": published.id},
        )
    fresh = Database(db.url, registry=registry)
    try:
        assert ("goi-local", "1.0") not in fresh.registry.scales
        (problem,) = [p for p in fresh.registry.problems if "goi-local" in p.message]
        assert "changed outside the application" in problem.message
    finally:
        fresh.dispose()
