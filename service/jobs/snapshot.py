"""The re-scoring job's snapshot of the store: compact columns read in one transaction.

Claims and attributions are streamed straight from the driver into
``scoring.columns.ClaimColumns`` (ids interned to ``int32`` codes, stances as
``int8``, ages as ``float32``) and each claim's stored score into
``StoredScores`` arrays: no ORM object and no Python object per attribution
is kept, so the snapshot costs about 40 bytes an attribution and 150 a
claim (ids and wordings included). On PostgreSQL the rows are streamed in
chunks, in binary, and made into tuples by the driver's C loaders; on SQLite
they come from a plain cursor by ``fetchmany``. Times are read as integer
microseconds since the epoch, computed by the database (``micros``), so the
job's optimistic checks compare integers, never parsed datetimes.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice, repeat
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, select

from scoring.claims import STANCE_SIGN
from scoring.columns import ClaimColumns
from scoring.evidence import FloatArray
from scoring.fit.data import BoolArray
from scoring.numeric import ErrorScale, QuestionKinds
from scoring.strings import Strings
from service.scoring_model import ScoringModel
from service.store import change_counters
from service.store import questions as question_store
from service.store.models import Attribution, Claim, Question, Resolution, Score, SourceReliability
from service.store.source_beliefs import SourceBook, SourceDefinition, read_book
from service.store.statistics import analyze_stale

# The tables of a store's rows, whose planner statistics the reads' joins depend on.
SNAPSHOT_TABLES = tuple(m.__tablename__ for m in (Claim, Attribution, Score, Resolution))
# Rows taken from the driver at a time: big enough to amortise each call,
# small enough that a batch of tuples stays a few megabytes.
BATCH_ROWS = 20_000
# Rows libpq takes from PostgreSQL at a time when streaming (one result each): a
# tenth of a batch, as results of a whole batch held a few MB more at the job's peak.
STREAM_ROWS = 2_000
NO_VERSION = -1
"""``StoredScores.reliabilities_version`` of a score computed from unknown beliefs."""

Int64Array = np.ndarray[tuple[int], np.dtype[np.int64]]


def micros(dialect: str, column: str) -> str:
    """SQL for a time column as integer microseconds since the epoch (NULL stays NULL).

    SQLite keeps times as text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC): whole
    seconds from ``strftime('%s')``, the fraction from the text, since
    ``julianday`` is a double and loses microseconds.
    """
    if dialect == "sqlite":
        return (
            f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + "
            f"CASE WHEN substr({column}, 20, 1) = '.' "
            f"THEN CAST(substr({column}, 21, 6) AS INTEGER) ELSE 0 END)"
        )
    return f"CAST(extract(epoch FROM {column}) * 1000000 AS BIGINT)"


def epoch_micros(value: datetime | None) -> int | None:
    """An aware datetime as ``micros`` gives it from the database."""
    if value is None:
        return None
    delta = value - datetime(1970, 1, 1, tzinfo=value.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, eq=False)
class StoredScores:
    """Each claim's stored score as the job needs it, as arrays (n claims).

    Attributes
    ----------
    present : ndarray of bool
        Whether the claim has a stored score; the other arrays are
        meaningless where it has not.
    confidence, low, high : ndarray of float64
    credibility : ndarray of int16
    model : ndarray of int16
        Index into ``models``.
    models : list of str
    computed_at : ndarray of int64
        Microseconds since the epoch.
    reliabilities_version : ndarray of int64
        The ``reliabilities`` counter value of the beliefs it was computed
        from, ``NO_VERSION`` when unknown.

    Not its summary: read as text, a store's summaries left the heap they were
    read on fragmented (15 MB resident through the job at 200,000 claims); the
    job reads those it compares (``service.jobs.rescore``).
    """

    present: np.ndarray[tuple[int], np.dtype[np.bool_]]
    confidence: FloatArray
    low: FloatArray
    high: FloatArray
    credibility: np.ndarray[tuple[int], np.dtype[np.int16]]
    model: np.ndarray[tuple[int], np.dtype[np.int16]]
    models: list[str]
    computed_at: Int64Array
    reliabilities_version: Int64Array


@dataclass
class Snapshot:
    """What a job knows of the store, as of one read transaction.

    Claims are in id order: claim ``i`` is ``columns``' claim ``i``.
    """

    taken_at: datetime
    columns: ClaimColumns
    updated_at: Int64Array
    """Each claim's ``updated_at``, microseconds since the epoch."""
    scores: StoredScores
    outcome: FloatArray
    """1.0 confirmed, 0.0 refuted, NaN open, per claim."""
    book: SourceBook
    """Source definitions and the beliefs the API scores with, as of the snapshot."""
    learned_at: dict[str, datetime]
    learned_version: dict[str, int]
    """The ``reliabilities`` counter value that wrote each learned belief, where known."""
    reliabilities_version: int
    """The ``reliabilities`` counter as of the snapshot."""
    kinds: QuestionKinds = field(default_factory=QuestionKinds)
    """The defined questions' kinds and numeric definitions."""
    truths: dict[str, float] = field(default_factory=dict)
    """The resolved value of each resolved numeric question."""
    errors: dict[str, ErrorScale] = field(default_factory=dict)
    """Each source's learned error scale, where it has one."""

    @property
    def ids(self) -> Strings[str]:
        return self.columns.claim_ids

    @property
    def n_attributions(self) -> int:
        return self.columns.n_attributions

    @functools.cached_property
    def is_open(self) -> BoolArray:
        """Whether each claim is unresolved (read once: every chunk of a job asks)."""
        return np.isnan(self.outcome)

    @property
    def learned(self) -> dict[str, Any]:
        return {source_id: self.book.beliefs[source_id].belief for source_id in self.book.learned}

    def source_changed_at(self) -> dict[str, float]:
        """When each source's belief last changed (definition or learned), as epoch seconds."""
        changed = {
            source_id: epoch(d.updated_at)
            for source_id, d in self.book.definitions.items()
            if d.stored
        }
        for source_id, at in self.learned_at.items():
            changed[source_id] = max(changed.get(source_id, float("-inf")), epoch(at))
        return changed


