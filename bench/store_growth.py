"""A write's cost as the store grows: ``python -m bench.store_growth``.

The standard is that a write's cost does not depend on the size of the store.
Two stores (temporary SQLite files, set up as served workers set them up:
checkpoints on a thread of their own) each take ``--requests`` ``POST /v1/claims``
of 100 new claims through the Flask test client: one store's claims carry no id
(the service gives them one), the other's carry random ids (UUID 4), as a client
that makes its own ids sends them. The baseline is ``POST /v1/score`` of the same
claims, whose cost does not depend on any store: the three loads take turns in
blocks of ``BLOCK`` requests, so that the drift of a shared machine's speed falls
on all three alike, and each store's cost in a window is reported over the
baseline's in that window. Results go to ``bench/results/store_growth.md``.
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

from bench.common import header, table, write_results
from bench.http import make_claims
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
    windows: list[float] = field(default_factory=list)

    def run(self, requests: int) -> None:
        """``requests`` requests, their CPU added to the current (last) window."""
        cpu = 0.0
        for _ in range(requests):
            body = self.body()
            started = time.process_time()
            response = self.client.post(self.path, data=body, headers=self.headers)
            cpu += time.process_time() - started
            assert response.status_code == 200, response.json
        self.windows[-1] += cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per store")
    parser.add_argument("--windows", type=int, default=10)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    claims = make_claims(CLAIMS_PER_REQUEST, None)
    without_ids = json.dumps({"claims": claims})

    def with_random_ids() -> str:
        return json.dumps({"claims": [{**c, "id": str(uuid.uuid4())} for c in claims]})

    with ExitStack() as stack:
        apps = [stack.enter_context(bench_client()) for _ in range(2)]
        for app, _, _ in apps:
            checkpoint_in_background(app.extensions["credence.engine"])
        (_, served, served_headers), (_, client, client_headers) = apps
        loads = [
            Load("POST /v1/score", "/v1/score", lambda: without_ids, served, served_headers),
            Load(
                "ids the service gives", "/v1/claims", lambda: without_ids, served, served_headers
            ),
            Load(
                "random ids from the client (UUID 4)",
                "/v1/claims",
                with_random_ids,
                client,
                client_headers,
            ),
        ]
        # As a served worker does once its app is built (service.cli.serve).
        gc.collect()
        gc.freeze()
        for each in loads:  # warm up: statements compiled, caches filled
            each.windows.append(0.0)
            each.run(2 * BLOCK)
            each.windows.clear()
        per_window = args.requests // args.windows
        for _ in range(args.windows):
            for each in loads:
                each.windows.append(0.0)
            for _ in range(per_window // BLOCK):
                for each in loads:
                    each.run(BLOCK)
    write_results("store_growth", report(args, load, loads, per_window // BLOCK * BLOCK))
    return 0


def report(
    args: argparse.Namespace, load: tuple[float, ...], loads: list[Load], per_window: int
) -> str:
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
    growth = []
    for each in stores:
        ratios = [w / b for w, b in zip(each.windows, baseline.windows, strict=True)]
        last, first = statistics.median(ratios[-3:]), statistics.median(ratios[:3])
        growth.append(
            f"- {each.name}: {first:.2f} times the baseline's CPU in the first three windows,"
            f" {last:.2f} in the last three ({last / first:.2f} times)."
        )
    loadavg = ", ".join(f"{x:.2f}" for x in load)
    return "\n".join(
        [
            header("A write's cost as the store grows", "make bench-store-growth"),
            f"`POST /v1/claims` of {CLAIMS_PER_REQUEST} new claims (3 attributions and a tag"
            " each, the bodies of `bench.http`) through the Flask test client into two"
            " temporary SQLite stores set up as served workers set them (WAL, checkpoints on a"
            f" thread), {per_window * args.windows} requests each in {args.windows} windows;"
            f" the baseline, `POST /v1/score` of the same claims, takes turns with them in"
            f" blocks of {BLOCK} requests. CPU is the process's (the checkpoint threads'"
            f" included). Load average before the run: {loadavg}.",
            "",
            table(headers, rows),
            "Each store's cost over the baseline's (the median over three windows):",
            *growth,
            "",
            "Run again with `make bench-store-growth`"
            " (`python -m bench.store_growth --requests N --windows N`).",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
