"""A score's row values, score writes with their history rows, and the rows a
re-scoring job stages for its writer process.

A score is written whole as the ``scores`` table's columns (``score_values`` of a
``Score``; ``table_values`` of a re-scoring job's ``ScoreTable``): by
``write_scores`` in the caller's transaction, or by a re-scoring job's writer
process (``service.jobs.score_writer``), from the rows ``stage_scores`` binds,
with the SQL ``staged_writes`` gives.

Every score written gets a history row (``score_history``) with the reason
that moved it (and, where attributions were added or removed, which), and
records the ``reliabilities`` counter value of the beliefs it was computed from.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

import scoring
from service.store.bulk import Prepared, prepare_columns, run_many
from service.store.db import dialect_insert
from service.store.models import Base, Score, ScoreHistory

_SCORES: Table = Base.metadata.tables[Score.__tablename__]
_HISTORY: Table = Base.metadata.tables[ScoreHistory.__tablename__]
SCORE_COLUMNS = (  # a stored score's columns, as bulk writers and the bench read them
    "claim_id",
    "confidence",
    "low",
    "high",
    "estimative",
    "credibility",
    "independent_sources",
    "evidence",
    "summary",
    "model",
    "computed_at",
)
HISTORY_COLUMNS = ("confidence", "low", "high", "credibility", "model", "computed_at")
"""What a history row records of a score."""
_INSERT_HISTORY = insert(_HISTORY)


def evidence_values(score: scoring.Score) -> list[dict[str, Any]]:
    return [
        {
            "source": e.source,
            "via": list(e.via),
            "stance": e.stance,
            "reliability": float(e.reliability),
            "effective_reliability": float(e.effective_reliability),
            "weight": float(e.weight),
            "note": e.note,
        }
        for e in score.evidence
    ]


def score_values(score: scoring.Score, computed_at: datetime) -> dict[str, Any]:
    """A Score as the columns of the ``scores`` table (evidence as JSON-ready dicts)."""
    low, high = score.interval
    return {
        "claim_id": score.claim_id,
        "confidence": float(score.confidence),
        "low": float(low),
        "high": float(high),
        "estimative": score.estimative,
        "credibility": int(score.credibility),
        "independent_sources": float(score.independent_sources),
        "evidence": evidence_values(score),
        "summary": score.summary,
        "model": score.model,
        "computed_at": computed_at,
    }


def table_values(
    table: scoring.ScoreTable, which: Sequence[int], computed_at: datetime
) -> list[dict[str, Any]]:
    """``score_values`` of the scores at ``which`` of ``table``, without a ``Score``
    object per score and an ``Evidence`` per piece of evidence (a re-scoring job's)."""
    evidence = [
        {
            "source": source,
            "via": list(via),
            "stance": stance,
            "reliability": reliability,
            "effective_reliability": effective,
            "weight": weight,
            "note": note,
        }
        for source, via, stance, reliability, effective, weight, note in zip(
            table.source,
            table.via,
            table.stance,
            table.reliability,
            table.effective_reliability,
            table.weight,
            table.note,
            strict=True,
        )
    ]
    values = []
    for k in which:
        low, high = table.interval[k]
        values.append(
            {
                "claim_id": table.claim_id[k],
                "confidence": table.confidence[k],
                "low": low,
                "high": high,
                "estimative": table.estimative[k],
                "credibility": table.credibility[k],
                "independent_sources": table.independent_sources[k],
                "evidence": evidence[table.first[k] : table.end[k]],
                "summary": table.summary[k],
                "model": table.model[k],
                "computed_at": computed_at,
            }
        )
    return values


def stored_score_values(row: Score) -> dict[str, Any]:
    """A stored score as ``score_values`` gives it."""
    return {column: getattr(row, column) for column in SCORE_COLUMNS}


@functools.cache
def _score_upsert(dialect: str) -> Insert:
    """Insert a claim's score or replace the stored one whole."""
    statement = dialect_insert(dialect, _SCORES)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_SCORES.c.claim_id],
        set_={c.name: excluded[c.name] for c in _SCORES.c if c.name != "claim_id"},
    )


def write_scores(
    session: Session,
    scores: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, str],
    *,
    beliefs_version: int | None,
    job_id: str | None = None,
    changes: Mapping[str, list[Any]] | None = None,
    history: bool = True,
) -> None:
    """Replace the current scores (``score_values`` dicts) whole and add a history row for
    each (none with ``history=False``: what a history row records has not changed).

    Rows are written in claim id order, each kind with one cached statement
    (``bulk.run_many``); ``changes`` gives a history row's largest contributors.
    """
    written, recorded = score_writes(
        session.get_bind().dialect,
        scores,
        reasons,
        beliefs_version=beliefs_version,
        job_id=job_id,
        changes=changes,
    )
    run_many(session, written)
    if history:
        run_many(session, recorded)


def score_writes(
    dialect: Dialect,
    scores: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, str],
    *,
    beliefs_version: int | None,
    job_id: str | None = None,
    changes: Mapping[str, list[Any]] | None = None,
) -> tuple[Prepared | None, Prepared | None]:
    """``write_scores``' two statements (scores, then history) prepared for ``run_many``."""
    ordered = sorted(scores, key=lambda s: s["claim_id"])
    changes = changes or {}
    n = len(ordered)
    columns = {column: [s[column] for s in ordered] for column in SCORE_COLUMNS}
    score_columns = {
        **columns,
        "job_id": [job_id] * n,
        "reliabilities_version": [beliefs_version] * n,
    }
    history = {
        **{column: columns[column] for column in ("claim_id", *HISTORY_COLUMNS)},
        "reason": [reasons[claim_id] for claim_id in columns["claim_id"]],
        "job_id": [job_id] * n,
        "changes": [changes.get(claim_id, _NO_CHANGES) for claim_id in columns["claim_id"]],
    }
    return (
        prepare_columns(dialect, _score_upsert(dialect.name), score_columns),
        prepare_columns(dialect, _INSERT_HISTORY, history),
    )


