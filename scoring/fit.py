"""Learning source reliabilities over the whole store at once (batch EM).

Resolved claims are fixed at their outcome and give each source that took a
side a hit or a miss; open claims enter as soft evidence: their current
posterior, computed from the sources' current reliabilities, gives expected
hits and misses. Alternating the two (expectation-maximisation, as in the
one-coin Dawid-Skene model) learns every source's reliability from
resolutions and agreement together. ``docs/model-fit.md`` states the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Self

import numpy as np
from numpy.typing import ArrayLike

from scoring.evidence import (
    FloatArray,
    IntArray,
    claim_log_odds,
    effective_reliability,
    exclusive_posterior,
    logit,
    saturate,
)

BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]

_ROW_FIELDS = ("claim", "source", "sign", "fidelity", "weight_scale", "age_days")
_CLAIM_FIELDS = ("question", "claim_prior", "outcome")
_SOURCE_FIELDS = ("prior_alpha", "prior_beta")


@dataclass(frozen=True, slots=True, eq=False)
class FitData:
    """Every claim, evidence row and source of a store, as flat read-only arrays.

    An evidence row is one original source's stance on one claim, with the
    channels that relay it already merged. Construct it directly, or with
    :meth:`build` to fill the optional arrays with their neutral values.

    Parameters
    ----------
    claim : array_like of int, shape (m,)
        Claim index of each row, in ``[0, n_claims)``.
    source : array_like of int, shape (m,)
        Source index of each row, in ``[0, n_sources)``.
    sign : array_like, shape (m,)
        +1 supports, -1 refutes, 0 neutral (no weight, no hit or miss).
    fidelity : array_like, shape (m,)
        Chance in [0, 1] that the statement reached us intact (relays times
        certainty); 1 for a direct statement.
    weight_scale : array_like, shape (m,)
        ``count * design effect`` of the row, >= 0; 1 for one independent source.
    age_days : array_like, shape (m,)
        Age of the statement in days, >= 0; older rows count less in a
        track record when the fit has a half-life.
    question : array_like of int, shape (n,)
        Question index of each claim, in ``[0, n_questions)``; claims sharing
        a question are mutually exclusive.
    claim_prior : array_like, shape (n,)
        Base rate of each claim before evidence, in (0, 1).
    outcome : array_like, shape (n,)
        1.0 confirmed, 0.0 refuted, NaN open.
    closed : array_like of bool, shape (n_questions,)
        Questions known to have one true answer among their claims.
    prior_alpha, prior_beta : array_like, shape (n_sources,)
        Beta prior pseudo-counts of each source's reliability, > 0.
    """

    claim: IntArray
    source: IntArray
    sign: FloatArray
    fidelity: FloatArray
    weight_scale: FloatArray
    age_days: FloatArray
    question: IntArray
    claim_prior: FloatArray
    outcome: FloatArray
    closed: BoolArray
    prior_alpha: FloatArray
    prior_beta: FloatArray

    def __post_init__(self) -> None:
        for f in fields(self):
            dtype = {"claim": np.intp, "source": np.intp, "question": np.intp, "closed": bool}
            value = np.array(getattr(self, f.name), dtype=dtype.get(f.name, np.float64))
            if value.ndim != 1:
                raise ValueError(f"{f.name} must be one-dimensional")
            value.flags.writeable = False
            object.__setattr__(self, f.name, value)
        self._validate()

    def _validate(self) -> None:
        for group in (_ROW_FIELDS, _CLAIM_FIELDS, _SOURCE_FIELDS):
            sizes = {name: getattr(self, name).size for name in group}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"arrays of one kind differ in length: {sizes}")
        checks = {
            "claim": _in_range(self.claim, self.n_claims),
            "source": _in_range(self.source, self.n_sources),
            "question": _in_range(self.question, self.n_questions),
            "sign": ((self.sign == np.trunc(self.sign)) & (np.abs(self.sign) <= 1)).all(),
            "fidelity": ((self.fidelity >= 0) & (self.fidelity <= 1)).all(),
            "weight_scale": (self.weight_scale >= 0).all() and np.isfinite(self.weight_scale).all(),
            "age_days": (self.age_days >= 0).all() and np.isfinite(self.age_days).all(),
            "claim_prior": ((self.claim_prior > 0) & (self.claim_prior < 1)).all(),
            "outcome": (np.isnan(self.outcome) | np.isin(self.outcome, (0.0, 1.0))).all(),
            "prior_alpha": (self.prior_alpha > 0).all() and np.isfinite(self.prior_alpha).all(),
            "prior_beta": (self.prior_beta > 0).all() and np.isfinite(self.prior_beta).all(),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid values in {', '.join(bad)}")
        confirmed = np.bincount(
            self.question, weights=self.outcome == 1, minlength=self.n_questions
        )
        if (confirmed > 1).any():
            raise ValueError("a question has more than one confirmed claim")

    @classmethod
    def build(
        cls,
        claim: ArrayLike,
        source: ArrayLike,
        *,
        n_claims: int,
        n_sources: int,
        sign: ArrayLike | None = None,
        fidelity: ArrayLike | None = None,
        weight_scale: ArrayLike | None = None,
        age_days: ArrayLike | None = None,
        question: ArrayLike | None = None,
        n_questions: int | None = None,
        claim_prior: ArrayLike | float = 0.5,
        outcome: ArrayLike | None = None,
        closed: ArrayLike | bool = False,
        prior_alpha: ArrayLike | float = 1.0,
        prior_beta: ArrayLike | float = 1.0,
    ) -> FitData:
        """Fit data with neutral defaults for what is not given.

        Rows default to direct (fidelity 1), single (weight scale 1), fresh
        (age 0) supports; every claim defaults to a question of its own,
        open; scalars broadcast over claims, questions or sources.

        Parameters
        ----------
        claim, source : array_like of int, shape (m,)
        n_claims, n_sources : int
        n_questions : int, optional
            Required with ``question``; defaults to ``n_claims``.
        Others : as in the class.

        Returns
        -------
        FitData
        """
        m = np.shape(claim)[0]
        if question is None:
            question, n_questions = np.arange(n_claims), n_claims
        elif n_questions is None:
            raise ValueError("n_questions is required with question")
        return cls(
            claim=np.asarray(claim),
            source=np.asarray(source),
            sign=np.ones(m) if sign is None else np.asarray(sign),
            fidelity=np.ones(m) if fidelity is None else np.asarray(fidelity),
            weight_scale=np.ones(m) if weight_scale is None else np.asarray(weight_scale),
            age_days=np.zeros(m) if age_days is None else np.asarray(age_days),
            question=np.asarray(question),
            claim_prior=np.broadcast_to(claim_prior, (n_claims,)),
            outcome=np.full(n_claims, np.nan) if outcome is None else np.asarray(outcome),
            closed=np.broadcast_to(closed, (n_questions,)),
            prior_alpha=np.broadcast_to(prior_alpha, (n_sources,)),
            prior_beta=np.broadcast_to(prior_beta, (n_sources,)),
        )

    @property
    def n_rows(self) -> int:
        return int(self.claim.size)

    @property
    def n_claims(self) -> int:
        return int(self.question.size)

    @property
    def n_questions(self) -> int:
        return int(self.closed.size)

    @property
    def n_sources(self) -> int:
        return int(self.prior_alpha.size)


def _in_range(index: IntArray, n: int) -> bool:
    return bool(index.size == 0 or (index.min() >= 0 and index.max() < n))


def map_reliability(alpha: ArrayLike, beta: ArrayLike) -> FloatArray:
    """Most probable reliability under Beta(alpha, beta) beliefs.

    The mode ``(alpha - 1) / (alpha + beta - 2)`` where both pseudo-counts
    exceed 1; elsewhere the mode sits on 0 or 1 (or is not unique), which
    would make a source infallible, so the mean ``alpha / (alpha + beta)`` is
    used instead.

    Parameters
    ----------
    alpha, beta : array_like, shape (k,)

    Returns
    -------
    ndarray, shape (k,)
    """
    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    interior = (a > 1) & (b > 1)
    return np.where(interior, (a - 1) / np.where(interior, a + b - 2, 1.0), a / (a + b))


def _unfit() -> FloatArray:
    return np.empty(0)


@dataclass(slots=True)
class ReliabilityEM:
    """Source reliabilities learned by EM from resolved and open claims together.

    Parameters
    ----------
    unresolved_weight : float, default 0.5
        Weight in [0, 1] of an open claim's expected hits and misses relative
        to a resolved claim's; 0 learns from resolutions alone.
    half_life_days : float, default 0.0
        Age in days at which a row counts half toward its source's record;
        0 means no decay.
    evidence_cap : float, default 7.0
        Saturation bound of a claim's total evidence in log-odds (see
        ``scoring.evidence.saturate``); ``inf`` for none.
    max_iter : int, default 100
        Most EM iterations.
    tol : float, default 1e-6
        The fit stops when no source's reliability moved by more than this
        in one iteration.

    Attributes
    ----------
    alpha_, beta_ : ndarray, shape (n_sources,)
        Posterior pseudo-counts of each source's reliability: the prior plus
        its weighted expected hits (``alpha_``) and misses (``beta_``).
    reliability_ : ndarray, shape (n_sources,)
        MAP reliability of each source (see :func:`map_reliability`).
    confidence_ : ndarray, shape (n_claims,)
        Posterior probability that each claim is true given ``reliability_``;
        resolved claims carry their outcome.
    n_iter_ : int
        EM iterations run.
    converged_ : bool
        Whether the fit stopped on ``tol`` rather than on ``max_iter``.
    """

    unresolved_weight: float = 0.5
    half_life_days: float = 0.0
    evidence_cap: float = 7.0
    max_iter: int = 100
    tol: float = 1e-6

    alpha_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    beta_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    reliability_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    confidence_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    n_iter_: int = field(init=False, repr=False, compare=False, default=0)
    converged_: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.unresolved_weight <= 1.0:
            raise ValueError("unresolved_weight must be in [0, 1]")
        if not self.half_life_days >= 0.0:
            raise ValueError("half_life_days must be >= 0")
        if not self.evidence_cap > 0.0:
            raise ValueError("evidence_cap must be > 0")
        if self.max_iter < 1:
            raise ValueError("max_iter must be >= 1")
        if not self.tol > 0.0:
            raise ValueError("tol must be > 0")

    def fit(self, data: FitData) -> Self:
        """Learn every source's reliability and every claim's confidence.

        Parameters
        ----------
        data : FitData

        Returns
        -------
        self
        """
        model = _Model(data, self)
        posterior = model.vote_posterior()
        reliability = np.full(data.n_sources, np.nan)
        converged = False
        iteration = 0
        while iteration < self.max_iter and not converged:
            iteration += 1
            alpha, beta = model.expected_counts(posterior)
            updated = map_reliability(alpha, beta)
            posterior = model.posterior(updated)
            converged = data.n_sources == 0 or bool(np.abs(updated - reliability).max() <= self.tol)
            reliability = updated
        self.n_iter_, self.converged_ = iteration, converged
        self.alpha_, self.beta_ = alpha, beta
        self.reliability_ = reliability
        self.confidence_ = posterior
        return self


class _Model:
    """The static arrays of one fit, computed once, and its E- and M-steps."""

    def __init__(self, data: FitData, params: ReliabilityEM) -> None:
        self.data = data
        self.cap = params.evidence_cap
        n_claims, n_sources = data.n_claims, data.n_sources
        resolved = ~np.isnan(data.outcome)

        # Expected-hit mass of each row in the M-step: decayed, discounted for
        # relays (an unfaithful relay says nothing about its source), scaled
        # for correlated reports, softened for open claims.
        mass = data.fidelity * data.weight_scale * np.abs(data.sign)
        if params.half_life_days > 0:
            mass = mass * np.exp2(-data.age_days / params.half_life_days)
        mass = mass * np.where(resolved, 1.0, params.unresolved_weight)[data.claim]
        # hits = sum over supports of mass * p + over refutes of mass * (1 - p)
        #      = (refuting mass) + sum of (sign * mass * p): one bincount a step.
        self.signed_mass = data.sign * mass
        self.refuting_mass = np.bincount(
            data.source, weights=np.where(data.sign < 0, mass, 0.0), minlength=n_sources
        )
        self.total_mass = np.bincount(data.source, weights=mass, minlength=n_sources)

        # Resolved claims are pinned at their outcome; a confirmed answer pins
        # the other answers of its question at 0.
        has_confirmed = (
            np.bincount(data.question, weights=data.outcome == 1, minlength=data.n_questions) > 0
        )
        pinned = np.where(
            resolved, data.outcome, np.where(has_confirmed[data.question], 0.0, np.nan)
        )
        self.pinned_mask = ~np.isnan(pinned)
        self.pinned_value = pinned[self.pinned_mask]
        # Inside the categorical E-step a resolved claim's score is its outcome's
        # clipped log-odds, so a refuted answer takes (almost) no share of its
        # question and the open answers share the rest.
        self.base_score = np.where(
            resolved, logit(np.nan_to_num(data.outcome)), logit(data.claim_prior)
        )
        all_singletons = bool((np.bincount(data.question, minlength=data.n_questions) <= 1).all())
        self.singleton_closed = data.closed[data.question] if all_singletons else None
        self.n_claims = n_claims
        direct = bool((data.fidelity == 1).all())
        self.row_factor = data.sign * data.weight_scale if direct else None

    def vote_posterior(self) -> FloatArray:
        """Claim posteriors of a weighted majority vote, one log-odds unit a report.

        Starting EM here rather than from the priors avoids the fixed point at
        which every source is a coin flip and no claim moves.
        """
        data = self.data
        vote = np.bincount(
            data.claim,
            weights=data.sign * data.fidelity * data.weight_scale,
            minlength=self.n_claims,
        )
        return self._exclusive(self.base_score + vote)

    def posterior(self, reliability: FloatArray) -> FloatArray:
        """E-step: each claim's probability of being true given source reliabilities."""
        data = self.data
        if self.row_factor is not None:
            # Without relays or hedges a row's log-odds is its source's, so the
            # logit is taken once per source instead of once per row
            # (``claim_log_odds`` with ``effective = reliability[source]``).
            weight = logit(reliability)[data.source] * self.row_factor
            evidence = saturate(
                np.bincount(data.claim, weights=weight, minlength=self.n_claims), self.cap
            )
        else:
            effective = effective_reliability(reliability[data.source], data.fidelity)
            _, evidence = claim_log_odds(
                data.claim, data.sign, data.weight_scale, effective, self.n_claims, self.cap
            )
        return self._exclusive(self.base_score + evidence)

    def _exclusive(self, score: FloatArray) -> FloatArray:
        if self.singleton_closed is not None:
            # Every question holds one claim: the categorical posterior is the
            # logistic of the score (1 for a closed one), without the per-question max.
            probability = np.where(self.singleton_closed, 1.0, 0.5 + 0.5 * np.tanh(score / 2))
        else:
            probability = exclusive_posterior(
                score, self.data.question, self.data.n_questions, self.data.closed
            )
        probability[self.pinned_mask] = self.pinned_value
        return probability

    def expected_counts(self, posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
        """M-step sufficient statistics: prior plus expected hits and misses per source."""
        data = self.data
        hits = self.refuting_mass + np.bincount(
            data.source, weights=self.signed_mass * posterior[data.claim], minlength=data.n_sources
        )
        return data.prior_alpha + hits, data.prior_beta + (self.total_mass - hits)
