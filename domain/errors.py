"""Refusals the UI shows and the CLI prints (exit 2), one line per problem.

Pure (no storage, no UI), so the formats in exchange/ raise the same errors as the services:
services.errors re-exports them for the app and the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence


class FidelityError(Exception):
    """Base of every refusal the services (and the file formats) make; one message per problem."""

    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class NotFound(FidelityError):
    """No program, review or item with that id."""


class ValidationProblem(FidelityError):
    """The input was refused (a bad rating, a missing reason, an incomplete review...)."""


class StaleWriteError(FidelityError):
    """Someone else saved the same thing since the caller loaded it; reload and try again."""


class ReviewFinalizedError(FidelityError):
    """A final review cannot change; amend it to make a new version instead."""


class ScaleChangedError(FidelityError):
    """A stored review's published scale file has changed (or is gone) since it was rated."""


class DatabaseError(FidelityError):
    """The database cannot be used (unreachable, or migrated by a newer version)."""


class AccessDenied(FidelityError):
    """The acting user's role or scope does not allow this (see services.access)."""


class IntegrityFailure(FidelityError):
    """A final review's stored content no longer matches the checksum taken when it was finalized."""
