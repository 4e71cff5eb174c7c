"""The job's snapshot: its columns say what the store holds, claim by claim."""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, selectinload

from scoring.claims import STANCE_SIGN
from service.jobs import driver_rows
from service.jobs.attribution_reader import AttributionReader, ReaderFailed, attribution_reader
from service.jobs.snapshot import read_snapshot
from service.store.db import (
    SQLITE_PRAGMAS,
    SQLITE_TIMEOUT,
    make_engine,
    process_connection,
    sqlite_file,
)
from service.store.models import Claim, Resolution, Score
from service.store.statistics import analyze_stale
from tests.learning.common import app_state, engine_of, post_claims, resolve_directly


def _chain(rng: random.Random, source: str) -> list[str]:
    """Zero to three distinct relays, none the source; some relays are sources too."""
    pool = [f"r{k}" for k in range(8)] + [f"s{k:02d}" for k in range(30)]
    return rng.sample([r for r in pool if r != source], rng.choice([0, 0, 0, 1, 2, 3]))


def _claims(n: int) -> list[dict[str, Any]]:
    """Claims with relay chains of zero to three relays (some relays also sources),
    unnamed collectives, certainties and priors; every fifth pair shares a question."""
    rng = random.Random(11)
    claims = []
    for i in range(n):
        attributions = []
        for _ in range(rng.randint(1, 4)):
            source = rng.choice([f"s{rng.randrange(30):02d}", "anon:officials"])
            attribution: dict[str, Any] = {
                "source": source,
                "stance": rng.choice(list(STANCE_SIGN)),
                "via": _chain(rng, source),
                "certainty": rng.choice([1.0, 0.8, 0.35]),
            }
            if source.startswith("anon:"):
                attribution["count"] = rng.randint(1, 5)
            attributions.append(attribution)
        claim: dict[str, Any] = {
            "id": f"k{rng.randrange(10**6):06d}-{i}",
            "text": f"said {i}",
            "attributions": attributions,
        }
        if i % 3 == 0:
            claim["prior"] = 0.3
        if i % 5 in (0, 1):
            claim["question"] = f"q{i // 5}"
        claims.append(claim)
    return claims


@contextmanager
def second_reader(engine: Engine, wanted: bool) -> Iterator[AttributionReader | None]:
    """The job's second reader of ``engine``'s store, if ``wanted``."""
    with attribution_reader(process_connection(engine) if wanted else None, STANCE_SIGN) as reader:
        yield reader


@pytest.mark.parametrize("two_readers", [False, True], ids=["one reader", "two readers"])
def test_the_snapshot_holds_every_claim_and_attribution_as_stored(
    app: Flask, client: FlaskClient, monkeypatch: Any, two_readers: bool
) -> None:
    # Batches of 7 rows: claims and attributions cross batch boundaries (those a
    # second reader reads in its own process, in batches of the shipped size).
    monkeypatch.setattr(driver_rows, "BATCH_ROWS", 7)
    claims = _claims(60)
    post_claims(client, claims)
    resolve_directly(app, {claims[2]["id"]: "confirmed", claims[7]["id"]: "refuted"})
    state = app_state(app)
    now = datetime.now(UTC)
    with second_reader(engine_of(app), two_readers) as reader:
        snap = read_snapshot(engine_of(app), state.sources.catalogue, state.setup, now, reader)
    with Session(engine_of(app)) as session:
        stored = session.scalars(
            select(Claim).options(selectinload(Claim.attributions)).order_by(Claim.id)
        ).all()
        scores = {s.claim_id: s for s in session.scalars(select(Score))}
        outcomes = {r.claim_id: r.outcome for r in session.scalars(select(Resolution))}

    c = snap.columns
    assert list(c.claim_ids) == [claim.id for claim in stored]
    assert len(set(c.entities)) == len(c.entities)
    for i, claim in enumerate(stored):
        assert c.text[i] == claim.text
        assert (math.isnan(c.prior[i]) and claim.prior is None) or c.prior[i] == claim.prior
        assert (c.questions[c.question[i]] if c.question[i] >= 0 else None) == claim.question
        rows = range(c.start[i], c.start[i + 1])
        attributions = sorted(claim.attributions, key=lambda a: a.position)
        assert len(rows) == len(attributions)
        for a, attribution in zip(rows, attributions, strict=True):
            assert c.entities[c.source[a]] == attribution.source_id
            assert c.sign[a] == STANCE_SIGN[attribution.stance]
            assert c.certainty[a] == attribution.certainty
            assert c.count[a] == attribution.count
            via = c.via[c.via_start[a] : c.via_start[a + 1]]
            assert [c.entities[v] for v in via] == list(attribution.via)
            assert 0 <= c.age_days[a] < 1
        score = scores.get(claim.id)
        assert snap.scores.present[i] == (score is not None)
        if score is not None:
            assert snap.scores.confidence[i] == score.confidence
            assert snap.scores.models[snap.scores.model[i]] == score.model
        outcome = {"confirmed": 1.0, "refuted": 0.0}.get(outcomes.get(claim.id, ""))
        assert (math.isnan(snap.outcome[i]) and outcome is None) or snap.outcome[i] == outcome
    assert any(c.via_start[a + 1] - c.via_start[a] > 1 for a in range(c.n_attributions))


