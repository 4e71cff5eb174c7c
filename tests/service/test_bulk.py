"""store.bulk writes rows as SQLAlchemy's own executemany would (its reference), on SQLite
row by row and on PostgreSQL as arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from service.store.bulk import prepare_columns, run_many
from service.store.db import dialect_insert, make_engine, writer
from service.store.models import Base, Job, SourceReliability

_JOBS: Table = Base.metadata.tables[Job.__tablename__]


def _rows(prefix: str) -> list[dict[str, Any]]:
    """Jobs whose JSON and time columns repeat some objects (as a batch does) and not others."""
    shared_stats: dict[str, Any] = {"claims": 3, "note": "shared"}
    shared_time = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    return [
        {
            "id": f"{prefix}-{i}",
            "kind": "rescore",
            "status": "done" if i % 2 else "queued",
            "created_at": shared_time if i % 3 else shared_time + timedelta(seconds=i),
            "started_at": None if i % 4 else shared_time,
            "stats": shared_stats if i % 2 else {"claims": i, "via": [f"s{i}"] * (i % 3)},
            "error": None if i % 5 else f"error {i}",
        }
        for i in range(12)
    ]


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``rows`` column by column, as writers give them to ``prepare_columns``."""
    return {key: [row[key] for row in rows] for key in rows[0]}


def _refused_whole(engine: Engine, rows: list[dict[str, Any]], error: type[Exception]) -> None:
    """Writing ``rows`` as one batch raises ``error``, and the transaction keeps none of them."""
    with Session(writer(engine)) as session:
        with pytest.raises(error):
            run_many(session, prepare_columns(engine.dialect, insert(_JOBS), _columns(rows)))
        session.rollback()
        assert session.scalar(select(func.count()).select_from(_JOBS)) == 0


