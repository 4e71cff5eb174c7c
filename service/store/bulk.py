"""Many rows written with one statement through the driver's own ``executemany``.

SQLAlchemy's ``executemany`` builds and processes a parameter dict per row in
Python, which costs more than the database's own work when a request writes a
few hundred small rows. Here a statement is compiled once per dialect and set
of columns, the writer gives its rows column by column, each distinct value
passes its column type's bind processor once (the same conversion SQLAlchemy
applies: JSON serialised, times formatted), and the rows go to the driver as
tuples (or dicts, for drivers with named parameters) in one ``executemany``,
inside the session's transaction.
For statements without RETURNING.

Preparing needs no connection (``prepare_columns``), so a writer can build and
process its rows before its transaction begins and only run them inside it
(``run_many``): on SQLite the transaction holds the write lock that every other
writer waits on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Executable, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

_ColumnProcessor = Callable[[Sequence[Any]], list[Any]] | None
_Compiled = tuple[str, tuple[str, ...], tuple[_ColumnProcessor, ...], bool]


@functools.lru_cache(maxsize=256)
def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    """The statement's SQL, its parameter names in order, what processes each one's
    column of values (None: nothing to do), positional or not.

    Keyed by the statement and dialect objects themselves: statements are built
    once, and a dialect carries its engine's JSON serialiser.
    """
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=list(keys), for_executemany=True
    )
    assert isinstance(compiled, SQLCompiler)
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.bind_names.values())
    processors: Mapping[str, Any] = compiled._bind_processors
    columns: list[_ColumnProcessor] = []
    for name in names:
        process = processors.get(name)
        if process is None:
            columns.append(None)
        elif isinstance(compiled.binds[name].type, JSON | TypeDecorator):
            columns.append(functools.partial(_each_object_once, process))
        else:
            columns.append(functools.partial(_each_value, process))
    return compiled.string, names, tuple(columns), positional


def _each_value(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``process`` of each value: a plain type's processor (a float's) is a C function
    that costs less than telling values apart."""
    return list(map(process, values))


def _each_object_once(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``process`` of each value, each distinct object processed once.

    For JSON and our own column types, whose processors are Python functions that
    cost several times a dict lookup, where a batch often repeats one object down
    a column (its write time, a shared empty list).
    """
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)  # the objects are alive in ``values``, so ids stay distinct
        if key not in done:
            done[key] = process(value)
        out.append(done[key])
    return out


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement's SQL and its rows' parameters as the driver takes them."""

    sql: str
    parameters: Any


def prepare_columns(
    dialect: Dialect, statement: Executable, columns: Mapping[str, Sequence[Any]]
) -> Prepared | None:
    """``statement`` and its rows, given column by column (lists of one length), ready
    for ``run_many``; None when there are no rows.

    Needs no connection: a writer prepares its rows before its transaction begins
    (on SQLite, before it takes the write lock). ``statement`` is built once and
    reused (a module constant or a cached factory's); the columns give every column
    it writes, defaults included. Writers that build their rows for one statement
    give columns: a dict per row costs more than the database's work on it.
    """
    if not columns or not len(next(iter(columns.values()))):
        return None
    sql, names, processors, positional = _compile(statement, dialect, tuple(columns))
    processed = list(
        zip(
            *(
                columns[name] if process is None else process(columns[name])
                for name, process in zip(names, processors, strict=True)
            ),
            strict=True,
        )
    )
    parameters: Any = (
        processed if positional else [dict(zip(names, values, strict=True)) for values in processed]
    )
    return Prepared(sql, parameters)


def run_many(session: Session, prepared: Prepared | None) -> None:
    """Run a prepared statement once per row, in one call, inside the session's transaction."""
    if prepared is None:
        return
    connection = session.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite)
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(prepared.sql, prepared.parameters)
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execute does: a lost connection is invalidated, so that
        # the session's rollback does not try it again (a 500 instead of the 503 the
        # app answers to a database that went away) and the pool opens a new one.
        lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            prepared.sql,
            prepared.parameters,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc
    finally:
        cursor.close()
