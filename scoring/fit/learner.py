"""The product's learner: it chooses the structure and calibration of a store, then fits it.

``ReliabilityLearner`` is what the re-scoring job and ``bench/quality`` run, with
the shipped defaults. It proposes the structures the data can support (one
coin; with class priors; confusion matrices when claims have answer classes;
group priors when sources have groups and claims have resolutions), scores
each by a k-fold criterion on the store itself (``scoring.fit.selection``),
fits the best on everything and reports with the temperature it chose.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any, Self

import numpy as np

from scoring.evidence import FloatArray
from scoring.fit.data import BoolArray, FitData
from scoring.fit.layout import Layout
from scoring.fit.selection import (
    Criterion,
    evidence_scale,
    heldout_answers,
    heldout_temperature,
    resolved_claims,
)
from scoring.fit.structures import ConfusionMatrices, OneCoin, TwoCoins

# Confusion matrices only where classes are few enough to be learned per source.
MAX_CONFUSION_CLASSES = 12
# Two coins only where most yes/no statements come from sources with this many or more:
# with five or six a source, half of them leaning each way, they fell to a store of claims
# nearly all true or all false (tests/scoring/test_fit.py).
TWO_COINS_STATEMENTS = 8

FitEngine = Callable[[OneCoin, Layout], OneCoin]
"""Runs the final fit of a chosen structure on a store's layout and returns the
structure fitted, holding ``score_`` and the per-row state of an E-step on the
whole layout (as ``OneCoin.fit`` leaves it): e.g. over partitions on a cluster
(``OneCoin.fit_partitions``)."""


class ReliabilityLearner:
    """Learn every source's reliability, choosing the model's structure from the data.

    Parameters
    ----------
    unresolved_weight : float, default 0.5
        Weight in [0, 1] of an open claim's evidence about its sources, against
        a resolved one's.
    half_life_days : float, default 0
        Age at which a statement counts half in its source's record; 0: no decay.
    max_iter : int, default 100
        Most EM iterations of a fit.
    tol : float, default 1e-6
    folds : int, default 3
        Folds of the selection criteria.
    confusion_strength : float, default 2
        Pseudo-picks behind each row of a confusion matrix.
    coin_strength : float, default 2
        Pseudo-statements behind each coin of two coins.
    group_strengths : tuple of float, default (4, 16)
        Group-prior strengths tried when sources have groups and claims
        have resolutions.
    min_resolved : int, default 30
        Resolved questions needed before the choice is made on them
        (cross-validated log loss); below, held-out answers decide.
    selection_rows : int, default 20_000
        The criteria are computed on questions drawn at random up to about
        this many rows, so a large store's selection costs a bounded time.
    seed : int, default 0
    engine : callable, optional
        Runs the final fit (``FitEngine``); default ``OneCoin.fit``, in this
        process. The selection always runs here, on its sample.

    Attributes
    ----------
    structure_ : OneCoin
        The fitted structure chosen (a ``OneCoin`` or a subclass).
    temperature_ : float
        Factor on every state's log-score before the per-question softmax.
    log_temperature_se_ : float
        Standard error of ln ``temperature_`` from the criterion's curvature
        (``selection.Criterion``): how far the data pin the temperature down.
    evidence_scale_ : float
        Share in (0, 1] of the temperature chosen by held-out answers that is
        kept: the size of the top answers' log-odds where the criterion
        checked them over the whole store's (``selection.evidence_scale``);
        1 when resolved claims chose the temperature.
    criteria_ : dict of str to float
        Each candidate's criterion (mean log-probability; higher is better).
    criterion_ : str
        ``"held-out answers"`` or ``"resolved claims"``.
    alpha_, beta_, reliability_ : ndarray, shape (n_sources,)
        The chosen structure's.
    confidence_ : ndarray, shape (n_claims,)
        Each claim's calibrated probability (resolved claims at their outcome).
    n_iter_ : int
        EM iterations of the fit and of every ``refit`` since.
    converged_ : bool
    informed_ : bool
        Whether the store told the fit anything: some evidence row carried weight
        (``Layout.mass``: not a source's lone word) or some claim was resolved.
        Otherwise its parameters are the priors' and its structure a default.
    """

    def __init__(
        self,
        unresolved_weight: float = 0.5,
        half_life_days: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-6,
        folds: int = 3,
        confusion_strength: float = 2.0,
        coin_strength: float = 2.0,
        group_strengths: tuple[float, ...] = (4.0, 16.0),
        min_resolved: int = 30,
        selection_rows: int = 20_000,
        seed: int = 0,
        engine: FitEngine | None = None,
    ) -> None:
        self.unresolved_weight = unresolved_weight
        self.half_life_days = half_life_days
        self.max_iter = max_iter
        self.tol = tol
        self.folds = folds
        self.confusion_strength = confusion_strength
        self.coin_strength = coin_strength
        self.group_strengths = group_strengths
        self.min_resolved = min_resolved
        self.selection_rows = selection_rows
        self.seed = seed
        self.engine = engine
        self._layout: Layout | None = None
        """The last fit's layout, which a ``refit`` shares (``Layout.with_data``)."""

    def candidates(self, layout: Layout, resolved: int) -> list[OneCoin]:
        """The structures ``layout``'s store can support, simplest first (it wins ties)."""
        data = layout.data
        yes_no = _has_both_stances(layout)
        by_resolutions = resolved >= self.min_resolved
        two_coins = yes_no and self._two_coins_learnable(layout)
        found: list[OneCoin] = [OneCoin(False, 0.0, self.max_iter, self.tol)]
        if by_resolutions or data.n_classes > 1:
            # Without resolutions, base rates only where claims are answers of a few
            # classes (picks among them, never yes/no statements). On yes/no statements
            # a base rate beside one coin takes the sources' leanings for the truth: a
            # source that refutes most things reads as right, one that supports most as
            # wrong, nearly every claim as false (crowd-kit's OneCoinDawidSkene on duck:
            # 0.58). Held-out answers cannot tell the two apart (each source's answers
            # are predicted as well either way) and chose it on thin stores; resolved
            # claims can. On claims only supported, every claim true and every source
            # right is the likelier account whatever the truth, so two sources echoing
            # each other on ten rumours taught a base rate of 96 %: a claim with no
            # evidence at all read as almost certain.
            found.append(OneCoin(True, 0.0, self.max_iter, self.tol))
        if 1 < data.n_classes <= MAX_CONFUSION_CLASSES:
            found += [
                ConfusionMatrices(
                    self.confusion_strength, class_prior=prior, max_iter=self.max_iter, tol=self.tol
                )
                for prior in (False, True)
            ]
        if two_coins:
            # With a learned base rate only: without one, moving every source's two coins
            # apart one way mimics a base rate, a ridge the EM creeps along for hundreds
            # of iterations. The coins take the sources' leanings (``TwoCoins``).
            found.append(
                TwoCoins(self.coin_strength, class_prior=True, max_iter=self.max_iter, tol=self.tol)
            )
        if data.n_groups and by_resolutions:
            found += [
                OneCoin(prior, g, self.max_iter, self.tol)
                for g in self.group_strengths
                for prior in (False, True)
            ]
        return found

    def _two_coins_learnable(self, layout: Layout) -> bool:
        """Whether ``layout``'s yes/no statements can teach a coin per stance: most come
        from sources with ``TWO_COINS_STATEMENTS`` of them or more. On a sample of sparse
        sources the two coins of each fit their few statements, and the EM runs off to
        a store of claims nearly all false or all true."""
        data = layout.data
        source = data.source[layout.binary & (data.sign != 0)]
        statements = np.bincount(source, minlength=data.n_sources)
        return bool(np.mean(statements[source] >= TWO_COINS_STATEMENTS) >= 0.5)

    def fit(self, data: FitData) -> Self:
        """Choose a structure and temperature for ``data``, then fit it on all of it."""
        started = time.perf_counter()
        weights = (self.unresolved_weight, self.half_life_days)
        keep = self._sample(data)
        sample = data if keep is None else data.with_questions(keep)
        sample_layout = Layout(sample, *weights, data.n_classes)
        resolved = int(sample_layout.answered_question.sum())
        by_resolutions = resolved >= self.min_resolved
        judge = resolved_claims if by_resolutions else heldout_answers
        self.criterion_ = "resolved claims" if by_resolutions else "held-out answers"
        found = self.candidates(sample_layout, resolved)
        if data.n_rows == 0:
            # Nothing to choose from: the simplest structure, uncalibrated.
            found = found[:1]
            results = [Criterion(0.0, 1.0)]
        else:
            results = [
                judge(c, sample, sample_layout, self.folds, self.seed, weights) for c in found
            ]
        best = int(np.argmax([r.value for r in results]))
        self.criteria_ = {c.describe(): r.value for c, r in zip(found, results, strict=True)}
        selected = time.perf_counter()
        self.structure_ = found[best]
        chosen = results[best]
        self.temperature_ = chosen.temperature
        layout = sample_layout if sample is data else Layout(data, *weights)
        self._fit_on(layout)
        self.evidence_scale_ = 1.0
        if not by_resolutions:
            # Measured on the selection's sample: its questions' scores at the
            # parameters fitted on the whole store are one E-step away.
            judged = self.structure_
            if keep is not None:
                judged = copy.copy(self.structure_)
                judged.score_ = judged.predict_scores(sample_layout)
                chosen = heldout_temperature(judged, sample_layout, self.folds, self.seed)
            # Held-out answers checked confidence built on (k - 1)/k of the answers
            # and cannot show errors sources make together: claim no more.
            self.evidence_scale_ = evidence_scale(judged, sample_layout, self.folds, self.seed)
            self.temperature_ = chosen.temperature * self.evidence_scale_
            self.confidence_ = self.posterior(layout)[: data.n_claims]
        self.log_temperature_se_ = chosen.log_temperature_se
        self.timings_ = {
            "selection": selected - started,
            "fit": time.perf_counter() - selected,
        }
        return self

    def refit(self, data: FitData) -> Self:
        """Fit the structure already chosen to other data of the same store (e.g. relays
        moved), starting from its fitted parameters: a relay pass moves them little, and
        converges in a few iterations where a fit from the priors takes some twenty."""
        if self._layout is None:
            raise ValueError("refit needs a fit first")
        self.structure_.warm_start = True
        self.release_rows()
        done = self.n_iter_
        self._fit_on(self._layout.with_data(data))
        # The job's stats count the whole fit's work, not only its last pass's.
        self.n_iter_ += done
        return self

    def release_rows(self) -> None:
        """Let go of the last fit's per-row state (the structure's, and its layout's mass),
        keeping its parameters and what a ``refit`` shares: ``refit`` does it first,
        and a caller that makes the refit's data meanwhile can do it before."""
        self.structure_.release_rows()
        if self._layout is not None:
            self._layout = self._layout.without_mass()

    def _fit_on(self, layout: Layout) -> Self:
        data = layout.data
        self._layout = layout
        # The copy replaces the previous fit's structure at once: its per-row state
        # (a dozen arrays of the previous layout's rows) goes as the new fit makes its
        # own, rather than staying alive beside it to the end of the fit.
        self.structure_ = structure = copy.copy(self.structure_)
        self.structure_ = (
            structure.fit(layout) if self.engine is None else self.engine(structure, layout)
        )
        self.alpha_ = self.structure_.alpha_
        self.beta_ = self.structure_.beta_
        self.reliability_ = self.structure_.reliability_
        self.n_iter_ = self.structure_.n_iter_
        self.converged_ = self.structure_.converged_
        self.informed_ = bool(layout.mass.any()) or layout.resolved_claims > 0
        self.confidence_ = self.posterior(layout)[: data.n_claims]
        return self

    def posterior(self, layout: Layout) -> FloatArray:
        """Calibrated probability of every state of ``layout``'s store."""
        return layout.softmax(self.temperature_ * self.structure_.score_)

    def stats(self) -> dict[str, Any]:
        """What the fit chose and how it went, for a job's record."""
        return {
            "structure": self.structure_.describe(),
            "criterion": self.criterion_,
            "candidates": {name: round(value, 6) for name, value in self.criteria_.items()},
            "temperature": round(self.temperature_, 4),
            "evidence_scale": round(self.evidence_scale_, 4),
            "log_temperature_se": round(self.log_temperature_se_, 4),
            "iterations": self.n_iter_,
            "converged": self.converged_,
            "informed": self.informed_,
            "seconds": {name: round(s, 3) for name, s in self.timings_.items()},
        }

    def _sample(self, data: FitData) -> BoolArray | None:
        """None for the whole store, or whole questions drawn at random up to about
        ``selection_rows`` rows (shape (n_questions,))."""
        if data.n_rows <= self.selection_rows:
            return None
        share = self.selection_rows / data.n_rows
        return np.random.default_rng(self.seed).random(data.n_questions) < share


def _has_both_stances(layout: Layout) -> bool:
    """Whether ``layout``'s store holds yes/no statements (supports and refutations of lone
    claims) of both stances."""
    sign = layout.data.sign[layout.binary]
    return bool((sign > 0).any() and (sign < 0).any())