_NO_CHANGES: list[Any] = []
"""The ``changes`` of a history row that has none: one object, serialised once per batch."""


# The rows a re-scoring job writes (service.jobs.score_writer): a score's columns,
# then its history row's job, beliefs version, reason and changes. On PostgreSQL
# they go through a staging table of these columns, temporary and emptied at
# each commit, so private to the connection and never holding a previous chunk.
_STAGING = "score_staging"
_STAGED = (*SCORE_COLUMNS, "job_id", "reliabilities_version", "reason", "changes")
_HISTORY_STAGED = ("claim_id", *HISTORY_COLUMNS, "reason", "job_id", "changes")
# A score's values in SCORE_COLUMNS' order, the first of _STAGED's columns.
_SCORE_VALUES = operator.itemgetter(*SCORE_COLUMNS)
STAGED_EVIDENCE = SCORE_COLUMNS.index("evidence")
"""Where a staged row holds its evidence (JSON text)."""
STAGED_CONFIDENCE = SCORE_COLUMNS.index("confidence")
"""Where a staged row holds its confidence."""
_COMPUTED_AT = SCORE_COLUMNS.index("computed_at")


def stage_scores(dialect: Dialect, scores: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Scores (``score_values``) as the first columns of staged rows (``SCORE_COLUMNS``),
    in claim id order, bound for the driver.

    The evidence is serialised by the engine's own serialiser and the time bound as
    the column's type binds it, which is what SQLAlchemy writes; no dict of
    parameters and no bind processor a row.
    """
    # The engine's own serialiser (orjson), as SQLAlchemy's JSON type would use.
    dumps: Any = getattr(dialect, "_json_serializer", None) or json.dumps
    bind = bind_time(dialect)
    times: dict[int, Any] = {}  # a chunk's scores share one time: bound once
    rows = []
    for s in sorted(scores, key=lambda s: s["claim_id"]):
        row = list(_SCORE_VALUES(s))
        computed_at = row[_COMPUTED_AT]
        if id(computed_at) not in times:
            times[id(computed_at)] = bind(computed_at)
        row[_COMPUTED_AT] = times[id(computed_at)]
        row[STAGED_EVIDENCE] = dumps(row[STAGED_EVIDENCE])
        rows.append(tuple(row))
    return rows


def bind_time(dialect: Dialect) -> Callable[[datetime], Any]:
    """A time as the driver is given it for a time column (``UTCDateTime``): the text
    SQLite stores, the datetime itself for PostgreSQL (whose binary ``COPY`` packs it)."""
    process = _SCORES.c.computed_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process or _unchanged


def _unchanged(value: datetime) -> datetime:
    return value


@functools.cache
def staged_writes(dialect: str) -> dict[str, str]:
    """The SQL that writes staged rows (``_STAGED``'s columns) into ``scores`` and
    ``score_history``, by step: SQL alone, run by the driver in a process that loads
    neither SQLAlchemy nor the models (``service.jobs.score_writer``).

    SQLite: ``scores``, the score upsert over a row's first ``len(_SCORES.c)``
    values, and ``history``, the history insert over the whole row, each picking
    its columns by number. PostgreSQL: ``staging`` creates the staging table,
    ``types`` reads its column types in ``_STAGED``'s order, ``copy`` fills it by binary
    ``COPY`` (floats and times packed rather than formatted as text, half the
    client's work on a row), then ``scores`` (one ``INSERT ... ON CONFLICT DO
    UPDATE``) and ``history`` (one ``INSERT ... SELECT``) move its rows.
    """
    score_columns = [c.name for c in _SCORES.c]
    assert tuple(score_columns) == _STAGED[: len(score_columns)]  # a staged row starts a score's
    updates = [f"{c} = excluded.{c}" for c in score_columns if c != "claim_id"]
    if dialect == "postgresql":
        listed, history = ", ".join(score_columns), ", ".join(_HISTORY_STAGED)
        return {
            "staging": f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE {_SCORES.name}, "
            "reason varchar(32), changes json) ON COMMIT DELETE ROWS",
            "types": "SELECT format_type(a.atttypid, NULL) "
            f"FROM unnest(ARRAY[{', '.join(repr(c) for c in _STAGED)}]) WITH ORDINALITY s(name, k) "
            f"JOIN pg_attribute a ON a.attrelid = '{_STAGING}'::regclass AND a.attname = s.name "
            "ORDER BY s.k",
            "copy": f"COPY {_STAGING} ({', '.join(_STAGED)}) FROM STDIN (FORMAT BINARY)",
            "scores": f"INSERT INTO {_SCORES.name} ({listed}) "
            f"SELECT {listed} FROM {_STAGING} ORDER BY claim_id "
            f"ON CONFLICT (claim_id) DO UPDATE SET {', '.join(updates)}",
            "history": f"INSERT INTO {_HISTORY.name} ({history}) "
            f"SELECT {history} FROM {_STAGING} ORDER BY claim_id",
        }
    number = {column: f"?{k}" for k, column in enumerate(_STAGED, start=1)}
    return {
        "scores": f"INSERT INTO {_SCORES.name} ({', '.join(score_columns)}) "
        f"VALUES ({', '.join(number[c] for c in score_columns)}) "
        f"ON CONFLICT (claim_id) DO UPDATE SET {', '.join(updates)}",
        "history": f"INSERT INTO {_HISTORY.name} ({', '.join(_HISTORY_STAGED)}) "
        f"VALUES ({', '.join(number[c] for c in _HISTORY_STAGED)})",
    }