def test_prepare_columns_writes_what_sqlalchemy_writes(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        bulk_rows, reference_rows = _rows("bulk"), _rows("reference")
        with Session(writer(engine)) as session, session.begin():
            run_many(session, prepare_columns(engine.dialect, insert(_JOBS), _columns(bulk_rows)))
            session.execute(insert(_JOBS), reference_rows)
        with Session(engine) as session:
            stored = {
                row.id: row._asdict() for row in session.execute(select(_JOBS).order_by(_JOBS.c.id))
            }
        for i in range(12):
            written = {k: v for k, v in stored[f"bulk-{i}"].items() if k != "id"}
            reference = {k: v for k, v in stored[f"reference-{i}"].items() if k != "id"}
            assert written == reference
            assert written["stats"] == bulk_rows[i]["stats"]
            assert written["created_at"] == bulk_rows[i]["created_at"]
    finally:
        engine.dispose()


def test_prepare_columns_without_rows_prepares_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert prepare_columns(engine.dialect, insert(_JOBS), {"id": [], "kind": []}) is None
    finally:
        engine.dispose()


def test_run_many_raises_the_driver_error_as_sqlalchemy_does(database_url: str) -> None:
    """A broken row fails the statement with SQLAlchemy's ``IntegrityError`` (what the app
    answers 409 to), as ``Session.execute`` would, and the transaction keeps none of it."""
    engine = make_engine(database_url)
    try:
        rows = _rows("twice")[:2]
        rows[1]["id"] = rows[0]["id"]
        _refused_whole(engine, rows, IntegrityError)
    finally:
        engine.dispose()


def test_run_many_upserts_as_sqlalchemy_does(database_url: str) -> None:
    """An ``INSERT ... ON CONFLICT DO UPDATE`` run by ``run_many`` replaces what it
    should and inserts the rest, as the same statement through SQLAlchemy does."""
    engine = make_engine(database_url)
    try:
        statement = dialect_insert(engine.dialect.name, _JOBS)
        upsert = statement.on_conflict_do_update(
            index_elements=[_JOBS.c.id],
            set_={"status": statement.excluded.status, "stats": statement.excluded.stats},
        )
        with Session(writer(engine)) as session, session.begin():
            session.execute(insert(_JOBS), _rows("bulk")[:6] + _rows("reference")[:6])
        changed = {"status": "failed", "stats": {"changed": True}, "error": "not written"}
        bulk_rows = [{**row, **changed} for row in _rows("bulk")]
        reference_rows = [{**row, **changed} for row in _rows("reference")]
        with Session(writer(engine)) as session, session.begin():
            run_many(session, prepare_columns(engine.dialect, upsert, _columns(bulk_rows)))
            session.execute(upsert, reference_rows)
        with Session(engine) as session:
            stored = {
                row.id: row._asdict() for row in session.execute(select(_JOBS).order_by(_JOBS.c.id))
            }
        for i in range(12):
            written = {k: v for k, v in stored[f"bulk-{i}"].items() if k != "id"}
            assert written == {k: v for k, v in stored[f"reference-{i}"].items() if k != "id"}
            assert written["status"] == "failed"
            assert (written["error"] == "not written") == (i >= 6)  # inserted, not updated
    finally:
        engine.dispose()


def test_run_many_writes_numbers_given_as_other_number_types(database_url: str) -> None:
    """Float columns given ints beside floats (a certainty sent as 1), numpy's floats and
    None are written as SQLAlchemy writes them (on PostgreSQL a column goes as one array,
    of one element type)."""
    engine = make_engine(database_url)
    reliabilities = Base.metadata.tables[SourceReliability.__tablename__]
    try:
        at = datetime(2026, 1, 2, tzinfo=UTC)
        alphas = [1, 0.25, np.float64(0.5), 3, 0.75]
        shapes = [None, 2, 0.5, None, np.float64(1.5)]
        versions = [3, 4, None, 5, 6]
        rows = [
            {
                "alpha": a,
                "beta": 2.0,
                "error_shape": s,
                "reliabilities_version": v,
                "updated_at": at,
            }
            for a, s, v in zip(alphas, shapes, versions, strict=True)
        ]
        bulk = [{"source_id": f"bulk-{i}", **row} for i, row in enumerate(rows)]
        reference = [{"source_id": f"reference-{i}", **row} for i, row in enumerate(rows)]
        with Session(writer(engine)) as session, session.begin():
            prepared = prepare_columns(engine.dialect, insert(reliabilities), _columns(bulk))
            run_many(session, prepared)
            session.execute(insert(reliabilities), reference)
        with Session(engine) as session:
            stored = {
                row.source_id: (row.alpha, row.error_shape, row.reliabilities_version)
                for row in session.execute(select(reliabilities))
            }
        for i in range(len(rows)):
            assert stored[f"bulk-{i}"] == stored[f"reference-{i}"]
            assert stored[f"bulk-{i}"] == (alphas[i], shapes[i], versions[i])
    finally:
        engine.dispose()


def test_run_many_refuses_an_over_long_value_rather_than_cutting_it(database_url: str) -> None:
    """On PostgreSQL a batch goes as arrays: a value longer than its column still fails
    the statement, as a row of its own would, and is not cut to fit."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite does not enforce a string column's length")
    engine = make_engine(database_url)
    try:
        rows = _rows("long")[:2]
        rows[1]["id"] = "x" * 65  # jobs.id is VARCHAR(64)
        _refused_whole(engine, rows, DataError)
    finally:
        engine.dispose()


def test_run_many_on_a_lost_connection_invalidates_it(database_url: str) -> None:
    """A connection the server dropped mid-batch is invalidated, as SQLAlchemy's own execute
    would: the session closes without a second error (the app answers 503, not 500) and the
    next session gets a new connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop the connection")
    engine = make_engine(database_url)
    try:
        prepared = prepare_columns(engine.dialect, insert(_JOBS), _columns(_rows("lost")))
        session = Session(writer(engine))
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as raised:
            run_many(session, prepared)
        assert raised.value.connection_invalidated
        session.close()  # no rollback on the lost connection
        with Session(writer(engine)) as again:
            assert again.scalar(select(func.count()).select_from(_JOBS)) == 0
    finally:
        engine.dispose()
