"""Rows straight from the database driver, made into arrays, and the attributions'
columns read that way: what the re-scoring job's snapshot (``snapshot``) and its
second reader (``attribution_reader``) share.

No SQLAlchemy, no models and no scoring model: the second reader, a process of
its own, imports this module alone and starts in a fifth of the time.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice, repeat
from typing import Any

import numpy as np
import orjson

# Rows taken from the driver at a time: big enough to amortise each call,
# small enough that a batch of tuples stays a few megabytes.
BATCH_ROWS = 20_000
# Rows libpq takes from PostgreSQL at a time when streaming (one result each): a
# tenth of a batch, as results of a whole batch held a few MB more at the job's peak.
STREAM_ROWS = 2_000

Int64Array = np.ndarray[tuple[int], np.dtype[np.int64]]

# The Python type the driver gives a column of each PostgreSQL type the reads name.
_LOADED_AS: dict[str, type] = {"text": str, "varchar": str, "bool": bool, "float8": float}
_LOADED_AS |= {"int2": int, "int4": int, "int8": int}


def batches(
    connection: Any, dialect: str, sql: str, types: Sequence[str]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` in batches, straight from the driver (``connection``, a
    DB-API connection to a ``dialect`` database), in its transaction.

    PostgreSQL streams them in chunks of ``STREAM_ROWS`` rows (libpq's chunked
    rows mode), in binary, made into tuples by the driver's C loaders: by
    ``COPY ... TO STDOUT`` and ``Copy.rows()``, a Python step a row cost some
    2 µs, 2 s of CPU at 1 M attributions. ``types`` (PostgreSQL type names, one
    a column) are what the rows' values must be loaded as: a column the
    database gives as another type raises ``TypeError``, where a ``numeric``
    would come as ``Decimal``. SQLite gives the rows from its cursor.
    """
    cursor = connection.cursor()
    try:
        if dialect == "postgresql":
            rows = cursor.stream(sql, binary=True, size=STREAM_ROWS)
            batch = list(islice(rows, BATCH_ROWS))
            if batch:  # the columns' types are known once a row came
                _check_types(cursor, types)
            while batch:
                yield batch
                batch = list(islice(rows, BATCH_ROWS))
        else:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield batch
    finally:
        cursor.close()


def _check_types(cursor: Any, types: Sequence[str]) -> None:
    """Raise ``TypeError`` unless the driver loads the columns of ``cursor``'s
    result as the Python types of ``types`` (PostgreSQL type names)."""
    registry = cursor.adapters.types
    names = [
        getattr(registry.get(column.type_code), "name", str(column.type_code))
        for column in cursor.description
    ]
    if [_LOADED_AS.get(name) for name in names] != [_LOADED_AS[name] for name in types]:
        raise TypeError(f"the database gives columns of types {names}, not {list(types)}")


def not_none(values: Sequence[Any]) -> list[int]:
    """Where ``values`` are not None: the columns a few rows fill (figures, relay
    chains) are scanned in C rather than a Python step a row."""
    present = np.fromiter(map(operator.is_not, values, repeat(None)), bool, len(values))
    return np.flatnonzero(present).tolist()


def codes(values: Sequence[str | None], codes: dict[str, int], dtype: Any) -> Any:
    """Each value's code in ``codes`` as an array of ``dtype`` (None: -1); values new to
    ``codes`` get the next codes, in the order they first appear.

    The new values are found by ``dict.fromkeys`` and every value looked up by
    ``map``: both loops run in C, where a ``setdefault`` a row was a Python step.
    """
    for value in dict.fromkeys(values):
        if value is not None and value not in codes:
            codes[value] = len(codes)
    code: Any = codes.get  # of None too, which no dict of codes holds
    return np.fromiter(map(code, values, repeat(-1)), dtype, len(values))


