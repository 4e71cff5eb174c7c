"""Many rows written with one statement: column by column, processed once.

SQLAlchemy's ``executemany`` builds and processes a parameter dict per row in
Python, which costs more than the database's own work when a request writes a
few hundred small rows. Here a statement is compiled once per dialect and set
of columns, the writer gives its rows column by column, and each distinct value
passes its column type's bind processor once (the same conversion SQLAlchemy
applies: JSON serialised, times formatted). On SQLite the rows go to the
driver's own ``executemany`` as tuples. On PostgreSQL each column goes as one
array, in psycopg's binary format, and the statement reads its rows from
``unnest`` of them: one statement for the batch, where psycopg's ``executemany``
sends and the server executes every row as a statement of its own (a 100-claim
``POST /v1/claims``, 700 rows: 14.6-16.5 ms of the app's CPU and 8.6-9.2 ms of
the server's, against 8.4-10.0 and 6.2-6.8 as arrays; ``bench/results/
store_growth.md``). Both run inside the session's transaction. For statements
without RETURNING.

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

from sqlalchemy import (
    JSON,
    Float,
    Insert,
    Integer,
    String,
    TypeDecorator,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

_ColumnProcessor = Callable[[Sequence[Any]], list[Any]] | None
_Compiled = tuple[str, tuple[str, ...], tuple[_ColumnProcessor, ...], bool]


@functools.lru_cache(maxsize=256)
def _compile(statement: Insert, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    """The statement's SQL, its parameter names in order, what processes each one's
    column of values (None: nothing to do), positional or not.

    Keyed by the statement and dialect objects themselves: statements are built
    once, and a dialect carries its engine's JSON serialiser. On PostgreSQL the
    SQL is ``_from_arrays``', whose arrays hold the values processed as a row's.
    """
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    assert isinstance(compiled, SQLCompiler)
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.bind_names.values())
    processors: Mapping[str, Any] = compiled._bind_processors
    arrays = dialect.name == "postgresql"
    columns: list[_ColumnProcessor] = []
    for name in names:
        process = processors.get(name)
        column_type = compiled.binds[name].type
        if process is not None and isinstance(column_type, JSON | TypeDecorator):
            columns.append(functools.partial(_each_object_once, process))
        elif process is not None:
            columns.append(functools.partial(_each_value, process))
        elif arrays and isinstance(column_type, Float | Integer):
            # psycopg sends a list as an array of one element type, and refuses
            # one that mixes ints and floats (a certainty given as 1 beside 0.7).
            columns.append(functools.partial(_each_number_as, column_type.python_type))
        else:
            columns.append(None)
    sql = compiled.string
    if arrays:
        assert not positional and set(names) == set(keys)
        sql = _from_arrays(statement, keys).compile(dialect=dialect).string
        # psycopg's binary format (%b): its text format quotes every element of an
        # array with a regular expression, which cost as much as executemany saved.
        for key in keys:
            sql = sql.replace(f"%({key})s", f"%({key})b")
    return sql, names, tuple(columns), positional


def _from_arrays(statement: Insert, keys: tuple[str, ...]) -> Insert:
    """``statement`` (an ``INSERT``, perhaps with ``ON CONFLICT``) taking its rows from
    ``unnest`` of one array parameter per column, each named by its column's key:
    ``INSERT INTO t (a, b) SELECT ... FROM unnest(CAST(%(a)s AS VARCHAR[]), ...)``.

    The casts name each array's element type, which a list of Python values does
    not always tell (a list of JSON texts, or of None); strings are cast without
    their length, so that an over-long value fails the insert as it would a row's,
    rather than being cut to fit as a cast to ``VARCHAR(n)`` would cut it.
    """
    table = statement.table
    arrays = [cast(bindparam(key), ARRAY(_unbounded(table.c[key].type))) for key in keys]
    rows = func.unnest(*arrays).table_valued(*keys).render_derived(name="batch")
    return statement.from_select(list(keys), select(*rows.c), include_defaults=False)


def _unbounded(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    """The column's type, without a string's length."""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, String) and column_type.length is not None:
        return String()
    return column_type


def _each_value(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``process`` of each value: a plain type's processor (a float's) is a C function
    that costs less than telling values apart."""
    return list(map(process, values))


def _each_number_as(kind: type, values: Sequence[Any]) -> list[Any]:
    """Each value as ``kind`` (``float`` or ``int``), None kept."""
    return [value if value is None else kind(value) for value in values]


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
    """A statement's SQL and its parameters as the driver takes them: a row's each
    (``many``), or a column's each as one array (PostgreSQL)."""

    sql: str
    parameters: Any
    many: bool


def prepare_columns(
    dialect: Dialect, statement: Insert, columns: Mapping[str, Sequence[Any]]
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
    processed = [
        columns[name] if process is None else process(columns[name])
        for name, process in zip(names, processors, strict=True)
    ]
    if dialect.name == "postgresql":
        return Prepared(sql, dict(zip(names, processed, strict=True)), many=False)
    rows = list(zip(*processed, strict=True))
    parameters: Any = (
        rows if positional else [dict(zip(names, values, strict=True)) for values in rows]
    )
    return Prepared(sql, parameters, many=True)


def run_many(session: Session, prepared: Prepared | None) -> None:
    """Run a prepared statement for all its rows, in one call, inside the session's transaction."""
    if prepared is None:
        return
    connection = session.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite)
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = connection.connection.cursor()
    try:
        if prepared.many:
            cursor.executemany(prepared.sql, prepared.parameters)
        else:
            cursor.execute(prepared.sql, prepared.parameters)
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
