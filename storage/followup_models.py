"""What follows a review: action plan entries and their notes (migration 0009), the outcome
measures and values beside fidelity (migration 0010)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.action_plans import PlanStatus
from domain.outcomes import MEASURE_KEY_LENGTH, Better, PeriodKind, Unit
from domain.vocabulary import (  # NAME_LENGTH, PERSON_LENGTH: the checks' limits, used here too
    NAME_LENGTH,
    PERSON_LENGTH,
)
from storage.base import (
    ITEM_ID_LENGTH,
    Base,
    one_of,
)


class ActionPlanEntry(Base):
    """One item of a final review's action plan (migration 0009): what was found, the goal, who
    owns it, when it is due and where it stands. A row of its own, so following a plan up never
    touches the final review; `program_id` is the review's, for the filters and the access check."""

    __tablename__ = "action_plan_entries"
    __table_args__ = (
        UniqueConstraint("review_id", "item_id"),
        CheckConstraint(one_of("status", PlanStatus), name="status"),
        Index("ix_action_plan_entries_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    rating: Mapped[int | None]  # the item's consensus rating in the review
    evidence: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(Text)
    goal: Mapped[int]  # the target rating
    steps: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    due_date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[dt.datetime]
    opened_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    closed_at: Mapped[dt.datetime | None]  # when it became done or dropped (None while open)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    version: Mapped[int] = mapped_column(Integer)

    notes: Mapped[list[ActionPlanNote]] = relationship(order_by="ActionPlanNote.id")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy declares it, no ClassVar


class ActionPlanNote(Base):
    """A dated progress note on a plan entry, with the status the entry had after it."""

    __tablename__ = "action_plan_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("action_plan_entries.id"), index=True)
    at: Mapped[dt.datetime]
    by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)


class OutcomeMeasure(Base):
    """A measure the agency tracks per program and period (domain.outcomes): its key (a file's
    column heading), name, unit and which direction is better. Seeded by migration 0010."""

    __tablename__ = "outcome_measures"
    __table_args__ = (
        CheckConstraint(one_of("unit", Unit), name="unit"),
        CheckConstraint(one_of("better", Better), name="better"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(MEASURE_KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    unit: Mapped[str] = mapped_column(String(20))
    better: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class OutcomeValue(Base):
    """One program's value of one measure over one period (a month or a quarter)."""

    __tablename__ = "outcome_values"
    __table_args__ = (
        UniqueConstraint("program_id", "measure_id", "period_kind", "period_start"),
        CheckConstraint(one_of("period_kind", PeriodKind), name="period_kind"),
        CheckConstraint("value >= 0", name="value"),
        Index("ix_outcome_values_program_id_period_start", "program_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("outcome_measures.id"), index=True)
    period_kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[dt.date]
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
