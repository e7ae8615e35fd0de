"""Domain errors the UI shows and the CLI prints (exit 2), one line per problem.

Defined in domain.errors, so that exchange/ (which imports no services) raises the same
classes; the app, the CLI and the services keep importing them from here.
"""

from __future__ import annotations

from domain.errors import (
    AccessDenied,
    DatabaseError,
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
    "ReviewFinalizedError",
    "ScaleChangedError",
    "StaleWriteError",
    "ValidationProblem",
]
