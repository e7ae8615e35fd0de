"""Scales authored in the app (services.scale_library, migration 0008): drafts, then published
versions that never change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.vocabulary import (  # NAME_LENGTH, PERSON_LENGTH: the checks' limits, used here too
    NAME_LENGTH,
    PERSON_LENGTH,
)
from storage.base import (
    HASH_LENGTH,
    ITEM_ID_LENGTH,
    Base,
)


class AuthoredScale(Base):
    """A scale written in the app (or imported) by an agency admin: a draft while it is being
    edited, then published. A published row never changes (migration 0008's triggers refuse
    any UPDATE or DELETE of it) and is loaded with the bundled scales (services.scale_catalog).

    `source_text` is the YAML as authored (a derived scale names its base); `definition` is the
    resolved scale as JSON, fixed at publishing, with its `content_hash`.
    """

    __tablename__ = "authored_scales"
    __table_args__ = (
        UniqueConstraint("scale_id", "version"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint(
            "status <> 'published' OR (definition IS NOT NULL AND content_hash IS NOT NULL "
            "AND published_at IS NOT NULL)",
            name="published",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    version: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    title: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(NAME_LENGTH))
    source_text: Mapped[str] = mapped_column(Text)
    definition: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    published_at: Mapped[dt.datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
