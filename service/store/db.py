"""Engines on the store: SQLite set up for several processes, writers, dialect inserts.

The app's engine and its per-request sessions are ``service.web.database``'s."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE = "credence_write"
# Every SQLite connection's settings (the re-scoring job's writer process sets them too).
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")
SQLITE_TIMEOUT = 30
"""Seconds a SQLite writer waits for the write lock."""


def _json_dumps(value: Any) -> str:
    """JSON columns written by orjson (several times faster than the standard
    library on score evidence), falling back to it for what orjson refuses."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


UNICODE_LOWER = "unicode_lower"
"""A SQLite function of each connection: its text argument in lower case, as Python's
``str.lower`` (PostgreSQL's ``lower`` does so in a UTF-8 database)."""


def _unicode_lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout so
    that several processes can share one file.

    On SQLite a transaction that reads and then writes fails at once with
    "database is locked" when another writer committed in between (its snapshot
    went stale), whatever the busy timeout. Writers therefore begin with
    ``BEGIN IMMEDIATE`` (the ``WRITE`` execution option) and so queue on the
    busy timeout instead; pysqlite's own implicit BEGIN is turned off for that.
    """
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_TIMEOUT},
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()
            # SQLite's lower() folds ASCII letters only ("Österreich" stays as it is).
            dbapi_connection.create_function(UNICODE_LOWER, 1, _unicode_lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            write = connection.get_execution_options().get(WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        **kwargs,
    )

    @event.listens_for(engine, "do_execute")
    def _plan_lists_anew(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        # psycopg prepares a statement on the server once a connection has run it five
        # times, and the server may then keep one plan for every later run. For a
        # lookup of a list of ids (an expanding IN), the plan made while the store was
        # small is a sequential scan whose filter compares every row with every listed
        # value (a list given as parameters is not hashed), and it was kept as the
        # store grew: the read-back of POST /v1/claims cost the server 91 ms a request
        # at 20,000 stored claims, 6 ms planned for its values. Such statements are
        # planned at every run instead (a fraction of a millisecond).
        # The expanding parameters, as SQLAlchemy's compiler lists them once per statement
        # (DDL and plain SQL have none).
        if not getattr(context.compiled, "post_compile_params", None):
            return False
        cursor.execute(statement, parameters, prepare=False)
        return True

    return engine


def sqlite_file(engine: Engine) -> str | None:
    """The absolute path of a SQLite engine's database file; None when it is in memory
    (which no other process can open) or the engine is not on SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return os.path.abspath(database)


def process_connection(engine: Engine, *pragmas: str) -> dict[str, Any] | None:
    """How a process of its own (the re-scoring job's helpers) connects to ``engine``'s
    store with the driver alone: ``dialect``, then ``conninfo`` for PostgreSQL, or the
    ``database`` file, its ``pragmas`` (``SQLITE_PRAGMAS``, then these) and ``timeout``
    for SQLite; None for a SQLite store in memory, which no other process can open."""
    if engine.dialect.name == "postgresql":
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return {"dialect": "postgresql", "conninfo": conninfo}
    database = sqlite_file(engine)
    if database is None:
        return None
    return {
        "dialect": "sqlite",
        "database": database,
        "pragmas": (*SQLITE_PRAGMAS, *pragmas),
        "timeout": SQLITE_TIMEOUT,
    }


def writer(engine: Engine) -> Engine:
    """``engine`` for transactions that will write (same pool)."""
    return engine.execution_options(**{WRITE: True})


T = TypeVar("T")


def dialect_insert(dialect: str, table: Any) -> Any:
    """The dialect's ``INSERT`` that has ``on_conflict_do_update`` (SQLite or PostgreSQL)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert_statement(session: Session, model: Any) -> Any:
    """``dialect_insert`` for the session's database."""
    return dialect_insert(session.get_bind().dialect.name, model)


def slices(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (e.g. ids per query)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
