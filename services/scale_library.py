"""Scale authoring: drafts an agency admin writes, copies or imports, and publishing them.

A draft is the scale file's YAML text, stored as it is typed (so nothing is lost on a reload),
checked by the scale loader itself (`check_text`: the same `PATH:LINE: field: message` lines
`fidelity scales validate` prints). Publishing a draft that the loader accepts fixes its resolved
definition and content hash in the database; from then on the row never changes (this module
refuses, and so do migration 0008's triggers) and the version is offered to new reviews with the
bundled scales (services.scale_catalog). Every change is audited (entity "scale").

Only agency admins author (Action.AUTHOR_SCALES); `fidelity scales publish FILE` is the same
publishing from the command line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from exchange.redcap import RedcapError
from exchange.redcap_dictionary import redcap_to_scale
from scales import Scale, ScaleFileError, parse_scale_text
from scales.loader import MAX_FILE_BYTES, load_yaml_data
from services.access import Action, Actor
from services.audit import AuditLog
from services.database import Database
from services.errors import NotFound, PublishedScaleError, StaleWriteError, ValidationProblem
from services.rows import actor_name
from storage.models import AuthoredScale

__all__ = [
    "AuthoredScaleView",
    "available_scales",
    "blank_scale_text",
    "check_text",
    "copy_scale_text",
    "draft_from_redcap",
    "draft_from_yaml",
    "dump_scale_data",
    "get_authored",
    "list_authored",
    "new_draft",
    "publish_draft",
    "publish_file",
    "save_draft",
    "scale_text",
]

DRAFT, PUBLISHED = "draft", "published"
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$")


@dataclass(frozen=True)
class AuthoredScaleView:
    """A stored draft or published scale version, with what the loader says of its text."""

    id: int
    scale_id: str
    version: str
    status: str
    title: str
    origin: str
    source_text: str
    content_hash: str | None
    revision: int
    updated_at: dt.datetime
    updated_by: str
    published_at: dt.datetime | None
    published_by: str | None
    scale: Scale | None  # the scale the text makes, None while it has problems
    problems: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.scale_id}@{self.version}"

    @property
    def is_published(self) -> bool:
        return self.status == PUBLISHED


# ---- the text of a scale ------------------------------------------------------------------------


class _NoAliases(yaml.SafeDumper):
    """Scale files refuse YAML aliases, so text written here never makes them (PyYAML writes an
    alias for an object that appears twice, e.g. the same anchors given to two items)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_scale_data(data: Any) -> str:
    """A scale's data (a mapping) as the YAML text of a draft, keys in their given order."""
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)


def check_text(db: Database, text: str, where: str = "draft") -> tuple[Scale | None, list[str]]:
    """The scale `text` makes and the loader's problems with it (one `where:LINE: ...` line each);
    a derived scale's base is looked up among the loaded and published scales."""
    try:
        return parse_scale_text(text, where, db.registry), []
    except ScaleFileError as exc:
        return None, [str(p) for p in exc.problems]


def scale_text(scale: Scale, *, scale_id: str | None = None, version: str | None = None) -> str:
    """A loaded scale as the YAML text of a draft (a derived scale resolved in full)."""
    data = scale.model_dump(mode="json", exclude_none=True)
    data["id"] = scale_id or scale.id
    data["version"] = version or scale.version
    for item in data["items"]:
        item["anchors"] = {int(k): v for k, v in item["anchors"].items()}
    return dump_scale_data(data)


def copy_scale_text(scale: Scale, scale_id: str, version: str) -> str:
    """A copy of `scale` under a new id or version: the start of a new scale or a new version."""
    header = f"# Copied from {scale.key} ({scale.content_hash[:19]}…)\n"
    return header + scale_text(scale, scale_id=scale_id, version=version)


