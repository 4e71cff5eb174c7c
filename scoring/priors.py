"""Where a source's reliability belief starts: its prior.

A prior is given as Beta pseudo-counts, as a reliability with a strength, or
as an Admiralty grade; a source with none borrows its group's pooled record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scoring.beta import Beta, beta_means
from scoring.evidence import FloatArray, segment_sum

GRADES = ("A", "B", "C", "D", "E")
# F is the Admiralty "reliability cannot be judged": no prior of its own.
UNJUDGED = "F"

# A belief whose standard deviation exceeds this cannot be judged (letter F):
# its 90 % credible interval then spans about half the scale (3.29 sd > 0.5).
# A standard deviation is exact and cheap, where a Beta quantile needs sampling.
MAX_JUDGED_SD = 0.16

# How many observations a borrowed group prior may be worth, so one member
# with a long record cannot make a newcomer's prior overconfident.
GROUP_PRIOR_STRENGTH = 10.0

# The most pseudo-observations a prior given to the service may hold (each of alpha,
# beta, or a strength; the request rules check it, not ``prior_from_spec``, so that a
# definition stored before the rule still reads): a million is past any track record
# an analyst can state, and the Beta functions are exact to there (their tests);
# 1e308 overflowed them.
MAX_PRIOR_STRENGTH = 1e6


class GradeTable:
    """Admiralty source-reliability grades A-E as Beta priors.

    Parameters
    ----------
    grades : mapping of str to Beta
        One prior for each of the letters A to E.
    """

    def __init__(self, grades: Mapping[str, Beta]) -> None:
        if sorted(grades) != list(GRADES):
            raise ValueError(f"grades must be exactly {', '.join(GRADES)}, got {sorted(grades)}")
        self._grades = dict(grades)
        # The letter of a belief is the grade with the nearest mean: cut at the
        # midpoints between neighbouring grades, best grade first.
        self._order = sorted(GRADES, key=lambda g: -self._grades[g].mean)
        means = np.array([self._grades[g].mean for g in self._order])
        self._cuts = (means[:-1] + means[1:]) / 2

    @classmethod
    def default(cls) -> GradeTable:
        """The table of ``config/default.toml`` ``[grades]``."""
        return cls(
            {
                "A": Beta.from_reliability(0.95, 20),
                "B": Beta.from_reliability(0.8, 15),
                "C": Beta.from_reliability(0.65, 10),
                "D": Beta.from_reliability(0.5, 10),
                "E": Beta.from_reliability(0.3, 10),
            }
        )

    def prior(self, letter: str) -> Beta | None:
        """Prior of a grade; ``None`` for F (cannot be judged).

        Raises
        ------
        ValueError
            For a letter outside A-F.
        """
        if letter == UNJUDGED:
            return None
        if letter not in self._grades:
            raise ValueError(f"grade must be one of A-F, got {letter!r}")
        return self._grades[letter]

    def letter(self, belief: Beta) -> str:
        """Admiralty letter of one belief (see ``letters``)."""
        return self.letters([belief.alpha], [belief.beta])[0]

    def letters(self, alpha: ArrayLike, beta: ArrayLike) -> list[str]:
        """Admiralty letters of many Beta beliefs.

        The grade whose prior mean is nearest the belief's mean (with the
        default table: A >= 0.875, B >= 0.725, C >= 0.575, D >= 0.4, else E),
        or F when the belief's standard deviation exceeds ``MAX_JUDGED_SD``.

        Parameters
        ----------
        alpha, beta : array_like, shape (n,)
            Beta pseudo-counts, > 0.

        Returns
        -------
        list of str, length n
        """
        a = np.asarray(alpha, dtype=float)
        b = np.asarray(beta, dtype=float)
        mean = beta_means(a, b)
        sd = np.sqrt(mean * (1 - mean) / (a + b + 1))
        rank = np.searchsorted(-self._cuts, -mean, side="right")
        return [
            UNJUDGED if wide else self._order[r]
            for r, wide in zip(rank.tolist(), (sd > MAX_JUDGED_SD).tolist(), strict=True)
        ]


def _number(spec: Mapping[str, Any], key: str) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key}: must be a finite number, got {value!r}")
    return float(value)


_FORMS = ({"alpha", "beta"}, {"reliability", "strength"}, {"grade"})


def prior_from_spec(spec: Mapping[str, Any], grades: GradeTable, unknown: Beta) -> Beta:
    """Beta prior from a source's ``prior`` field.

    Parameters
    ----------
    spec : mapping
        Exactly one of ``{"alpha": a, "beta": b}`` (pseudo-counts > 0),
        ``{"reliability": r, "strength": n}`` (r in (0, 1), n > 0 observations)
        or ``{"grade": "A".."F"}``.
    grades : GradeTable
    unknown : Beta
        The prior of a source that cannot be judged (grade F).

    Raises
    ------
    ValueError
        Naming the offending key first (``"alpha: must be > 0"``).
    """
    keys = set(spec)
    form = next((f for f in _FORMS if keys & f), None)
    if form is None:
        stray = sorted(keys)[0] if keys else "prior"
        raise ValueError(f"{stray}: expected one of alpha/beta, reliability/strength or grade")
    extra, missing = sorted(keys - form), sorted(form - keys)
    if extra:
        raise ValueError(f"{extra[0]}: cannot be combined with {'/'.join(sorted(form))}")
    if missing:
        raise ValueError(f"{missing[0]}: required with {'/'.join(sorted(keys))}")
    if form == {"grade"}:
        letter = spec["grade"]
        if letter not in (*GRADES, UNJUDGED):
            raise ValueError(f"grade: must be one of A-F, got {letter!r}")
        return grades.prior(letter) or unknown
    if form == {"alpha", "beta"}:
        for key in ("alpha", "beta"):
            if not _number(spec, key) > 0:
                raise ValueError(f"{key}: must be > 0")
        return Beta(_number(spec, "alpha"), _number(spec, "beta"))
    reliability, strength = _number(spec, "reliability"), _number(spec, "strength")
    if not 0 < reliability < 1:
        raise ValueError("reliability: must be in (0, 1)")
    if not strength > 0:
        raise ValueError("strength: must be > 0")
    return Beta.from_reliability(reliability, strength)


def pool_group_priors(
    prior_alpha: ArrayLike,
    prior_beta: ArrayLike,
    record_alpha: ArrayLike,
    record_beta: ArrayLike,
    group: ArrayLike,
    unknown: Beta,
    max_strength: float = GROUP_PRIOR_STRENGTH,
) -> tuple[FloatArray, FloatArray]:
    """Prior of every source: its own, else its group's pooled belief, else ``unknown``.

    Empirical Bayes: a source without a prior of its own starts from what is
    known of the *other* members of its group: their own priors (where they
    have one) plus their decayed track records, added to ``unknown``. The sum
    keeps its mean but is scaled down to at most ``max_strength``
    pseudo-observations. Leaving the source itself out keeps its own record
    from being counted twice once ``track_record_posterior`` adds it.

    Parameters
    ----------
    prior_alpha, prior_beta : array_like, shape (n,)
        Each source's own prior pseudo-counts; NaN where it has none.
    record_alpha, record_beta : array_like, shape (n,)
        Each source's decayed hits and misses (``decayed_counts``), >= 0.
    group : array_like of int, shape (n,)
        Group index of each source; -1 for a source in no group.
    unknown : Beta
        Prior of a source that has none and no group to borrow from.
    max_strength : float
        Cap on the strength (alpha + beta) of a borrowed prior, > 0.

    Returns
    -------
    alpha, beta : ndarray, shape (n,)
        Prior pseudo-counts of each source, > 0.
    """
    if not max_strength > 0:
        raise ValueError("max_strength must be > 0")
    pa = np.asarray(prior_alpha, dtype=float)
    pb = np.asarray(prior_beta, dtype=float)
    own = ~(np.isnan(pa) | np.isnan(pb))
    g = np.asarray(group, dtype=np.intp)
    grouped = g >= 0
    known_a = np.where(own, pa, 0.0) + np.asarray(record_alpha, dtype=float)
    known_b = np.where(own, pb, 0.0) + np.asarray(record_beta, dtype=float)
    n_groups = int(g.max(initial=-1)) + 1
    gi = np.where(grouped, g, 0)
    others_a = np.where(grouped, segment_sum(known_a * grouped, gi, n_groups)[gi] - known_a, 0.0)
    others_b = np.where(grouped, segment_sum(known_b * grouped, gi, n_groups)[gi] - known_b, 0.0)
    borrowed_a = unknown.alpha + np.maximum(others_a, 0.0)
    borrowed_b = unknown.beta + np.maximum(others_b, 0.0)
    shrink = np.minimum(1.0, max_strength / (borrowed_a + borrowed_b))
    return (
        np.where(own, pa, borrowed_a * shrink),
        np.where(own, pb, borrowed_b * shrink),
    )