@dataclass
class Attributions:
    """Every attribution of the store as columns, in claim then position order: what a
    snapshot's ``ClaimColumns`` hold of them (see there), the claims' bounds aside."""

    entities: list[str]
    source: np.ndarray[tuple[int], np.dtype[np.int32]]
    sign: np.ndarray[tuple[int], np.dtype[np.int8]]
    certainty: np.ndarray[tuple[int], np.dtype[np.float64]]
    count: np.ndarray[tuple[int], np.dtype[np.int32]]
    lengths: Int64Array
    """How many relays each attribution's chain has."""
    via: np.ndarray[tuple[int], np.dtype[np.int32]]
    age_days: np.ndarray[tuple[int], np.dtype[np.float32]]


ATTRIBUTION_ARRAYS = ("source", "sign", "certainty", "count", "lengths", "via", "age_days")
"""``Attributions``' arrays, in the order the second reader sends them (``attribution_reader``)."""


def read_attributions(
    connection: Any, dialect: str, m: int, now: datetime, signs: Mapping[str, int]
) -> Attributions:
    """The store's ``m`` attributions as columns, in claim then position order, read on
    ``connection`` (a DB-API connection to a ``dialect`` database, in its transaction);
    ``signs`` are the stances' (``scoring.claims.STANCE_SIGN``).

    The rows carry no claim id: the claims are read in id order in the same
    snapshot (same column, same collation), so claim ``i``'s attributions are the
    next rows, as many as it has.
    """
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    if dialect == "sqlite":
        # Ages in the database: parsing a million timestamps in Python would dominate.
        age = f"julianday('{stamp}') - julianday(observed_at)"
        via = "via"
    else:
        age = f"extract(epoch FROM (TIMESTAMPTZ '{stamp}+00' - observed_at))::float8 / 86400"
        via = "via::text"
    # An empty chain comes as None: no string is made for the nine rows in ten without one.
    sql = (
        f"SELECT source_id, stance, CASE WHEN length({via}) > 2 THEN {via} END, "
        f"certainty, count, {age} FROM attributions ORDER BY claim_id, position"
    )
    # Every column is made at its full size (counted in this snapshot) and filled a
    # batch at a time: batches joined at the end left their memory free on the heap
    # but resident through the whole job (at 10 M attributions some 450 MB), beside
    # the arrays that replaced them.
    source = np.empty(m, dtype=np.int32)
    sign = np.empty(m, dtype=np.int8)
    certainty = np.empty(m)
    count = np.empty(m, dtype=np.int32)
    ages = np.empty(m, dtype=np.float32)
    lengths = np.zeros(m, dtype=np.int64)
    relays: list[Any] = []  # a batch's relay codes each: one row in ten has a chain
    entity: dict[str, int] = {}
    lo = 0
    types = ("text", "text", "text", "float8", "int4", "float8")
    for batch in batches(connection, dialect, sql, types):
        hi = lo + len(batch)
        if hi > m:
            raise RuntimeError(
                f"read more attributions than their claims count ({m}): an attribution of no claim?"
            )
        sources, stance, chains, certainties, counts, age_days = zip(*batch, strict=True)
        source[lo:hi] = codes(sources, entity, np.int32)
        try:
            sign[lo:hi] = np.fromiter(map(signs.__getitem__, stance), np.int8, len(stance))
        except KeyError as exc:
            raise ValueError(f"a stored attribution has an unknown stance {exc}") from None
        # The batch's chains as one JSON array, read by one call; relays get codes
        # after the batch's sources, in the order they appear, as one at a time did.
        at = not_none(chains)
        named = orjson.loads("[" + ",".join([chains[k] for k in at]) + "]")
        relays.append(codes(list(chain.from_iterable(named)), entity, np.int32))
        lengths[np.array(at, dtype=np.int64) + lo] = np.fromiter(
            map(len, named), np.int64, len(named)
        )
        certainty[lo:hi] = certainties
        count[lo:hi] = counts
        ages[lo:hi] = np.maximum(np.array(age_days, dtype=float), 0.0)
        lo = hi
    if lo != m:
        raise RuntimeError(
            f"read {lo} attributions where their claims count {m}: did the store change?"
        )
    return Attributions(
        entities=list(entity),
        source=source,
        sign=sign,
        certainty=certainty,
        count=count,
        lengths=lengths,
        via=np.concatenate(relays) if relays else np.zeros(0, dtype=np.int32),
        age_days=ages,
    )
