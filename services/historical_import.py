"""Historical import, against the database: plan a checked wide file (`plan_wide`, the dry
run) and store every row as a final consensus review in one transaction (`import_wide`).

The file is read and its rows are checked by exchange.historical (no database). Planning adds
the checks only the database can make: a program named in another case or spacing, a practice
that does not match the scale, a review already stored (skipped when it is the same, a problem
when it contradicts the row). Importing the same file again skips the reviews it stored.

The names the app and the CLI need from the format (reading, combining, the records) are
re-exported here, so that they import services only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exchange.historical import (
    DATE_FORMATS,
    NOT_RATED_REASON,
    ImportPlan,
    ImportSummary,
    PlannedReview,
    Progress,
    RowProblem,
    WideImportError,
    WideRow,
    combine_wide,
    parse_wide,
    read_wide_file,
    validate_wide,
)
from exchange.historical.layout import name_key
from exchange.historical.parse import in_order
from exchange.historical.read import read_notes
from scales import Scale, ScaleRegistry, UnknownScaleError
from services import access
from services.access import Action, Actor
from services.audit import AuditLog, BufferedAuditLog
from services.database import Database
from services.errors import ValidationProblem
from services.final_batch import FinalReviewOrder, store_final_reviews
from services.lifecycle import ConsensusEntry, FinalReviewRecord
from services.programs import new_program
from services.rows import actor_name
from storage.models import (
    ConsensusRating,
    Program,
    ProgramModel,
    RatingSource,
    Review,
    ReviewStatus,
    ReviewType,
)

__all__ = [  # the services, and the format's names the app and the CLI use
    "DATE_FORMATS",
    "NOT_RATED_REASON",
    "ImportPlan",
    "ImportSummary",
    "Progress",
    "RowProblem",
    "WideImportError",
    "combine_wide",
    "import_wide",
    "parse_wide",
    "plan_wide",
    "read_wide_file",
    "validate_wide",
]


def plan_wide(
    db: Database, frame: pd.DataFrame, registry: ScaleRegistry | None = None, *, actor: Actor
) -> ImportPlan:
    """Check the rows and what the database holds, writing nothing: the import's dry run."""
    access.require(actor, Action.IMPORT)
    rows, problems = parse_wide(frame, registry or db.registry)
    if problems:
        return ImportPlan([], problems, [], [])
    problems = _registry_problems(db, rows)
    if problems:
        return ImportPlan([], problems, [], [])
    with db.reading() as s:
        return _plan(s, rows, read_notes(frame))


def import_wide(
    db: Database,
    frame: pd.DataFrame,
    registry: ScaleRegistry | None = None,
    *,
    actor: Actor,
    progress: Progress | None = None,
    source: str | None = None,
) -> ImportSummary:
    """Store every row as a final consensus review, all in one transaction.

    Raises WideImportError (nothing written) when any row has a problem, including a row
    that contradicts a review already stored. Rows stored by an earlier import of the same
    data are skipped. `source` (e.g. the file name) goes into the audit trail as
    "imported from SOURCE row N".
    """
    who = actor_name(actor, Action.IMPORT)
    rows, problems = parse_wide(frame, registry or db.registry)
    problems = problems or _registry_problems(db, rows)
    if problems:
        raise WideImportError(problems)
    with db.writing() as s:
        plan = _plan(s, rows, read_notes(frame))  # again, inside the transaction that writes
        if plan.problems:
            raise WideImportError(plan.problems)
        log_at = dt.datetime.now(dt.UTC)
        programs: dict[str, Program] = {
            p.name: p for p in s.scalars(select(Program).where(Program.name.in_(plan.programs_existing)))
        }
        total, created_programs = len(plan.reviews), 0
        orders: list[FinalReviewOrder] = []
        for planned in plan.to_create:
            row = planned.row
            program = programs.get(row.program)
            if program is None:  # written first: its reviews refer to it
                program = _create_program(s, row, plan.reviews, who, log_at, source)
                programs[row.program] = program
                created_programs += 1
            orders.append(FinalReviewOrder(program, row.scale, _record(planned, source)))
        done = total - len(orders)  # the rows already stored, skipped
        log = BufferedAuditLog(s, who, at=log_at)
        review_ids: list[int] = []
        for review_id in store_final_reviews(s, log, orders):
            review_ids.append(review_id)
            done += 1
            if progress is not None:
                progress(done, total)
    return ImportSummary(
        created=len(review_ids),
        skipped_existing=len(plan.already_stored),
        programs_created=created_programs,
        review_ids=review_ids,
        notes=plan.notes,
    )


