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
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

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
    from distributed import Client

Item = TypeVar("Item")
Result = TypeVar("Result")

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
        # Scattered one at a time, so the client holds at most one partition's copy.
        parts = [
            self.client.scatter(data.with_questions(keep), hash=False)
            for keep in question_partitions(data, self.partitions or self.threads())
        ]
        scattered = time.perf_counter()
        on_cluster = _OnCluster(self.client, parts, structure, layout)
        with get_task_stream(self.client) as tasks:
            structure.fit_partitions(data, on_cluster)
        fitted = time.perf_counter()
        structure.score_ = structure.predict_scores(layout)
        self._record(
            partitions=len(parts),
            rows=data.n_rows,
            partition_bytes=sum(self.client.gather(on_cluster.nbytes())),
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
            final_e_step_seconds=time.perf_counter() - fitted,
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


class _OnCluster:
    """``Partitions`` whose partitions live on the cluster, each a future of a ``Partition``."""

    def __init__(self, client: Client, data: list[Any], structure: OneCoin, layout: Layout) -> None:
        self.client = client
        self.data = data
        self.structure = structure
        self.weights = (layout.unresolved_weight, layout.half_life_days)
        self.n_classes = layout.n_classes
        self.parts: list[Any] = []
        self.statistics_bytes = 0

    def start(self, parameters: Parameters) -> None:
        structure = _broadcast(self.client, self.structure)
        broadcast = _broadcast(self.client, parameters)
        self.parts = [
            self.client.submit(
                Partition.begin,
                structure,
                data,
                self.weights,
                self.n_classes,
                broadcast,
                pure=False,
            )
            for data in self.data
        ]
        # Each partition's layout holds what it needs; the raw arrays can go.
        self.data = []

    def statistics(self) -> Statistics:
        parts = [self.client.submit(Partition.statistics, p, pure=False) for p in self.parts]
        total: Statistics = self.client.submit(sum_statistics, *parts, pure=False).result()
        self.statistics_bytes = sum(a.nbytes for a in total.values())
        return total

    def nbytes(self) -> list[Any]:
        """Futures of each partition's bytes on its worker."""
        return [self.client.submit(_nbytes, p, pure=False) for p in self.parts]

    def advance(self, parameters: Parameters) -> None:
        broadcast = _broadcast(self.client, parameters)
        self.parts = [
            self.client.submit(Partition.advance, p, broadcast, pure=False) for p in self.parts
        ]


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
    with Client(address) as client:
        yield DaskEngine(client)
