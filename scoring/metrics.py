"""How well probabilistic forecasts matched outcomes: accuracy, ranking and calibration.

Plain numpy over flat arrays, one entry per forecast. A forecast is the
probability that a binary event (a claim being true) happens; the outcome is
1.0 if it happened and 0.0 if not. The service's ``/v1/calibration`` endpoint
and the benchmarks both use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

# Log loss clips forecasts this far from 0 and 1 so that one confident miss
# costs a large but finite penalty (about 34.5 nats), as scikit-learn does.
_LOG_LOSS_EPS = 1e-15


def _forecasts(y_true: ArrayLike, y_prob: ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_prob, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_prob differ in length: {y.size} != {p.size}")
    if y.size == 0:
        raise ValueError("no forecasts to judge")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold only 0 and 1")
    if not ((p >= 0.0) & (p <= 1.0)).all():
        raise ValueError("y_prob must lie in [0, 1]")
    return y, p


def brier_score(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean squared difference between forecast probability and outcome.

    Parameters
    ----------
    y_true : array_like, shape (n,)
        Outcomes, 1.0 (happened) or 0.0.
    y_prob : array_like, shape (n,)
        Forecast probabilities of the outcome 1, in [0, 1].

    Returns
    -------
    float
        In [0, 1]; 0 for perfect forecasts, 0.25 for always saying 0.5.
    """
    y, p = _forecasts(y_true, y_prob)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Mean negative log-likelihood of the outcomes under the forecasts, in nats.

    Parameters
    ----------
    y_true : array_like, shape (n,)
        Outcomes, 1.0 or 0.0.
    y_prob : array_like, shape (n,)
        Forecast probabilities of the outcome 1, in [0, 1]; clipped to
        ``[1e-15, 1 - 1e-15]``.

    Returns
    -------
    float
        >= 0; ``log 2`` (about 0.693) for always saying 0.5.
    """
    y, p = _forecasts(y_true, y_prob)
    p = np.clip(p, _LOG_LOSS_EPS, 1 - _LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of predictions equal to the truth.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n,)
        Labels of any comparable type; for binary forecasts pass
        ``y_prob >= 0.5`` as ``y_pred``.

    Returns
    -------
    float
        In [0, 1].
    """
    t = np.asarray(y_true).ravel()
    p = np.asarray(y_pred).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError("y_true and y_pred must be non-empty and of one length")
    return float(np.mean(t == p))


def roc_auc(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Area under the ROC curve: the chance a random positive outranks a random negative.

    Ties count one half (the Mann-Whitney statistic with mid-ranks).

    Parameters
    ----------
    y_true : array_like, shape (n,)
        Outcomes, 1.0 or 0.0; both must occur.
    y_prob : array_like, shape (n,)
        Forecast probabilities (any scores ranking the outcome 1 higher).

    Returns
    -------
    float
        In [0, 1]; 0.5 for uninformative forecasts.
    """
    y, p = _forecasts(y_true, y_prob)
    n_pos = float(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both outcomes among y_true")
    # Mid-ranks: every member of a tie gets the mean of the ranks it spans.
    _, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    mid_rank = (upper - (counts - 1) / 2.0)[inverse]
    rank_sum = float(mid_rank[y == 1].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True, slots=True)
class ReliabilityBins:
    """The non-empty bins of a reliability diagram, in increasing order of forecast.

    Attributes
    ----------
    lower, upper : ndarray, shape (k,)
        Edges of each bin on the forecast axis; a bin holds ``lower <= p < upper``
        (the last one also holds ``p = 1``).
    predicted : ndarray, shape (k,)
        Mean forecast probability in each bin.
    observed : ndarray, shape (k,)
        Share of outcomes that happened in each bin.
    count : ndarray of int, shape (k,)
        Number of forecasts in each bin (all > 0).
    """

    lower: FloatArray
    upper: FloatArray
    predicted: FloatArray
    observed: FloatArray
    count: IntArray


def reliability_bins(y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10) -> ReliabilityBins:
    """Bin forecasts into ``n_bins`` equal-width bins on [0, 1] and compare each bin's
    mean forecast with the frequency of its outcomes.

    Parameters
    ----------
    y_true : array_like, shape (n,)
        Outcomes, 1.0 or 0.0.
    y_prob : array_like, shape (n,)
        Forecast probabilities, in [0, 1].
    n_bins : int, default 10
        Number of equal-width bins; empty ones are left out of the result.

    Returns
    -------
    ReliabilityBins
    """
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    y, p = _forecasts(y_true, y_prob)
    # p = 1 belongs to the last bin rather than to a bin of its own.
    index = np.minimum((p * n_bins).astype(np.intp), n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    filled = count > 0
    predicted = np.bincount(index, weights=p, minlength=n_bins)[filled] / count[filled]
    observed = np.bincount(index, weights=y, minlength=n_bins)[filled] / count[filled]
    edges = np.arange(n_bins + 1, dtype=float) / n_bins
    return ReliabilityBins(
        lower=edges[:-1][filled],
        upper=edges[1:][filled],
        predicted=predicted,
        observed=observed,
        count=count[filled].astype(np.intp),
    )


def expected_calibration_error(y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10) -> float:
    """Mean gap between forecast and observed frequency over equal-width bins,
    weighted by the share of forecasts in each bin.

    ``ECE = sum_b (n_b / n) * |mean forecast_b - observed frequency_b|``.

    Parameters
    ----------
    y_true : array_like, shape (n,)
        Outcomes, 1.0 or 0.0.
    y_prob : array_like, shape (n,)
        Forecast probabilities, in [0, 1].
    n_bins : int, default 10
        Number of equal-width bins on [0, 1].

    Returns
    -------
    float
        In [0, 1]; 0 for perfectly calibrated forecasts.
    """
    bins = reliability_bins(y_true, y_prob, n_bins)
    share = bins.count / bins.count.sum()
    return float(np.sum(share * np.abs(bins.predicted - bins.observed)))
