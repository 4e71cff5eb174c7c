"""store.bulk writes rows as SQLAlchemy's own executemany would (its reference)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from service.store.bulk import prepare_columns, run_many
from service.store.db import make_engine, writer
from service.store.models import Base, Job

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


def test_prepare_columns_writes_what_sqlalchemy_writes(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        bulk_rows, reference_rows = _rows("bulk"), _rows("reference")
        with Session(writer(engine)) as session, session.begin():
            columns = {key: [row[key] for row in bulk_rows] for key in bulk_rows[0]}
            run_many(session, prepare_columns(engine.dialect, insert(_JOBS), columns))
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
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        with Session(writer(engine)) as session:
            with pytest.raises(IntegrityError):
                run_many(session, prepare_columns(engine.dialect, insert(_JOBS), columns))
            session.rollback()
            assert session.scalar(select(func.count()).select_from(_JOBS)) == 0
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
        prepared = prepare_columns(
            engine.dialect, insert(_JOBS), {k: [r[k] for r in _rows("lost")] for k in _rows("x")[0]}
        )
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