def epoch(value: datetime | None) -> float:
    """Seconds since the epoch; ``-inf`` for never."""
    return value.timestamp() if value is not None else float("-inf")


def _read_transaction(engine: Engine) -> Connection:
    """A connection whose reads all see one snapshot of the database."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    # SQLite in WAL mode: one deferred transaction (the engine's BEGIN) is one snapshot.
    return engine.connect()


# The Python type the driver gives a column of each PostgreSQL type the reads name.
_LOADED_AS: dict[str, type] = {"text": str, "varchar": str, "bool": bool, "float8": float}
_LOADED_AS |= {"int2": int, "int4": int, "int8": int}


def _batches(
    connection: Connection, sql: str, types: Sequence[str]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` in batches, straight from the driver, in this transaction.

    PostgreSQL streams them in chunks of ``STREAM_ROWS`` rows (libpq's chunked
    rows mode), in binary, made into tuples by the driver's C loaders: by
    ``COPY ... TO STDOUT`` and ``Copy.rows()``, a Python step a row cost some
    2 µs, 2 s of CPU at 1 M attributions. ``types`` (PostgreSQL type names, one
    a column) are what the rows' values must be loaded as: a column the
    database gives as another type raises ``TypeError``, where a ``numeric``
    would come as ``Decimal``. SQLite gives the rows from its cursor.
    """
    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if connection.dialect.name == "postgresql":
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


def _not_none(values: Sequence[Any]) -> list[int]:
    """Where ``values`` are not None: the columns a few rows fill (figures, relay
    chains) are scanned in C rather than a Python step a row."""
    present = np.fromiter(map(operator.is_not, values, repeat(None)), bool, len(values))
    return np.flatnonzero(present).tolist()


def _codes(values: Sequence[str | None], codes: dict[str, int], dtype: Any) -> Any:
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


