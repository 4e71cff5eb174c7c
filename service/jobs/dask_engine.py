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

``dask.distributed`` is an optional dependency (the ``dask`` extra): it is
imported only when a job is given a scheduler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

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


class DaskEngine:
    """A ``FitEngine`` (``scoring.fit.learner``) running the EM on ``client``'s cluster.

    Parameters
    ----------
    client : distributed.Client
    partitions : int, optional
        Partitions of the store; default one per worker thread of the cluster.
    """

    def __init__(self, client: Client, partitions: int | None = None) -> None:
        self.client = client
        self.partitions = partitions

    def __call__(self, structure: OneCoin, layout: Layout) -> OneCoin:
        data = layout.data
        n = self.partitions or sum(self.client.nthreads().values())
        # Scattered one at a time, so the client holds at most one partition's copy.
        parts = [
            self.client.scatter(data.with_questions(keep), hash=False)
            for keep in question_partitions(data, max(n, 1))
        ]
        structure.fit_partitions(data, _OnCluster(self.client, parts, structure, layout))
        structure.score_ = structure.predict_scores(layout)
        return structure


class _OnCluster:
    """``Partitions`` whose partitions live on the cluster, each a future of a ``Partition``."""

    def __init__(self, client: Client, data: list[Any], structure: OneCoin, layout: Layout) -> None:
        self.client = client
        self.data = data
        self.structure = structure
        self.weights = (layout.unresolved_weight, layout.half_life_days)
        self.n_classes = layout.n_classes
        self.parts: list[Any] = []

    def _broadcast(self, value: object) -> Any:
        # In a list, so that a dict is scattered as one object, not value by value.
        return self.client.scatter([value], broadcast=True, hash=False)[0]

    def start(self, parameters: Parameters) -> None:
        structure = self._broadcast(self.structure)
        broadcast = self._broadcast(parameters)
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
        return total

    def advance(self, parameters: Parameters) -> None:
        broadcast = self._broadcast(parameters)
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
