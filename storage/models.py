"""The database model (SQLAlchemy 2 typed ORM).

A review belongs to a program (a team) and records the exact scale it was rated on (id,
version and content hash). Each rater's item ratings are their own rows, so two raters
saving at once never touch the same row; the consensus rating per item carries a version
number for optimistic locking. Once a review is final, triggers written by the migration
refuse any change to it or its ratings, and the audit log refuses updates and deletes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.vocabulary import (  # NAME_LENGTH, PERSON_LENGTH: the checks' limits, used here too
    NAME_LENGTH,
    PERSON_LENGTH,
    ProgramModel,
    RatingSource,
    ReviewStatus,
    ReviewType,
    Role,
)

# Re-exported: importing storage.models registers every table on Base.metadata (Alembic, db copy).
from storage.base import (  # noqa: F401
    EMAIL_LENGTH,
    GLOBAL_ID_LENGTH,
    HASH_LENGTH,
    ITEM_ID_LENGTH,
    NAMING_CONVENTION,
    Base,
    UTCDateTime,
    global_id_column,
    new_global_id,
    one_of,
)
from storage.field_models import FieldCheckin, FieldCheckout, FieldConflict, FieldCopy  # noqa: F401
from storage.followup_models import ActionPlanEntry, ActionPlanNote, OutcomeMeasure, OutcomeValue  # noqa: F401
from storage.scale_models import AuthoredScale  # noqa: F401


class Provider(Base):
    """An agency that runs one or more programs."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[dt.datetime]

    programs: Mapped[list[Program]] = relationship(back_populates="provider")


