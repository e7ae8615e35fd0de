"""Programs (teams delivering one practice) and their providers.

`new_program` is the one way a program row is made, with its audit rows: creating one here,
and importing a review file for a program not yet known.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import checks
from domain.checks import UNSET, Unset
from domain.vocabulary import NAME_LENGTH
from services import access
from services.access import Action, Actor
from services.audit import AuditLog, program_fields
from services.database import Database
from services.errors import ValidationProblem
from services.rows import actor_name, load_program
from services.views import ProgramView, program_view
from storage.models import Program, Provider

__all__ = [
    "create_program",
    "find_program",
    "get_program",
    "list_programs",
    "list_providers",
    "new_program",
    "provider_row",
    "refuse_duplicate_program",
    "update_program",
]


def new_program(
    s: Session,
    log: AuditLog,
    name: str,
    *,
    provider: str | None = None,
    region: str | None = None,
    model: str | None = None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
    imported_from: str | None = None,
) -> Program:
    """A new program row, flushed (it has its id), in the caller's transaction `s`.

    Checks every value as create_program does (name required and unique, provider and region
    texts, model ACT or IDDT in any case, active dates in order: ValidationProblem, nothing
    written), creates the provider when it is new, and logs the program's creation under
    `log` (its program_id is set to the new program). `imported_from` (a file and row, say)
    is recorded with the created program's fields. The caller checks access and commits.
    """
    name = checks.required_name(name, "program name", NAME_LENGTH)
    model = checks.program_model(model)
    checks.check_active_dates(active_from, active_to)
    refuse_duplicate_program(s, name)
    program = Program(
        name=name,
        provider=provider_row(s, checks.optional_name(provider, "provider", NAME_LENGTH), log),
        region=checks.optional_name(region, "region", NAME_LENGTH),
        model=model,
        active_from=active_from,
        active_to=active_to,
        created_at=log.at,
        updated_at=log.at,
    )
    s.add(program)
    s.flush()
    log.program_id = program.id
    created = program_fields(program)
    if imported_from is not None:
        created["imported_from"] = imported_from
    log(f"program[{program.id}]", "created", None, created)
    return program


def create_program(
    db: Database,
    name: str,
    *,
    actor: Actor,
    provider: str | None = None,
    region: str | None = None,
    model: str | None = None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
) -> ProgramView:
    """A new program (and its provider, when that is new)."""
    who = actor_name(actor, Action.MANAGE_PROGRAMS)
    with db.writing() as s:
        program = new_program(
            s,
            AuditLog(s, who),
            name,
            provider=provider,
            region=region,
            model=model,
            active_from=active_from,
            active_to=active_to,
        )
        return program_view(program)


def update_program(
    db: Database,
    program_id: int,
    *,
    actor: Actor,
    name: str | Unset = UNSET,
    provider: str | Unset | None = UNSET,
    region: str | Unset | None = UNSET,
    model: str | Unset | None = UNSET,
    active_from: dt.date | Unset | None = UNSET,
    active_to: dt.date | Unset | None = UNSET,
) -> ProgramView:
    """Change the program's fields; those left UNSET keep their value."""
    who = actor_name(actor, Action.MANAGE_PROGRAMS)
    with db.writing() as s:
        program = load_program(s, program_id, lock=True)
        log = AuditLog(s, who, program_id=program.id)
        before = program_fields(program)
        if name is not UNSET:
            new_name = checks.required_name(name, "program name", NAME_LENGTH)
            if new_name != program.name:
                refuse_duplicate_program(s, new_name, other_than=program.id)
            program.name = new_name
        if provider is not UNSET:
            program.provider = provider_row(s, checks.optional_name(provider, "provider", NAME_LENGTH), log)
        if region is not UNSET:
            program.region = checks.optional_name(region, "region", NAME_LENGTH)
        if model is not UNSET:
            program.model = checks.program_model(model)
        if active_from is not UNSET:
            program.active_from = active_from
        if active_to is not UNSET:
            program.active_to = active_to
        checks.check_active_dates(program.active_from, program.active_to)
        after = program_fields(program)
        changed = [key for key in after if after[key] != before[key]]
        for key in changed:
            log(f"program[{program.id}]", key, before[key], after[key])
        if changed:
            program.updated_at = log.at
        return program_view(program)


