"""The fit's EM as a map over partitions of questions and a reduction of sums.

A question's states are scored together, so a partition holds whole
questions: its claims, their evidence rows and every source (the sources'
arrays are short). Each EM iteration is

- **map**: every partition, at the current parameters, takes an E-step and
  returns its *statistics*, per-source (and per-class, per confusion cell)
  sums of posterior-weighted masses (``OneCoin._statistics``);
- **reduce**: the statistics are summed (``sum_statistics``);
- the client computes the new parameters from the sums (``OneCoin._m_step``)
  and hands them to every partition for the next E-step.

``OneCoin.fit`` runs this loop over one in-process partition, the whole store
(``InProcess``); the re-scoring job can run it over partitions on a Dask
cluster (``service.jobs.dask_engine``), the same loop and the same steps. The
sums are the same sums in another order, so both agree within floating-point
tolerance.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from scoring.evidence import FloatArray
from scoring.fit.data import BoolArray, FitData
from scoring.fit.layout import Layout

if TYPE_CHECKING:
    from scoring.fit.structures import OneCoin

Statistics = dict[str, FloatArray]
"""A partition's sums, by name (``OneCoin._statistics``); each array's shape does not
depend on the partition (n_sources, n_classes or n_sources x C x C)."""

Parameters = dict[str, FloatArray]
"""What an E-step needs of the sources and classes (``OneCoin.parameters``)."""


class Partitions(Protocol):
    """Where the partitions of one fit live, and how the map and the reduction run."""

    def start(self, parameters: Parameters) -> None:
        """Each partition's per-row constants and starting scores (a weighted vote)."""

    def statistics(self) -> Statistics:
        """The partitions' statistics at their current scores, summed."""

    def advance(self, parameters: Parameters) -> None:
        """An E-step in every partition at ``parameters``."""


def sum_statistics(*parts: Statistics) -> Statistics:
    """The element-wise sum of partitions' statistics."""
    return {name: np.sum([p[name] for p in parts], axis=0) for name in parts[0]}


@dataclass
class Partition:
    """One partition's side of the EM: a copy of the structure holding the partition's
    per-row state and scores, and the partition's layout.

    The copy shares the client structure's settings; only its parameters and
    its per-row arrays (set by ``OneCoin._start`` and the E-step) are its own.
    """

    structure: OneCoin
    layout: Layout

    @classmethod
    def begin(
        cls,
        structure: OneCoin,
        data: FitData,
        weights: tuple[float, float],
        n_classes: int,
        parameters: Parameters,
    ) -> Partition:
        """A partition of ``data``'s questions, its layout built with the store's
        ``weights`` (``unresolved_weight``, ``half_life_days``) and ``n_classes``."""
        partition = cls(copy.copy(structure), Layout(data, *weights, n_classes))
        partition.structure.set_parameters(parameters)
        partition.structure.start_partition(partition.layout)
        return partition

    def statistics(self) -> Statistics:
        return self.structure.partition_statistics(self.layout)

    def advance(self, parameters: Parameters) -> Partition:
        """This partition after an E-step at ``parameters`` (a new object: the old one
        may still be referenced by a task that has not run yet)."""
        advanced = Partition(copy.copy(self.structure), self.layout)
        advanced.structure.set_parameters(parameters)
        advanced.structure.advance_partition(self.layout)
        return advanced


class InProcess:
    """The whole store as one partition in this process: the structure fitted is itself
    the partition's, so it ends holding the store's per-row state and ``score_``."""

    def __init__(self, structure: OneCoin, layout: Layout) -> None:
        self.structure = structure
        self.layout = layout

    def start(self, parameters: Parameters) -> None:
        self.structure.start_partition(self.layout)

    def statistics(self) -> Statistics:
        return self.structure.partition_statistics(self.layout)

    def advance(self, parameters: Parameters) -> None:
        self.structure.advance_partition(self.layout)


def question_partitions(data: FitData, n: int) -> list[BoolArray]:
    """``n`` (or fewer) sets of whole questions with about equal numbers of evidence rows,
    each a mask of shape (n_questions,); every question is in exactly one.

    Questions are cut in index order, which keeps a partition's claims
    contiguous when claims come grouped by question (the store's order).
    """
    rows = np.bincount(data.question[data.claim], minlength=data.n_questions)
    # A question without rows still has states: give it weight so empty stores split too.
    ends = np.cumsum(rows + 1)
    total = ends[-1] if ends.size else 0
    part = np.minimum(((ends - 1) * n) // max(total, 1), n - 1)
    return [part == p for p in np.unique(part)]
