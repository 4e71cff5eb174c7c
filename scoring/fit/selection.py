"""Choosing a structure and a temperature without the truth: k-fold criteria on the store itself.

Two proper scores of what the store holds, each a function of the temperature
T that multiplies every state's log-score before the per-question softmax:

- **held-out answers**: hide a fold of the evidence rows, fit on the rest, and
  score each hidden row by its probability, the sum over its question's states
  of P_T(state) x P(that stance | state) under the fitted structure;
- **resolved claims**: hide a fold of the resolved questions' outcomes, fit,
  and score each hidden question by -ln P_T(its true state).

A structure's criterion is its best mean score over T (a one-dimensional
search), so over- and under-confident posteriors lose by it, and the T that
reaches it is the calibration the product reports with.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scoring.evidence import FloatArray, IntArray, segment_sum
from scoring.fit.data import BoolArray, FitData
from scoring.fit.layout import Layout
from scoring.fit.structures import OneCoin

# The temperature is searched in this range (log-scores times T).
TEMPERATURE_RANGE = (0.05, 3.0)
_GOLDEN = (math.sqrt(5) - 1) / 2
_SEARCH_STEPS = 30
# Step in ln T of the finite difference giving the criterion's curvature.
_CURVATURE_STEP = 0.05


@dataclass(frozen=True)
class Criterion:
    """A structure's k-fold score: the best mean log-probability, the temperature reaching
    it, and that temperature's standard error on the log scale (from the criterion's
    curvature: the criterion is a log-likelihood of T, so its curvature is T's information)."""

    value: float
    temperature: float
    log_temperature_se: float = 1.0


