"""The re-scoring job's snapshot of the store: compact columns read in one transaction.

Claims and attributions are streamed straight from the driver into
``scoring.columns.ClaimColumns`` (ids interned to ``int32`` codes, stances as
``int8``, ages as ``float32``) and each claim's stored score into
``StoredScores`` arrays: no ORM object and no Python object per attribution
is kept, so the snapshot costs about 40 bytes an attribution and 150 a
claim (ids and wordings included). On PostgreSQL the rows come by
``COPY (SELECT ...) TO STDOUT``; on SQLite from a plain cursor by
``fetchmany``. Times are read as integer microseconds since the epoch,
computed by the database (``micros``), so the job's optimistic checks compare
integers, never parsed datetimes.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, select, text

from scoring.claims import STANCE_SIGN
from scoring.columns import ClaimColumns
from scoring.evidence import FloatArray
from scoring.fit.data import BoolArray
from scoring.numeric import ErrorScale, QuestionKinds
from scoring.strings import Strings
from service.scoring_model import ScoringModel
from service.store import change_counters
from service.store import questions as question_store
from service.store.models import Question, SourceReliability
from service.store.source_beliefs import SourceBook, SourceDefinition, read_book

# Rows taken from the driver at a time: big enough to amortise each call,
# small enough that a batch of tuples stays a few megabytes.
BATCH_ROWS = 20_000
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
    summary_hash : ndarray of int64
        ``hash`` of its summary (this process's string hash): a score whose
        figures stayed but whose summary changed (a source renamed) moved.
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
    summary_hash: Int64Array


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


def _batches(
    connection: Connection, sql: str, types: Sequence[str]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` in batches, straight from the driver, in this transaction.

    PostgreSQL streams them with ``COPY (...) TO STDOUT``, its text parsed by
    the driver as ``types`` (PostgreSQL type names, one a column); SQLite
    gives them from its cursor.
    """
    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        if connection.dialect.name == "postgresql":
            with cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                copy.set_types(list(types))
                batch: list[tuple[Any, ...]] = []
                for row in copy.rows():
                    batch.append(row)
                    if len(batch) == BATCH_ROWS:
                        yield batch
                        batch = []
                if batch:
                    yield batch
        else:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH_ROWS):
                yield batch
    finally:
        cursor.close()


def _floats(values: Sequence[Any]) -> FloatArray:
    """Numbers (or their text, or None for NaN) as float64."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _ints(values: Sequence[Any], missing: int) -> Int64Array:
    return np.array([missing if v is None else int(v) for v in values], dtype=np.int64)


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite and COPY give its text."""
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


def _read_claims(connection: Connection) -> _Claims:
    """Every claim in id order, with its stored score and resolution (one joined query)."""
    dialect = connection.dialect.name
    as_text = "::text" if dialect == "postgresql" else ""
    sql = (
        "SELECT c.id, c.prior, c.question, c.text, "
        f"c.value{as_text}, {micros(dialect, 'c.updated_at')}, "
        "s.claim_id IS NOT NULL, s.confidence, s.low, s.high, s.credibility, s.model, "
        f"{micros(dialect, 's.computed_at')}, s.reliabilities_version, s.summary, r.outcome "
        "FROM claims c LEFT JOIN scores s ON s.claim_id = c.id "
        "LEFT JOIN resolutions r ON r.claim_id = c.id ORDER BY c.id"
    )
    # Ids and wordings a batch at a time as one string each (``Strings``): as Python
    # strings they were a quarter of the snapshot, and pinned the heap they were read on.
    ids: list[Strings[str]] = []
    texts: list[Strings[str | None]] = []
    n_read = 0
    questions: dict[str, int] = {}
    models: dict[str, int] = {}
    parts: dict[str, list[Any]] = {
        name: []
        for name in (
            "prior",
            "question",
            "updated",
            "present",
            "confidence",
            "low",
            "high",
            "credibility",
            "model",
            "computed",
            "version",
            "summary",
            "outcome",
        )
    }
    value: dict[int, Any] = {}
    outcome_of = {"confirmed": 1.0, "refuted": 0.0}
    types = ["text", "float8", "text", "text", "text", "int8", "bool", "float8", "float8"]
    types += ["float8", "int4", "text", "int8", "int8", "text", "text"]
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
            summary,
            outcome,
        ) = zip(*batch, strict=True)
        for k, v in enumerate(stated):
            if v is not None and v != "null":
                value[n_read + k] = question_store.figure_of(_json(v))
        n_read += len(cid)
        ids.append(Strings.of(cid))
        parts["prior"].append(_floats(prior))
        parts["question"].append(
            np.array(
                [-1 if q is None else questions.setdefault(q, len(questions)) for q in question],
                dtype=np.int32,
            )
        )
        texts.append(Strings.of(text))
        parts["updated"].append(_ints(updated, 0))
        parts["present"].append(np.array([bool(p) for p in present], dtype=bool))
        parts["confidence"].append(_floats(confidence))
        parts["low"].append(_floats(low))
        parts["high"].append(_floats(high))
        parts["credibility"].append(_ints(credibility, 0).astype(np.int16))
        parts["model"].append(
            np.array(
                [-1 if m is None else models.setdefault(m, len(models)) for m in model],
                dtype=np.int16,
            )
        )
        parts["computed"].append(_ints(computed, 0))
        parts["version"].append(_ints(basis, NO_VERSION))
        parts["summary"].append(
            np.array([0 if s is None else hash(s) for s in summary], dtype=np.int64)
        )
        parts["outcome"].append(
            np.array([outcome_of.get(o, np.nan) if o else np.nan for o in outcome])
        )

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
            summary_hash=_joined(parts, "summary", np.int64),
        ),
        outcome=_joined(parts, "outcome", float),
    )