def _registry_problems(db: Database, rows: Sequence[WideRow]) -> list[RowProblem]:
    """The rows were checked with a registry: the database must score with the same scales."""
    problems = []
    for row in rows:
        try:
            loaded = db.registry.get(row.scale.id, row.scale.version)
        except UnknownScaleError as exc:
            problems.append(RowProblem(row.row, row.columns["scale"], str(exc), row.source))
            continue
        if loaded.content_hash != row.scale.content_hash:
            message = f"{row.scale.id} {row.scale.version} differs from the version the database uses"
            problems.append(RowProblem(row.row, row.columns["scale"], message, row.source))
    return problems


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


@dataclass
class _Stored:
    """What the database holds for the file's programs: their reviews and same-day ratings."""

    programs: dict[str, Program]
    reviews: dict[tuple[int, str], list[Review]]  # (program id, scale id) -> oldest first
    ratings: dict[int, dict[str, int | None]]  # review id -> item id -> rating
    new_models: dict[str, str | None]  # a new program's practice
    earliest_in_file: dict[tuple[str, str], dt.date]  # (program, scale id) -> first date in the file
    noted: set[str] = field(default_factory=set)  # programs whose differences were noted

    def of(self, program: Program | None, row: WideRow) -> list[Review]:
        return self.reviews.get((program.id, row.scale.id), []) if program is not None else []


def _plan(s: Session, rows: Sequence[WideRow], notes: Sequence[str] = ()) -> ImportPlan:
    notes = list(notes)
    rows, programs, problems = _match_programs(s, rows, notes)
    if problems:
        return ImportPlan([], problems, [], [], notes)
    stored = _stored(s, rows, programs)
    planned: list[PlannedReview] = []
    for row in rows:
        found = _plan_row(row, stored, notes)
        if isinstance(found, RowProblem):
            problems.append(found)
        else:
            planned.append(found)
    if problems:
        problems = in_order(problems, list(dict.fromkeys(row.source for row in rows)))
        return ImportPlan([], problems, [], [], notes)
    new = sorted({p.row.program for p in planned if not p.program_exists and p.existing_review is None})
    existing = sorted({p.row.program for p in planned if p.program_exists})
    notes.extend(_new_program_notes(planned, new))
    return ImportPlan(planned, [], new, existing, notes)


def _stored(s: Session, rows: Sequence[WideRow], programs: dict[str, Program]) -> _Stored:
    reviews: dict[tuple[int, str], list[Review]] = {}
    program_ids = [p.id for p in programs.values()]
    for chunk in _chunks(program_ids):
        for review in s.scalars(
            select(Review).where(Review.program_id.in_(chunk)).order_by(Review.review_date, Review.id)
        ):
            reviews.setdefault((review.program_id, review.scale_id), []).append(review)
    same_day_ids = [
        r.id
        for row in rows
        if row.program in programs
        for r in reviews.get((programs[row.program].id, row.scale.id), [])
        if r.review_date == row.review_date
    ]
    earliest: dict[tuple[str, str], dt.date] = {}
    for row in rows:
        key = (row.program, row.scale.id)
        earliest[key] = min(earliest.get(key, row.review_date), row.review_date)
    ratings = _stored_ratings(s, same_day_ids)
    return _Stored(programs, reviews, ratings, _new_program_models(rows, programs), earliest)


