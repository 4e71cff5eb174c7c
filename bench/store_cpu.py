"""CPU per 100-claim request, storing against scoring: ``python -m bench.store_cpu``.

The cheap measure behind issue 12's goal (``POST /v1/claims`` at least half as
fast as ``POST /v1/score`` on 100-claim bodies), without gunicorn, wrk or the
other tenants of the machine in the figures: both requests go through the Flask
test client of one app on a temporary SQLite file (WAL, as the service
configures it), with the sources and bodies of ``bench.http``. Rounds alternate
the two endpoints, so that the drift of a shared machine's speed cancels in each
round's ratio; the figures are medians over the rounds. It also reports the CPU
a ``POST /v1/claims`` spends inside its write transaction (``BEGIN IMMEDIATE`` to
the end of ``COMMIT``), which on SQLite the other workers' writes queue behind.
Results go to ``bench/results/store_cpu.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.common import header, table, write_results
from bench.http import N_SOURCES, make_claims, source_id
from service import create_app
from service.store.db import make_engine, writer
from service.store.schema_migrations import upgrade
from service.web.auth import create_key

WARMUP = 20


@contextlib.contextmanager
def bench_client(url: str | None = None) -> Iterator[tuple[Flask, FlaskClient, dict[str, str]]]:
    """An app on the empty database ``url`` (by default a temporary SQLite file, gone on
    exit), migrated, with ``bench.http``'s sources defined; its test client and an admin
    key's headers."""
    with contextlib.ExitStack() as stack:
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="credence-bench-"))
            url = f"sqlite:///{tmp}/credence.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        app = create_app({"database": {"url": url}, "server": {"log_level": "WARNING"}})
        with Session(writer(app.extensions["credence.engine"])) as session, session.begin():
            key = create_key(session, "admin")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for i in range(N_SOURCES):
            definition = {
                "name": f"Bench source {i}",
                "group": f"bench:{i % 5}",
                "prior": {"grade": "ABCDE"[i % 5]},
            }
            response = client.put(f"/v1/sources/{source_id(i)}", json=definition, headers=headers)
            assert response.status_code == 200, response.json
        yield app, client, headers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=10, help="of each endpoint per round")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    with bench_client() as (app, client, headers):
        scored = json.dumps({"claims": make_claims(100, None)})
        stored = json.dumps({"claims": make_claims(100, "bench-@ID@")})
        posted = 0

        def post(path: str, body: str) -> None:
            response = client.post(path, data=body, headers=headers)
            assert response.status_code == 200, response.json

        def post_claims() -> None:
            nonlocal posted
            posted += 1
            post("/v1/claims", stored.replace("@ID@", str(posted)))

        def post_score() -> None:
            post("/v1/score", scored)

        locked = _write_transaction_cpu(app.extensions["credence.engine"])
        for _ in range(WARMUP):
            post_score()
            post_claims()
        locked.clear()
        rounds = []
        for _ in range(args.rounds):
            score_ms = _cpu_ms(post_score, args.requests)
            claims_ms = _cpu_ms(post_claims, args.requests)
            rounds.append((score_ms, claims_ms, score_ms / claims_ms))
        locked_ms = 1000 * statistics.median(locked)

    def median(k: int) -> float:
        return statistics.median(r[k] for r in rounds)

    write_results("store_cpu", report(args, load, median(0), median(1), median(2), locked_ms))
    return 0


def _cpu_ms(request: Callable[[], None], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        request()
    return 1000 * (time.process_time() - start) / n


def _write_transaction_cpu(engine: Any) -> list[float]:
    """CPU seconds of each transaction on ``engine`` that a session committed, from its
    BEGIN to the end of its COMMIT (the list fills as transactions commit)."""
    spans: list[float] = []
    began: list[float] = []

    @event.listens_for(engine, "begin")
    def _begin(_connection: Any) -> None:
        began[:] = [time.process_time()]

    @event.listens_for(Session, "after_commit")
    def _committed(_session: Session) -> None:
        if began:
            spans.append(time.process_time() - began.pop())

    return spans


def report(
    args: argparse.Namespace,
    load: tuple[float, ...],
    score_ms: float,
    claims_ms: float,
    ratio: float,
    locked_ms: float,
) -> str:
    loads = ", ".join(f"{x:.2f}" for x in load)
    return "\n".join(
        [
            header(
                "CPU per 100-claim request: storing against scoring, in one process",
                "make bench-store-cpu",
            ),
            "The Flask test client of one app on a temporary SQLite file (WAL, synchronous=NORMAL"
            f" as the service sets them), {N_SOURCES} defined sources, the 100-claim bodies of"
            " `bench.http` (3 attributions each; every `POST /v1/claims` stores 100 new claims)."
            f" {args.rounds} rounds of {args.requests} requests to each endpoint in turn, after"
            f" {WARMUP} of each; each figure is the median over the rounds, the ratio the median"
            f" of the rounds' ratios. Load average before the run: {loads}.",
            "",
            table(
                ["request", "CPU ms/request"],
                [
                    ["POST /v1/score, 100 claims", f"{score_ms:.2f}"],
                    ["POST /v1/claims, 100 claims", f"{claims_ms:.2f}"],
                    ["  of which inside its write transaction", f"{locked_ms:.2f}"],
                ],
            ),
            f"Storing costs {claims_ms / score_ms:.2f} times the CPU of scoring: `POST /v1/score`'s"
            f" CPU per request is {ratio:.0%} of `POST /v1/claims`' (the claims/s ratio a"
            " CPU-bound server would show; issue 12 asks for ≥ 50% under `make bench-http`).",
            "",
            "Run again with `make bench-store-cpu` (`python -m bench.store_cpu --rounds N`).",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
