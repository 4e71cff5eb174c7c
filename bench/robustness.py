"""Figures of the robustness tests: ``python -m bench.robustness``.

Runs ``pytest tests/robustness`` (fuzzing, bad input, access, concurrency, faults;
SQLite, and PostgreSQL when CREDENCE_TEST_DATABASE_URL is set) with
CREDENCE_ROBUSTNESS_REPORT pointing at a temporary file the tests fill in, then
writes what they measured to ``bench/results/robustness.md``. The tests assert
behaviour only; the durations here are for information.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import header, table, write_results

ROOT = Path(__file__).resolve().parents[1]


def _fuzz(report: dict[str, Any]) -> str:
    runs = report.get("fuzz", {})
    if not runs:
        return "No fuzzing figures (the fuzz test did not run).\n"
    rows = []
    for key, run in sorted(runs.items()):
        examples = run["examples"]
        ran = [n for n in examples.values() if n]
        statuses: dict[str, int] = {}
        for counts in run["statuses"].values():
            for status, n in counts.items():
                statuses[status] = statuses.get(status, 0) + n
        rows.append(
            [
                key,
                len(ran),
                max(ran, default=0),
                sum(examples.values()),
                ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
                len(run["failures"]),
            ]
        )
    return table(
        [
            "backend/mode",
            "operations",
            "examples per operation",
            "requests",
            "statuses",
            "failures",
        ],
        rows,
    )


def _concurrency(report: dict[str, Any]) -> str:
    runs = report.get("concurrency", {})
    rows = [
        [
            backend,
            f"{r['clients']} x {r['rounds']} x {r['batch']}",
            r["requests"],
            r["acknowledged_writes"],
            r["server_errors"],
            r["transport_errors"],
            ", ".join(f"{k}: {v}" for k, v in r["rescore_jobs"].items()) or "none",
            f"{r['duration_s']:.2f}",
        ]
        for backend, r in sorted(runs.items())
    ]
    return table(
        [
            "backend",
            "clients x batches x claims",
            "requests",
            "acknowledged claim writes",
            "5xx",
            "dropped connections",
            "rescore jobs during the load",
            "duration (s)",
        ],
        rows,
    )


def _faults(report: dict[str, Any]) -> str:
    faults = report.get("faults", {})
    lines = []
    pg = faults.get("postgresql-restart")
    if pg:
        lines.append(
            f"- PostgreSQL stopped (fast) and started again during 16 writers' load: "
            f"{pg['requests']} requests, statuses {pg['statuses']}, "
            f"{pg['transport_errors']} dropped connections; requests during the outage got "
            f"{pg.get('outage_statuses')}; every batch acknowledged in the end (503s retried), "
            f"{pg['acknowledged_writes']} claim writes, all found afterwards; "
            f"{pg['duration_s']:.2f} s."
        )
    full = faults.get("sqlite-disk-full")
    if full:
        lines.append(
            f"- SQLite on a full 3 MB tmpfs: {full['acknowledged_claims']} claims stored, then "
            f"writes refused with {full['refusals']} ({full['detail']!r}); reads go on; "
            "`PRAGMA integrity_check` ok in place and after moving the files to a disk "
            "with room, where writes work again."
        )
    read_only = faults.get("sqlite-read-only")
    if read_only:
        lines.append(
            f"- SQLite opened read-only: writes refused with {read_only['statuses']} "
            "(problem+json, 'The database is read-only'); reads go on; integrity ok."
        )
    return "\n".join(lines) + "\n" if lines else "No fault figures.\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        env = dict(os.environ, CREDENCE_ROBUSTNESS_REPORT=str(path))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/robustness"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
        report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    backends = "SQLite and PostgreSQL" if os.environ.get("CREDENCE_TEST_DATABASE_URL") else "SQLite"
    markdown = "\n".join(
        [
            header("Robustness: fuzzing, concurrency, faults", "make bench-robustness"),
            f"`pytest tests/robustness` on {backends}: **{summary.strip('= ')}** "
            f"in {elapsed:.0f} s (exit {done.returncode}).",
            "",
            "## Fuzzing against the contract (schemathesis, live server, admin key)",
            "",
            "Checks on every response: not a 5xx; status, content type and body as "
            "documented in /openapi.json; errors are problem+json; in negative mode, "
            "the invalid request is refused with a 4xx. The probes take no input, so "
            "they have no negative cases.",
            "",
            _fuzz(report),
            "## Concurrency: overlapping batches while re-scoring jobs run",
            "",
            "16 clients, each posting batches of 10 claims drawn from 40 shared ids and "
            "10 shared sources, to gunicorn with 2 workers, with `POST /v1/rescore` jobs "
            "back to back. Afterwards each claim is stored once, as the last acknowledged "
            "version, whole, with one history row per acknowledged write.",
            "",
            _concurrency(report),
            "## Faults",
            "",
            _faults(report),
        ]
    )
    write_results("robustness", markdown)
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-5_000:])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