def _read_attributions(connection: Connection, claims: _Claims, now: datetime) -> ClaimColumns:
    """Every attribution of the claims as columns, in claim then position order."""
    dialect = connection.dialect.name
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    if dialect == "sqlite":
        # Ages in the database: parsing a million timestamps in Python would dominate.
        age = f"julianday('{stamp}') - julianday(observed_at)"
        chain = "via"
    else:
        age = f"extract(epoch FROM (TIMESTAMPTZ '{stamp}+00' - observed_at))::float8 / 86400"
        chain = "via::text"
    sql = (
        f"SELECT claim_id, source_id, stance, {chain}, certainty, count, {age} "
        "FROM attributions ORDER BY claim_id, position"
    )
    # Every column is made at its full size and filled a batch at a time, the count
    # read in this snapshot: batches joined at the end left their memory free on the
    # heap but resident through the whole job (at 10 M attributions some 450 MB),
    # beside the arrays that replaced them.
    m = int(connection.execute(text("SELECT count(*) FROM attributions")).scalar_one())
    claim = np.empty(m, dtype=np.int64)
    source = np.empty(m, dtype=np.int32)
    sign = np.empty(m, dtype=np.int8)
    certainty = np.empty(m)
    count = np.empty(m, dtype=np.int32)
    ages = np.empty(m, dtype=np.float32)
    via_len = np.zeros(m, dtype=np.int64)
    # Both queries order by claim id (same column, same collation): a claim's position
    # is found by walking the claims forward, with no index of a million ids.
    ahead = iter(claims.ids)
    at, current = -1, None
    entity: dict[str, int] = {}
    sign_of = STANCE_SIGN
    relays = array("i")  # relay codes, 4 bytes each
    types = ("text", "text", "text", "text", "float8", "int4", "float8")
    lo = 0
    for batch in _batches(connection, sql, types):
        hi = lo + len(batch)
        if hi > m:
            raise RuntimeError("more attributions read than counted in the same snapshot")
        cids, sources, stances, chains, certainties, counts, age_days = zip(*batch, strict=True)
        rows = claim[lo:hi]
        for k, c in enumerate(cids):
            if c != current:
                for claim_id in ahead:
                    at += 1
                    if claim_id == c:
                        break
                else:
                    raise RuntimeError(f"attribution of claim {c!r} out of claim id order")
                current = c
            rows[k] = at
        source[lo:hi] = [entity.setdefault(s, len(entity)) for s in sources]
        try:
            sign[lo:hi] = [sign_of[s] for s in stances]
        except KeyError as exc:
            raise ValueError(f"a stored attribution has an unknown stance {exc}") from None
        for k, v in enumerate(chains, lo):
            if v is not None and len(v) > 2:
                names = _json(v)
                relays.extend(entity.setdefault(r, len(entity)) for r in names)
                via_len[k] = len(names)
        certainty[lo:hi] = _floats(certainties)
        count[lo:hi] = [int(k) for k in counts]
        ages[lo:hi] = np.maximum(_floats(age_days), 0.0)
        lo = hi
    if lo != m:
        raise RuntimeError("fewer attributions read than counted in the same snapshot")

    claim_rows = np.bincount(claim, minlength=len(claims.ids))
    del claim
    via = np.frombuffer(relays, dtype=np.int32) if relays else np.zeros(0, dtype=np.int32)
    return ClaimColumns(
        entities=list(entity),
        claim_ids=claims.ids,
        prior=claims.prior,
        question=claims.question,
        questions=claims.questions,
        text=claims.text,
        start=np.concatenate(([0], np.cumsum(claim_rows))).astype(np.int64),
        source=source,
        sign=sign,
        certainty=certainty,
        count=count,
        via_start=np.concatenate(([0], np.cumsum(via_len))).astype(np.int64),
        via=via,
        age_days=ages,
        value=claims.value,
    )