def blank_scale_text(scale_id: str, version: str, title: str) -> str:
    """The smallest scale the loader accepts: one subscale, one item, two bands to edit."""
    data: dict[str, Any] = {
        "id": scale_id,
        "version": version,
        "title": title,
        "source": "Agency-authored scale (not a published instrument): say who wrote it and when.",
        "rating": {"min": 1, "max": 5},
        "subscales": [{"id": "A", "name": "First subscale", "items": ["A1"]}],
        "items": [
            {
                "id": "A1",
                "name": "First item",
                "subscale": "A",
                "definition": "What the reviewer looks at.",
                "anchors": {r: f"What earns a {r}" for r in range(1, 6)},
            }
        ],
        "scoring": {
            "method": "mean_of_items",
            "precision": 2,
            "bands": [
                {"label": "Not yet implemented", "max": 2.99},
                {"label": "Implemented", "min": 3.0},
            ],
        },
    }
    return dump_scale_data(data)


def _key_of(text: str) -> tuple[str, str] | None:
    """(id, version) the text names, when it can be read that far; None otherwise."""
    try:
        data = load_yaml_data(text, "draft")
    except ScaleFileError:
        return None
    if not isinstance(data, dict):
        return None
    scale_id, version = data.get("id"), data.get("version")
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    readable = isinstance(scale_id, str) and isinstance(version, str)
    if readable and _KEY.match(str(scale_id)) and _VERSION.match(str(version)):
        return str(scale_id), str(version)
    return None


def _title_of(text: str, fallback: str) -> str:
    try:
        data = load_yaml_data(text, "draft")
    except ScaleFileError:
        return fallback
    title = data.get("title") if isinstance(data, dict) else None
    return title.strip()[:500] if isinstance(title, str) and title.strip() else fallback


# ---- reading --------------------------------------------------------------------------------------


def _view(db: Database, row: AuthoredScale) -> AuthoredScaleView:
    if row.status == PUBLISHED:
        scale: Scale | None = db.registry.scales.get((row.scale_id, row.version))
        problems: list[str] = []
    else:
        scale, problems = check_text(db, row.source_text, f"draft {row.scale_id} {row.version}")
    return AuthoredScaleView(
        id=row.id,
        scale_id=row.scale_id,
        version=row.version,
        status=row.status,
        title=row.title,
        origin=row.origin,
        source_text=row.source_text,
        content_hash=row.content_hash,
        revision=row.revision,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        published_at=row.published_at,
        published_by=row.published_by,
        scale=scale,
        problems=tuple(problems),
    )


def list_authored(db: Database, *, actor: Actor) -> list[AuthoredScaleView]:
    """Every draft and published scale version written in the app, newest change first."""
    actor_name(actor, Action.AUTHOR_SCALES)
    db.refresh_published()
    with db.reading() as s:
        rows = s.scalars(select(AuthoredScale).order_by(AuthoredScale.updated_at.desc(), AuthoredScale.id))
        return [_view(db, row) for row in rows]


def get_authored(db: Database, authored_id: int, *, actor: Actor) -> AuthoredScaleView:
    actor_name(actor, Action.AUTHOR_SCALES)
    with db.reading() as s:
        return _view(db, _load(s, authored_id))


def available_scales(db: Database) -> list[Scale]:
    """The scales a new review may be started on: bundled and published, never drafts."""
    db.refresh_published()
    return db.registry.all()


def _load(s: Session, authored_id: int) -> AuthoredScale:
    row = s.get(AuthoredScale, authored_id)
    if row is None:
        raise NotFound(f"no authored scale {authored_id}")
    return row


# ---- writing --------------------------------------------------------------------------------------


def _refuse_taken(db: Database, s: Session, key: tuple[str, str], other_than: int | None = None) -> None:
    scale_id, version = key
    if key in db.registry.scales and not db.registry.is_published(scale_id, version):
        raise ValidationProblem(
            f"{scale_id} {version} is a bundled scale version ({db.registry.paths[key]}); "
            "give the draft another id or version"
        )
    found = s.scalar(
        select(AuthoredScale).where(AuthoredScale.scale_id == scale_id, AuthoredScale.version == version)
    )
    if found is not None and found.id != other_than:
        what = "published" if found.status == PUBLISHED else "a draft"
        raise ValidationProblem(
            f"{scale_id} {version} is already {what} (authored scale {found.id}); "
            "give this one another id or version"
        )


