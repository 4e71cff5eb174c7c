"""Learning each source's error scale from resolved numeric questions, and softly from agreement.

Follows GTM (Zhao and Han 2012, "A probabilistic model for estimating real-valued
truth from conflicting sources"): each source's figures are the truth plus a
Gaussian error of its own variance sigma², with an inverse-gamma prior, fitted by
EM. Two changes for Credence's model: a figure is informative only with a
chance rho of the source's own (the E-step weighs each squared error by the
posterior chance that the figure was informative, so one wild figure does not
make a careful source look careless; rho is learned beside sigma as a mixture
weight, a Beta belief in ``ErrorScale.informative``), and a resolved question's value is
known, so its squared errors are exact while open questions contribute the
expected squared error against the truth as the *other* reports see it
(leave-one-out), weighted by ``unresolved_weight`` as the reliability fit
weighs open claims. As in CATD (Li et al. 2014), a source heard on few
questions keeps a wide belief: the inverse gamma's Student-t predictive has
heavy tails until the source has a record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scoring.beta import Beta
from scoring.claims import Claim
from scoring.evidence import FloatArray
from scoring.numeric.errors import ErrorScale, t_pdf
from scoring.numeric.figures import Figure, NumericQuestion
from scoring.numeric.grid import normalise
from scoring.numeric.scorer import NumericScorer, Posterior
from scoring.params import ScoringParams, SourceBelief


@dataclass(frozen=True)
class NumericCase:
    """One numeric question as the fit sees it.

    Parameters
    ----------
    question : NumericQuestion
    claims : sequence of Claim
    values : sequence of Figure
        The figure of each claim.
    truth : float or None
        The resolved value, in the question's unit; None while open.
    weight : float in [0, 1]
        Age decay of the question's reports (1 for no decay).
    """

    question: NumericQuestion
    claims: Sequence[Claim]
    values: Sequence[Figure]
    truth: float | None = None
    weight: float = 1.0


@dataclass
class _Moments:
    """Per source: weighted count of informative figures and their weighted squared errors."""

    count: dict[str, float] = field(default_factory=dict)
    squares: dict[str, float] = field(default_factory=dict)
    reports: dict[str, float] = field(default_factory=dict)

    def add(self, source: str, weight: float, mass: float, square: float) -> None:
        self.reports[source] = self.reports.get(source, 0.0) + weight
        self.count[source] = self.count.get(source, 0.0) + mass
        self.squares[source] = self.squares.get(source, 0.0) + square


# Before any figure: informative more often than not, weakly held.
_INFORMATIVE_PRIOR = Beta(2.0, 1.0)


class ErrorScaleEM:
    """Each source's error-scale belief (``ErrorScale``) from numeric questions.

    Parameters
    ----------
    params : ScoringParams, optional
        Correlations and the unknown-source prior used to read the reports.
    unresolved_weight : float in [0, 1]
        Weight of an open question's expected squared errors (0: resolved only).
    max_iter : int
    tol : float
        Stop when no source's error scale moves by more than this share.

    Attributes
    ----------
    errors_ : dict of str to ErrorScale
        The fitted belief of every source that reported a point figure.
    n_iter_ : int
    """

    def __init__(
        self,
        params: ScoringParams | None = None,
        *,
        unresolved_weight: float = 0.5,
        max_iter: int = 20,
        tol: float = 1e-3,
    ) -> None:
        self.params = params
        self.unresolved_weight = unresolved_weight
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self,
        cases: Sequence[NumericCase],
        sources: Mapping[str, SourceBelief],
        priors: Mapping[str, ErrorScale] | None = None,
    ) -> ErrorScaleEM:
        """Fit error scales.

        Parameters
        ----------
        cases : sequence of NumericCase
        sources : mapping of source id to SourceBelief
            Reliabilities (held fixed here; the reliability fit learns them).
        priors : mapping of source id to ErrorScale, optional
            Each source's prior; others get ``NumericParams.unknown_error``.
        """
        if not 0.0 <= self.unresolved_weight <= 1.0:
            raise ValueError("unresolved_weight must be in [0, 1]")
        base = self.params or ScoringParams()
        # The fit reads posteriors at the mean reliabilities only: two draws suffice.
        scorer = NumericScorer(
            ScoringParams(
                default_claim_prior=base.default_claim_prior,
                unknown_source=base.unknown_source,
                group_correlation=base.group_correlation,
                default_group_correlation=base.default_group_correlation,
                unnamed_correlation=base.unnamed_correlation,
                interval_samples=2,
            )
        )
        prior = dict(priors or {})
        unknown = scorer.numeric.unknown_error
        errors = dict(prior)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            moments = self._e_step(scorer, cases, sources, errors)
            updated = self._m_step(moments, prior, unknown)
            moved = max(
                (abs(e.scale / errors.get(s, unknown).scale - 1) for s, e in updated.items()),
                default=0.0,
            )
            errors = {**prior, **updated}
            if moved <= self.tol:
                break
        self.errors_ = errors
        return self

    def _e_step(
        self,
        scorer: NumericScorer,
        cases: Sequence[NumericCase],
        sources: Mapping[str, SourceBelief],
        errors: Mapping[str, ErrorScale],
    ) -> _Moments:
        """Expected informative mass and squared error of every point figure, per source."""
        moments = _Moments()
        for case in cases:
            if case.truth is None and self.unresolved_weight == 0:
                continue
            post = scorer.posterior(case.question, case.claims, case.values, sources, errors)
            self._collect(post, case, moments)
        return moments

    def _collect(
        self,
        post: Posterior,
        case: NumericCase,
        moments: _Moments,
    ) -> None:
        table, grid, likelihoods = post.table, post.grid, post.likelihoods
        weighted = table.weighted
        at_means = post.log_likelihood[-1]
        truth = None if case.truth is None else float(post.axis.to_axis(case.truth))
        for i, k in enumerate(likelihoods.supports.tolist()):
            row = int(weighted[k])
            value = case.values[table.claim[row]]
            if not value.is_point:
                continue
            source = table.source[row]
            error = table.errors[source]
            x = post.locations[table.claim[row]]
            # The chance the scorer used: learned, or read from the reliability.
            chance = float(post.fidelity[k, -1] * post.reliability[k, -1])
            u = float(likelihoods.background[i])
            if truth is None:
                term = likelihoods.term(k, post.fidelity[k, -1:], post.reliability[k, -1:])[0]
                theta, p = grid.centres, normalise(at_means - term)
                lam = self.unresolved_weight
            else:
                theta, p, lam = np.array([truth]), np.ones(1), 1.0
            square = (x - theta) ** 2
            density = t_pdf((x - theta) / error.scale, error.dof) / error.scale
            z = _responsibility(chance, density, u)
            weight = lam * case.weight * float(table.scale[row])
            moments.add(
                table.ids[source],
                weight,
                weight * float(p @ z),
                weight * float(p @ (z * square)),
            )

    @staticmethod
    def _m_step(
        moments: _Moments, prior: Mapping[str, ErrorScale], unknown: ErrorScale
    ) -> dict[str, ErrorScale]:
        """Each source's posterior: inverse gamma from its squared errors, Beta from its
        informative and uninformative figures (prior Beta(2, 1) unless it has one)."""
        updated = {}
        for s, count in moments.count.items():
            start = prior.get(s, unknown)
            informative = start.informative or _INFORMATIVE_PRIOR
            updated[s] = ErrorScale(
                start.shape + count / 2,
                start.rate + moments.squares[s] / 2,
                Beta(
                    informative.alpha + count,
                    informative.beta + max(moments.reports[s] - count, 0.0),
                ),
            )
        return updated


def _responsibility(chance: float, density: FloatArray, background: float) -> FloatArray:
    """Posterior chance that a figure was informative, given its error density at each θ."""
    informative = chance * density
    return informative / (informative + (1 - chance) * background)
