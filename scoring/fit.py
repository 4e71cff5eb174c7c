"""Learning source reliabilities over the whole store at once (batch EM).

Resolved claims are fixed at their outcome and give each source that took a
side a hit or a miss; open claims enter as soft evidence: their current
posterior, computed from the sources' current reliabilities, gives expected
hits and misses. Alternating the two (expectation-maximisation, as in the
one-coin Dawid-Skene model) learns every source's reliability from
resolutions and agreement together. Options add two coins, the K-class
weighting of picks, per-question saturation, class priors and per-source
confusion matrices (full Dawid-Skene, shrunk towards one coin).
``docs/model-fit.md`` states the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Literal, Self

import numpy as np
from numpy.typing import ArrayLike

from scoring.evidence import (
    EPS,
    FloatArray,
    IntArray,
    effective_reliability,
    exclusive_posterior,
    logit,
    saturate,
)

BoolArray = np.ndarray[tuple[int], np.dtype[np.bool_]]

_ROW_FIELDS = ("claim", "source", "sign", "fidelity", "weight_scale", "age_days")
_CLAIM_FIELDS = ("question", "claim_prior", "outcome", "claim_class")
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
    claim_class : array_like of int, shape (n,), optional
        Class of each claim (e.g. which answer option it is), in
        ``[0, n_classes)``; claims of one class share a base rate when the fit
        learns it (``ReliabilityEM(learn_class_prior=True)``). Empty (the
        default) puts every claim in class 0.
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
    claim_class: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    def __post_init__(self) -> None:
        for f in fields(self):
            dtype = {
                "claim": np.intp,
                "source": np.intp,
                "question": np.intp,
                "claim_class": np.intp,
                "closed": bool,
            }
            value = np.array(getattr(self, f.name), dtype=dtype.get(f.name, np.float64))
            if value.ndim != 1:
                raise ValueError(f"{f.name} must be one-dimensional")
            if f.name == "claim_class" and value.size == 0:
                value = np.zeros(np.size(self.question), dtype=np.intp)
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
            "claim_class": bool((self.claim_class >= 0).all()),
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
        claim_class: ArrayLike | None = None,
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
            claim_class=np.zeros(n_claims, np.intp)
            if claim_class is None
            else np.asarray(claim_class),
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

    @property
    def n_classes(self) -> int:
        return int(self.claim_class.max()) + 1 if self.claim_class.size else 1


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


Saturation = Literal["claim", "question"]


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
    stance_strength : float, default inf
        ``inf`` (one coin): a source is equally reliable on true and on false
        claims. Finite (two coins): a source has a reliability on true claims
        (the chance it supports one) and one on false claims (the chance it
        refutes one), each a Beta shrunk towards the source's shared
        reliability with this many pseudo-observations, so a source with few
        rows on one side keeps its overall record. Its supports then weigh
        ``ln(r_true / (1 - r_false))`` and its refutations
        ``-ln(r_false / (1 - r_true))``: a source that denies everything has
        weak denials and strong confirmations.
    accu : bool, default False
        Weigh a supporting row in a closed question of K > 2 answers as the
        one-coin K-class likelihood does (ACCU with K - 1 false
        alternatives): ``ln((K - 1) r / (1 - r))``, zero at the chance level
        ``r = 1 / K`` instead of ``r = 1 / 2``.
    saturation : {"claim", "question"}, default "claim"
        ``"claim"`` bounds each claim's evidence at ``evidence_cap`` (the
        online scorer's rule). ``"question"`` scales a question's evidence so
        that its spread (largest minus smallest score, "none of them" counting
        as 0 in an open question) is bounded at ``evidence_cap``, keeping the
        ratios between its answers; a lone claim is bounded as before.
    learn_class_prior : bool, default False
        Learn the base rate of each claim class (``FitData.claim_class``) from
        the claims' posteriors, as Dawid-Skene learns class priors, and use it
        as the prior of the class's open claims in place of ``claim_prior``.
    class_prior_strength : float, default 2.0
        Pseudo-claims of each class's learned base rate at the mean
        ``claim_prior`` of the class.
    confusion_strength : float, default inf
        ``inf``: a source's wrong picks are spread evenly over the wrong
        answers (the model above, unchanged). Finite, >= 0: in a closed
        question of several answers of distinct classes
        (``FitData.claim_class``), a source has a confusion matrix over the
        classes, ``P(it picks class j | the true answer is class k)``, so it
        can learn *which* wrong answer a source tends to pick. Each row of the
        matrix is the MAP under a Dirichlet prior whose mode is the source's
        one-coin matrix (its reliability on true claims ``r`` on the diagonal,
        ``(1 - r) / (C - 1)`` off it, ``C`` classes) with this many
        pseudo-observations: 0 is plain Dawid-Skene, large values tend to the
        one-coin K-class model (``accu=True``). A pick then weighs
        ``ln P(pick | k)`` for every answer of class ``k`` of its question.
        Other rows keep the options above. The fit then learns everything
        from unsaturated posteriors, and per-question saturation only
        calibrates ``confidence_`` (a temperature on each question's scores,
        which keeps their ranking); see docs/model-fit.md.

    Attributes
    ----------
    alpha_, beta_ : ndarray, shape (n_sources,)
        Posterior pseudo-counts of each source's reliability: the prior plus
        its weighted expected hits (``alpha_``) and misses (``beta_``).
    reliability_ : ndarray, shape (n_sources,)
        MAP reliability of each source (see :func:`map_reliability`).
    stance_alpha_, stance_beta_ : ndarray, shape (n_sources, 2)
        Beta pseudo-counts of each source's reliability on true claims
        (column 0) and on false claims (column 1); with one coin, both
        columns are ``alpha_`` and ``beta_``.
    stance_reliability_ : ndarray, shape (n_sources, 2)
        MAP of those: column 0 the chance it supports a true claim, column 1
        the chance it refutes a false one.
    class_prior_ : ndarray, shape (n_classes,)
        Learned base rate of each claim class (with ``learn_class_prior``;
        else the mean ``claim_prior`` of the class).
    confusion_ : ndarray, shape (n_sources, n_classes, n_classes)
        ``confusion_[s, k, j]``: chance that source ``s`` picks the answer of
        class ``j`` when the true answer is of class ``k``; each ``[s, k]``
        row sums to 1. With ``confusion_strength = inf`` it is the one-coin
        matrix of ``stance_reliability_[:, 0]`` (reported, not used by the fit).
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
    stance_strength: float = math.inf
    accu: bool = False
    saturation: Saturation = "claim"
    learn_class_prior: bool = False
    class_prior_strength: float = 2.0
    confusion_strength: float = math.inf

    alpha_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    beta_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    reliability_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    stance_alpha_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    stance_beta_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    stance_reliability_: FloatArray = field(
        init=False, repr=False, compare=False, default_factory=_unfit
    )
    class_prior_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
    confusion_: FloatArray = field(init=False, repr=False, compare=False, default_factory=_unfit)
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
        if not self.stance_strength > 0.0:
            raise ValueError("stance_strength must be > 0 (inf for one coin)")
        if self.saturation not in ("claim", "question"):
            raise ValueError("saturation must be 'claim' or 'question'")
        if not 0.0 < self.class_prior_strength < math.inf:
            raise ValueError("class_prior_strength must be > 0 and finite")
        if not self.confusion_strength >= 0.0:
            raise ValueError("confusion_strength must be >= 0 (inf for none)")

    @property
    def two_coin(self) -> bool:
        return not math.isinf(self.stance_strength)

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
        stance = np.full((data.n_sources, 2), np.nan)
        confusion = np.full((data.n_sources, data.n_classes, data.n_classes), np.nan)
        total = np.zeros(data.n_claims)
        converged = False
        iteration = 0
        while iteration < self.max_iter and not converged:
            iteration += 1
            counts = model.expected_counts(posterior)
            updated = counts.stance_reliability
            if self.learn_class_prior:
                model.learn_class_prior(posterior)
            if model.confused:
                # With confusion matrices the fit is Dawid-Skene's, run on the
                # unsaturated posteriors; saturation only calibrates what it
                # reports (below). The matrices are parameters too: the fit
                # stops only when neither they nor the reliabilities move.
                learned = model.confusion(posterior, updated[:, 0])
                total = model.evidence(updated, learned)
                posterior = model.from_evidence(total, saturated=False)
                settled = bool(np.abs(learned - confusion).max() <= self.tol)
                confusion = learned
            else:
                posterior = model.posterior(updated)
                settled = True
            converged = data.n_sources == 0 or bool(np.abs(updated - stance).max() <= self.tol)
            converged = converged and settled
            stance = updated
        self.n_iter_, self.converged_ = iteration, converged
        self.alpha_, self.beta_ = counts.alpha, counts.beta
        self.reliability_ = map_reliability(counts.alpha, counts.beta)
        self.stance_alpha_, self.stance_beta_ = counts.stance_alpha, counts.stance_beta
        self.stance_reliability_ = stance
        self.class_prior_ = model.class_rate
        if model.confused:
            self.confusion_, self.confidence_ = confusion, model.calibrated(total)
        else:
            self.confusion_, self.confidence_ = model.centre(stance[:, 0]), posterior
        return self


@dataclass(frozen=True, slots=True)
class _Counts:
    """One M-step: shared and per-stance Beta counts of every source."""

    alpha: FloatArray
    beta: FloatArray
    stance_alpha: FloatArray
    stance_beta: FloatArray
    stance_reliability: FloatArray


def _log(p: FloatArray) -> FloatArray:
    return np.log(np.clip(p, EPS, 1.0))


class _Model:
    """The static arrays of one fit, computed once, and its E- and M-steps."""

    def __init__(self, data: FitData, params: ReliabilityEM) -> None:
        self.data = data
        self.cap = params.evidence_cap
        self.kappa = params.stance_strength
        self.two_coin = params.two_coin
        self.by_question = params.saturation == "question" and not math.isinf(self.cap)
        n_claims, n_sources = data.n_claims, data.n_sources
        resolved = ~np.isnan(data.outcome)
        self.resolved = resolved

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
        self.mass = mass

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
        size = np.bincount(data.question, minlength=data.n_questions)
        all_singletons = bool((size <= 1).all())
        self.singleton_closed = data.closed[data.question] if all_singletons else None
        self.n_claims = n_claims
        direct = bool((data.fidelity == 1).all())

        # A support in a closed question of several answers is a *choice*: the
        # source picked this answer among K, so it is right with its chance of
        # picking the true one (its reliability on true claims) and wrong
        # otherwise; its K - 1 implicit refutations are not rows. With ACCU its
        # weight is ln((K - 1) r / (1 - r)) and an unfaithful relay is a random
        # pick (chance 1 / K); without, ln(r / (1 - r)) and chance 1 / 2.
        self.direct = direct
        self.row_factor = data.sign * data.weight_scale
        self.simple = True
        self.choice: BoolArray = np.zeros(0, dtype=bool)
        self.chance = self.offset = self.abs_factor = _unfit()
        self.cell: IntArray = np.zeros(0, dtype=np.intp)
        self.kind_mass = np.zeros((3, n_sources))
        if self.two_coin or params.accu:
            # Only these options look at a row's kind: one coin without ACCU
            # weighs a choice like any support and costs nothing more.
            k = size[data.question][data.claim]
            choice = data.closed[data.question][data.claim] & (k > 1) & (data.sign > 0)
            categorical = choice & (k > 2) if params.accu else np.zeros_like(choice)
            self.choice = choice
            self.chance = np.where(categorical, 1.0 / np.maximum(k, 1), 0.5)
            self.offset = np.where(categorical, np.log(np.maximum(k - 1, 1)), 0.0)
            self.offset *= data.weight_scale
            self.simple = not categorical.any()
            self.abs_factor = np.abs(data.sign) * data.weight_scale
            # Two coins: a row's cell is (source, kind) with kind 0 a plain
            # support, 1 a refutation, 2 a choice; one bincount of mass * p over
            # cells gives every source's expected hits and misses on both sides.
            kind = np.where(data.sign < 0, 1, np.where(choice, 2, 0))
            self.cell = data.source + n_sources * kind
            kind_mass = np.bincount(self.cell, weights=mass, minlength=3 * n_sources)
            self.kind_mass = np.asarray(kind_mass, dtype=np.float64).reshape(3, n_sources)

        # Class base rates: Beta(s * mean prior, s * (1 - mean prior)) a class.
        n_classes = data.n_classes
        per_class = np.bincount(data.claim_class, minlength=n_classes)
        self.class_count = per_class
        self.class_strength = params.class_prior_strength
        self.class_mean = np.bincount(
            data.claim_class, weights=data.claim_prior, minlength=n_classes
        ) / np.maximum(per_class, 1)
        self.class_mean[per_class == 0] = 0.5
        self.class_rate = self.class_mean.copy()
        # In a closed question of several answers the class rate is the
        # categorical prior (score ln rate); elsewhere a claim's base rate
        # (score logit rate).
        self.in_closed = data.closed[data.question] & (size[data.question] > 1)

        if self.by_question:
            order = np.argsort(data.question, kind="stable")
            ranked = data.question[order]
            starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
            self.order, self.starts = order, starts
            self.first_question = ranked[starts] if ranked.size else ranked

        self.n_classes = n_classes
        self.confusion_strength = params.confusion_strength
        # Without categorical picks there is nothing to confuse: the fit is
        # the one without matrices.
        self.confused = not math.isinf(params.confusion_strength) and self._pair_picks(size, mass)

    def _pair_picks(self, size: IntArray, mass: FloatArray) -> bool:
        """Index arrays of the confusion model: every pick beside every answer it could mean.

        A question is *categorical* when it is closed, has several answers
        and no two of them share a class: the class of its true answer is
        then a latent variable of ``n_classes`` values, as in Dawid-Skene.
        Every supporting row there (a pick) is paired with each answer of its
        question, so the E- and M-steps are one ``bincount`` over the pairs.
        Returns whether there is any pick.
        """
        data = self.data
        c, n_questions = self.n_classes, data.n_questions
        keys = np.unique(data.question * c + data.claim_class)
        distinct = np.bincount(keys // c, minlength=n_questions) == size
        categorical = data.closed & (size > 1) & distinct
        picks = np.flatnonzero(categorical[data.question][data.claim] & (data.sign > 0))
        # Picks leave the rows' own sum: their weight comes from the pairs.
        self.other_rows = np.ones(data.n_rows)
        self.other_rows[picks] = 0.0

        picked_claim = data.claim[picks]
        k = size[data.question[picked_claim]]
        by_question = np.argsort(data.question, kind="stable")
        first = np.cumsum(size) - size
        pair_pick = np.repeat(np.arange(picks.size), k)
        within = np.arange(pair_pick.size) - np.repeat(np.cumsum(k) - k, k)
        pair_claim = by_question[np.repeat(first[data.question[picked_claim]], k) + within]
        row = picks[pair_pick]
        true_class = data.claim_class[pair_claim]
        picked_class = data.claim_class[data.claim[row]]
        self.n_picks = picks.size
        self.pair_pick, self.pair_claim = pair_pick, pair_claim
        self.pair_cell = (data.source[row] * c + true_class) * c + picked_class
        self.pair_other = pair_claim != data.claim[row]
        self.pair_mass = mass[row]
        self.pair_scale = data.weight_scale[row]
        self.pair_fidelity = data.fidelity[row]
        self.pair_chance = 1.0 / k[pair_pick]
        self.n_others = (k - 1).astype(float)
        return picks.size > 0

    def centre(self, reliability: FloatArray) -> FloatArray:
        """One-coin confusion matrices, shape (n_sources, C, C): r on the diagonal, the rest even.

        Parameters
        ----------
        reliability : ndarray, shape (n_sources,)
            Each source's chance of picking the true answer.
        """
        c = self.n_classes
        if c == 1:
            return np.ones((reliability.size, 1, 1))
        matrix = np.repeat(((1 - reliability) / (c - 1))[:, None, None], c * c, axis=2)
        matrix = matrix.reshape(reliability.size, c, c)
        diagonal = np.arange(c)
        matrix[:, diagonal, diagonal] = reliability[:, None]
        return matrix

    def confusion(self, posterior: FloatArray, reliability: FloatArray) -> FloatArray:
        """M-step of the confusion matrices: Dirichlet MAP of the expected pick counts.

        The pair (pick of class j by source s, answer t of class k) adds the
        pick's mass times P(t is true) to cell (s, k, j). Row (s, k) has the
        prior Dirichlet(1 + nu m) with m the one-coin row of ``reliability``,
        whose mode is m, so its MAP is (nu m + n) / (nu + sum n): a row
        without picks keeps the one-coin row, and nu = 0 is Dawid-Skene's
        maximum likelihood.

        Parameters
        ----------
        posterior : ndarray, shape (n_claims,)
        reliability : ndarray, shape (n_sources,)
            Each source's chance of picking the true answer (the centre).

        Returns
        -------
        ndarray, shape (n_sources, n_classes, n_classes)
            Rows sum to 1.
        """
        n, c = reliability.size, self.n_classes
        counts = np.bincount(
            self.pair_cell, weights=self.pair_mass * posterior[self.pair_claim], minlength=n * c * c
        ).reshape(n, c, c)
        centre = self.centre(reliability)
        nu = self.confusion_strength
        total = nu + counts.sum(axis=2, keepdims=True)
        seen = total > 0
        return np.where(seen, (nu * centre + counts) / np.where(seen, total, 1.0), centre)

    def _pair_weight(self, confusion: FloatArray) -> FloatArray:
        """Log-likelihood of every pick under every answer of its question, shape (pairs,)."""
        flat = confusion.reshape(-1)
        if self.direct:
            likelihood = _log(flat)[self.pair_cell]
        else:
            # An unfaithful relay is a random pick among the question's answers.
            chance = (1 - self.pair_fidelity) * self.pair_chance
            likelihood = _log(self.pair_fidelity * flat[self.pair_cell] + chance)
        # Measured from the mean over the question's other answers (only the
        # differences matter in a closed question): a one-coin matrix then
        # gives ACCU's ln((K - 1) r / (1 - r)) to the pick and 0 to the rest.
        others = np.bincount(
            self.pair_pick,
            weights=np.where(self.pair_other, likelihood, 0.0),
            minlength=self.n_picks,
        )
        reference = others / self.n_others
        return (likelihood - reference[self.pair_pick]) * self.pair_scale

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

    def learn_class_prior(self, posterior: FloatArray) -> None:
        """M-step of the class base rates: the expected share of true claims of each class."""
        data = self.data
        s = self.class_strength
        true = np.bincount(data.claim_class, weights=posterior, minlength=self.class_count.size)
        self.class_rate = (s * self.class_mean + true) / (s + self.class_count)
        rate = np.clip(self.class_rate[data.claim_class], EPS, 1 - EPS)
        prior = np.where(self.in_closed, np.log(rate), logit(rate))
        self.base_score = np.where(self.resolved, self.base_score, prior)

    def posterior(self, stance: FloatArray) -> FloatArray:
        """E-step: each claim's probability of being true given source reliabilities.

        ``stance`` holds each source's reliability on true claims (column 0)
        and on false claims (column 1); with one coin the columns are equal.
        """
        return self.from_evidence(self.evidence(stance))

    def from_evidence(self, total: FloatArray, saturated: bool = True) -> FloatArray:
        """Claim posteriors from each claim's summed evidence (log-odds), saturated or not."""
        if not saturated:
            return self._exclusive(self.base_score + total)
        evidence = self._question_saturate(total) if self.by_question else saturate(total, self.cap)
        return self._exclusive(self.base_score + evidence)

    def evidence(self, stance: FloatArray, confusion: FloatArray | None = None) -> FloatArray:
        """Each claim's summed row weights (log-odds) before saturation, shape (n_claims,).

        ``stance`` as in :meth:`posterior`; ``confusion`` (n_sources, C, C),
        with a finite confusion strength, weighs the picks of categorical
        questions instead.
        """
        data = self.data
        if not self.two_coin and self.simple and self.direct:
            # Without relays or hedges a row's log-odds is its source's, so the
            # logit is taken once per source instead of once per row
            # (``claim_log_odds`` with ``effective = reliability[source]``).
            weight = logit(stance[:, 0])[data.source] * self.row_factor
        elif not self.two_coin and self.simple:
            # ``claim_log_odds`` with the unsaturated row weights.
            effective = effective_reliability(stance[data.source, 0], data.fidelity)
            weight = logit(effective) * self.row_factor
        elif self.direct:
            # Per-source tables of a support's, a refutation's and a choice's
            # log-odds (a choice's ln(K - 1) is in the row offset).
            r_true, r_false = stance[:, 0], stance[:, 1]
            table = np.concatenate(
                (
                    _log(r_true) - _log(1 - r_false),
                    _log(1 - r_true) - _log(r_false),
                    _log(r_true) - _log(1 - r_true),
                )
            )
            weight = table[self.cell] * self.abs_factor + self.offset
        else:
            weight = self._row_weight(stance)
        if confusion is not None:
            weight = weight * self.other_rows
        total = np.bincount(data.claim, weights=weight, minlength=self.n_claims).astype(
            float, copy=False
        )
        if confusion is not None:
            total = total + np.bincount(
                self.pair_claim, weights=self._pair_weight(confusion), minlength=self.n_claims
            )
        return total

    def _row_weight(self, stance: FloatArray) -> FloatArray:
        """Log-odds of every row: fidelity towards each row's chance level, two coins, ACCU."""
        data = self.data
        p = data.fidelity
        r_true = p * stance[data.source, 0] + (1 - p) * self.chance
        # A choice's alternative is a wrong pick, 1 - r_true, not 1 - r_false.
        r_false = np.where(self.choice, r_true, p * stance[data.source, 1] + (1 - p) * self.chance)
        support = _log(r_true) - _log(1 - r_false)
        refute = _log(1 - r_true) - _log(r_false)
        return np.where(data.sign > 0, support, refute) * self.abs_factor + self.offset

    def _question_saturate(self, total: FloatArray) -> FloatArray:
        """Scale each question's evidence so its spread is at most the cap."""
        return total * self._question_factor(total)

    def _question_factor(self, score: FloatArray) -> FloatArray:
        """Each claim's question's factor that bounds the spread of ``score`` at the cap.

        NaN scores (claims left out) take no part in the spread.
        """
        data = self.data
        nq = data.n_questions
        hi, lo = np.zeros(nq), np.zeros(nq)
        if score.size:
            ordered = score[self.order]
            hi[self.first_question] = np.fmax.reduceat(ordered, self.starts)
            lo[self.first_question] = np.fmin.reduceat(ordered, self.starts)
        # "None of them" scores 0 in an open question.
        hi = np.where(data.closed, hi, np.fmax(hi, 0.0))
        lo = np.where(data.closed, lo, np.fmin(lo, 0.0))
        spread = hi - lo
        factor = np.ones(nq)
        wide = spread > 0
        factor[wide] = self.cap * np.tanh(spread[wide] / self.cap) / spread[wide]
        return factor[data.question]

    def calibrated(self, total: FloatArray) -> FloatArray:
        """Reported posteriors of a confusion fit, from its unsaturated evidence.

        Per-question saturation is a temperature here: a question's open
        scores, prior and evidence together, shrink by one factor that bounds
        their spread at the cap. The fitted posterior's ranking of the
        answers is kept; bounding the evidence alone would let the learned
        class prior, fitted against the full evidence, outweigh it.
        """
        if not self.by_question:
            return self.from_evidence(total)
        score = np.where(self.resolved, np.nan, self.base_score + total)
        score = score * self._question_factor(score)
        return self._exclusive(np.where(self.resolved, self.base_score, score))

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

    def expected_counts(self, posterior: FloatArray) -> _Counts:
        """M-step sufficient statistics: prior plus expected hits and misses per source."""
        data = self.data
        n = data.n_sources
        if not self.two_coin:
            hits = self.refuting_mass + np.bincount(
                data.source, weights=self.signed_mass * posterior[data.claim], minlength=n
            )
            # Clamped: the subtractions may leave -1e-16 of rounding.
            hits = np.clip(hits, 0.0, self.total_mass)
            alpha = data.prior_alpha + hits
            beta = data.prior_beta + (self.total_mass - hits)
            r = map_reliability(alpha, beta)
            return _Counts(
                alpha,
                beta,
                np.column_stack((alpha, alpha)),
                np.column_stack((beta, beta)),
                np.column_stack((r, r)),
            )
        support, refute, choice = np.bincount(
            self.cell, weights=self.mass * posterior[data.claim], minlength=3 * n
        ).reshape(3, n)
        # Supports and choices of true claims are hits of the true-claim coin,
        # refutations of true claims and choices of false ones its misses;
        # refutations of false claims are hits of the false-claim coin,
        # supports of false claims its misses.
        hit_true = support + choice
        miss_true = refute + np.maximum(self.kind_mass[2] - choice, 0.0)
        hit_false = np.maximum(self.kind_mass[1] - refute, 0.0)
        miss_false = np.maximum(self.kind_mass[0] - support, 0.0)
        alpha = data.prior_alpha + hit_true + hit_false
        beta = data.prior_beta + miss_true + miss_false
        # Each side's prior is Beta(1 + kappa r, 1 + kappa (1 - r)), r the shared
        # MAP: its mode is r, so the side's MAP is (kappa r + hits) / (kappa + n),
        # continuous in r, and a side without rows keeps the shared reliability.
        shared = map_reliability(alpha, beta)
        stance_alpha = 1 + self.kappa * shared[:, None] + np.column_stack((hit_true, hit_false))
        stance_beta = (
            1 + self.kappa * (1 - shared)[:, None] + np.column_stack((miss_true, miss_false))
        )
        reliability = map_reliability(stance_alpha.ravel(), stance_beta.ravel()).reshape(n, 2)
        return _Counts(alpha, beta, stance_alpha, stance_beta, reliability)