def new_draft(db: Database, text: str, *, origin: str, actor: Actor) -> AuthoredScaleView:
    """Store `text` as a new draft. It may still have problems, but must name its id and version."""
    name = actor_name(actor, Action.AUTHOR_SCALES)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ValidationProblem(f"the scale text is larger than {MAX_FILE_BYTES:,} bytes")
    key = _key_of(text)
    if key is None:
        raise ValidationProblem(
            "a draft needs an id (a letter, then letters, digits, '.', '_' or '-') and a version "
            "at the top of its text"
        )
    db.refresh_published()
    now = dt.datetime.now(dt.UTC)
    with db.writing() as s:
        _refuse_taken(db, s, key)
        row = AuthoredScale(
            scale_id=key[0],
            version=key[1],
            status=DRAFT,
            title=_title_of(text, key[0]),
            origin=origin[:200],
            source_text=text,
            revision=1,
            created_at=now,
            created_by=name,
            updated_at=now,
            updated_by=name,
        )
        s.add(row)
        s.flush()
        log = AuditLog(s, name, at=now)
        log("scale", f"{key[0]} {key[1]} draft", None, {"origin": row.origin, "text": text})
        authored_id = row.id
    return get_authored(db, authored_id, actor=actor)


def save_draft(
    db: Database, authored_id: int, text: str, *, expected_revision: int, actor: Actor
) -> AuthoredScaleView:
    """Save a draft's new text (problems and all: they are shown, not lost). A text whose id and
    version cannot be read keeps the draft's; a published version is refused."""
    name = actor_name(actor, Action.AUTHOR_SCALES)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ValidationProblem(f"the scale text is larger than {MAX_FILE_BYTES:,} bytes")
    db.refresh_published()
    with db.writing() as s:
        row = _load(s, authored_id)
        _refuse_published(row)
        if row.revision != expected_revision:
            raise StaleWriteError(
                f"draft {row.scale_id} {row.version} was saved by {row.updated_by} since you loaded "
                "it; reload to see their change"
            )
        key = _key_of(text) or (row.scale_id, row.version)
        if key != (row.scale_id, row.version):
            _refuse_taken(db, s, key, other_than=row.id)
        log = AuditLog(s, name)
        old_key = f"{row.scale_id} {row.version}"
        log("scale", f"{old_key} draft text", row.source_text, text)
        log("scale", f"{old_key} id and version", list((row.scale_id, row.version)), list(key))
        row.scale_id, row.version = key
        row.source_text = text
        row.title = _title_of(text, row.title)
        row.revision += 1
        row.updated_at, row.updated_by = log.at, name
    return get_authored(db, authored_id, actor=actor)


def _refuse_published(row: AuthoredScale) -> None:
    if row.status == PUBLISHED:
        raise PublishedScaleError(
            f"{row.scale_id} {row.version} is published and cannot be changed; "
            "copy it to a new version to change it"
        )


def publish_draft(db: Database, authored_id: int, *, actor: Actor) -> AuthoredScaleView:
    """Publish a draft the loader accepts: from now on it never changes and new reviews may use it."""
    name = actor_name(actor, Action.AUTHOR_SCALES)
    db.refresh_published()
    with db.writing() as s:
        row = _load(s, authored_id)
        _refuse_published(row)
        scale, problems = check_text(db, row.source_text, f"draft {row.scale_id} {row.version}")
        if scale is None:
            first = "the draft cannot be published until its problems are fixed:"
            raise ValidationProblem([first, *problems])
        _publish(db, s, row, scale, name)
    db.refresh_published()
    return get_authored(db, authored_id, actor=actor)


