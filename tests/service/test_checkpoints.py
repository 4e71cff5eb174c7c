"""A served SQLite store's log is checkpointed by a thread, not by the commit of a request."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from service.store.checkpoints import VALVE_PAGES, checkpoint_in_background
from service.store.db import make_engine

PAGE = 4096


def test_the_thread_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    database = tmp_path / "credence.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE blobs (body BLOB)"))
    assert checkpoint_in_background(engine) is not None
    with engine.connect() as connection:
        # Commits checkpoint only past the valve, far beyond SQLite's 1,000 pages.
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == VALVE_PAGES
    before = database.stat().st_size
    for _ in range(30):  # 1,500 pages: past SQLite's default threshold, short of the valve
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO blobs VALUES (:body)"), [{"body": b"x" * 3000}] * 50
            )
    # In WAL mode the database file grows only as a checkpoint copies pages into it;
    # no request will come to do it.
    waited = time.monotonic()
    while database.stat().st_size < before + 1500 * PAGE and time.monotonic() - waited < 60:
        time.sleep(0.05)
    assert database.stat().st_size >= before + 1500 * PAGE
    engine.dispose()


def test_other_databases_are_left_alone(database_url: str) -> None:
    """In-memory SQLite has no log another process shares; PostgreSQL checkpoints itself."""
    urls = ["sqlite://"] + ([database_url] if database_url.startswith("postgresql") else [])
    for url in urls:
        engine = make_engine(url)
        assert checkpoint_in_background(engine) is None
        with engine.connect() as connection:  # its connections are set up as before
            assert connection.execute(text("SELECT 1")).scalar() == 1
        engine.dispose()
