"""Settings from environment variables (or a `.env` file), as DESIGN.md section 2 fixes them."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from scales import ScaleRegistry, load_registry


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIDELITY_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///fidelity.db"
    scales_dirs: str = ""  # extra folders of scale YAML, os.pathsep-separated
    # The secret that keys review checksums, seals and the audit chain (HMAC-SHA256). Never
    # stored in the database; without it the digests are plain SHA-256 (README, Integrity).
    integrity_key: SecretStr | None = None
    # The key the digests were made with before a rotation, read by `fidelity db rekey` only
    # (empty: the installation was keyless).
    integrity_previous_key: SecretStr | None = None
    # Each app process's connection pool (SQLAlchemy QueuePool), docs/deployment.md: at most
    # db_pool_size + db_max_overflow connections per process; db_pool_timeout seconds waiting for one.
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    db_pool_recycle: int = -1  # seconds before a connection is replaced; -1: never

    @property
    def pool_options(self) -> dict[str, int | float]:
        """The pool's keyword arguments for sqlalchemy.create_engine."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
            "pool_recycle": self.db_pool_recycle,
        }

    @property
    def integrity_secret(self) -> str | None:
        """The integrity key's text, or None when none is configured (or it is blank)."""
        return _secret(self.integrity_key)

    @property
    def integrity_previous_secret(self) -> str | None:
        """The previous integrity key's text, or None (the installation was keyless)."""
        return _secret(self.integrity_previous_key)

    @property
    def extra_scale_dirs(self) -> list[Path]:
        return [Path(p) for p in self.scales_dirs.split(os.pathsep) if p.strip()]


def _secret(value: SecretStr | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value().strip() or None


def get_settings(files_max_age: float = 0.0) -> Settings:
    """The settings of the environment as it is now: read again only when a FIDELITY_ variable,
    the working folder or its `.env` file changed (every page run asks for them).

    `files_max_age`: the folder and `.env` are looked at again only when last looked at longer
    ago than this many seconds (the variables always are: comparing them costs no system call).
    A page run asks about ten times, and each look is two system calls (docs/performance.md, fifth round)."""
    global _files_seen
    seen = _files_seen
    now = time.monotonic()
    if seen is None or files_max_age <= 0 or now - seen[0] > files_max_age:
        try:
            env_file: int | None = os.stat(".env").st_mtime_ns
        except OSError:
            env_file = None
        seen = _files_seen = (now, os.getcwd(), env_file)
    return _settings_for(_fidelity_variables(), seen[1], seen[2])


# When the working folder and its .env were last looked at: (monotonic time, folder, .env's mtime).
_files_seen: tuple[float, str, int | None] | None = None


# The environment's raw variables when last scanned, and its FIDELITY_ ones.
_environ_seen: tuple[dict[Any, Any], tuple[tuple[str, str], ...]] | None = None


def _fidelity_variables() -> tuple[tuple[str, str], ...]:
    """The FIDELITY_ variables, sorted. Scanned again only when the environment changed: the
    scan decodes every variable (about 0.1 ms, and a page's rerun asks several times), while
    comparing os.environ's raw mapping with a copy is a C-level dict comparison."""
    global _environ_seen
    raw = getattr(os.environ, "_data", None)  # CPython's encoded variables, kept in step by os.environ
    seen = _environ_seen
    if isinstance(raw, dict) and seen is not None and seen[0] == raw:
        return seen[1]
    copy = dict(raw) if isinstance(raw, dict) else None  # before the scan: a change during it scans again
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("FIDELITY_")))
    if copy is not None:
        _environ_seen = (copy, variables)
    return variables


@lru_cache(maxsize=8)
def _settings_for(variables: tuple[tuple[str, str], ...], folder: str, env_file: int | None) -> Settings:
    return Settings()


@lru_cache(maxsize=8)
def _registry_for(dirs: tuple[str, ...]) -> ScaleRegistry:
    return load_registry(dirs)


def get_registry(settings: Settings | None = None) -> ScaleRegistry:
    """The bundled scales plus FIDELITY_SCALES_DIRS, loaded once per set of folders."""
    settings = settings or get_settings()
    return _registry_for(tuple(str(p) for p in settings.extra_scale_dirs))