def _plan_row(row: WideRow, stored: _Stored, notes: list[str]) -> PlannedReview | RowProblem:
    """What happens to one row: imported, skipped (already stored), or the problem."""
    program = stored.programs.get(row.program)
    existing_id = None
    if program is not None:
        found = _check_existing(row, program, stored.of(program, row), stored.ratings)
        if isinstance(found, RowProblem):
            return found
        existing_id = found
        message = _model_problem(program.name, program.model, row.scale)
    else:
        message = _model_problem(row.program, stored.new_models.get(row.program), row.scale)
    if message:
        return RowProblem(row.row, row.columns["scale"], message, row.source)
    if program is not None and row.program not in stored.noted:
        note = _program_note(row, program)
        if note:
            notes.append(note)
            stored.noted.add(row.program)
    kind = row.review_type
    if kind is None:
        earlier = [r for r in stored.of(program, row) if r.review_date < row.review_date]
        first = not earlier and stored.earliest_in_file[(row.program, row.scale.id)] >= row.review_date
        kind = ReviewType.BASELINE.value if first else ReviewType.FOLLOW_UP.value
    return PlannedReview(row, kind, existing_id, program is not None)


def _new_program_notes(planned: Sequence[PlannedReview], new: Sequence[str]) -> list[str]:
    """A new program that the file gives several providers or regions: which one it gets."""
    notes: list[str] = []
    for name in new:
        mine = [p.row for p in planned if p.row.program == name]
        for what in ("provider", "region"):
            given = list(dict.fromkeys(v for r in mine if (v := getattr(r, what))))
            if len(given) > 1:
                listed = ", ".join(repr(v) for v in given)
                notes.append(
                    f"{name}: the file gives the {what}s {listed}; the new program gets {given[0]!r}"
                )
    return notes


def _match_programs(
    s: Session, rows: Sequence[WideRow], notes: list[str]
) -> tuple[list[WideRow], dict[str, Program], list[RowProblem]]:
    """The rows with each program named as it is stored (or as the file first spells a new
    one), the stored programs by name, and rows whose name matches several stored programs."""
    stored = list(s.scalars(select(Program).options(selectinload(Program.provider))))
    exact = {p.name: p for p in stored}
    by_key: dict[str, list[Program]] = {}
    for program in stored:
        by_key.setdefault(name_key(program.name), []).append(program)
    first_spelling: dict[str, str] = {}
    matched: list[WideRow] = []
    problems: list[RowProblem] = []
    said: set[tuple[str, str]] = set()
    for row in rows:
        key = name_key(row.program)
        name = row.program
        if name not in exact:
            candidates = by_key.get(key, [])
            if len(candidates) > 1:
                listed = ", ".join(repr(p.name) for p in candidates)
                message = f"{row.program!r} matches several programs ({listed}); write one name exactly"
                problems.append(RowProblem(row.row, row.columns["program"], message, row.source))
                continue
            name = candidates[0].name if candidates else first_spelling.setdefault(key, row.program)
        if name != row.program:
            if (row.program, name) not in said:
                said.add((row.program, name))
                notes.append(f"{row.where()}: {row.program!r} is taken as the program {name!r}")
            row = replace(row, program=name)
        matched.append(row)
    names = {row.program for row in matched}
    return matched, {name: exact[name] for name in names if name in exact}, problems


def _check_existing(
    row: WideRow, program: Program, reviews: Sequence[Review], ratings: Mapping[int, dict[str, int | None]]
) -> int | RowProblem | None:
    """The stored review this row already is, None when there is none, or the contradiction."""
    same_day = [r for r in reviews if r.review_date == row.review_date]
    if not same_day:
        return None
    for review in same_day:
        if (
            review.status == ReviewStatus.FINAL
            and review.scale_version == row.scale.version
            and ratings.get(review.id, {}) == dict(row.ratings)
        ):
            return review.id
    review = same_day[-1]
    what = f"{program.name} already has a {row.scale.id} {review.scale_version} review of {row.review_date}"
    if review.status != ReviewStatus.FINAL:
        message = f"{what} (review {review.id}, still {review.status}); finish that review in the app instead"
        return RowProblem(row.row, row.columns["date"], message, row.source)
    if review.scale_version != row.scale.version:
        message = f"{what} (review {review.id}); this row says version {row.scale.version}"
        return RowProblem(row.row, row.columns.get("version", row.columns["scale"]), message, row.source)
    stored = ratings.get(review.id, {})
    for item_id, rating in row.ratings.items():
        if stored.get(item_id) != rating:

            def shown(value: int | None) -> str:
                return "not rated" if value is None else f"rated {value}"

            message = (
                f"{what} (review {review.id}) where {item_id} is {shown(stored.get(item_id))}, "
                f"not {shown(rating)}; to change a stored review, amend it"
            )
            return RowProblem(row.row, row.columns.get(item_id, row.columns["date"]), message, row.source)
    return RowProblem(row.row, row.columns["date"], f"{what} (review {review.id})", row.source)