# What a wire format escapes or mangles: delimiters, escapes, a NULL marker's text,
# control characters, characters beyond the BMP.
AWKWARD_TEXTS = [
    "tab\tinside",
    "new\nline\r\nand return\r",
    "back\\slash \\N \\t \\\\",
    "\\N",
    "\\",
    "ünïcödé ✓ 𝄞 中文",
    "quote \" ' , ;",
    "\x08\x0b\x0c\x7f",
    # Leading and trailing white space kept (a text of nothing else is refused).
    " padded ",
]


def test_two_readers_see_one_store_while_claims_are_written(
    app: Flask, client: FlaskClient
) -> None:
    """A thread commits claims of two attributions each as fast as SQLite lets it while
    the job reads with its second reader: each snapshot's attributions are those its
    claims count (a commit between the two readers' snapshots would break that)."""
    engine = engine_of(app)
    database = sqlite_file(engine)
    if database is None:
        pytest.skip("a second reader reads SQLite files only")
    post_claims(client, _claims(200))
    state = app_state(app)
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        connection = sqlite3.connect(database, timeout=SQLITE_TIMEOUT, isolation_level=None)
        stamp = "2026-06-01 00:00:00.000000"
        while not stop.is_set():
            claim_id = f"w{len(written):06d}"
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT INTO claims (id, text, status, created_at, updated_at) "
                "VALUES (?, 'written meanwhile', 'open', ?, ?)",
                (claim_id, stamp, stamp),
            )
            connection.executemany(
                "INSERT INTO attributions (claim_id, position, source_id, stance, via, "
                "certainty, count, observed_at) VALUES (?, ?, 's00', 'supports', '[]', 1, 1, ?)",
                [(claim_id, 0, stamp), (claim_id, 1, stamp)],
            )
            connection.execute("COMMIT")
            written.append(claim_id)
            time.sleep(0)  # let the job's thread run, as a server's gaps between requests do
        connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    seen = []
    try:
        for _ in range(12):
            with second_reader(engine, True) as reader:
                snap = read_snapshot(
                    engine, state.sources.catalogue, state.setup, datetime.now(UTC), reader
                )
            seen.append(len(snap.columns.claim_ids))
    finally:
        stop.set()
        thread.join()
    # The writes went on while the job read: the reads saw different stores.
    assert len(set(seen)) > 1


def test_a_second_reader_that_fails_fails_the_read_with_its_error(
    app: Flask, tmp_path: Path
) -> None:
    # The reader opens a store with no tables (the job's own read is of the app's).
    state = app_state(app)
    empty = str(tmp_path / "empty.db")
    with (
        pytest.raises(ReaderFailed, match="no such table: attributions"),
        attribution_reader(
            {"dialect": "sqlite", "database": empty, "pragmas": SQLITE_PRAGMAS, "timeout": 1.0},
            STANCE_SIGN,
        ) as reader,
    ):
        read_snapshot(
            engine_of(app), state.sources.catalogue, state.setup, datetime.now(UTC), reader
        )


def test_claim_texts_come_back_exactly_as_stored_whatever_they_hold(
    app: Flask, client: FlaskClient, monkeypatch: Any
) -> None:
    # Batches of 4 rows: awkward and plain texts share batches and cross their ends.
    monkeypatch.setattr(driver_rows, "BATCH_ROWS", 4)
    claims = [
        {
            "id": f"t{i:02d}",
            "text": text,
            "attributions": [{"source": "wire", "stance": "supports"}],
        }
        for i, text in enumerate(AWKWARD_TEXTS + [f"plain {k}" for k in range(6)])
    ]
    post_claims(client, claims)
    state = app_state(app)
    snap = read_snapshot(engine_of(app), state.sources.catalogue, state.setup, datetime.now(UTC))
    assert list(snap.columns.text) == [claim["text"] for claim in claims]
    assert list(snap.columns.claim_ids) == [claim["id"] for claim in claims]


def test_a_column_read_as_another_type_than_named_is_refused(app: Flask) -> None:
    engine = engine_of(app)
    dialect = engine.dialect.name
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        # A numeric column would come from PostgreSQL as Decimal where float8 is named.
        sql = "SELECT CAST(1.5 AS NUMERIC), 'a'"
        if dialect == "postgresql":
            with pytest.raises(TypeError, match="numeric"):
                list(driver_rows.batches(raw, dialect, sql, ["float8", "text"]))
        assert list(
            driver_rows.batches(
                raw, dialect, "SELECT CAST(1.5 AS DOUBLE PRECISION), 'a'", ["float8", "text"]
            )
        ) == [[(1.5, "a")]]


def test_a_table_the_planner_has_no_statistics_of_is_analyzed_once(database_url: str) -> None:
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        assert analyze_stale(engine, ["claims"]) == []
        return
    # A table of its own, which autovacuum leaves alone: nothing else analyzes it.
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE planner_probe (k integer) WITH (autovacuum_enabled = false)"
        )
        connection.exec_driver_sql("INSERT INTO planner_probe SELECT generate_series(1, 500)")
    try:
        assert analyze_stale(engine, ["planner_probe"]) == ["planner_probe"]
        assert analyze_stale(engine, ["planner_probe"]) == []
        with engine.connect() as connection:
            sampled = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'planner_probe'"
                )
            ).scalar()
        assert sampled == 1
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE planner_probe")
        engine.dispose()