def _json(value: Any) -> Any:
    """A JSON column's value: the reads select its text."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _joined(parts: dict[str, list[Any]], name: str, dtype: Any) -> Any:
    """The batches of column ``name`` read in ``parts``, as one array (empty: of ``dtype``).

    The batches are taken out of ``parts`` and go as soon as they are joined, so
    joining a snapshot's columns holds one column twice at a time, not all of them.
    """
    batches = parts.pop(name)
    return np.concatenate(batches) if batches else np.zeros(0, dtype=dtype)


def read_snapshot(
    engine: Engine,
    catalogue: Mapping[str, SourceDefinition],
    setup: ScoringModel,
    now: datetime,
) -> Snapshot:
    """Read every claim, attribution, resolution, score and source in one snapshot."""
    analyze_stale(engine, SNAPSHOT_TABLES)
    with _read_transaction(engine) as connection, connection.begin():
        book = read_book(connection, catalogue, setup)
        version = change_counters.read_all(connection).get(change_counters.RELIABILITIES, 0)
        learned_at: dict[str, datetime] = {}
        learned_version: dict[str, int] = {}
        for source_id, changed_at, written_by in connection.execute(
            select(
                SourceReliability.source_id,
                SourceReliability.updated_at,
                SourceReliability.reliabilities_version,
            )
        ):
            learned_at[source_id] = changed_at
            if written_by is not None:
                learned_version[source_id] = written_by
        question_rows = [
            Question(**row._mapping) for row in connection.execute(select(Question.__table__))
        ]
        errors = question_store.learned_error_scales(connection)
        claims = _read_claims(connection)
        columns = _read_attributions(connection, claims, now)
    return Snapshot(
        taken_at=now,
        columns=columns,
        updated_at=claims.updated_at,
        scores=claims.scores,
        outcome=claims.outcome,
        book=book,
        learned_at=learned_at,
        learned_version=learned_version,
        reliabilities_version=version,
        kinds=question_store.kinds_of(question_rows),
        truths={q.id: q.resolved_value for q in question_rows if q.resolved_value is not None},
        errors=errors,
    )


@dataclass
class _Claims:
    """The claim-level part of a snapshot, before the attributions are read."""

    ids: Strings[str]
    prior: FloatArray
    question: np.ndarray[tuple[int], np.dtype[np.int32]]
    questions: list[str]
    text: Strings[str | None]
    value: dict[int, Any]
    updated_at: Int64Array
    scores: StoredScores
    outcome: FloatArray
    attributions: Int64Array
    """How many attributions each claim has."""


def _read_claims(connection: Connection) -> _Claims:
    """Every claim in id order, with its stored score, resolution and number of
    attributions (one joined query).

    The database fills what is missing (no score, no resolution) with values an
    array takes as they come, and counts each claim's attributions by its index:
    a row's values then become arrays by numpy's own loops, with no Python step a
    row, and the attributions' read needs no claim id a row.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        as_text, real = "::text", "::float8"
        # Grouped and merged on the (claim_id, position) index: run as a correlated
        # subquery a claim, the counts took PostgreSQL 1.3 s more at 1 M attributions.
        counted = "coalesce(a.n, 0)"
        join = (
            "LEFT JOIN (SELECT claim_id, count(*) AS n FROM attributions GROUP BY claim_id) a "
            "ON a.claim_id = c.id "
        )
    else:
        # Correlated: SQLite materialises a grouped subquery and indexes it (twice the time).
        as_text, real, join = "", "", ""
        counted = "(SELECT count(*) FROM attributions a WHERE a.claim_id = c.id)"
    sql = (
        "SELECT c.id, c.prior, c.question, c.text, "
        f"c.value{as_text}, {micros(dialect, 'c.updated_at')}, "
        "s.claim_id IS NOT NULL, s.confidence, s.low, s.high, coalesce(s.credibility, 0), "
        f"s.model, coalesce({micros(dialect, 's.computed_at')}, 0), "
        f"coalesce(s.reliabilities_version, {NO_VERSION}), "
        f"CASE r.outcome WHEN 'confirmed' THEN 1.0{real} WHEN 'refuted' THEN 0.0{real} END, "
        f"{counted} FROM claims c LEFT JOIN scores s ON s.claim_id = c.id "
        f"LEFT JOIN resolutions r ON r.claim_id = c.id {join}ORDER BY c.id"
    )
    # Ids and wordings a batch at a time as one string each (``Strings``): as Python
    # strings they were a quarter of the snapshot, and pinned the heap they were read on.
    ids: list[Strings[str]] = []
    texts: list[Strings[str | None]] = []
    n_read = 0
    questions: dict[str, int] = {}
    models: dict[str, int] = {}
    names: tuple[str, ...] = ("prior", "question", "updated", "present", "confidence", "low")
    names += ("high", "credibility", "model", "computed", "version", "outcome", "count")
    parts: dict[str, list[Any]] = {name: [] for name in names}
    value: dict[int, Any] = {}
    types = ["text", "float8", "text", "text", "text", "int8", "bool", "float8", "float8"]
    types += ["float8", "int4", "text", "int8", "int8", "float8", "int8"]
    for batch in _batches(connection, sql, types):
        (
            cid,
            prior,
            question,
            text,
            stated,
            updated,
            present,
            confidence,
            low,
            high,
            credibility,
            model,
            computed,
            basis,
            outcome,
            count,
        ) = zip(*batch, strict=True)
        for k in _not_none(stated):
            if stated[k] != "null":
                value[n_read + k] = question_store.figure_of(_json(stated[k]))
        n_read += len(cid)
        ids.append(Strings.of(cid))
        texts.append(Strings.of(text))
        # None (no score, no resolution, no prior) becomes NaN in a float array.
        parts["prior"].append(np.array(prior, dtype=float))
        parts["question"].append(_codes(question, questions, np.int32))
        parts["updated"].append(np.array(updated, dtype=np.int64))
        parts["present"].append(np.array(present, dtype=bool))
        parts["confidence"].append(np.array(confidence, dtype=float))
        parts["low"].append(np.array(low, dtype=float))
        parts["high"].append(np.array(high, dtype=float))
        parts["credibility"].append(np.array(credibility, dtype=np.int16))
        parts["model"].append(_codes(model, models, np.int16))
        parts["computed"].append(np.array(computed, dtype=np.int64))
        parts["version"].append(np.array(basis, dtype=np.int64))
        parts["outcome"].append(np.array(outcome, dtype=float))
        parts["count"].append(np.array(count, dtype=np.int64))

    return _Claims(
        ids=Strings.concatenate(ids),
        prior=_joined(parts, "prior", float),
        question=_joined(parts, "question", np.int32),
        questions=list(questions),
        text=Strings.concatenate(texts),
        value=value,
        updated_at=_joined(parts, "updated", np.int64),
        scores=StoredScores(
            present=_joined(parts, "present", bool),
            confidence=_joined(parts, "confidence", float),
            low=_joined(parts, "low", float),
            high=_joined(parts, "high", float),
            credibility=_joined(parts, "credibility", np.int16),
            model=_joined(parts, "model", np.int16),
            models=list(models),
            computed_at=_joined(parts, "computed", np.int64),
            reliabilities_version=_joined(parts, "version", np.int64),
        ),
        outcome=_joined(parts, "outcome", float),
        attributions=_joined(parts, "count", np.int64),
    )


