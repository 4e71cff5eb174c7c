"""The schema revision this code is written for, and the one a store is at, read with
plain SQL: the server's readiness probe and the commands that work on the store
check them, and neither a served worker nor a re-scoring job's process loads Alembic
for it (15 MB and half a second of imports; tests/service/test_cli.py)."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

SCHEMA_REVISION = "0011"
"""The migrations' head (``service/store/migrations/versions``; tests/service/test_migrations.py
holds the two together)."""


def stored_revision(connection: Connection) -> str | None:
    """The revision ``credence migrate`` last brought the store to; None before the first."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_problem(connection: Connection) -> str | None:
    """What is wrong with the store's schema for this code, and what to do; None if nothing."""
    current = stored_revision(connection)
    if current == SCHEMA_REVISION:
        return None
    if current is None:
        return "The database has no schema yet: run `credence migrate`."
    return f"The database schema is at {current}, not {SCHEMA_REVISION}: run `credence migrate`."
