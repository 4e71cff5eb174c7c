"""Speed of ``ClaimScorer.score``: ``python -m bench.scoring_speed`` (``make bench-scoring``).

Claims of 3 attributions each (one relayed through an outlet, one hedged
refutation, three unnamed officials) from 40 sources in 4 groups, scored in
calls of 1, 4, 100 and 1,000 claims with warm draw caches, as a running
service would be. Beside each, in the same run on the same claims, the baseline:
reading the claims into their evidence-row table (``EvidenceRows``), the first
step of every path and independent of how scores are then computed, so that
the ratio is comparable across machines, loads and versions of the scorer. A
last row scores 100 claims with the draw cache cleared before every call
(sources the worker has not seen yet).

A second table is why the scorer has two paths: the numbers alone (confidence,
interval and row weights) by ``reference_confidence`` and by
``vectorised_confidence`` on the same claims, from 1 to 1,000 claims a call.

Every figure is the fastest of several repeats, in wall time and in the
process's own CPU time (less disturbed by other work on the machine).
Results go to ``bench/results/scoring_speed.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from bench.common import header, table, write_results
from scoring import Attribution, Beta, Claim, ClaimScorer, EvidenceRows, SourceBelief
from scoring.confidence import reference_confidence, vectorised_confidence
from scoring.intervals import clear_draw_cache
from scoring.rows import collect_rows

SIZES = (1, 4, 100, 1000)
# Calls compared on the two paths.
PATH_SIZES = (1, 4, 8, 16, 100, 1000)
REPEATS = 7
# Each timed repeat runs about this many claims.
CLAIMS_PER_REPEAT = 3000


def claims(n: int) -> list[Claim]:
    return [
        Claim(
            (
                Attribution(f"src-{i % 40}", via=(f"outlet-{i % 7}",)),
                Attribution(f"src-{(i + 13) % 40}", "refutes", certainty=0.8),
                Attribution("officials", count=3),
            ),
            id=f"c{i}",
        )
        for i in range(n)
    ]


def sources() -> dict[str, SourceBelief]:
    book = {
        f"src-{i}": SourceBelief(Beta(4 + i % 5, 2), f"gov:{i % 4}" if i % 3 else None)
        for i in range(40)
    }
    return book | {f"outlet-{i}": SourceBelief(Beta(20, 3)) for i in range(7)}


def best(
    call: Callable[[], object], runs: int, before: Callable[[], object] | None = None
) -> tuple[float, float]:
    """Fastest per-call (wall, CPU) seconds over ``REPEATS`` repeats of ``runs`` calls."""
    wall = cpu = float("inf")
    for _ in range(REPEATS):
        spent_wall = spent_cpu = 0.0
        for _ in range(runs):
            if before is not None:
                before()
            w, c = time.perf_counter(), time.process_time()
            call()
            spent_wall += time.perf_counter() - w
            spent_cpu += time.process_time() - c
        wall = min(wall, spent_wall / runs)
        cpu = min(cpu, spent_cpu / runs)
    return wall, cpu


def main() -> None:
    book = sources()
    scorer = ClaimScorer()
    params = scorer.params

    def evidence_rows(batch: list[Claim]) -> EvidenceRows:
        return EvidenceRows(batch, book, params)

    results = []
    cases = [(n, False) for n in SIZES] + [(100, True)]
    for n, cold in cases:
        batch = claims(n)
        scorer.score(batch, book)  # warm the draw cache and numpy
        runs = max(3, CLAIMS_PER_REPEAT // n)
        clear = clear_draw_cache if cold else None
        wall, cpu = best(partial(scorer.score, batch, book), runs, clear)
        base_wall, base_cpu = best(partial(evidence_rows, batch), runs)
        per_claim = [t / n * 1e6 for t in (wall, cpu, base_wall, base_cpu)]
        results.append((n, cold, *per_claim))

    paths = []
    for n in PATH_SIZES:
        batch = claims(n)
        lists = collect_rows(batch, book, params)
        table_rows = EvidenceRows.of(lists)
        runs = max(3, CLAIMS_PER_REPEAT // n)
        reference = best(partial(reference_confidence, lists, params), runs)[1] / n * 1e6
        vectorised = best(partial(vectorised_confidence, table_rows, params), runs)[1] / n * 1e6
        paths.append(
            (f"{n:,}", f"{reference:.1f}", f"{vectorised:.1f}", f"{vectorised / reference:.2f}")
        )

    rows = [
        (
            f"{n:,}" + (" (draw cache cold)" if cold else ""),
            f"{wall:.1f}",
            f"{cpu:.1f}",
            f"{base_wall:.1f}",
            f"{base_cpu:.1f}",
            f"{cpu / base_cpu:.1f}x",
            f"{1e6 / wall:,.0f}",
        )
        for n, cold, wall, cpu, base_wall, base_cpu in results
    ]
    markdown = "\n".join(
        [
            header("bench/scoring_speed", "make bench-scoring"),
            "Claims of 3 attributions (relayed, hedged, 3 unnamed) from 40 sources in 4 "
            f"groups; {params.interval_samples} interval samples; warm draw cache unless "
            "marked. Per-claim microseconds, fastest of "
            f"{REPEATS} repeats. Baseline: reading the claims into their evidence-row table "
            "(`EvidenceRows`), same claims, same run.",
            "",
            table(
                [
                    "claims per call",
                    "score us/claim (wall)",
                    "score us/claim (CPU)",
                    "baseline us/claim (wall)",
                    "baseline us/claim (CPU)",
                    "score / baseline (CPU)",
                    "claims/s (wall)",
                ],
                rows,
            ),
            "No goal of its own: the scorer's budget is what the HTTP goals leave it"
            " (`make bench-http`, bench/results/http.md). Compare the ratio column across"
            " machines. Calls of up to 8 claims take the reference"
            " (`scoring.confidence.reference_confidence`), larger calls the vectorised path.",
            "",
            "The two paths on the same claims, numbers alone (confidence, interval and row"
            " weights from a table already read), CPU us per claim:",
            "",
            table(["claims per call", "reference", "vectorised", "vectorised / reference"], paths),
            "The vectorised path also needs the table as arrays (`EvidenceRows.of`), which the"
            " reference does not: whole scores by the two paths cost about the same at 8 claims"
            " a call (`ClaimScorer`'s `_FEW`), where the numbers alone already favour the"
            " vectorised path.",
            "",
        ]
    )
    write_results("scoring_speed", markdown)


if __name__ == "__main__":
    main()
