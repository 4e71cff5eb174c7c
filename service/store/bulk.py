"""Many rows written with one statement through the driver's own ``executemany``.

SQLAlchemy's ``executemany`` builds and processes a parameter dict per row in
Python, which costs more than the database's own work when a request writes a
few hundred small rows. Here a statement is compiled once per dialect and set
of columns, each value passes its column type's bind processor (the same
conversion SQLAlchemy applies: JSON serialised, times formatted), and the rows
go to the driver as one ``executemany``, inside the session's transaction.
For statements without RETURNING.

Preparing needs no connection (``prepare_many``), so a writer can build and
process its rows before its transaction begins and only run them inside it
(``run_many``): on SQLite the transaction holds the write lock that every other
writer waits on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None
_Compiled = tuple[str, tuple[str, ...], tuple[_Processor, ...], bool]


@functools.lru_cache(maxsize=256)
def _compile(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    """The statement's SQL, its parameter names in order, their processors, positional or not.

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
    return compiled.string, names, tuple(processors.get(name) for name in names), positional


@dataclass(frozen=True, slots=True)
class Prepared:
    """A statement's SQL and its rows' parameters as the driver takes them."""

    sql: str
    parameters: Any


def prepare_many(
    dialect: Dialect, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> Prepared | None:
    """``statement`` and ``rows`` (dicts with the same keys) ready for ``run_many``; None
    when there are no rows.

    Needs no connection: a writer prepares its rows before its transaction begins
    (on SQLite, before it takes the write lock). ``statement`` is built once and
    reused (a module constant or a cached factory's); the rows give every column it
    writes, defaults included.
    """
    if not rows:
        return None
    sql, names, processors, positional = _compile(statement, dialect, tuple(rows[0].keys()))
    columns = []
    for name, process in zip(names, processors, strict=True):
        values = [row[name] for row in rows]
        if process is not None:
            # A batch often repeats one value down a column (its write time): that
            # object is processed once. Otherwise each value is processed, as
            # telling repeated objects apart costs more than a float's processor.
            first = values[0]
            if all(v is first for v in values):
                values = [process(first)] * len(values)
            else:
                values = list(map(process, values))
        columns.append(values)
    processed = list(zip(*columns, strict=True))
    parameters: Any = (
        processed if positional else [dict(zip(names, values, strict=True)) for values in processed]
    )
    return Prepared(sql, parameters)


def run_many(session: Session, prepared: Prepared | None) -> None:
    """Run a prepared statement once per row, in one call, inside the session's transaction."""
    if prepared is not None:
        session.connection().exec_driver_sql(prepared.sql, prepared.parameters)


def execute_many(
    session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per row of ``rows`` (dicts with the same keys), in one call."""
    run_many(session, prepare_many(session.get_bind().dialect, statement, rows))
