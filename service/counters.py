"""Named change counters that let each process keep in-memory copies of shared state.

A writer bumps a counter in the transaction of its change; every request reads
all counters once (one indexed read of a tiny table) and reloads what moved.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from service.db import upsert_statement
from service.models import Counter

RELIABILITIES = "reliabilities"
"""Bumped by every change that can move a source's reliability: a source defined,
a resolution set or withdrawn, a fit written."""
API_KEYS = "api_keys"
"""Bumped when a key is created or revoked."""


def bump(session: Session, name: str) -> int:
    """Increment ``name`` in the caller's transaction (created at 1 if missing); its new value."""
    statement = upsert_statement(session, Counter).values(name=name, value=1)
    value: int = session.execute(
        statement.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + 1}
        ).returning(Counter.value)
    ).scalar_one()
    return value


def read_all(connection: Connection) -> dict[str, int]:
    return {name: value for name, value in connection.execute(select(Counter.name, Counter.value))}


def read_all_fast(engine: Engine) -> dict[str, int]:
    """``read_all`` on a pooled DBAPI connection: the per-request check, where
    SQLAlchemy's statement and result machinery would cost more than the query."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT name, value FROM counters")
        rows = cursor.fetchall()
        cursor.close()
    finally:
        connection.close()
    return dict(rows)
