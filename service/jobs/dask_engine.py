"""The re-scoring job's fit on a Dask cluster (``credence rescore --dask``).

The EM is ``scoring.fit.partitions``'s map-reduce, here over partitions held
by the cluster's workers: the client cuts the store's arrays into partitions
of whole questions and scatters each once; every iteration each worker takes
an E-step on its partitions at the broadcast parameters and returns their
statistics (per-source sums), one task sums them, and the client takes the
M-step (``OneCoin.fit_partitions``). Only parameters and sums cross the
network after the first scatter. The structure and temperature are chosen on
the client, on the learner's sample, exactly as in the local engine; the
fitted structure's scores of the whole store come from one E-step here.

The job then scores its stale claims on the cluster too, chunk by chunk
(``mapped``): the scorer and the beliefs are broadcast once, each chunk's
claims go to a worker and its scores come back to the client, which compares
them with the stored ones and writes the moved ones as it does locally.

``dask.distributed`` is an optional dependency (the ``dask`` extra): it is
imported only when a job is given a scheduler.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from scoring.fit.data import FitData
from scoring.fit.layout import Layout
from scoring.fit.partitions import (
    Parameters,
    Partition,
    Statistics,
    question_partitions,
    sum_statistics,
)
from scoring.fit.structures import OneCoin

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

Item = TypeVar("Item")
Result = TypeVar("Result")

# glibc's malloc in every worker process. Dask's nanny sets a trim threshold of
# 64 KiB, which turns off glibc's adaptive mmap threshold: every numpy temporary
# of a partition is then a fresh mmap whose pages fault in, and the EM's steps ran
# about five times slower on a worker than in a plain process (docs/scaling.md).
# Temporaries up to 32 MiB (glibc's ceiling) come from the heap and stay there.
WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": "1073741824", "MALLOC_MMAP_THRESHOLD_": "33554432"}

# Tasks of a map in flight a worker thread: enough to keep each busy while the
# client takes the previous results, few enough to bound what waits in memory.
IN_FLIGHT_PER_THREAD = 2


class DaskEngine:
    """A ``FitEngine`` (``scoring.fit.learner``) running the EM on ``client``'s cluster.

    Parameters
    ----------
    client : distributed.Client
    partitions : int, optional
        Partitions of the store; default one per worker thread of the cluster.

    Attributes
    ----------
    stats_ : dict
        What the fits so far moved and took: partitions, their bytes on the
        workers, the bytes of one partition's statistics and of the parameters
        (each iteration moves one and broadcasts the other), seconds to
        scatter, of EM on the cluster (wall, and summed over the workers' tasks)
        and of the final E-step here.
    """

    def __init__(self, client: Client, partitions: int | None = None) -> None:
        self.client = client
        self.partitions = partitions
        self.stats_: dict[str, Any] = {"fits": 0, "iterations": 0}

    def threads(self) -> int:
        return max(sum(self.client.nthreads().values()), 1)

    def __call__(self, structure: OneCoin, layout: Layout) -> OneCoin:
        from distributed import get_task_stream

        data = layout.data
        started = time.perf_counter()
        # Each partition is placed on a worker, round robin, and its tasks run there:
        # the scheduler sees a partition as a small object (it cannot size it) and
        # might otherwise move it. Scattered one at a time, so the client holds at
        # most one partition's copy.
        workers = sorted(self.client.scheduler_info()["workers"])
        parts = [
            _Placed(
                worker,
                self.client.scatter(data.with_questions(keep), workers=[worker], hash=False),
            )
            for keep, worker in zip(
                question_partitions(data, self.partitions or self.threads()),
                itertools.cycle(workers),
                strict=False,
            )
        ]
        scattered = time.perf_counter()
        on_cluster = _OnCluster(self.client, parts, structure, layout)
        with get_task_stream(self.client) as tasks:
            structure.fit_partitions(data, on_cluster)
        # The workers' last E-step is not needed: the whole store's is taken here.
        self.client.cancel([p.future for p in on_cluster.parts])
        fitted = time.perf_counter()
        structure.score_ = structure.predict_scores(layout)
        final = time.perf_counter() - fitted
        self._record(
            partitions=len(parts),
            rows=data.n_rows,
            partition_bytes=sum(self.client.gather(on_cluster.nbytes)),
            statistics_bytes=on_cluster.statistics_bytes,
            parameters_bytes=sum(a.nbytes for a in structure.parameters().values()),
            scatter_seconds=scattered - started,
            em_seconds=fitted - scattered,
            worker_compute_seconds=sum(
                step["stop"] - step["start"]
                for task in tasks.data
                for step in task["startstops"]
                if step["action"] == "compute"
            ),
            final_e_step_seconds=final,
            iterations=structure.n_iter_,
        )
        return structure

    def _record(self, **figures: float) -> None:
        """Adds up times and iterations over the job's fits (relay passes); keeps the
        latest sizes."""
        self.stats_["fits"] += 1
        for name, value in figures.items():
            if name.endswith("seconds") or name == "iterations":
                self.stats_[name] = round(self.stats_.get(name, 0) + value, 3)
            else:
                self.stats_[name] = value

    def map(
        self, function: Callable[..., Result], items: Iterable[Item], *shared: object
    ) -> Iterator[Result]:
        """``function(item, *shared)`` of each item on the cluster, in order; ``shared`` is
        sent to every worker once, and at most ``IN_FLIGHT_PER_THREAD`` tasks a worker
        thread wait at a time."""
        broadcast = [_broadcast(self.client, value) for value in shared]
        window = IN_FLIGHT_PER_THREAD * self.threads()
        pending: deque[Any] = deque()
        for item in items:
            pending.append(self.client.submit(function, item, *broadcast, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def mapped(
    engine: DaskEngine | None,
    function: Callable[..., Result],
    items: Iterable[Item],
    *shared: object,
) -> Iterator[Result]:
    """``function(item, *shared)`` of each item, in order: on ``engine``'s cluster, or here
    when it is None."""
    if engine is None:
        return (function(item, *shared) for item in items)
    return engine.map(function, items, *shared)


def _broadcast(client: Client, value: object) -> Any:
    """A future of ``value`` held by every worker."""
    # In a list, so that a dict is scattered as one object, not value by value.
    return client.scatter([value], broadcast=True, hash=False)[0]


def _nbytes(partition: Partition) -> int:
    """Bytes of the arrays a partition holds on its worker (its data, layout and state)."""
    data = partition.layout.data
    seen: dict[int, int] = {}
    for owner in (vars(partition.structure), vars(partition.layout)):
        for value in owner.values():
            if isinstance(value, np.ndarray):
                seen[id(value)] = value.nbytes
    for name in type(data).__dataclass_fields__:
        value = getattr(data, name)
        seen[id(value)] = value.nbytes
    return sum(seen.values())


@dataclass(frozen=True)
class _Placed:
    """A future held by one worker, whose tasks run on that worker."""

    worker: str
    future: Any


class _OnCluster:
    """``Partitions`` whose partitions live on the cluster, each a future of a ``Partition``
    pinned to its worker."""

    def __init__(
        self, client: Client, data: list[_Placed], structure: OneCoin, layout: Layout
    ) -> None:
        self.client = client
        self.data = data
        self.structure = structure
        self.weights = (layout.unresolved_weight, layout.half_life_days)
        self.n_classes = layout.n_classes
        self.parts: list[_Placed] = []
        self.nbytes: list[Any] = []
        """Futures of each partition's bytes on its worker, once started."""
        self.statistics_bytes = 0

    def _on(self, placed: _Placed, function: Callable[..., Any], *args: Any) -> Any:
        """``function(placed, *args)`` on ``placed``'s worker."""
        return self.client.submit(
            function,
            placed.future,
            *args,
            workers=[placed.worker],
            allow_other_workers=False,
            pure=False,
        )

    def start(self, parameters: Parameters) -> None:
        structure = _broadcast(self.client, self.structure)
        broadcast = _broadcast(self.client, parameters)
        self.parts = [
            _Placed(
                data.worker,
                self._on(data, _begin, structure, self.weights, self.n_classes, broadcast),
            )
            for data in self.data
        ]
        # Each partition's layout holds what it needs; the raw arrays can go.
        self.data = []
        self.nbytes = [self._on(p, _nbytes) for p in self.parts]

    def statistics(self) -> Statistics:
        parts = [self._on(p, Partition.statistics) for p in self.parts]
        total: Statistics = self.client.submit(sum_statistics, *parts, pure=False).result()
        self.statistics_bytes = sum(a.nbytes for a in total.values())
        return total

    def advance(self, parameters: Parameters) -> None:
        broadcast = _broadcast(self.client, parameters)
        self.parts = [
            _Placed(p.worker, self._on(p, Partition.advance, broadcast)) for p in self.parts
        ]


def _begin(
    data: FitData,
    structure: OneCoin,
    weights: tuple[float, float],
    n_classes: int,
    parameters: Parameters,
) -> Partition:
    """``Partition.begin`` with the partition's data first (the argument pinned to a worker)."""
    return Partition.begin(structure, data, weights, n_classes, parameters)


def local_cluster(n_workers: int = 2) -> LocalCluster:
    """A cluster of ``n_workers`` single-thread worker processes on this machine, their
    malloc set as ``WORKER_ENVIRON`` (for tests and benchmarks)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(
        {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    ):
        return LocalCluster(
            n_workers=n_workers, processes=True, threads_per_worker=1, dashboard_address=None
        )


@contextlib.contextmanager
def dask_engine(address: str) -> Iterator[DaskEngine | None]:
    """A ``DaskEngine`` on the scheduler at ``address`` for the duration, or None when
    ``address`` is empty (the fit runs in this process)."""
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise RuntimeError(
            "a Dask scheduler is configured but dask.distributed is not installed: "
            "pip install 'credence[dask]'"
        ) from exc
    try:
        client = Client(address)
    except OSError as exc:  # distributed's connection timeout is an OSError
        raise RuntimeError(f"no Dask scheduler answers at {address}: {exc}") from None
    with client:
        yield DaskEngine(client)
