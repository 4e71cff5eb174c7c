"""A source's track record: resolved claims it took a side on, as Beta evidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.beta import beta_intervals, beta_means
from scoring.evidence import FloatArray
from scoring.priors import GradeTable


def decayed_counts(
    source: ArrayLike,
    hit: ArrayLike,
    age_days: ArrayLike,
    n_sources: int,
    half_life_days: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Hits and misses of each source, each weighted by ``2 ** (-age / half_life)``.

    Parameters
    ----------
    source : array_like of int, shape (m,)
        Source index of each resolved stance, in ``[0, n_sources)``. A source
        that reached a claim through several relays took one side on it: pass
        it once.
    hit : array_like of bool, shape (m,)
        Whether the stance matched the outcome (supported a confirmed claim or
        refuted a refuted one).
    age_days : array_like, shape (m,)
        Days since the resolution; negative ages count as 0.
    half_life_days : float
        Age in days at which an outcome counts half; 0 or ``inf`` means no
        decay (the config's convention is 0).

    Returns
    -------
    hits, misses : ndarray, shape (n_sources,)
        Decayed pseudo-counts, >= 0.
    """
    if half_life_days < 0 or np.isnan(half_life_days):
        raise ValueError("half_life_days must be >= 0 (0 = no decay)")
    s = np.asarray(source, dtype=np.intp)
    h = np.asarray(hit, dtype=bool)
    if half_life_days in (0.0, np.inf):
        weight = np.ones(s.shape)
    else:
        age = np.maximum(np.asarray(age_days, dtype=float), 0.0)
        weight = np.exp2(-age / half_life_days)
    hits = np.bincount(s, weights=weight * h, minlength=n_sources).astype(float, copy=False)
    misses = np.bincount(s, weights=weight * ~h, minlength=n_sources).astype(float, copy=False)
    return hits, misses


def track_record_posterior(
    prior_alpha: ArrayLike,
    prior_beta: ArrayLike,
    source: ArrayLike,
    hit: ArrayLike,
    age_days: ArrayLike,
    half_life_days: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Posterior Beta of each source: its prior plus its decayed hits and misses.

    Parameters
    ----------
    prior_alpha, prior_beta : array_like, shape (n,)
        Prior pseudo-counts of each source, > 0 (``pool_group_priors``).
    source, hit, age_days, half_life_days
        As in ``decayed_counts``; ``source`` indexes the prior arrays.

    Returns
    -------
    alpha, beta : ndarray, shape (n,)
    """
    a = np.asarray(prior_alpha, dtype=float)
    hits, misses = decayed_counts(source, hit, age_days, a.size, half_life_days)
    return a + hits, np.asarray(prior_beta, dtype=float) + misses


@dataclass(frozen=True, slots=True)
class ReliabilitySummary:
    """What is reported about sources' reliabilities.

    Attributes
    ----------
    mean : ndarray, shape (n,)
        Posterior mean reliability.
    low, high : ndarray, shape (n,)
        Equal-tailed credible interval at the requested level.
    grade : list of str, length n
        Admiralty letter A-F (``GradeTable.letters``).
    """

    mean: FloatArray
    low: FloatArray
    high: FloatArray
    grade: list[str]


def summarize_reliability(
    alpha: ArrayLike, beta: ArrayLike, grades: GradeTable, level: float = 0.9
) -> ReliabilitySummary:
    """Mean, credible interval and Admiralty letter of many Beta beliefs (shape (n,))."""
    low, high = beta_intervals(alpha, beta, level)
    return ReliabilitySummary(beta_means(alpha, beta), low, high, grades.letters(alpha, beta))