def get_program(db: Database, program_id: int, *, actor: Actor) -> ProgramView:
    """The program; NotFound, or AccessDenied when it is out of the actor's scope."""
    access.require(actor, Action.READ_PROGRAMS)
    with db.reading() as s:
        program = load_program(s, program_id)
        access.require_program(actor, Action.READ_PROGRAMS, program.id)
        return program_view(program)


def find_program(db: Database, name: str, *, actor: Actor) -> ProgramView | None:
    """The program with exactly this name, or None; AccessDenied if it is out of the actor's scope."""
    access.require(actor, Action.READ_PROGRAMS)
    with db.reading() as s:
        program = s.scalars(select(Program).where(Program.name == name.strip())).one_or_none()
        if program is None:
            return None
        access.require_program(actor, Action.READ_PROGRAMS, program.id)
        return program_view(program)


def list_programs(
    db: Database,
    *,
    actor: Actor,
    search: str | None = None,
    provider: str | None = None,
    region: str | None = None,
    model: str | None = None,
    active_on: dt.date | None = None,
) -> list[ProgramView]:
    """Programs by name (those the actor may see); `search` matches part of the name,
    case-insensitively."""
    # Plain columns, not ORM objects: the pages list every program (1,000) on each rerun.
    query = (
        select(
            *(getattr(Program, f) for f in ("id", "name", "region", "model", "active_from", "active_to")),
            Provider.name.label("provider"),
            Program.created_at,
            Program.updated_at,
        )
        .select_from(Program)
        .outerjoin(Program.provider)
        .order_by(Program.name)
    )
    visible = access.program_filter(actor)
    if visible is not None:
        query = query.where(visible)
    if search:
        query = query.where(func.lower(Program.name).contains(search.strip().lower(), autoescape=True))
    if provider:
        query = query.where(Provider.name == provider)
    if region:
        query = query.where(Program.region == region)
    if model:
        query = query.where(Program.model == checks.program_model(model))
    if active_on is not None:
        query = query.where(
            (Program.active_from.is_(None)) | (Program.active_from <= active_on),
            (Program.active_to.is_(None)) | (Program.active_to >= active_on),
        )
    with db.reading() as s:
        return [ProgramView(**row._mapping) for row in s.execute(query)]


def list_providers(db: Database, *, actor: Actor) -> list[str]:
    """Provider names; a program manager sees only the providers of their own programs."""
    query = select(Provider.name).order_by(Provider.name)
    visible = access.program_filter(actor)
    if visible is not None:
        query = query.where(select(Program.id).where(Program.provider_id == Provider.id, visible).exists())
    with db.reading() as s:
        return list(s.scalars(query))


# ---- rows ---------------------------------------------------------------------------------------


def refuse_duplicate_program(s: Session, name: str, *, other_than: int | None = None) -> None:
    """ValidationProblem when another program already has this name, compared in Unicode NFC:
    a name stored before names were normalised may be spelt in another form of the same text."""
    key = unicodedata.normalize("NFC", name)
    for program_id, stored in s.execute(select(Program.id, Program.name)):
        if program_id != other_than and unicodedata.normalize("NFC", stored) == key:
            raise ValidationProblem(f"a program named {stored!r} already exists")


def provider_row(s: Session, name: str | None, log: AuditLog) -> Provider | None:
    """The provider with this (checked) name, created and logged when it is new; None for None."""
    if name is None:
        return None
    provider = s.scalars(select(Provider).where(Provider.name == name)).one_or_none()
    if provider is None:
        provider = Provider(name=name, created_at=log.at)
        s.add(provider)
        log(f"provider[{name}]", "created", None, name)
    return provider
