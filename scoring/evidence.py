"""Vectorised evidence arithmetic shared by the online scorer and the batch fit.

Every function works on flat arrays (one entry per attribution or per claim)
with integer index arrays for grouping, so neither caller loops in Python.
All log-odds are natural logarithms.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

# Probabilities are kept this far from 0 and 1 so that log-odds stay finite.
EPS = 1e-9

# The functions below update their own temporaries in place: on (rows, samples)
# arrays every fresh allocation costs as much as the arithmetic.


def segment_sum(values: ArrayLike, index: ArrayLike, n_segments: int) -> FloatArray:
    """Sum the rows of ``values`` that share a segment index.

    Rows of a segment are added in their order, so a segment's sum does not
    depend on the other segments. By ``np.add.at``, as fast as ``np.bincount``
    since numpy 1.25 and taking the index in its own type, where ``bincount``
    first copies it to ``intp``: for the fit's 32-bit row indices at 10 M rows,
    a 76 MB temporary at the job's peak. ``bincount``'s bounds are kept.

    Parameters
    ----------
    values : array_like, shape (m,) or (m, ...)
    index : array_like of int, shape (m,)
        Segment of each row, in ``[0, n_segments)``.

    Returns
    -------
    ndarray, shape (n_segments,) or (n_segments, ...)
    """
    v = np.asarray(values, dtype=float)
    i = np.asarray(index)
    if i.dtype.kind not in "iu":  # an empty list, say: never a boolean mask
        i = i.astype(np.intp)
    n = n_segments
    if i.size:
        # As bincount: a negative index is an error, a larger one lengthens the sums.
        if i.min() < 0:
            raise ValueError("segment indices must be >= 0")
        n = max(n, int(i.max()) + 1)
    total = np.zeros((n, *v.shape[1:]))
    np.add.at(total, i, v)
    return total


def logit(p: ArrayLike) -> FloatArray:
    """Log-odds of probabilities kept ``EPS`` away from 0 and 1."""
    # np.clip's Python wrapper costs more than both ufuncs on small arrays.
    q = np.array(p, dtype=float)
    np.maximum(q, EPS, out=q)
    np.minimum(q, 1 - EPS, out=q)
    odds = np.subtract(1.0, q)
    np.divide(q, odds, out=odds)
    return np.log(odds, out=odds)


def logistic(score: FloatArray) -> FloatArray:
    """The logistic sigmoid of log-odds: ``exclusive_posterior``'s arithmetic for claims each
    alone in its question (a new array)."""
    top = np.maximum(score, 0.0)
    shifted = np.subtract(score, top)
    np.exp(shifted, out=shifted)
    total = np.negative(top, out=top)
    np.exp(total, out=total)
    total += shifted
    shifted /= total
    return shifted


def effective_reliability(reliability: ArrayLike, fidelity: ArrayLike) -> FloatArray:
    """Reliability of a statement that reached us with chance ``fidelity`` of being faithful.

    An unfaithful relay (or a hedge) carries no information, so the statement
    is right with chance ``fidelity * r + (1 - fidelity) / 2``.
    """
    r = np.asarray(reliability, dtype=float) - 0.5
    r = r * np.asarray(fidelity, dtype=float)
    r += 0.5
    return r


def noisy_or(probability: ArrayLike, group: ArrayLike, n_groups: int) -> FloatArray:
    """Chance that at least one of independent events in each group happened.

    Used to merge channels that relay one original statement: several relays
    make it surer that the source said it, never more than certain.

    Parameters
    ----------
    probability : array_like, shape (n,) or (n, s)
        Optionally for each of s reliability samples.
    group : array_like of int, shape (n,)
        Group index of each event, in ``[0, n_groups)``.

    Returns
    -------
    ndarray, shape (n_groups,) or (n_groups, s)
    """
    miss = np.clip(np.asarray(probability, dtype=float), 0.0, 1.0)
    np.negative(miss, out=miss)
    with np.errstate(divide="ignore"):
        np.log1p(miss, out=miss)
    # In place, the rows' logs let go first: a store's rows are most of a fit's memory.
    hit = segment_sum(miss, group, n_groups)
    del miss
    np.expm1(hit, out=hit)
    return np.negative(hit, out=hit)


def design_effect(k: ArrayLike, rho: ArrayLike) -> FloatArray:
    """Factor by which each of k correlated reports counts: n_eff / k = 1 / (1 + (k - 1) rho)."""
    # In place on one new array: over a store's rows each temporary is a column's size.
    factor = np.subtract(k, 1.0, dtype=float)
    np.maximum(factor, 0.0, out=factor)
    factor *= rho
    factor += 1.0
    return np.reciprocal(factor, out=factor)


def saturate(log_odds: ArrayLike, cap: float) -> FloatArray:
    """Bound accumulated evidence smoothly at ``±cap`` (the paradox of unanimity).

    Odd and increasing, so the direction and order of evidence are kept;
    ``cap = inf`` leaves evidence untouched.
    """
    e = np.asarray(log_odds, dtype=float)
    if math.isinf(cap):
        return e
    bounded = np.tanh(e / cap)
    bounded *= cap
    return bounded


def exclusive_posterior(
    score: ArrayLike,
    question: ArrayLike,
    n_questions: int,
    closed: ArrayLike | None = None,
) -> FloatArray:
    """Posterior of each claim when the claims of a question are mutually exclusive.

    Each claim carries its own log-odds ``score`` (prior plus evidence). With
    independent priors conditioned on at most one answer being true, the
    answer states and "none of them" have weights ``exp(score_j)`` and 1, so

        P(j) = exp(score_j) / (1 + sum_k exp(score_k))   over k in j's question.

    A claim alone in its question gets the logistic sigmoid of its score. A
    ``closed`` question is known to have one of its claims true (the answer
    options of a crowd task): "none of them" gets weight 0 and the
    probabilities of its claims sum to 1.

    Parameters
    ----------
    score : array_like, shape (n,) or (n, s)
        Log-odds of each claim, optionally for each of s reliability samples.
    question : array_like of int, shape (n,)
        Question index of each claim, in ``[0, n_questions)``.
    closed : array_like of bool, shape (n_questions,), optional
        Questions whose answers are exhaustive; by default none is.

    Returns
    -------
    ndarray, shape of ``score``
        Probabilities; those of one question sum to less than 1.
    """
    s = np.asarray(score, dtype=float)
    q = np.asarray(question, dtype=np.intp)
    if not q.size:
        return s.copy()
    # Only the questions present: a pass's jointly scored claims name a few of its
    # questions, and (questions, samples) arrays of all of them cost more than the rest.
    present = _Present.of(q)
    top = present.fold(np.maximum, s)
    np.maximum(top, 0.0, out=top)
    shifted = s - top[present.local]
    np.exp(shifted, out=shifted)
    total = np.negative(top, out=top)
    np.exp(total, out=total)
    if closed is not None:
        total[np.asarray(closed, dtype=bool)[present.ids]] = 0.0
    total += present.fold(np.add, shifted)
    shifted /= total[present.local]
    return shifted


class _Present(NamedTuple):
    """The questions some claims name, and their claims rank by rank: the first claim of
    every question, then the second of those with two, and so on.

    Attributes
    ----------
    ids : ndarray of int, shape (m,)
        The questions named, in order.
    local : ndarray of int, shape (n,)
        Each claim's question's position in ``ids``.
    by_rank : ndarray of int, shape (n,)
        The claims, rank by rank; within a rank in question order, so the first rank
        is the first claim of each of ``ids``.
    sizes : list of int
        Claims of each rank.
    """

    ids: IntArray
    local: IntArray
    by_rank: IntArray
    sizes: list[int]

    @classmethod
    def of(cls, question: IntArray) -> _Present:
        """``question``'s (shape (n,), n > 0) questions and their claims."""
        order = np.argsort(question, kind="stable")
        ranked = question[order]
        new = np.concatenate(([True], ranked[1:] != ranked[:-1]))
        local_of_order = np.cumsum(new) - 1
        local = np.empty_like(question)
        local[order] = local_of_order
        rank = np.arange(question.size) - np.flatnonzero(new)[local_of_order]
        by_rank = order[np.argsort(rank, kind="stable")]
        return cls(ranked[new], local, by_rank, np.bincount(rank).tolist())

    def fold(self, ufunc: np.ufunc, values: FloatArray) -> FloatArray:
        """``ufunc`` of each question's rows of ``values`` in claim order,
        ``((v0 . v1) . v2) ...``; shape (m, ...).

        Rank by rank, a few whole-array operations a rank (questions have few
        answers): ``np.maximum.reduceat`` along the first axis cost about twenty
        times as much on (claims, samples) arrays. With ``np.add``, ``segment_sum``'s
        sums, which add in the same order (from 0, which only turns a sum of -0.0 to 0.0).
        """
        first = self.sizes[0]
        out = values[self.by_rank[:first]]
        done = first
        for size in self.sizes[1:]:
            rows = self.by_rank[done : done + size]
            at = self.local[rows]
            out[at] = ufunc(out[at], values[rows])
            done += size
        return out


def cluster_design_effect(
    cluster: ArrayLike, count: ArrayLike, rho: ArrayLike, n_clusters: int
) -> FloatArray:
    """Design-effect factor of each evidence row from the cluster it belongs to.

    A cluster is the set of rows that are correlated with each other: sources of
    one group taking the same side of one claim, or the ``count`` unnamed
    sources of one row. Its k = sum of counts reports are worth
    k / (1 + (k - 1) rho) independent ones, so each report counts
    1 / (1 + (k - 1) rho).

    Parameters
    ----------
    cluster : array_like of int, shape (m,)
        Cluster index of each row, in ``[0, n_clusters)``.
    count : array_like, shape (m,)
        Reports behind each row (``count`` of unnamed sources, else 1).
    rho : array_like, shape (m,)
        Within-cluster correlation of each row's cluster.

    Returns
    -------
    ndarray, shape (m,)
    """
    c = np.asarray(cluster, dtype=np.intp)
    # Each row's cluster size, the clusters' own array let go at once.
    k = np.bincount(c, weights=np.asarray(count, dtype=float), minlength=n_clusters)[c]
    return design_effect(k, rho)
