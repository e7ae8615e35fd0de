"""The field copies' tables (services.field_sync, migration 0011): check-outs, check-ins, the
conflicts waiting for a reviewer's choice, and a laptop's field copies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.vocabulary import PERSON_LENGTH
from storage.base import (
    GLOBAL_ID_LENGTH,
    HASH_LENGTH,
    ITEM_ID_LENGTH,
    Base,
)


class FieldCheckout(Base):
    """A review package a rater took to the field (on the agency server): what their ratings
    were then, so a check-in can tell who changed what since (services.field_sync)."""

    __tablename__ = "field_checkouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = mapped_column(String(GLOBAL_ID_LENGTH), unique=True)  # the package's
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    rater: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    scale_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    checksum: Mapped[str] = mapped_column(String(HASH_LENGTH))
    ratings: Mapped[dict[str, Any]]  # rating global id -> {item_id, version, values}
    checked_out_at: Mapped[dt.datetime]
    checked_out_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))


class FieldCheckin(Base):
    """A field copy's export merged on the agency server (refused ones leave no row)."""

    __tablename__ = "field_checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    global_id: Mapped[str] = mapped_column(String(GLOBAL_ID_LENGTH), unique=True)  # the export's
    checkout_id: Mapped[int] = mapped_column(ForeignKey("field_checkouts.id"), index=True)
    export_number: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(HASH_LENGTH))
    exported_at: Mapped[dt.datetime]
    checked_in_at: Mapped[dt.datetime]
    checked_in_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    ratings: Mapped[dict[str, Any]]  # rating global id -> {item_id, version, values} after the merge
    outcome: Mapped[dict[str, Any]]  # counts: merged, unchanged, conflicts


class FieldConflict(Base):
    """An entry changed on the server and in the field since check-out: kept until the reviewer
    chooses one side (never overwritten silently)."""

    __tablename__ = "field_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("field_checkins.id"), index=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    rater: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    rating_global_id: Mapped[str] = mapped_column(String(GLOBAL_ID_LENGTH))
    server: Mapped[dict[str, Any]]  # values, version, updated_by, updated_at
    field: Mapped[dict[str, Any]]
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    choice: Mapped[str | None] = mapped_column(String(10))  # "server" or "field"


class FieldCopy(Base):
    """On a laptop: a review loaded from a review package, where it came from, and the package."""

    __tablename__ = "field_copies"

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), primary_key=True)
    checkout_global_id: Mapped[str] = mapped_column(String(GLOBAL_ID_LENGTH), unique=True)
    origin: Mapped[str] = mapped_column(Text)
    rater: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    package: Mapped[str] = mapped_column(Text)  # the check-out package as it came
    opened_at: Mapped[dt.datetime]
    exports: Mapped[int] = mapped_column(Integer)
