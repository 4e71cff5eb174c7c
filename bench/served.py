"""Quality through the served product: ``python -m bench.served``.

``bench.quality`` runs the job's learner in process. This bench checks that what
it reports is what a user gets: each crowd set is loaded into a fresh SQLite
store through ``POST /v1/claims`` of a running ``credence serve`` (gunicorn),
one ``POST /v1/rescore`` runs with the shipped defaults, and the stored
confidences are read back with ``GET /v1/claims``. They are judged as
``bench.quality`` judges its own, and compared claim by claim with the
in-process path's confidences in the same run.

Worker ids become source ids ``w:<n>`` (the API takes slugs); questions and
answers are named as in ``bench.quality``. Results go to ``bench/results/served.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.common import header, shared_path, table, write_results
from bench.http import Server, served_store
from bench.quality import CROWD_SETS, CrowdResult, CrowdSet, judge_crowd, learn_and_score
from scoring import Claim

# Claims a request: the API's largest page, so reading back takes as many requests.
BODY_CLAIMS = 1_000
WORKERS = 2
JOB_TIMEOUT_S = 900


@dataclass(frozen=True)
class ServedRun:
    name: str
    claims: int
    served: CrowdResult
    in_process: CrowdResult
    max_difference: float
    """Largest |served - in-process| confidence over the set's claims."""
    load_s: float
    job_s: float
    job: dict[str, Any]


def claim_bodies(claims: Sequence[Claim]) -> list[dict[str, Any]]:
    """The claims as ``POST /v1/claims`` takes them."""
    workers: dict[str, str] = {}
    bodies = [
        {
            "id": c.id,
            "text": c.text,
            "question": c.question,
            "attributions": [
                {"source": workers.setdefault(a.source, f"w:{len(workers)}")}
                for a in c.attributions
            ],
        }
        for c in claims
    ]
    return bodies


def served_confidences(server: Server, key: str) -> dict[str, float]:
    """Every stored claim's confidence, read page by page."""
    confidences: dict[str, float] = {}
    cursor = None
    while True:
        path = f"/v1/claims?limit={BODY_CLAIMS}" + (f"&cursor={cursor}" if cursor else "")
        page = server.request("GET", path, key=key)
        confidences.update((c["id"], c["score"]["confidence"]) for c in page["claims"])
        cursor = page["next_cursor"]
        if cursor is None:
            return confidences


def run_job(server: Server, key: str) -> dict[str, Any]:
    """Start ``POST /v1/rescore`` and wait for its end; the job document."""
    job_id = server.request("POST", "/v1/rescore", {}, key=key)["job"]["id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job: dict[str, Any] = server.request("GET", f"/v1/jobs/{job_id}", key=key)["job"]
        if job["status"] not in ("queued", "running"):
            if job["status"] != "succeeded":
                raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
            return job
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not end within {JOB_TIMEOUT_S} s")


def served_set(crowd: CrowdSet) -> ServedRun:
    claims, question, label = crowd.claims()
    bodies = claim_bodies(claims)
    with served_store(WORKERS) as (server, key):
        start = time.perf_counter()
        for i in range(0, len(bodies), BODY_CLAIMS):
            server.request("POST", "/v1/claims", {"claims": bodies[i : i + BODY_CLAIMS]}, key)
        loaded = time.perf_counter()
        job = run_job(server, key)
        done = time.perf_counter()
        stored = served_confidences(server, key)
    served = np.array([stored[b["id"]] for b in bodies])
    _, local, _ = learn_and_score(claims, {}, np.full(len(claims), np.nan), claims)
    results = []
    for method, confidence in (("served", served), ("in process", local)):
        proba = np.zeros((crowd.questions.size, crowd.labels.size))
        proba[question, label] = confidence
        results.append(judge_crowd(method, proba[crowd.judged], crowd.true_label, 0.0))
    return ServedRun(
        name=crowd.name,
        claims=len(bodies),
        served=results[0],
        in_process=results[1],
        max_difference=float(np.abs(served - local).max()),
        load_s=loaded - start,
        job_s=done - loaded,
        job=job,
    )


def report(runs: list[ServedRun], command: str) -> str:
    rows = [
        [
            r.name,
            r.claims,
            f"{r.served.accuracy:.4f}",
            f"{r.in_process.accuracy:.4f}",
            f"{r.served.ece:.4f}",
            f"{r.in_process.ece:.4f}",
            f"{r.max_difference:.1e}",
            f"{r.load_s:.1f}",
            f"{r.job_s:.1f}",
            r.job["stats"]["fit"]["structure"],
        ]
        for r in runs
    ]
    mean = [
        "mean",
        "",
        f"{np.mean([r.served.accuracy for r in runs]):.4f}",
        f"{np.mean([r.in_process.accuracy for r in runs]):.4f}",
        f"{np.mean([r.served.ece for r in runs]):.4f}",
        f"{np.mean([r.in_process.ece for r in runs]):.4f}",
        f"{max(r.max_difference for r in runs):.1e}",
        "",
        "",
        "",
    ]
    return (
        header("Quality through the served product", command)
        + "\nEach set loaded into a fresh SQLite store through `POST /v1/claims` "
        f"({BODY_CLAIMS} claims a request) of `credence serve` ({WORKERS} gunicorn workers), "
        "one `POST /v1/rescore` with the shipped defaults, confidences read back with "
        "`GET /v1/claims`; *in process* is `bench.quality`'s path (`learn_columns`, then "
        "`ClaimScorer`) on the same claims in the same run. Accuracy and ECE as in "
        "`bench/results/quality.md`; *max diff* is the largest difference of a claim's "
        "confidence between the two; *load* and *job* are wall seconds.\n\n"
        + table(
            [
                "set",
                "claims",
                "accuracy served",
                "accuracy in process",
                "ECE served",
                "ECE in process",
                "max diff",
                "load s",
                "job s",
                "structure",
            ],
            [*rows, mean],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", default=",".join(CROWD_SETS), help="comma-separated crowd sets (default: all)"
    )
    args = parser.parse_args()
    folder = shared_path("data", "crowd")
    if folder is None:
        print("skipped: ../shared/data/crowd is not beside the checkout")
        return
    runs = []
    for name in args.sets.split(","):
        run = served_set(CrowdSet.read(folder, name))
        print(
            f"{name}: accuracy {run.served.accuracy:.4f} served, "
            f"{run.in_process.accuracy:.4f} in process; max diff {run.max_difference:.1e}",
            flush=True,
        )
        runs.append(run)
    default = args.sets == parser.get_default("sets")
    command = "make bench-served" if default else f"python -m bench.served --sets {args.sets}"
    path = write_results("served", report(runs, command))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