def best_temperature(score: Callable[[float], float], n: int) -> Criterion:
    """The maximum over T in ``TEMPERATURE_RANGE`` of ``score`` (a mean over ``n`` items)
    with a standard log-normal prior on T (golden-section search on ln T), and the
    standard error of ln T there (``Criterion.log_temperature_se``).

    The prior is one item's worth: on a large store it does not matter, and a
    store of a few rows, whose criterion is flat, keeps T near 1.
    """

    def objective(t: float) -> float:
        return score(t) - math.log(t) ** 2 / (2 * max(n, 1))

    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    a = high - _GOLDEN * (high - low)
    b = low + _GOLDEN * (high - low)
    fa, fb = objective(math.exp(a)), objective(math.exp(b))
    for _ in range(_SEARCH_STEPS):
        if fa >= fb:
            high, b, fb = b, a, fa
            a = high - _GOLDEN * (high - low)
            fa = objective(math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + _GOLDEN * (high - low)
            fb = objective(math.exp(b))
    x = (a + b) / 2
    t = math.exp(x)
    # Information about ln T: the curvature of the n items' total, prior included (>= 1).
    h = _CURVATURE_STEP
    curvature = (objective(math.exp(x + h)) - 2 * objective(t) + objective(math.exp(x - h))) / h**2
    information = max(-curvature * max(n, 1), 1.0)
    return Criterion(score(t), t, 1 / math.sqrt(information))


def folds_of(n: int, folds: int, seed: int) -> IntArray:
    """A fold number in ``[0, folds)`` for each of n items, balanced, in a seeded random order."""
    return np.random.default_rng(seed).permutation(n) % folds


def heldout_answers(
    structure: OneCoin, data: FitData, layout: Layout, folds: int, seed: int, weights: Weights
) -> Criterion:
    """Mean log-probability of hidden evidence rows (k-fold), at the best temperature.

    The hidden rows of one question are scored jointly: the probability of
    all of them is the sum over the question's states of P_T(state) times the
    product of each row's chance under that state. A question's hidden
    answers all witness the same truth, so their joint probability tells an
    over-confident posterior from a fair one better than one answer at a time.
    """
    fold = folds_of(data.n_rows, folds, seed)
    parts = []
    for f in range(folds):
        train = Layout(data.with_rows(np.flatnonzero(fold != f)), *weights)
        fitted = copy.copy(structure).fit(train)
        parts.append(_hidden(fitted, fitted.score_, layout, fold == f))
    return _joint_criterion(layout, parts, data.n_rows)


def heldout_temperature(structure: OneCoin, layout: Layout, folds: int, seed: int) -> Criterion:
    """``heldout_answers`` of a structure already fitted, without refitting.

    Each fold's posterior is the structure's scores less the hidden rows' own
    weights; the parameters still saw them, which matters little where every
    source has many rows: this is for stores too large to refit k times,
    whose selection ran on a sample of their questions (``layout``) with far
    fewer rows a source (and so less sure reliabilities, which would ask for
    a larger temperature). ``structure`` holds the per-row state of an
    E-step on ``layout`` (``OneCoin.predict_scores``).
    """
    fold = folds_of(layout.data.n_rows, folds, seed)
    parts = []
    for f in range(folds):
        hidden = fold == f
        score = structure.score_ - structure.evidence(layout, hidden)
        parts.append(_hidden(structure, score, layout, hidden))
    return _joint_criterion(layout, parts, layout.data.n_rows)


def evidence_scale(structure: OneCoin, layout: Layout, folds: int, seed: int) -> float:
    """How large the top answers' log-odds were where a held-out-answers temperature was
    checked, against the whole store's: a factor in (0, 1] for that temperature.

    The folds' posteriors pool (k - 1)/k of each question's answers and the
    whole store's all of them. Answers cannot show errors sources make
    together, so the criterion cannot vouch that confidence keeps growing
    with more answers as conditional independence says; the product claims
    no larger log-odds than were checked. The factor is the mean size of the
    top answer's log-odds (|logit P(top state)|) over the open questions with
    hidden rows in each fold, at the fitted parameters (the hidden rows'
    weights taken out as in ``heldout_temperature``), over the same mean for
    the whole store.
    """
    data = layout.data
    fold = folds_of(data.n_rows, folds, seed)
    open_question = ~layout.answered_question

    def top_log_odds(score: FloatArray) -> FloatArray:
        _, claims, none = layout.partition(score)
        return np.abs(np.log(np.maximum(claims + none - 1, 1e-12)))

    whole = top_log_odds(structure.score_)
    checked = total = 0.0
    for f in range(folds):
        hidden = fold == f
        asked = np.zeros(data.n_questions, dtype=bool)
        asked[layout.row_question[hidden]] = True
        asked &= open_question
        checked += float(
            top_log_odds(structure.score_ - structure.evidence(layout, hidden))[asked].sum()
        )
        total += float(whole[asked].sum())
    if total <= 0 or checked <= 0:
        # The folds checked no confidence at all (e.g. every hidden row was its
        # question's only one): nothing to scale by.
        return 1.0
    return min(1.0, checked / total)


_Hidden = tuple[FloatArray, FloatArray, IntArray]


def _hidden(fitted: OneCoin, score: FloatArray, layout: Layout, hidden: BoolArray) -> _Hidden:
    """A fold's state scores, the log-chance of its hidden rows (``hidden``, shape
    (n_rows,)) under each state, and the questions with hidden rows."""
    held = np.flatnonzero(hidden)
    pair_row, pair_state = layout.pairs(held)
    likelihood = fitted.pair_likelihood(layout, pair_row, pair_state)
    witness = segment_sum(np.log(np.maximum(likelihood, 1e-300)), pair_state, layout.n_states)
    asked = np.zeros(layout.data.n_questions, dtype=bool)
    asked[layout.row_question[held]] = True
    return score, witness, np.flatnonzero(asked)


def _joint_criterion(layout: Layout, parts: list[_Hidden], n_rows: int) -> Criterion:
    def score(t: float) -> float:
        total = 0.0
        for state_score, witness, asked in parts:
            scaled = t * state_score
            top, claims, none = layout.partition(scaled)
            log_norm = top + np.log(claims + none)
            joint = scaled - log_norm[layout.state_question] + witness
            top, claims, none = layout.partition(joint)
            total += float((top + np.log(claims + none))[asked].sum())
        return total / n_rows

    return best_temperature(score, n_rows)


def answered_questions(layout: Layout) -> tuple[IntArray, IntArray]:
    """Questions whose answer is known, and the state that is true in each."""
    data = layout.data
    questions = np.flatnonzero(layout.answered_question)
    truth = np.full(data.n_questions, -1)
    confirmed = np.flatnonzero(data.outcome == 1)
    truth[data.question[confirmed]] = confirmed
    none = data.n_claims + np.cumsum(~data.closed) - 1
    open_unconfirmed = (truth < 0) & ~data.closed
    truth[open_unconfirmed] = none[open_unconfirmed]
    keep = truth[questions] >= 0
    return questions[keep], truth[questions[keep]]


def resolved_claims(
    structure: OneCoin, data: FitData, layout: Layout, folds: int, seed: int, weights: Weights
) -> Criterion:
    """Mean log-probability of the true state of questions whose outcomes are hidden (k-fold)."""
    questions, truth = answered_questions(layout)
    fold = folds_of(questions.size, folds, seed)
    parts: list[tuple[FloatArray, IntArray]] = []
    for f in range(folds):
        hidden = np.zeros(data.n_questions, dtype=bool)
        hidden[questions[fold == f]] = True
        outcome = np.where(hidden[data.question], np.nan, data.outcome)
        fitted = copy.copy(structure).fit(Layout(data.with_outcome(outcome), *weights))
        parts.append((fitted.score_, truth[fold == f]))

    def score(t: float) -> float:
        total = sum(
            float(np.log(np.maximum(layout.softmax(t * s)[true], 1e-12)).sum()) for s, true in parts
        )
        return total / questions.size

    return best_temperature(score, questions.size)


Weights = tuple[float, float]
"""A layout's ``unresolved_weight`` and ``half_life_days``."""