def _publish(db: Database, s: Session, row: AuthoredScale, scale: Scale, name: str) -> None:
    if (scale.id, scale.version) != (row.scale_id, row.version):  # the text was read that far
        raise ValidationProblem("the draft's id and version do not match its text; save it again")
    _refuse_taken(db, s, (scale.id, scale.version), other_than=row.id)
    log = AuditLog(s, name)
    log("scale", f"{scale.id} {scale.version} status", row.status, PUBLISHED)
    log("scale", f"{scale.id} {scale.version} content hash", None, scale.content_hash)
    row.status = PUBLISHED
    row.title = scale.title[:500]
    row.definition = json.dumps(scale.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    row.content_hash = scale.content_hash
    row.published_at, row.published_by = log.at, name
    row.updated_at, row.updated_by = log.at, name
    row.revision += 1


def publish_file(db: Database, path: str | os.PathLike[str], *, actor: Actor) -> AuthoredScaleView:
    """Publish a scale file (`fidelity scales publish FILE`): ScaleFileError (file, line and
    field of each problem) when the loader refuses it; a draft of the same id and version is
    replaced by the file and published."""
    name = actor_name(actor, Action.AUTHOR_SCALES)
    db.refresh_published()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationProblem(f"{path}:0: cannot read file: {exc.strerror}") from None
    scale = parse_scale_text(raw, str(path), db.registry)  # ScaleFileError: the loader's own lines
    text = raw.decode("utf-8")
    now = dt.datetime.now(dt.UTC)
    with db.writing() as s:
        row = s.scalar(
            select(AuthoredScale).where(
                AuthoredScale.scale_id == scale.id, AuthoredScale.version == scale.version
            )
        )
        if row is None:
            _refuse_taken(db, s, (scale.id, scale.version))
            row = AuthoredScale(
                scale_id=scale.id,
                version=scale.version,
                status=DRAFT,
                title=scale.title[:500],
                origin=f"file {Path(path).name}"[:200],
                source_text=text,
                revision=1,
                created_at=now,
                created_by=name,
                updated_at=now,
                updated_by=name,
            )
            s.add(row)
            s.flush()
            log = AuditLog(s, name, at=now)
            log("scale", f"{scale.id} {scale.version} draft", None, {"origin": row.origin})
        else:
            _refuse_published(row)
            AuditLog(s, name)("scale", f"{scale.id} {scale.version} draft text", row.source_text, text)
            row.source_text = text
        _publish(db, s, row, scale, name)
        authored_id = row.id
    db.refresh_published()
    return get_authored(db, authored_id, actor=actor)


# ---- importing ------------------------------------------------------------------------------------


def draft_from_yaml(db: Database, raw: bytes, filename: str, *, actor: Actor) -> AuthoredScaleView:
    """A scale YAML file stored as a draft (checked like any draft; it may still have problems)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationProblem(f"{filename}: the file is not UTF-8 text") from None
    return new_draft(db, text, origin=f"YAML file {filename}", actor=actor)


def draft_from_redcap(
    db: Database,
    csv_text: str,
    filename: str,
    *,
    scale_id: str | None = None,
    version: str | None = None,
    actor: Actor,
) -> AuthoredScaleView:
    """A REDCap data dictionary read as a scale (exchange.redcap_dictionary) and stored as a draft.
    A dictionary not written by ebp-fidelity needs `scale_id` and `version`."""
    actor_name(actor, Action.AUTHOR_SCALES)
    try:
        scale = redcap_to_scale(csv_text, scale_id=scale_id or None, version=version or None)
    except RedcapError as exc:
        raise ValidationProblem([f"{filename}: {p}" for p in exc.problems]) from None
    header = f"# Imported from the REDCap data dictionary {filename}\n"
    return new_draft(db, header + scale_text(scale), origin=f"REDCap dictionary {filename}", actor=actor)
