"""Vectorised evidence arithmetic shared by the online scorer and the batch fit.

Every function works on flat arrays (one entry per attribution or per claim)
with integer index arrays for grouping, so neither caller loops in Python.
All log-odds are natural logarithms.
"""

from __future__ import annotations

import math

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
    depend on the other segments. ``np.add.at`` and ``np.add.reduceat`` are
    several times slower than one ``bincount`` over flattened cell indices.

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
    i = np.asarray(index, dtype=np.intp)
    if v.ndim == 1:
        return np.bincount(i, weights=v, minlength=n_segments).astype(float, copy=False)
    width = math.prod(v.shape[1:])
    cells = (i[:, None] * width + np.arange(width)).ravel()
    total = np.bincount(cells, weights=v.ravel(), minlength=n_segments * width)
    return total.astype(float, copy=False).reshape(n_segments, *v.shape[1:])


def logit(p: ArrayLike) -> FloatArray:
    """Log-odds of probabilities kept ``EPS`` away from 0 and 1."""
    # np.clip's Python wrapper costs more than both ufuncs on small arrays.
    q = np.array(p, dtype=float)
    np.maximum(q, EPS, out=q)
    np.minimum(q, 1 - EPS, out=q)
    odds = np.subtract(1.0, q)
    np.divide(q, odds, out=odds)
    return np.log(odds, out=odds)


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
    hit = np.expm1(segment_sum(miss, group, n_groups))
    return np.negative(hit, out=hit)


def design_effect(k: ArrayLike, rho: ArrayLike) -> FloatArray:
    """Factor by which each of k correlated reports counts: n_eff / k = 1 / (1 + (k - 1) rho)."""
    k = np.asarray(k, dtype=float)
    return 1.0 / (1.0 + np.maximum(k - 1.0, 0.0) * np.asarray(rho, dtype=float))


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
    top = np.zeros((n_questions, *s.shape[1:]))
    if q.size:
        # Per-question maxima by one reduceat over sorted claims: np.maximum.at is slow.
        order = np.argsort(q, kind="stable")
        ranked = q[order]
        starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
        top[ranked[starts]] = np.maximum(np.maximum.reduceat(s[order], starts, axis=0), 0.0)
    shifted = s - top[q]
    np.exp(shifted, out=shifted)
    total = np.negative(top, out=top)
    np.exp(total, out=total)
    if closed is not None:
        total[np.asarray(closed, dtype=bool)] = 0.0
    total += segment_sum(shifted, q, n_questions)
    shifted /= total[q]
    return shifted


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
    k = np.bincount(c, weights=np.asarray(count, dtype=float), minlength=n_clusters)
    return design_effect(k[c], rho)


def claim_log_odds(
    claim: ArrayLike,
    sign: ArrayLike,
    weight_scale: ArrayLike,
    effective: ArrayLike | None,
    n_claims: int,
    cap: float,
    *,
    log_odds: ArrayLike | None = None,
    index: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Each evidence row's weight and each claim's total evidence, in log-odds.

    A row that supports (``sign = +1``) a claim with effective reliability r
    adds ``logit(r)``; one that refutes (``sign = -1``) subtracts it; neutral
    rows (``sign = 0``) add nothing. ``weight_scale`` carries the count of
    reports and the design effect of their cluster.

    Rows often share their effective reliability (one source without relays,
    or one channel of source, relays and certainty): then pass ``log_odds``,
    the logit of each distinct effective reliability, and ``index``, each
    row's entry in it, instead of ``effective``, so that each logit is taken
    once.

    Parameters
    ----------
    claim : array_like of int, shape (m,)
        Claim index of each row, in ``[0, n_claims)``.
    sign : array_like, shape (m,)
    weight_scale : array_like, shape (m,)
        ``count * design effect`` of each row.
    effective : array_like, shape (m,) or (m, s), or None
        Effective reliability of each row, optionally for s samples; None
        when ``log_odds`` and ``index`` are given.
    cap : float
        Saturation bound of a claim's total evidence (see ``saturate``).
    log_odds : array_like, shape (k,) or (k, s), optional
        ``logit`` of k effective reliabilities.
    index : array_like of int, shape (m,), optional
        Each row's entry of ``log_odds``, in ``[0, k)``.

    Returns
    -------
    weight : ndarray, shape (m,) or (m, s)
        Contribution of each row.
    total : ndarray, shape (n_claims,) or (n_claims, s)
        Saturated sum of the weights of each claim.
    """
    if log_odds is not None and index is not None:
        weight = np.asarray(log_odds, dtype=float)[np.asarray(index, dtype=np.intp)]
    elif effective is not None and log_odds is None and index is None:
        weight = logit(effective)
    else:
        raise ValueError("pass either effective, or log_odds with index")
    factor = np.asarray(sign, dtype=float) * np.asarray(weight_scale, dtype=float)
    weight *= factor.reshape(-1, *([1] * (weight.ndim - 1)))
    total = segment_sum(weight, claim, n_claims)
    return weight, saturate(total, cap)
