"""Words and scales analysts already use: ICD 203 terms and Admiralty credibility."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
from numpy.typing import ArrayLike, NDArray

ESTIMATIVE_TERMS = (
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
)
# ICD 203 band edges below and above even chance. A value on an edge takes the
# band nearer even chance, so p and 1 - p get mirrored terms.
_LOWER_EDGES = np.array([0.05, 0.20, 0.45])
_UPPER_EDGES = np.array([0.55, 0.80, 0.95])

# STIX 2.1 confidence bands for credibility 5 (improbable) .. 2 (probably true).
_CREDIBILITY_EDGES = np.array([0.2, 0.4, 0.6])
CONFIRMED = 1
UNJUDGED = 6
# Grade 1 needs confirmation by at least this many effective independent sources.
CONFIRMING_SOURCES = 2.0


# The same edges as Python floats, for the scalar versions.
_LOWER = _LOWER_EDGES.tolist()
_UPPER = _UPPER_EDGES.tolist()
_CREDIBILITY = _CREDIBILITY_EDGES.tolist()


def estimative_term(confidence: float) -> str:
    """``estimative_terms`` of one probability, without numpy's per-call cost."""
    if confidence <= 0.5:
        return ESTIMATIVE_TERMS[bisect_right(_LOWER, confidence)]
    if confidence != confidence:  # NaN, which searchsorted puts after every edge
        return ESTIMATIVE_TERMS[-1]
    return ESTIMATIVE_TERMS[3 + bisect_left(_UPPER, confidence)]


def credibility_level(confidence: float, carries_weight: bool, confirming_sources: float) -> int:
    """``credibility_levels`` of one claim, without numpy's per-call cost."""
    if not carries_weight:
        return UNJUDGED
    if confidence >= 0.8 and confirming_sources >= CONFIRMING_SOURCES - 1e-9:
        return CONFIRMED
    return 5 - bisect_right(_CREDIBILITY, confidence)


def estimative_terms(confidence: ArrayLike) -> list[str]:
    """ICD 203 estimative term of each probability (shape (n,)).

    almost no chance < 5 % <= very unlikely < 20 % <= unlikely < 45 %
    <= roughly even chance <= 55 % < likely <= 80 % < very likely <= 95 %
    < almost certain.
    """
    p = np.asarray(confidence, dtype=float)
    below = _LOWER_EDGES.searchsorted(p, side="right")
    above = 3 + _UPPER_EDGES.searchsorted(p, side="left")
    band = np.where(p <= 0.5, below, above)
    return [ESTIMATIVE_TERMS[b] for b in band.tolist()]


def credibility_levels(
    confidence: ArrayLike, carries_weight: ArrayLike, confirming_sources: ArrayLike
) -> NDArray[np.int_]:
    """Admiralty information credibility, 1 (confirmed) .. 6 (cannot be judged).

    6 when no evidence carries weight; 1 when confidence >= 0.8 and at least
    two effective independent sources support the claim; otherwise the STIX
    bands: >= 0.6 -> 2, >= 0.4 -> 3, >= 0.2 -> 4, else 5.

    Parameters
    ----------
    confidence : array_like, shape (n,)
        Probability that each claim is true.
    carries_weight : array_like of bool, shape (n,)
        Whether any evidence on the claim has non-zero weight.
    confirming_sources : array_like, shape (n,)
        Effective number of independent sources whose evidence raises the claim.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    p = np.asarray(confidence, dtype=float)
    banded = 5 - _CREDIBILITY_EDGES.searchsorted(p, side="right")
    confirmed = (p >= 0.8) & (np.asarray(confirming_sources) >= CONFIRMING_SOURCES - 1e-9)
    level = np.where(confirmed, CONFIRMED, banded)
    return np.where(np.asarray(carries_weight, dtype=bool), level, UNJUDGED)