def _read_attributions(connection: Connection, claims: _Claims, now: datetime) -> ClaimColumns:
    """Every attribution of the claims as columns, in claim then position order.

    The rows carry no claim id: both queries order by claim id (same column, same
    collation) in one snapshot, so claim ``i``'s attributions are the next
    ``claims.attributions[i]`` rows.
    """
    dialect = connection.dialect.name
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
    # Every column is made at its full size (the claims' counts, read in this
    # snapshot) and filled a batch at a time: batches joined at the end left their
    # memory free on the heap but resident through the whole job (at 10 M
    # attributions some 450 MB), beside the arrays that replaced them.
    start = np.concatenate(([0], np.cumsum(claims.attributions))).astype(np.int64)
    m = int(start[-1])
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
    for batch in _batches(connection, sql, types):
        hi = lo + len(batch)
        if hi > m:
            raise RuntimeError(
                f"read more attributions than their claims count ({m}): an attribution of no claim?"
            )
        sources, stance, chains, certainties, counts, age_days = zip(*batch, strict=True)
        source[lo:hi] = _codes(sources, entity, np.int32)
        try:
            sign[lo:hi] = np.fromiter(map(STANCE_SIGN.__getitem__, stance), np.int8, len(stance))
        except KeyError as exc:
            raise ValueError(f"a stored attribution has an unknown stance {exc}") from None
        # The batch's chains as one JSON array, read by one call; relays get codes
        # after the batch's sources, in the order they appear, as one at a time did.
        at = _not_none(chains)
        named = orjson.loads("[" + ",".join([chains[k] for k in at]) + "]")
        relays.append(_codes(list(chain.from_iterable(named)), entity, np.int32))
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
    return ClaimColumns(
        entities=list(entity),
        claim_ids=claims.ids,
        prior=claims.prior,
        question=claims.question,
        questions=claims.questions,
        text=claims.text,
        start=start,
        source=source,
        sign=sign,
        certainty=certainty,
        count=count,
        via_start=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        via=np.concatenate(relays) if relays else np.zeros(0, dtype=np.int32),
        age_days=ages,
        value=claims.value,
    )
