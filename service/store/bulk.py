"""Many rows written with one statement through the driver's own ``executemany``.

SQLAlchemy's ``executemany`` builds and processes a parameter dict per row in
Python, which costs more than the database's own work when a request writes a
few hundred small rows. Here a statement is compiled once per dialect and set
of columns, each value passes its column type's bind processor (the same
conversion SQLAlchemy applies: JSON serialised, times formatted), and the rows
go to the driver as one ``executemany``, inside the session's transaction.
For statements without RETURNING.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
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


def execute_many(
    session: Session, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per row of ``rows`` (dicts with the same keys), in one call.

    ``statement`` is built once and reused (a module constant or a cached
    factory's); the rows give every column it writes, defaults included.
    """
    if not rows:
        return
    connection = session.connection()
    sql, names, processors, positional = _compile(
        statement, connection.dialect, tuple(rows[0].keys())
    )
    columns = []
    for name, process in zip(names, processors, strict=True):
        values = [row[name] for row in rows]
        if process is not None:
            # A batch repeats values (its write time, an empty relay list): each
            # distinct object is processed once.
            done: dict[int, Any] = {}
            values = [
                done[id(v)] if id(v) in done else done.setdefault(id(v), process(v)) for v in values
            ]
        columns.append(values)
    processed = list(zip(*columns, strict=True))
    parameters: Any = (
        processed if positional else [dict(zip(names, values, strict=True)) for values in processed]
    )
    connection.exec_driver_sql(sql, parameters)
