"""The application's database: one `Database` per process (Streamlit) or per command (CLI).

Opening a database migrates it to the newest schema first, so the app and the CLI work on
an empty or older database without a separate setup step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cached_property
from types import TracebackType
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from scales import ScaleRegistry
from services.errors import (
    DatabaseError,
    FidelityError,
    PublishedScaleError,
    ReviewFinalizedError,
    StaleWriteError,
)
from services.scale_catalog import CatalogRegistry, add_published
from services.settings import get_registry, get_settings
from storage.audit_chain import lock_chain
from storage.db import make_engine, session_factory, sqlite_write_queue, writer
from storage.integrity import SESSION_KEY
from storage.migrate import DatabaseVersionError, upgrade_to_head
from storage.models import AUDIT_LOG_MESSAGE, FINAL_REVIEW_MESSAGE, PUBLISHED_SCALE_MESSAGE


class Database:
    """An engine, its session factories and the scales reviews are scored with."""

    def __init__(
        self,
        url: str,
        *,
        registry: ScaleRegistry | None = None,
        migrate: bool = True,
        integrity_key: str | None = None,
        pool_options: Mapping[str, Any] | None = None,
    ):
        self.url = url
        # Keys checksums, seals and the audit chain (storage.integrity.keyed_digest); None: plain SHA-256.
        self.integrity_key = integrity_key
        # The scale files plus the versions published in this database (services.scale_catalog).
        self.registry = CatalogRegistry.copy_of(registry if registry is not None else get_registry())
        try:
            self.engine = make_engine(url, **dict(pool_options or {}))  # Settings.pool_options
        except sa_exc.ArgumentError as exc:  # includes an unknown dialect or driver
            raise DatabaseError(f"{url!r} is not a usable database URL: {exc}") from None
        self.revision: str | None = None
        if migrate:
            try:
                self.revision = upgrade_to_head(
                    self.engine, integrity_key=integrity_key, registry=self.registry
                )
            except DatabaseVersionError as exc:
                self.engine.dispose()
                raise DatabaseError(str(exc)) from None
            except sa_exc.OperationalError as exc:
                self.engine.dispose()
                raise DatabaseError(f"cannot open the database {self.display_url}: {exc.orig}") from None
        # Each session carries the key, for what only has the session (audit chain, finalizing).
        info = {SESSION_KEY: integrity_key}
        self._reader = session_factory(self.engine, info)
        self._writer = session_factory(writer(self.engine), info)
        self._write_queue = sqlite_write_queue(self.engine)  # SQLite: writers wait their turn here
        self._unpinged: Engine | None = None
        self.writes = 0  # transactions written through writing(): see analytics_data.data_version
        self.version_seen: tuple[str, float, int] | None = None  # (version, when, writes then)
        if migrate:
            self.refresh_published()
        self.registry.refresher = self.refresh_published

    def refresh_published(self) -> int:
        """Add the scale versions published in the database since it was last read."""
        with self.reading() as s:
            return add_published(self.registry, s)

    @property
    def unpinged_engine(self) -> Engine:
        """The same database through a small pool that does not ping a connection before each
        use (PostgreSQL: one round trip less), for one-statement reads asked on every rerun,
        which retry once on a dropped connection instead (see analytics_data.data_version).
        SQLite pings nothing: its engine itself."""
        if self.engine.dialect.name == "sqlite":
            return self.engine
        if self._unpinged is None:
            self._unpinged = make_engine(self.url, pool_pre_ping=False, pool_size=2, max_overflow=6)
        return self._unpinged

    @cached_property
    def display_url(self) -> str:
        """The URL without its password, for messages (the sidebar shows it on every rerun)."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work: one consistent snapshot, rolled back at the end."""
        with self._reader() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One committed transaction: everything in it (audit rows included) or nothing."""
        try:
            yield from self._write()
        finally:
            self.writes += 1  # committed or not: a version seen before is asked again

    def _write(self) -> Iterator[Session]:
        try:
            with self._write_turn(), self._writer.begin() as session:
                if self.dialect == "postgresql":
                    # The audit chain's lock first, as SQLite's writers take the write lock at BEGIN:
                    # taken later (at the first audit row) it would come after row locks in some
                    # transactions and before them in others, and two such could deadlock.
                    lock_chain(session.connection())
                yield session
        except StaleDataError as exc:  # the version check in the UPDATE found a newer row
            raise StaleWriteError(
                "someone else saved this since you loaded it; reload to see their change"
            ) from exc
        except sa_exc.DBAPIError as exc:
            refusal = _trigger_refusal(exc)
            if refusal is not None:
                raise refusal from exc
            raise

    def _write_turn(self) -> AbstractContextManager[None]:
        return nullcontext() if self._write_queue is None else self._write_queue.turn()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_queue is not None:
            self._write_queue.close()
        if self._unpinged is not None:
            self._unpinged.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.dispose()


def open_database(url: str | None = None, *, registry: ScaleRegistry | None = None) -> Database:
    """The database at `url`, or at FIDELITY_DATABASE_URL (default sqlite:///fidelity.db)."""
    settings = get_settings()
    return Database(
        url or settings.database_url,
        registry=registry or get_registry(settings),
        integrity_key=settings.integrity_secret,
        pool_options=settings.pool_options,
    )


def _trigger_refusal(exc: sa_exc.DBAPIError) -> FidelityError | None:
    """The database's own refusal (a trigger), as the domain error the service would raise."""
    text = str(exc.orig)
    if FINAL_REVIEW_MESSAGE in text:
        return ReviewFinalizedError(
            "this review is final and cannot be changed; amend it to make a new version"
        )
    if PUBLISHED_SCALE_MESSAGE in text:
        return PublishedScaleError(
            "this scale version is published and cannot be changed; make a new version of it instead"
        )
    if AUDIT_LOG_MESSAGE in text:
        return FidelityError("the audit log is append-only: its entries cannot be changed or deleted")
    return None