def _stored_ratings(s: Session, review_ids: Sequence[int]) -> dict[int, dict[str, int | None]]:
    found: dict[int, dict[str, int | None]] = {}
    for chunk in _chunks(list(review_ids)):
        rows = s.execute(
            select(ConsensusRating.review_id, ConsensusRating.item_id, ConsensusRating.rating).where(
                ConsensusRating.review_id.in_(chunk)
            )
        )
        for review_id, item_id, rating in rows:
            found.setdefault(review_id, {})[item_id] = rating
    return found


def _new_program_models(rows: Sequence[WideRow], programs: Mapping[str, Program]) -> dict[str, str | None]:
    """A new program's model: the practice of the first practice-specific scale it is rated on."""
    models: dict[str, str | None] = {}
    for row in rows:
        if row.program in programs:
            continue
        if models.get(row.program) is None:
            models[row.program] = _scale_model(row.scale)
    return models


def _scale_model(scale: Scale) -> str | None:
    model = (scale.model or "").upper()
    return model if model in {m.value for m in ProgramModel} else None


def _model_problem(program: str, model: str | None, scale: Scale) -> str | None:
    scale_model = _scale_model(scale)
    if model and scale_model and model != scale_model:
        return f"{scale.id} {scale.version} measures {scale.model}, but {program} is an {model} program"
    return None


def _program_note(row: WideRow, program: Program) -> str | None:
    provider = None if program.provider is None else program.provider.name
    pairs = (("provider", row.provider, provider), ("region", row.region, program.region))
    differs = [
        f"{what} {given!r} (stored: {stored!r})"
        for what, given, stored in pairs
        if given is not None and given != stored
    ]
    if not differs:
        return None
    return f"{row.where()}: {program.name} already exists; its " + " and ".join(differs) + " were not changed"


# --------------------------------------------------------------------------------------------
# Storing: a new program by programs.new_program, the reviews by final_batch.store_final_reviews
# --------------------------------------------------------------------------------------------


def _create_program(
    s: Session,
    row: WideRow,
    planned: Sequence[PlannedReview],
    actor: str,
    at: dt.datetime,
    source: str | None,
) -> Program:
    """A new program with the first provider, region and practice the file gives it.

    The rows' checks (parse) refuse every value new_program would, each by row and column;
    should it refuse one anyway, the import is refused by this row, nothing written."""
    mine = [p.row for p in planned if p.row.program == row.program]
    try:
        return new_program(
            s,
            AuditLog(s, actor, at=at),
            row.program,
            provider=next((r.provider for r in mine if r.provider), None),
            region=next((r.region for r in mine if r.region), None),
            model=next((m for r in mine if (m := _scale_model(r.scale))), None),
            imported_from=row.where(source),
        )
    except ValidationProblem as exc:
        raise WideImportError(
            [RowProblem(row.row, row.columns["program"], problem, row.source) for problem in exc.problems]
        ) from None


def _record(planned: PlannedReview, source: str | None) -> FinalReviewRecord:
    """One row as the final review to store (services.final_batch writes a chunk at a time)."""
    row, scale = planned.row, planned.row.scale
    return FinalReviewRecord(
        review_date=row.review_date,
        review_end_date=None,
        review_type=planned.review_type,
        raters=row.raters,
        items={item.id: _consensus_entry(row.ratings.get(item.id)) for item in scale.items},
        imported_from=row.where(source),
    )


def _consensus_entry(rating: int | None) -> ConsensusEntry:
    """A file's rating as the item's consensus; a blank cell is not rated, for the file's reason."""
    if rating is None:
        return ConsensusEntry(not_rated_reason=NOT_RATED_REASON)
    return ConsensusEntry(rating=rating, rating_source=RatingSource.RATED.value)


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