class Program(Base):
    """A team delivering one evidence-based practice (ACT or IDDT)."""

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint(one_of("model", ProgramModel), name="model"),
        CheckConstraint(
            "active_to IS NULL OR active_from IS NULL OR active_to >= active_from", name="active_dates"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = global_id_column()
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    model: Mapped[str | None] = mapped_column(String(10))
    active_from: Mapped[dt.date | None]
    active_to: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    provider: Mapped[Provider | None] = relationship(back_populates="programs")
    reviews: Mapped[list[Review]] = relationship(back_populates="program")


class Review(Base):
    """One fidelity review of one program on one published scale version."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(one_of("review_type", ReviewType), name="review_type"),
        CheckConstraint(one_of("status", ReviewStatus), name="status"),
        CheckConstraint("review_end_date IS NULL OR review_end_date >= review_date", name="review_dates"),
        CheckConstraint(
            "(amendment_of IS NULL AND amendment_number = 0) OR "
            "(amendment_of IS NOT NULL AND amendment_number > 0 AND amendment_reason IS NOT NULL)",
            name="amendment",
        ),
        CheckConstraint("status <> 'final' OR finalized_at IS NOT NULL", name="finalized"),
        # Analytics at agency scale (migration 0003): the latest finalization without reading
        # every final review, and a program's reviews of a scale in date order.
        Index("ix_reviews_status_finalized_at", "status", "finalized_at"),
        Index("ix_reviews_program_id_scale_id_review_date", "program_id", "scale_id", "review_date", "id"),
        # The integrity gate reads each review's seal from here on SQLite (migration 0006): in the
        # table it comes after the 4 KB final score, whose overflow pages reading it would load.
        Index("ix_reviews_id_ratings_seal", "id", "ratings_seal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = global_id_column()
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    scale_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    scale_version: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    scale_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    review_date: Mapped[dt.date]
    review_end_date: Mapped[dt.date | None]
    review_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    strengths: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)
    # An amendment is a new review; the final one it replaces stays untouched.
    amendment_of: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"), unique=True)
    amendment_number: Mapped[int] = mapped_column(Integer)
    amendment_reason: Mapped[str | None] = mapped_column(Text)
    import_digest: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    # The score as it stood when finalized: the record, even if scoring code changes later.
    final_score: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    updated_at: Mapped[dt.datetime]
    finalized_at: Mapped[dt.datetime | None]
    finalized_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    version: Mapped[int] = mapped_column(Integer)
    # sha256 of the finalized content (storage.integrity), set in the same statement that
    # makes the review final and checked whenever a final review is shown or exported.
    content_checksum: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    # A final review's keyed digest of what the analytics read (storage.integrity): checked on every read.
    ratings_seal: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    # An agency admin opened the consensus before every rater had submitted (migration 0007).
    consensus_opened_at: Mapped[dt.datetime | None]
    consensus_opened_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    consensus_open_reason: Mapped[str | None] = mapped_column(Text)

    program: Mapped[Program] = relationship(back_populates="reviews")
    raters: Mapped[list[ReviewRater]] = relationship(
        back_populates="review", order_by="ReviewRater.id", cascade="save-update, merge"
    )
    consensus: Mapped[list[ConsensusRating]] = relationship(
        back_populates="review", order_by="ConsensusRating.id", cascade="save-update, merge"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy declares it, no ClassVar


class ReviewRater(Base):
    """A reviewer assigned to a review."""

    __tablename__ = "review_raters"
    __table_args__ = (UniqueConstraint("review_id", "rater"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    rater: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    added_at: Mapped[dt.datetime]
    added_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    # The rater submitted their ratings: locked, and the others' shown once all have (0007).
    submitted_at: Mapped[dt.datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))

    review: Mapped[Review] = relationship(back_populates="raters")


class RaterRating(Base):
    """One rater's rating of one item: one row per (review, rater, item)."""

    __tablename__ = "rater_ratings"
    __table_args__ = (
        UniqueConstraint("review_id", "rater", "item_id"),
        ForeignKeyConstraint(["review_id", "rater"], ["review_raters.review_id", "review_raters.rater"]),
        CheckConstraint(one_of("rating_source", RatingSource), name="rating_source"),
        CheckConstraint("(rating IS NULL) = (rating_source IS NULL)", name="rating_has_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = global_id_column()
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    rater: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    rating: Mapped[int | None]
    rating_source: Mapped[str | None] = mapped_column(String(10))
    inputs: Mapped[dict[str, Any] | None]
    note: Mapped[str | None] = mapped_column(Text)
    data_sources: Mapped[list[str] | None]
    override_reason: Mapped[str | None] = mapped_column(Text)  # a computed item rated by hand (0007)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy declares it, no ClassVar


class ConsensusRating(Base):
    """The agreed rating of one item, or the reason it was not rated."""

    __tablename__ = "consensus_ratings"
    __table_args__ = (
        UniqueConstraint("review_id", "item_id"),
        CheckConstraint(one_of("rating_source", RatingSource), name="rating_source"),
        CheckConstraint("(rating IS NULL) = (rating_source IS NULL)", name="rating_has_source"),
        CheckConstraint("rating IS NULL OR not_rated_reason IS NULL", name="rated_or_not"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = global_id_column()
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    rating: Mapped[int | None]
    rating_source: Mapped[str | None] = mapped_column(String(10))
    inputs: Mapped[dict[str, Any] | None]
    evidence: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(Text)
    data_sources: Mapped[list[str] | None]
    not_rated_reason: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)  # a computed item rated by hand (0007)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    version: Mapped[int] = mapped_column(Integer)

    review: Mapped[Review] = relationship(back_populates="consensus")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy declares it, no ClassVar


class FinalReviewSums(Base):
    """A final review's rating sums, stored when it became final and sealed (storage.final_sums,
    migration 0012): what the agency dashboard reads instead of every rating."""

    __tablename__ = "final_review_sums"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), primary_key=True)
    rated: Mapped[int] = mapped_column(Integer)
    total_sum: Mapped[int] = mapped_column(Integer)
    subscales: Mapped[str] = mapped_column(Text)  # "H=11/34;O=7/22;S=10/34": rated/sum per subscale
    seal: Mapped[str] = mapped_column(String(80))


class User(Base):
    """A person who signs in (by e-mail, through the identity provider) and their role."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = global_id_column()
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)  # stored lower-case
    name: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    updated_at: Mapped[dt.datetime]


class UserProgram(Base):
    """A program in a user's scope (a program manager's own programs)."""

    __tablename__ = "user_programs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime]
    added_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))


class ReviewAssignment(Base):
    """A reviewer assigned to a review (what they may rate and see while it is open)."""

    __tablename__ = "review_assignments"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[dt.datetime]
    assigned_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))


class AuditEntry(Base):
    """One change: who, when, which field of what, old and new value (JSON text).

    Append-only: the database refuses UPDATE and DELETE of these rows.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_review_id_id", "review_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), index=True)
    entity: Mapped[str] = mapped_column(String(NAME_LENGTH))
    field: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    # Keyed digest of this row and the previous row's digest (storage.integrity): the audit hash chain.
    chain: Mapped[str | None] = mapped_column(String(HASH_LENGTH))


class AnalyticsChanges(Base):
    """One row counting every change of what the analytics read (final reviews, programs,
    providers), kept by triggers of migration 0004: the analytics caches' cheap key."""

    __tablename__ = "analytics_changes"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[str] = mapped_column(String(40))


class ReviewChanges(Base):
    """One row counting every change of what the review pages read (reviews, ratings, consensus,
    raters, assignments, programs, users, field copies), kept by triggers of migration 0013:
    the review pages' caches' cheap key."""

    __tablename__ = "review_changes"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[str] = mapped_column(String(40))


class AuditChainHead(Base):
    """One row naming the audit chain's newest row and its digest, sealed with the integrity key
    (storage.audit_chain): deleting the newest audit rows leaves it pointing past the end."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int | None]
    chain: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    seal: Mapped[str] = mapped_column(String(HASH_LENGTH))


FINAL_REVIEW_MESSAGE = "fidelity: review is final and cannot be changed"
AUDIT_LOG_MESSAGE = "fidelity: the audit log is append-only"
PUBLISHED_SCALE_MESSAGE = "fidelity: a published scale version cannot be changed"
