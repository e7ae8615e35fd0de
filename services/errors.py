"""The errors the services raise: the domain's refusals (domain.errors), and the database's."""

from __future__ import annotations

from domain.errors import (
    AccessDenied,
    FidelityError,
    IntegrityFailure,
    NotFound,
    ReviewFinalizedError,
    ScaleChangedError,
    StaleWriteError,
    ValidationProblem,
)

__all__ = [
    "AccessDenied",
    "DatabaseError",
    "FidelityError",
    "IntegrityFailure",
    "NotFound",
    "PublishedScaleError",
    "ReviewFinalizedError",
    "ScaleChangedError",
    "StaleWriteError",
    "ValidationProblem",
]


class DatabaseError(FidelityError):
    """The database cannot be used (unreachable, or migrated by a newer version)."""


class PublishedScaleError(FidelityError):
    """A published scale version cannot change (the service and the database both refuse)."""
