"""Named change counters that let each process keep in-memory copies of shared state.

A writer bumps a counter in the transaction of its change; every request reads
all counters once (one indexed read of a tiny table) and reloads what moved.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from service.store.db import upsert_statement
from service.store.models import Counter

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


_READ_ALL = "SELECT name, value FROM counters"


class CounterReader:
    """The per-request ``read_all`` on a DBAPI connection this process keeps checked out.

    Every call still runs the query, so a change committed by any process before
    a request starts is seen by that request; only the pool's checkout, reset and
    (on PostgreSQL) pre-ping are saved. The connection is this thread's and this
    process's own (a forked child opens its own). When it fails, it is dropped
    and the read is retried once on a new one, as the pool's pre-ping would; a
    second failure propagates (a 503).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def _connection(self) -> Any:
        local = self._local
        held = getattr(local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[2]
        fairy = self.engine.raw_connection()
        local.held = (os.getpid(), fairy, fairy.dbapi_connection)
        return fairy.dbapi_connection

    def _drop(self) -> None:
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None and held[0] == os.getpid():
            with contextlib.suppress(Exception):  # already broken: nothing more to do
                held[1].invalidate()

    def _read(self) -> dict[str, int]:
        connection = self._connection()
        cursor = connection.cursor()
        try:
            cursor.execute(_READ_ALL)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # No transaction stays open between requests (what the pool's reset does).
        connection.rollback()
        return dict(rows)

    def read_all(self) -> dict[str, int]:
        try:
            return self._read()
        except Exception:
            self._drop()
        return self._read()
