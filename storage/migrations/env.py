"""Alembic environment, driven from code by storage.migrate (there is no alembic.ini).

storage.migrate passes an open connection in `config.attributes["connection"]`. Users run
`fidelity db upgrade` (or just open the app); developers write a new migration with
storage.migrate.new_revision(). A `-x url=...` argument is honoured as a fallback.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.db import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: use storage.migrate.upgrade_to_head() or `alembic -x url=...`")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; the triggers need a live dialect")
run_online()
