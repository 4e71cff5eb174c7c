"""A write's cost as the store grows: ``python -m bench.store_growth``.

The standard is that a write's cost does not depend on the size of the store.
On each database, two empty stores each take ``--requests`` ``POST /v1/claims``
of 100 new claims through the Flask test client: one store's claims carry no id
(the service gives them one), the other's carry random ids (UUID 4), as a client
that makes its own ids sends them. SQLite stores are temporary files set up as
served workers set them up (checkpoints on a thread of their own); PostgreSQL
stores are databases of their own on the server ``bench.rescore`` uses, whose
processes' CPU is counted with this one's. The baseline is ``POST /v1/score`` of
the same claims, whose cost does not depend on any store: the three loads take
turns in blocks of ``BLOCK`` requests, so that the drift of a shared machine's
speed falls on all three alike, and each store's cost in a window is reported
over the baseline's in that window. Results go to ``bench/results/store_growth.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from bench.common import header, process_cpu_seconds, table, write_results
from bench.http import make_claims
from bench.rescore import POSTGRES_URL, postgresql_database
from bench.store_cpu import bench_client
from service.store.checkpoints import checkpoint_in_background

CLAIMS_PER_REQUEST = 100
BLOCK = 10
"""Requests of one load before the next load's turn."""


@dataclass
class Load:
    """Requests of one kind to one app, and the CPU seconds they took in each window."""

    name: str
    path: str
    body: Callable[[], str]
    client: FlaskClient
    headers: dict[str, str]
    clock: Callable[[], float]
    """CPU seconds so far of this process and of its database's own processes, if any."""
    windows: list[float] = field(default_factory=list)

    def run(self, requests: int) -> None:
        """``requests`` requests, their CPU added to the current (last) window."""
        bodies = [self.body() for _ in range(requests)]
        started = self.clock()
        for body in bodies:
            response = self.client.post(self.path, data=body, headers=self.headers)
            assert response.status_code == 200, response.json
        self.windows[-1] += self.clock() - started


def server_cpu(url: str) -> Callable[[], float]:
    """CPU seconds so far of this process plus, on PostgreSQL (a server on this machine),
    those of the server processes connected to ``url``'s database (from /proc); the
    query that lists those processes is left out, so that it weighs on no window."""
    if not url.startswith("postgresql"):
        return time.process_time
    admin = create_engine(POSTGRES_URL)
    listed = text("SELECT pid FROM pg_stat_activity WHERE datname = :name")
    name = make_url(url).database

    own = 0.0  # this process's CPU spent listing the server's processes

    def clock() -> float:
        nonlocal own
        started = time.process_time()
        with admin.connect() as connection:
            pids = list(connection.scalars(listed, {"name": name}))
        now = time.process_time()
        own += now - started
        return now - own + process_cpu_seconds(pids)

    return clock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per store")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument(
        "--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    runs = {backend: grow(backend, args.requests, args.windows) for backend in args.backends}
    write_results("store_growth", report(args, load, runs))
    return 0


def grow(backend: str, requests: int, windows: int) -> list[Load]:
    """The baseline's and the two stores' loads on ``backend``, their windows run."""
    claims = make_claims(CLAIMS_PER_REQUEST, None)
    without_ids = json.dumps({"claims": claims})

    def with_random_ids() -> str:
        return json.dumps({"claims": [{**c, "id": str(uuid.uuid4())} for c in claims]})

    with ExitStack() as stack:
        urls: list[str | None] = [None, None]
        if backend == "postgresql":
            urls = [stack.enter_context(postgresql_database()) for _ in urls]
        apps = [stack.enter_context(bench_client(url)) for url in urls]
        for app, _, _ in apps:
            checkpoint_in_background(app.extensions["credence.engine"])  # SQLite only
        (served_app, served, served_headers), (client_app, client, client_headers) = apps
        served_clock = server_cpu(str(served_app.extensions["credence.engine"].url))
        client_clock = server_cpu(str(client_app.extensions["credence.engine"].url))
        loads = [
            Load(
                "POST /v1/score",
                "/v1/score",
                lambda: without_ids,
                served,
                served_headers,
                served_clock,
            ),
            Load(
                "ids the service gives",
                "/v1/claims",
                lambda: without_ids,
                served,
                served_headers,
                served_clock,
            ),
            Load(
                "random ids from the client (UUID 4)",
                "/v1/claims",
                with_random_ids,
                client,
                client_headers,
                client_clock,
            ),
        ]
        # As a served worker does once its app is built (service.cli.serve).
        gc.collect()
        gc.freeze()
        for each in loads:  # warm up: statements compiled, caches filled
            each.windows.append(0.0)
            each.run(2 * BLOCK)
            each.windows.clear()
        for _ in range(windows):
            for each in loads:
                each.windows.append(0.0)
            for _ in range(requests // windows // BLOCK):
                for each in loads:
                    each.run(BLOCK)
        gc.unfreeze()
    return loads


def report(args: argparse.Namespace, load: tuple[float, ...], runs: dict[str, list[Load]]) -> str:
    per_window = args.requests // args.windows // BLOCK * BLOCK
    loadavg = ", ".join(f"{x:.2f}" for x in load)
    lines = [
        header("A write's cost as the store grows", "make bench-store-growth"),
        f"`POST /v1/claims` of {CLAIMS_PER_REQUEST} new claims (3 attributions and a tag each,"
        " the bodies of `bench.http`) through the Flask test client into two empty stores of"
        f" each database, {per_window * args.windows} requests each in {args.windows} windows;"
        f" the baseline, `POST /v1/score` of the same claims, takes turns with them in blocks"
        f" of {BLOCK} requests. SQLite stores are temporary files set up as served workers set"
        " them (WAL, checkpoints on a thread); PostgreSQL stores are databases of their own on"
        " the local server. CPU is this process's (SQLite's checkpoint threads included) plus,"
        " on PostgreSQL, the server processes' connected to the store's database (/proc)."
        f" Load average before the run: {loadavg}.",
        "",
    ]
    for backend, loads in runs.items():
        baseline, *stores = loads
        rows = []
        for k in range(args.windows):
            row: list[object] = [f"{(k + 1) * per_window * CLAIMS_PER_REQUEST:,}"]
            row += [f"{1000 * each.windows[k] / per_window:.2f}" for each in loads]
            row += [f"{each.windows[k] / baseline.windows[k]:.2f}" for each in stores]
            rows.append(row)
        headers = ["claims in each store at the window's end"]
        headers += [f"{each.name}: CPU ms/request" for each in loads]
        headers += [f"{each.name}: over {baseline.name}" for each in stores]
        lines += [f"## {backend}", "", table(headers, rows)]
        lines.append("Each store's cost over the baseline's (the median over three windows):")
        for each in stores:
            ratios = [w / b for w, b in zip(each.windows, baseline.windows, strict=True)]
            last, first = statistics.median(ratios[-3:]), statistics.median(ratios[:3])
            lines.append(
                f"- {each.name}: {first:.2f} times the baseline's CPU in the first three"
                f" windows, {last:.2f} in the last three ({last / first:.2f} times)."
            )
        lines.append("")
    lines += [
        "Run again with `make bench-store-growth`"
        " (`python -m bench.store_growth --requests N --windows N --backends ...`).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
