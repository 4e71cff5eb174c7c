"""The console's pages on a large store: ``python -m bench.console``.

Builds a store of 100,000 claims (300,000 attributions, 5,000 sources, one of
them on every other claim) with bench/rescore's generator and bulk loader, on
SQLite and on PostgreSQL (scores spread over [0, 1]; PostgreSQL's tables analysed,
as autovacuum would, SQLite's not, as the service never does), then
times console pages in the serving process (Flask's test client: the whole
request in the app, no network), each beside the API request that reads the
same data, in alternating rounds; last, after a re-scoring job of the store, the
job's page. Goal: a claim-list page under 300 ms at the
server. Results go to ``bench/results/console.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from bench.common import header, table, write_results
from bench.rescore import (
    Store,
    generate,
    load_postgresql,
    load_sqlite,
    postgresql_database,
    sqlite_database,
)
from service import create_app
from service.store.db import make_engine
from service.store.schema_migrations import upgrade

GOAL_MS = 300.0
# The first generated source, made a wire service: the first attribution of every other
# claim is its, so that one source is on about half the store (the generator spreads
# attributions evenly, a few dozen a source).
WIRE = "src-00000"
# (what, console page, the API request reading the same data)
PAGES = [
    ("claim list, first page", "/", "/v1/claims?limit=50"),
    ("claim list, a later page", "/?cursor={cursor}", "/v1/claims?limit=50&cursor={cursor}"),
    ("claims of one source", "/?source=src-00042", "/v1/claims?limit=50&source=src-00042"),
    (
        "confidence 40-60 %, open",
        "/?status=open&min_confidence=40&max_confidence=60",
        "/v1/claims?limit=50&status=open&min_confidence=0.4&max_confidence=0.6",
    ),
    ("text search", "/?q=statement+9999", "/v1/claims?limit=50&q=statement%209999"),
    ("one claim", "/claims/{claim}", "/v1/claims/{claim}"),
    ("one source", "/sources/src-00042", "/v1/sources/src-00042"),
    ("claims of the wire", f"/?source={WIRE}", f"/v1/claims?limit=50&source={WIRE}"),
    (
        "calibration, one source",
        "/calibration?source=src-00042",
        "/v1/calibration?source=src-00042",
    ),
    ("calibration, the wire", f"/calibration?source={WIRE}", f"/v1/calibration?source={WIRE}"),
    ("the wire", f"/sources/{WIRE}", f"/v1/sources/{WIRE}"),
]
# Timed after a re-scoring job of the whole store: its page says what it moved most, and
# the wire's page its reliability across jobs.
JOB_PAGE = "a finished job"
WIRE_AFTER_JOB = "the wire, after the job"


def timed(client: FlaskClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def measure(
    client: FlaskClient, rounds: int, requests: Sequence[tuple[str, str, str]]
) -> list[list[Any]]:
    """Each of ``requests`` (what, console page, API request): the page beside the API."""
    rows = []
    for what, page, api in requests:
        timed(client, page), timed(client, api)  # warm caches
        pages: list[float] = []
        apis: list[float] = []
        for _ in range(rounds):
            pages.append(timed(client, page))
            apis.append(timed(client, api))
        median = statistics.median(pages)
        p95 = sorted(pages)[int(0.95 * (len(pages) - 1))]
        rows.append(
            [
                what,
                f"{median:.1f}",
                f"{p95:.1f}",
                f"{statistics.median(apis):.1f}",
                f"{median / statistics.median(apis):.2f}",
            ]
        )
        print(f"  {what}: {median:.1f} ms", file=sys.stderr)
    return rows


def finished_job(client: FlaskClient) -> str:
    """Run a re-scoring job to its end; its id."""
    job = client.post("/v1/rescore").get_json()["job"]["id"]
    while client.get(f"/v1/jobs/{job}").get_json()["job"]["status"] in ("queued", "running"):
        time.sleep(0.5)
    return str(job)


def with_wire(store: Store) -> Store:
    """``store`` with ``WIRE`` as the first source of every other claim."""
    claims = {row[0] for row in store.claims[::2]}
    attributions = [
        (row[0], row[1], WIRE, *row[3:]) if row[1] == 0 and row[0] in claims else row
        for row in store.attributions
    ]
    return dataclasses.replace(store, attributions=attributions)


def spread_scores(engine: Engine) -> None:
    """Give the imported scores (all 50 %) confidences spread over [0, 1], as scored
    claims have, so confidence filters select a share of the store; then, on
    PostgreSQL, let the planner read the tables' statistics as autovacuum would after
    a bulk load (on SQLite nothing does: the service never runs ANALYZE)."""
    random = "(abs(random()) % 10000) / 10000.0" if engine.dialect.name == "sqlite" else "random()"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE scores SET confidence = {random}")
        connection.exec_driver_sql(
            "UPDATE scores SET low = confidence * 0.8, high = confidence + (1 - confidence) * 0.2"
        )
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def bench_backend(backend: str, store: Any, rounds: int) -> list[list[Any]]:
    database = sqlite_database() if backend == "sqlite" else postgresql_database()
    loader: Callable[..., None] = load_sqlite if backend == "sqlite" else load_postgresql
    with database as url:
        engine = make_engine(url)
        upgrade(engine)
        loader(engine, store)
        spread_scores(engine)
        engine.dispose()
        app = create_app({"database": {"url": url}, "server": {"log_level": "WARNING"}})
        print(f"{backend}:", file=sys.stderr)
        client = app.test_client()
        cursor = client.get("/v1/claims?limit=1000").get_json()["next_cursor"]
        claim = store.claims[len(store.claims) // 2][0]
        pages = [
            (what, page.format(cursor=cursor, claim=claim), api.format(cursor=cursor, claim=claim))
            for what, page, api in PAGES
        ]
        rows = measure(client, rounds, pages)
        # Last: the job rescores the store's claims, whose spread scores the rows above read.
        job = finished_job(client)
        after_job = [
            (JOB_PAGE, f"/jobs/{job}", f"/v1/jobs/{job}"),
            (WIRE_AFTER_JOB, f"/sources/{WIRE}", f"/v1/sources/{WIRE}"),
        ]
        rows += measure(client, rounds, after_job)
        app.extensions["credence.engine"].dispose()
    return [[backend, *row] for row in rows]


def report(rows: Sequence[Sequence[Any]], store: Any, rounds: int, command: str) -> str:
    lists = [r for r in rows if r[1].startswith(("claim list", "claims of", "confidence", "text"))]
    worst = max(float(r[2]) for r in lists)
    verdict = "met" if worst < GOAL_MS else "NOT met"
    return "\n".join(
        [
            header("Console pages on a large store", command),
            f"Store: {len(store.claims):,} claims, {len(store.attributions):,} attributions, "
            f"{len(store.sources):,} sources (bench/rescore's generator, bulk-loaded), one of"
            f" them ({WIRE}, *the wire*) the first source of every other claim.",
            "",
            "Each page is requested through Flask's test client in the serving process (the "
            "whole request in the app, no network), alternating with the API request that "
            f"reads the same data; {rounds} rounds after one warm-up; times in ms. *ratio* is "
            "the page's median over the API request's: the page's own cost (rendering, "
            "Admiralty codes) on top of the same query.",
            "",
            table(
                ["database", "page", "median", "p95", "API median", "ratio"],
                rows,
            ),
            f"Goal (a claim-list page under {GOAL_MS:.0f} ms at the server, median): {verdict}; "
            f"slowest list page {worst:.1f} ms.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    store = with_wire(generate(n_sources=5_000, n_claims=args.claims, per_claim=3))
    rows: list[list[Any]] = []
    for backend in args.backends.split(","):
        rows += bench_backend(backend, store, args.rounds)
    command = "make bench-console"
    if argv:
        command = f"python -m bench.console {' '.join(argv)}"
    write_results("console", report(rows, store, args.rounds, command))


if __name__ == "__main__":
    main(sys.argv[1:])
