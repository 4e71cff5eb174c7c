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
job's optimistic checks compare integers, never parsed datetimes. On SQLite a
second process reads the attributions in the same snapshot while this one reads
the rest (``attribution_reader``); the rows' reading that both do is in
``driver_rows``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from sqlalchemy import Connection, Engine, select

from scoring.claims import STANCE_SIGN
from scoring.columns import ClaimColumns
from scoring.evidence import FloatArray
from scoring.fit.data import BoolArray
from scoring.numeric import ErrorScale, QuestionKinds
from scoring.strings import Strings
from service.jobs.driver_rows import (
    Attributions,
    Int64Array,
    batches,
    codes,
    not_none,
    read_attributions,
)
from service.scoring_model import ScoringModel
from service.store import change_counters
from service.store import questions as question_store
from service.store.models import Attribution, Claim, Question, Resolution, Score, SourceReliability
from service.store.resolutions import HINDSIGHT, SECONDS_PER_DAY
from service.store.source_beliefs import Learned, SourceBook, SourceDefinition, read_book
from service.store.statistics import analyze_stale

if TYPE_CHECKING:
    from service.jobs.attribution_reader import AttributionReader

# The tables of a store's rows, whose planner statistics the reads' joins depend on.
SNAPSHOT_TABLES = tuple(m.__tablename__ for m in (Claim, Attribution, Score, Resolution))
NO_VERSION = -1
"""``StoredScores.reliabilities_version`` of a score computed from unknown beliefs."""


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
    recorded_at: Int64Array
    """When the store recorded each claim's outcome, microseconds since the epoch (0 open)."""
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

    @functools.cached_property
    def forecasts(self) -> ClaimColumns:
        """The claims with only the stances they had before their outcomes were recorded:
        what track records learn from (``store.resolutions.sides_taken`` draws the same
        line, ``HINDSIGHT`` after the record, for the API's updates). A later stance is
        made neutral (no weight, no hit or miss): a copy of the signs alone, where
        dropping the attributions copied every array of them (24 MB more at the peak of
        a 1 M-attribution job). Read once: both of a job's fits ask."""
        columns = self.columns
        resolved = np.flatnonzero(~self.is_open)
        # The attributions of resolved claims only: a store's are mostly of open ones.
        rows, ends = columns.rows_of(resolved)
        # An attribution's age (days before ``taken_at``) under which it came too late.
        seconds = epoch(self.taken_at) - self.recorded_at[resolved] / 1e6
        limit = (seconds - HINDSIGHT.total_seconds()) / SECONDS_PER_DAY
        late = rows[columns.age_days[rows] < np.repeat(limit, np.diff(ends, prepend=0))]
        if not late.size:
            return columns
        sign = columns.sign.copy()
        sign[late] = 0
        return replace(columns, sign=sign)

    @property
    def learned(self) -> dict[str, Learned]:
        """The learned beliefs as the snapshot scores with them (on the priors as they stood)."""
        return {
            source_id: Learned(self.book.beliefs[source_id].belief)
            for source_id in self.book.learned
        }

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
    reader: AttributionReader | None = None,
) -> Snapshot:
    """Read every claim, attribution, resolution, score and source in one snapshot;
    with a second ``reader`` (``attribution_reader``), it reads the attributions in
    that snapshot while this process reads the rest."""
    analyze_stale(engine, SNAPSHOT_TABLES)
    with _read_transaction(engine) as connection, connection.begin():
        if reader is not None:
            reader.share_snapshot(connection, now)
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
        attributions = (
            reader.attributions()
            if reader is not None
            else read_attributions(
                connection.connection.dbapi_connection,
                connection.dialect.name,
                int(claims.attributions.sum()),
                now,
                STANCE_SIGN,
            )
        )
    return Snapshot(
        taken_at=now,
        columns=_columns(claims, attributions),
        updated_at=claims.updated_at,
        scores=claims.scores,
        outcome=claims.outcome,
        recorded_at=claims.recorded_at,
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
    recorded_at: Int64Array
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
        f"coalesce({micros(dialect, 'r.created_at')}, 0), "
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
    names += ("high", "credibility", "model", "computed", "version", "outcome", "recorded")
    names += ("count",)
    parts: dict[str, list[Any]] = {name: [] for name in names}
    value: dict[int, Any] = {}
    types = ["text", "float8", "text", "text", "text", "int8", "bool", "float8", "float8"]
    types += ["float8", "int4", "text", "int8", "int8", "float8", "int8", "int8"]
    for batch in batches(connection.connection.dbapi_connection, dialect, sql, types):
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
            recorded,
            count,
        ) = zip(*batch, strict=True)
        for k in not_none(stated):
            if stated[k] != "null":
                value[n_read + k] = question_store.figure_of(_json(stated[k]))
        n_read += len(cid)
        ids.append(Strings.of(cid))
        texts.append(Strings.of(text))
        # None (no score, no resolution, no prior) becomes NaN in a float array.
        parts["prior"].append(np.array(prior, dtype=float))
        parts["question"].append(codes(question, questions, np.int32))
        parts["updated"].append(np.array(updated, dtype=np.int64))
        parts["present"].append(np.array(present, dtype=bool))
        parts["confidence"].append(np.array(confidence, dtype=float))
        parts["low"].append(np.array(low, dtype=float))
        parts["high"].append(np.array(high, dtype=float))
        parts["credibility"].append(np.array(credibility, dtype=np.int16))
        parts["model"].append(codes(model, models, np.int16))
        parts["computed"].append(np.array(computed, dtype=np.int64))
        parts["version"].append(np.array(basis, dtype=np.int64))
        parts["outcome"].append(np.array(outcome, dtype=float))
        parts["recorded"].append(np.array(recorded, dtype=np.int64))
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
        recorded_at=_joined(parts, "recorded", np.int64),
        attributions=_joined(parts, "count", np.int64),
    )


def _columns(claims: _Claims, attributions: Attributions) -> ClaimColumns:
    """A snapshot's claims and their attributions as one ``ClaimColumns``."""
    start = np.concatenate(([0], np.cumsum(claims.attributions))).astype(np.int64)
    if int(start[-1]) != attributions.source.size:
        raise RuntimeError(
            f"read {attributions.source.size} attributions where their claims count "
            f"{int(start[-1])}: did the store change?"
        )
    return ClaimColumns(
        entities=attributions.entities,
        claim_ids=claims.ids,
        prior=claims.prior,
        question=claims.question,
        questions=claims.questions,
        text=claims.text,
        start=start,
        source=attributions.source,
        sign=attributions.sign,
        certainty=attributions.certainty,
        count=attributions.count,
        via_start=np.concatenate(([0], np.cumsum(attributions.lengths))).astype(np.int64),
        via=attributions.via,
        age_days=attributions.age_days,
        value=claims.value,
    )
