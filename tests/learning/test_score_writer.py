"""The job's end of its score writer process: a writer that stops is reported with its
error, and the job never waits for a writer that is gone (on SQLite the job sends from
a thread of its own, on PostgreSQL directly: both ways are run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.jobs.score_writer import WriterFailed, score_writer


@pytest.fixture(params=["sqlite", "postgresql"])
def unopenable(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """The setup of a writer that fails as it starts, and what it says."""
    setup: dict[str, Any] = {"dialect": request.param, "pragmas": [], "statements": {}}
    if request.param == "sqlite":
        # A database in a directory that does not exist.
        setup.update(database=str(tmp_path / "no such directory" / "store.db"), timeout=1.0)
        return setup, "unable to open database file"
    # A server at a port nothing listens on.
    setup["conninfo"] = "host=127.0.0.1 port=1 dbname=test connect_timeout=5"
    return setup, "connection"


def test_a_writer_that_fails_is_reported_with_its_error(
    unopenable: tuple[dict[str, Any], str],
) -> None:
    setup, error = unopenable
    with pytest.raises(WriterFailed, match=error), score_writer(setup) as out:
        out.finish()


def test_chunks_sent_to_a_writer_that_is_gone_fail_without_waiting(
    unopenable: tuple[dict[str, Any], str],
) -> None:
    # Each chunk is larger than a pipe holds: sent to a reader that is gone, a blocking
    # write would never return; the job learns the writer failed instead.
    setup, error = unopenable
    rows = [(f"claim-{k}", "x" * 1000) for k in range(2_000)]
    sent = 0
    with pytest.raises(WriterFailed, match=error), score_writer(setup) as out:
        for _ in range(50):
            out.write(rows, [], (None, {}))
            sent += 1
        out.finish()
    assert sent < 50  # noticed while chunks were still being sent, not only at the end
