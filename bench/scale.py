"""Speed and memory of the batch fit on a large synthetic store: ``python -m bench.scale``.

1,000,000 attributions on 200,000 binary claims from 10,000 sources
(reliabilities drawn from Beta(4, 2), 5 distinct sources a claim, truth known,
fixed seed). ``ReliabilityLearner.fit`` (the job's learner with the shipped
``[learning]`` defaults: structure selection, temperature and the final fit)
is timed beside crowd-kit's DawidSkene and
OneCoinDawidSkene on the same answers in the same run, and one weighted numpy
vote pass as the floor. Results go to ``bench/results/scale.md``.

Peak memory is the tracemalloc peak of the allocations made during the call
(numpy reports its buffers to tracemalloc), measured in one more run of each
method so that tracing does not slow the timed runs.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.common import header, table, write_results
from bench.quality import shipped
from scoring.beta import Beta
from scoring.fit import FitData

N_CLAIMS = 200_000
N_SOURCES = 10_000
PER_CLAIM = 5
SEED = 20240501
# Sources the fit knows nothing about: the config's default for unknown sources.
UNKNOWN = Beta.from_reliability(0.55, 4)
# Every method is timed this many times and reported at its fastest, which
# discounts noise from other work on the machine.
REPEATS = 2
GOAL_VS_DS, GOAL_VS_ONECOIN, GOAL_MEMORY_MB = 3.0, 20.0, 1024.0


@dataclass(frozen=True)
class Store:
    claim: np.ndarray
    source: np.ndarray
    says_true: np.ndarray
    truth: np.ndarray


def synthetic_store() -> Store:
    rng = np.random.default_rng(SEED)
    reliability = rng.beta(4.0, 2.0, N_SOURCES)
    truth = rng.random(N_CLAIMS) < 0.5
    claim = np.repeat(np.arange(N_CLAIMS), PER_CLAIM)
    # Distinct sources per claim: redraw the few claims that drew a source twice.
    source = rng.integers(0, N_SOURCES, (N_CLAIMS, PER_CLAIM))
    repeated = (np.diff(np.sort(source, axis=1), axis=1) == 0).any(axis=1)
    while repeated.any():
        source[repeated] = rng.integers(0, N_SOURCES, (int(repeated.sum()), PER_CLAIM))
        repeated = (np.diff(np.sort(source, axis=1), axis=1) == 0).any(axis=1)
    source = source.ravel()
    right = rng.random(claim.size) < reliability[source]
    return Store(claim, source, right == truth[claim], truth)


@dataclass(frozen=True)
class Run:
    method: str
    seconds: float
    peak_mb: float
    accuracy: float


def measure(method: str, run: Callable[[], np.ndarray], truth: np.ndarray) -> Run:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        predicted = run()
        times.append(time.perf_counter() - start)
    seconds = min(times)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Run(method, seconds, peak / 2**20, float(np.mean(predicted == truth)))


def main() -> None:
    store = synthetic_store()
    sign = np.where(store.says_true, 1.0, -1.0)

    start = time.perf_counter()
    data = FitData.build(
        store.claim,
        store.source,
        n_claims=N_CLAIMS,
        n_sources=N_SOURCES,
        sign=sign,
        prior_alpha=UNKNOWN.alpha,
        prior_beta=UNKNOWN.beta,
    )
    build_seconds = time.perf_counter() - start
    em = shipped()[1]

    def fit() -> np.ndarray:
        return em.fit(data).confidence_ > 0.5

    def vote() -> np.ndarray:
        return np.bincount(data.claim, weights=data.sign, minlength=N_CLAIMS) > 0

    answers = pd.DataFrame(
        {"task": store.claim, "worker": store.source, "label": store.says_true.astype(int)}
    )
    # crowd-kit labels a task with the answer it believes; 1 means "true".
    claim_is_true = np.ones(N_CLAIMS, dtype=int)

    def crowdkit(model: object) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = model.fit_predict(answers)  # type: ignore[attr-defined]
            return labels.sort_index().to_numpy() == claim_is_true

        return run

    from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene

    runs = [
        measure("Credence ReliabilityLearner.fit", fit, store.truth),
        measure("crowd-kit DawidSkene", crowdkit(DawidSkene(n_iter=100)), store.truth),
        measure(
            "crowd-kit OneCoinDawidSkene", crowdkit(OneCoinDawidSkene(n_iter=100)), store.truth
        ),
        measure("numpy vote (one bincount)", vote, store.truth),
    ]
    ours, ds, onecoin = runs[0], runs[1], runs[2]
    ds_ratio, onecoin_ratio = ds.seconds / ours.seconds, onecoin.seconds / ours.seconds
    peers_accuracy = max(ds.accuracy, onecoin.accuracy)
    goals = [
        f"{ds_ratio:.1f}x faster than DawidSkene (goal >= {GOAL_VS_DS:g}x) -> "
        f"{'met' if ds_ratio >= GOAL_VS_DS else 'NOT met'}",
        f"{onecoin_ratio:.1f}x faster than OneCoinDawidSkene (goal >= {GOAL_VS_ONECOIN:g}x) -> "
        f"{'met' if onecoin_ratio >= GOAL_VS_ONECOIN else 'NOT met'}",
        f"accuracy {ours.accuracy:.4f} vs {peers_accuracy:.4f} -> "
        f"{'met' if ours.accuracy >= peers_accuracy else 'NOT met'}",
        f"peak memory {ours.peak_mb:.0f} MB (goal < {GOAL_MEMORY_MB:g} MB) -> "
        f"{'met' if ours.peak_mb < GOAL_MEMORY_MB else 'NOT met'}",
    ]
    markdown = (
        header("bench/scale", "make bench-scale")
        + f"\nStore: {data.n_rows:,} attributions, {N_CLAIMS:,} binary claims, "
        f"{N_SOURCES:,} sources (reliability ~ Beta(4, 2)), {PER_CLAIM} distinct sources a "
        f"claim, seed {SEED}. Fit prior: Beta({UNKNOWN.alpha:g}, {UNKNOWN.beta:g}) for every "
        "source; the shipped `[learning]` defaults.\n\n"
        f"ReliabilityLearner: chose {em.stats()['structure']} ({em.criterion_}; "
        f"{em.stats()['candidates']}), temperature {em.temperature_:.3f}, "
        f"{em.n_iter_} iterations, converged {em.converged_}; selection "
        f"{em.timings_['selection']:.2f} s, final fit {em.timings_['fit']:.2f} s; building the "
        f"FitData (validation, read-only copies) took {build_seconds:.3f} s more.\n"
        f"Seconds: fastest of {REPEATS} runs of each method. Peak memory: tracemalloc peak "
        "of the call, in one more, untimed run.\n\n"
        + table(
            ["method", "seconds", "peak MB", "accuracy"],
            [[r.method, f"{r.seconds:.3f}", f"{r.peak_mb:.0f}", r.accuracy] for r in runs],
        )
        + "\n## Goals\n\n"
        + "\n".join(f"- {line}" for line in goals)
        + "\n"
    )
    write_results("scale", markdown)


if __name__ == "__main__":
    main()
