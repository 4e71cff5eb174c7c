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
from scoring.fit.data import FitData
from scoring.fit.layout import Layout
from scoring.fit.structures import OneCoin

# The temperature is searched in this range (log-scores times T).
TEMPERATURE_RANGE = (0.05, 3.0)
_GOLDEN = (math.sqrt(5) - 1) / 2
_SEARCH_STEPS = 30


@dataclass(frozen=True)
class Criterion:
    """A structure's k-fold score: the best mean log-probability and the temperature reaching it."""

    value: float
    temperature: float


def best_temperature(score: Callable[[float], float]) -> Criterion:
    """The maximum of ``score`` over T in ``TEMPERATURE_RANGE`` (golden-section search)."""
    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    a = high - _GOLDEN * (high - low)
    b = low + _GOLDEN * (high - low)
    fa, fb = score(math.exp(a)), score(math.exp(b))
    for _ in range(_SEARCH_STEPS):
        if fa >= fb:
            high, b, fb = b, a, fa
            a = high - _GOLDEN * (high - low)
            fa = score(math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + _GOLDEN * (high - low)
            fb = score(math.exp(b))
    t = math.exp((a + b) / 2)
    return Criterion(score(t), t)


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
    over-confident posterior from a fair one, which one answer at a time
    hardly does (its own noise dominates).
    """
    fold = folds_of(data.n_rows, folds, seed)
    parts: list[tuple[FloatArray, FloatArray, IntArray]] = []
    for f in range(folds):
        held = np.flatnonzero(fold == f)
        fitted = copy.copy(structure).fit(
            Layout(data.with_rows(np.flatnonzero(fold != f)), *weights)
        )
        pair_row, pair_state = layout.pairs(held)
        likelihood = fitted.pair_likelihood(layout, pair_row, pair_state)
        # Log-chance of all of a question's hidden rows under each of its states.
        witness = segment_sum(np.log(np.maximum(likelihood, 1e-300)), pair_state, layout.n_states)
        asked = np.zeros(data.n_questions, dtype=bool)
        asked[layout.row_question[held]] = True
        parts.append((fitted.score_, witness, np.flatnonzero(asked)))

    def score(t: float) -> float:
        total = 0.0
        for state_score, witness, asked in parts:
            scaled = t * state_score
            top, claims, none = layout.partition(scaled)
            log_norm = top + np.log(claims + none)
            joint = scaled - log_norm[layout.state_question] + witness
            top, claims, none = layout.partition(joint)
            total += float((top + np.log(claims + none))[asked].sum())
        return total / data.n_rows

    return best_temperature(score)


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

    return best_temperature(score)


Weights = tuple[float, float]
"""A layout's ``unresolved_weight`` and ``half_life_days``."""
