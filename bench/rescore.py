"""The re-scoring job at scale: ``python -m bench.rescore``.

Builds a store of 1,000,000 attributions on 200,000 claims from 10,000 sources
by bulk insert (SQLite ``executemany``, PostgreSQL ``COPY``), then runs
``credence rescore`` twice in a fresh process each: once on the store as
imported (every score stale), once more with nothing changed. Reports the time
of each run split into read, fit, score and write, the peak memory of the job's
process and its score writer together, and how many rows the second run wrote.
SQLite in a temporary file; PostgreSQL in a database of its own, created and dropped here (URL from
``CREDENCE_BENCH_POSTGRES_URL``, default the local server of ``make test``).

Beside them (``--dask``, on by default) the first job runs once more on a copy
of the SQLite store as loaded, with ``--dask`` on a ``LocalCluster`` of two
worker processes started here: the same job with its fit and scoring on the
cluster, its learned reliabilities and scores compared with the local run's.
Results go to ``bench/results/rescore.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from alembic import command
from sqlalchemy import Engine, create_engine, make_url, text

from bench.common import header, table, write_results
from service.store.db import make_engine
from service.store.schema_migrations import alembic_config, upgrade
from service.store.scores import SCORE_COLUMNS

CREDENCE = str(Path(sys.executable).parent / "credence")
POSTGRES_URL = os.environ.get(
    "CREDENCE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# The goals of issue 12: (wall seconds, peak MB) of a first job, by store size.
GOALS = {1_000_000: (15.0, 300.0), 10_000_000: (150.0, 2048.0)}


@dataclass(frozen=True)
class Store:
    """The generated store, as rows ready for bulk insert (column order of each table)."""

    sources: list[tuple[Any, ...]]
    claims: list[tuple[Any, ...]]
    attributions: list[tuple[Any, ...]]
    resolutions: list[tuple[Any, ...]]
    scores: list[tuple[Any, ...]]


SOURCE_COLUMNS = ("id", "name", "kind", "group_name", "prior", "notes", "created_at", "updated_at")
CLAIM_COLUMNS = ("id", "text", "prior", "question", "status", "created_at", "updated_at")
ATTRIBUTION_COLUMNS = (
    "claim_id",
    "position",
    "source_id",
    "stance",
    "via",
    "certainty",
    "count",
    "observed_at",
)
RESOLUTION_COLUMNS = ("claim_id", "outcome", "resolved_at", "note", "forecast", "created_at")


def generate(n_sources: int, n_claims: int, per_claim: int, seed: int = 1) -> Store:
    """Sources of varied true reliability, half in groups of ten, a third with a
    grade; claims each attributed to ``per_claim`` random sources that side with
    the truth as often as their reliability says; a tenth resolved; one claim in
    ten an answer of a two-answer question; one attribution in ten relayed."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    reliability = rng.beta(6, 3, n_sources)
    source_ids = [f"src-{i:05d}" for i in range(n_sources)]
    grades = np.array(list("ABCDE"))
    sources = [
        (
            source_ids[i],
            f"Source {i}",
            "outlet",
            f"grp-{i // 10:04d}" if i % 2 == 0 else None,
            json.dumps({"grade": str(grades[rng.integers(5)])}) if i % 3 == 0 else None,
            None,
            stamp,
            stamp,
        )
        for i in range(n_sources)
    ]
    truth = rng.random(n_claims) < 0.5
    claim_ids = [f"clm-{i:06d}" for i in range(n_claims)]
    questions = [f"q-{i // 2:06d}" if i % 10 in (0, 1) else None for i in range(n_claims)]
    claims = [
        (claim_ids[i], f"Statement {i}", None, questions[i], "open", stamp, stamp)
        for i in range(n_claims)
    ]
    m = n_claims * per_claim
    who = rng.integers(0, n_sources, m)
    right = rng.random(m) < reliability[who]
    says_true = np.where(right, truth.repeat(per_claim), ~truth.repeat(per_claim))
    stance = np.where(says_true, "supports", "refutes")
    stance[rng.random(m) < 0.05] = "neutral"
    relay = rng.integers(0, n_sources, m)
    relayed = rng.random(m) < 0.1
    age = rng.uniform(0, 730, m)
    attributions = [
        (
            claim_ids[k // per_claim],
            k % per_claim,
            source_ids[who[k]],
            str(stance[k]),
            f'["{source_ids[relay[k]]}"]' if relayed[k] else "[]",
            1.0,
            1,
            (now - timedelta(days=float(age[k]))).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        for k in range(m)
    ]
    resolved = [i for i in range(0, n_claims, 10) if questions[i] is None] + list(
        range(5, n_claims, 10)
    )
    resolutions = [
        (claim_ids[i], "confirmed" if truth[i] else "refuted", stamp, None, 0.5, stamp)
        for i in sorted(resolved)
    ]
    # Scores as a bulk import leaves them: of an older model, so every one is stale.
    scores = [
        (c, 0.5, 0.4, 0.6, "roughly even chance", 6, 0.0, "[]", "imported", "bulk/0", stamp)
        for c in claim_ids
    ]
    return Store(sources, claims, attributions, resolutions, scores)


def _tables(store: Store) -> Iterator[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
    yield "sources", SOURCE_COLUMNS, store.sources
    yield "claims", CLAIM_COLUMNS, store.claims
    yield "attributions", ATTRIBUTION_COLUMNS, store.attributions
    yield "resolutions", RESOLUTION_COLUMNS, store.resolutions
    yield "scores", SCORE_COLUMNS, store.scores


# Each resolved claim's status its outcome, as a resolution through the API leaves it.
_RESOLVED_STATUS = (
    "UPDATE claims SET status = (SELECT outcome FROM resolutions r WHERE r.claim_id = claims.id) "
    "WHERE id IN (SELECT claim_id FROM resolutions)"
)


def load_sqlite(engine: Engine, store: Store) -> None:
    with engine.begin() as connection:
        for name, columns, rows in _tables(store):
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        connection.exec_driver_sql(_RESOLVED_STATUS)


def load_postgresql(engine: Engine, store: Store) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, columns, rows in _tables(store):
            buffer = io.StringIO()
            for row in rows:
                buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
            statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                copy.write(buffer.getvalue())
        cursor.execute(_RESOLVED_STATUS)
        raw.commit()
    finally:
        raw.close()


@dataclass(frozen=True)
class Run:
    wall: float
    max_rss_mb: float
    stats: dict[str, Any]
    load: float
    """The 1-minute load average as the job ended."""


def _status_kib(status: str, field: str) -> int:
    """A size (KiB) in the text of a ``/proc/<pid>/status``: ``VmHWM``, ``VmRSS``."""
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (from any of its threads) and theirs, from /proc."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += map(int, (task / "children").read_text().split())
    except OSError:
        return []  # ended meanwhile
    return found + [grandchild for child in found for grandchild in _children(child)]


class _PeakWatch(threading.Thread):
    """The peak memory of a job and the processes it starts (its score writer), KiB,
    read until the job ends.

    ``kib`` is the larger of the job process's own peak (VmHWM, exact) and the
    largest sum of the job's and its children's resident sets seen at one moment
    (VmRSS, read every 20 ms): what the job needs of the machine at once.
    Not ``ru_maxrss``: Linux records the parent's peak into a child's at its
    exec, so a child of this process (which holds the whole generated store)
    would report at least this process's size.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.kib = 0

    def run(self) -> None:
        try:
            command = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return
        while True:
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return  # reaped: the last reading stands
            together = _status_kib(status, "VmRSS")
            for child in _children(self.pid):
                with contextlib.suppress(OSError):  # ended meanwhile
                    # A child not yet past its exec shares the job's pages (vfork):
                    # its resident set is the job's, counted already.
                    if Path(f"/proc/{child}/cmdline").read_bytes() != command:
                        together += _status_kib(Path(f"/proc/{child}/status").read_text(), "VmRSS")
            self.kib = max(self.kib, _status_kib(status, "VmHWM"), together)
            if "State:\tZ" in status:
                return
            time.sleep(0.02)


def run_job(url: str, *options: str, tree: str | None = None) -> Run:
    """``credence rescore`` in a fresh process: its stats, wall time and peak memory.

    With ``tree``, the job is the code of that source tree (a checkout of another
    commit) run by this interpreter: the baseline of the same store in the same run.
    """
    env = {**os.environ, "CREDENCE_DATABASE_URL": url}
    command = [CREDENCE]
    if tree is not None:
        # Run from the tree: ``python -c`` puts the working directory first on the
        # path, ahead of PYTHONPATH, so from here it would import this checkout.
        env["PYTHONPATH"] = tree
        command = [sys.executable, "-c", "from service.cli import main; main()"]
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            [*command, "rescore", *options],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        peak = _PeakWatch(process.pid)
        peak.start()
        out = process.stdout.read()
        process.wait()
        peak.join()
        wall = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"credence rescore failed:\n{errors.read()}")
    stats = json.loads(out.strip().splitlines()[-1])["stats"]
    return Run(wall, peak.kib / 1024, stats, os.getloadavg()[0])


@contextmanager
def sqlite_database(copy_of: str | None = None) -> Iterator[str]:
    """A database file in a temporary directory; with ``copy_of``, a copy of that one's."""
    with tempfile.TemporaryDirectory(prefix="credence-bench-") as directory:
        if copy_of is not None:
            shutil.copy(make_url(copy_of).database or "", f"{directory}/credence.db")
        yield f"sqlite:///{directory}/credence.db"


@contextmanager
def postgresql_database(copy_of: str | None = None) -> Iterator[str]:
    """A database of its own, dropped after; with ``copy_of``, a copy of that one."""
    name = f"credence_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    template = f' TEMPLATE "{make_url(copy_of).database}"' if copy_of else ""
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _jobs(backend: str, url: str, tree: str | None) -> tuple[Run, Run]:
    label = f"{backend}{' (baseline)' if tree else ''}"
    first = run_job(url, tree=tree)
    print(f"{label}: first job {first.wall:.1f} s", file=sys.stderr)
    second = run_job(url, tree=tree)
    print(f"{label}: second job {second.wall:.1f} s", file=sys.stderr)
    return first, second


def at_schema_of(url: str, tree: str) -> None:
    """Take the store at ``url`` down to the schema the source tree ``tree`` runs on, by
    this tree's migrations: a baseline older than a migration refuses a newer store."""
    stated = Path(tree, "service/store/schema_version.py").read_text()
    found = re.search(r'^SCHEMA_REVISION = "(\w+)"', stated, re.MULTILINE)
    assert found is not None, "the tree states no SCHEMA_REVISION"
    engine = make_engine(url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), found.group(1))
    engine.dispose()


def bench_backend(
    backend: str, store: Store, baseline: str | None, dask: bool = False
) -> dict[str, Any]:
    """Load the store, run the first and second job (and the baseline tree's on a copy);
    with ``dask`` (SQLite only), the first job once more on a copy of the loaded store,
    on a LocalCluster."""
    database = sqlite_database if backend == "sqlite" else postgresql_database
    with database() as url:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        (load_sqlite if backend == "sqlite" else load_postgresql)(engine, store)
        load = time.perf_counter() - started
        engine.dispose()
        print(f"{backend}: store loaded in {load:.1f} s", file=sys.stderr)
        result: dict[str, Any] = {"backend": backend, "load": load}
        if dask:
            path = make_url(url).database
            assert path is not None
            shutil.copyfile(path, f"{path}.loaded")
        if baseline is not None:
            # The same store, copied before any job touched it.
            with database(copy_of=url) as copy:
                at_schema_of(copy, baseline)
                result["baseline"] = _jobs(backend, copy, baseline)
        result["first"], result["second"] = _jobs(backend, url, None)
        if dask:
            copy = f"sqlite:///{path}.loaded"
            result["dask"] = run_on_cluster(copy)
            result["agreement"] = agreement(url, copy)
    return result


@dataclass(frozen=True)
class ClusterRun:
    run: Run
    worker_peak_mb: list[float]


def run_on_cluster(url: str) -> ClusterRun:
    """The first job with ``--dask`` on a fresh LocalCluster of two single-thread worker
    processes; the job's run and each worker's peak memory."""
    from distributed import Client

    from service.jobs.dask_engine import local_cluster

    with local_cluster(n_workers=2) as cluster, Client(cluster) as client:
        run = run_job(url, "--dask", cluster.scheduler_address)
        peaks = client.run(_peak_rss_mb)
    print(f"sqlite: first job on a LocalCluster {run.wall:.1f} s", file=sys.stderr)
    return ClusterRun(run, sorted(peaks.values()))


def _peak_rss_mb() -> float:
    """A worker's own peak resident set (VmHWM), in MB."""
    return _status_kib(Path("/proc/self/status").read_text(), "VmHWM") / 1024


def agreement(url: str, other: str) -> dict[str, float]:
    """Largest differences between two stores' learned reliabilities and open scores."""
    found = []
    for query in (
        "SELECT source_id, alpha / (alpha + beta) FROM source_reliabilities",
        "SELECT claim_id, confidence FROM scores",
    ):
        values: list[dict[str, float]] = []
        for u in (url, other):
            engine = make_engine(u)
            with engine.connect() as connection:
                values.append(dict(connection.exec_driver_sql(query).all()))
            engine.dispose()
        assert values[0].keys() == values[1].keys()
        found.append(max(abs(values[0][k] - values[1][k]) for k in values[0]))
    return {"reliability": found[0], "confidence": found[1]}


def cluster_report(result: dict[str, Any]) -> str:
    """The local first job beside the same job on the LocalCluster."""
    local, cluster = result["first"], result["dask"].run
    rows = []
    for label, run in (("local", local), ("LocalCluster, 2 workers", cluster)):
        t = run.stats["timings"]
        rows.append(
            [
                label,
                f"{run.wall:.1f}",
                f"{t['read']:.1f}",
                f"{t['fit']:.1f}",
                f"{t.get('score', 0.0):.1f}",
                f"{t['write']:.1f}",
                f"{run.max_rss_mb:.0f}",
                run.stats["fit"]["iterations"],
                f"{run.stats['fit']['seconds']['fit']:.2f}",
                f"{run.stats['fit']['seconds']['fit'] / run.stats['fit']['iterations'] * 1e3:.0f}",
            ]
        )
    figures = cluster.stats["fit"]["cluster"]
    iterations = max(figures["iterations"], 1)
    rows_per_partition = figures["rows"] / figures["partitions"]
    compute = figures["worker_compute_seconds"] / iterations / figures["partitions"]
    details = [
        ["fits (relay passes)", figures["fits"]],
        ["partitions", figures["partitions"]],
        ["evidence rows", f"{figures['rows']:,}"],
        ["bytes a row on the workers", f"{figures['partition_bytes'] / figures['rows']:.0f}"],
        ["statistics a partition an iteration (bytes)", f"{figures['statistics_bytes']:,}"],
        ["parameters broadcast an iteration (bytes)", f"{figures['parameters_bytes']:,}"],
        ["scatter (s)", f"{figures['scatter_seconds']:.2f}"],
        ["EM on the cluster, wall (s)", f"{figures['em_seconds']:.2f}"],
        ["EM iterations (all fits)", figures["iterations"]],
        ["wall an iteration (s)", f"{figures['em_seconds'] / iterations:.3f}"],
        [
            "worker compute a partition an iteration (s)",
            f"{compute:.3f} ({compute / rows_per_partition * 1e9:.0f} ns a row)",
        ],
        ["final E-step on the client (s)", f"{figures['final_e_step_seconds']:.2f}"],
        ["workers' peak MB", ", ".join(f"{m:.0f}" for m in result["dask"].worker_peak_mb)],
        [
            "largest difference from local: reliability, confidence",
            f"{result['agreement']['reliability']:.1e}, {result['agreement']['confidence']:.1e}",
        ],
    ]
    return "\n".join(
        [
            "## The first job on a Dask LocalCluster beside the local engine (SQLite)",
            "",
            "The same store as loaded, the same command with `--dask` on a LocalCluster of "
            "two worker processes of one thread each, on this machine: the fit's EM and the "
            "scoring run on the workers; reading and selection stay in the job's process and "
            "writing in its score writer (*peak MB* is those two's at once). *First fit* is "
            "the chosen structure's fit on the whole store before the relay passes (the "
            "learner's `seconds.fit`), and *ms an iteration* that over its EM iterations.",
            "",
            table(
                [
                    "engine",
                    "wall",
                    "read",
                    "fit",
                    "score",
                    "write",
                    "peak MB",
                    "EM iterations",
                    "first fit (s)",
                    "ms an iteration",
                ],
                rows,
            ),
            table(["cluster figure", "value"], details),
        ]
    )


def report(results: Sequence[dict[str, Any]], store: Store, command: str) -> str:
    rows = []
    for r in results:
        runs = [("first (all stale)", r["first"]), ("second (no change)", r["second"])]
        if "baseline" in r:
            first, second = r["baseline"]
            runs += [("baseline first", first), ("baseline second", second)]
        for label, run in runs:
            t = run.stats["timings"]
            rows.append(
                [
                    r["backend"],
                    label,
                    f"{run.wall:.1f}",
                    f"{t['total']:.1f}",
                    f"{t['read']:.1f}",
                    f"{t['fit']:.1f}",
                    f"{t.get('score', 0.0):.1f}",
                    f"{t['write']:.1f}",
                    f"{t.get('writer', 0.0):.1f}",
                    f"{run.max_rss_mb:.0f}",
                    f"{run.load:.1f}",
                    run.stats["claims_rescored"],
                    run.stats["claims_changed"] + run.stats["sources_written"],
                ]
            )
    fit_rows = [
        [
            r["backend"],
            f"{r['load']:.1f}",
            r["first"].stats["fit"]["iterations"],
            r["first"].stats["fit"]["converged"],
            r["first"].stats["sources_written"],
            r["first"].stats["claims_changed"],
        ]
        for r in results
    ]
    worst = max(r["first"].wall for r in results)
    peak = max(r["first"].max_rss_mb for r in results)
    size = len(store.attributions)
    seconds, megabytes = GOALS[min(GOALS, key=lambda n: abs(n - size))]
    verdict = "met" if worst <= seconds and peak <= megabytes else "NOT met"
    return "\n".join(
        [
            header("Re-scoring job at scale", command),
            f"Store: {len(store.sources):,} sources, {len(store.claims):,} claims, "
            f"{len(store.attributions):,} attributions, {len(store.resolutions):,} resolutions; "
            "scores of an older model, so the first job rescores every claim.",
            "",
            "Each job is `credence rescore` (shipped defaults) in a fresh process; *wall* "
            "includes its start-up, *job* is the job's own total; *writer* is the busy time "
            "of its score writer, a process of its own that writes chunk k while the job "
            "scores chunk k + 1 (inside *score* and *write*, not added to them). Times in "
            "seconds; *peak MB* is the most memory the job's process and its writer held at "
            "once (their resident sets summed, read every 20 ms while it runs, or the job's "
            "own VmHWM where larger); "
            "*rows written* counts score rows (each with its history row) and "
            "learned-reliability rows.",
            "",
            table(
                [
                    "database",
                    "run",
                    "wall",
                    "job",
                    "read",
                    "fit",
                    "score",
                    "write",
                    "writer",
                    "peak MB",
                    "load",
                    "claims rescored",
                    "rows written",
                ],
                rows,
            ),
            table(
                [
                    "database",
                    "bulk load (s)",
                    "EM iterations",
                    "converged",
                    "sources written",
                    "scores written",
                ],
                fit_rows,
            ),
            f"Goal for a store of this size: a first job within {seconds:.0f} s wall and "
            f"{megabytes:.0f} MB on either database: {verdict} (slowest first run "
            f"{worst:.1f} s, largest peak {peak:.0f} MB). *load* is the 1-minute load "
            "average as each job ended (2 CPUs, shared with other work).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--per-claim", type=int, default=5)
    parser.add_argument(
        "--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--dask",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the first SQLite job on a Dask LocalCluster",
    )
    parser.add_argument(
        "--baseline",
        metavar="TREE",
        help="also run the job of this source tree (e.g. `git archive main` unpacked) on a "
        "copy of the same store, for a same-run comparison",
    )
    parser.add_argument(
        "--results",
        default="rescore",
        help="name of the results file, bench/results/NAME.md (e.g. rescore-10m)",
    )
    args = parser.parse_args()
    store = generate(args.sources, args.claims, args.per_claim)
    results = [
        bench_backend(backend, store, args.baseline, dask=args.dask and backend == "sqlite")
        for backend in args.backends
    ]
    command = "python -m bench.rescore " + " ".join(sys.argv[1:])
    markdown = report(results, store, command.strip())
    markdown += "".join("\n" + cluster_report(r) for r in results if "dask" in r)
    write_results(args.results, markdown)


if __name__ == "__main__":
    main()
