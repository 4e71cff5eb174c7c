"""The fit's index arrays: every question's states and each evidence row's place among them.

A question's *states* are its claims (exactly one of them true) and, unless the
question is closed, "none of them". A lone claim is a question of one claim:
its states are "true" and "false". Every structure of the fit scores states;
the arrays here say which states belong together and how much each row
counts, so the structures never loop in Python.
"""

from __future__ import annotations

import copy
from dataclasses import fields

import numpy as np

from scoring.evidence import FloatArray, IntArray, segment_sum
from scoring.fit.data import FitData

# Score of a state that a resolution rules out: exp() of it is 0, and it stays
# finite so that subtracting a row's own weight from it (leave-one-out) is safe.
RULED_OUT = -1e4

# What a layout or a structure holds of its rows once it has let them go.
NO_ROWS = np.zeros(0)
NO_ROWS.flags.writeable = False


class Layout:
    """States of every question of ``data`` and the weight of every evidence row.

    Parameters
    ----------
    data : FitData
    unresolved_weight : float
        Weight in [0, 1] of a row whose claim is open, relative to one whose
        truth is known.
    half_life_days : float
        Age at which a row counts half; 0 for no decay.
    n_classes : int, optional
        Answer classes of the store (default: those ``data`` uses), when
        ``data`` holds only some claims of a larger store.

    Attributes
    ----------
    unresolved_weight, half_life_days : float
        As given: a partition of the store is laid out with the same.
    n_states : int
        ``n_claims`` claim states (state j is claim j) then one "none" state per
        open question.
    state_question : ndarray of int, shape (n_states,)
    state_class : ndarray of int, shape (n_states,)
        Class of each claim state; -1 for "none".
    ruled_out : ndarray, shape (n_states,)
        0, or ``RULED_OUT`` for a state a resolution excludes.
    row_question : ndarray of int, shape (n_rows,)
    question_chance : ndarray, shape (n_questions,)
        Chance that a random pick in the question is any given answer:
        ``1 / n_classes`` when claims have classes, else ``1 / max(2, answers)``
        (``chance`` gives rows theirs).
    binary : ndarray of bool, shape (n_rows,)
        Rows on a lone claim without answer classes: a yes/no statement whose
        "none of them" state is "false", on which supporting is the wrong
        stance (elsewhere a support is a pick among answers).
    mass : ndarray, shape (n_rows,)
        How much the row counts in its source's record: fidelity x weight scale
        x age decay x (1 if its truth is known, else ``unresolved_weight``), and
        0 for an open claim's row when no other source speaks to its question
        (a source's lone word cannot confirm itself).
    known : ndarray of bool, shape (n_rows,)
        Rows whose question's answer is known.
    alone : ndarray of bool, shape (n_rows,)
        Rows of an open question whose source is the only one speaking to it.
    judged_question : ndarray of bool, shape (n_questions,)
        Questions whose answer is known or that more than one source speaks to:
        those that can tell a class base rate anything (the others' claims are
        there because their one source said so).
    claim_rows : ndarray of int, shape (n_claims,), or None
        Rows of each claim, when rows come grouped by claim in claim order;
        else None.
    """

    def __init__(
        self,
        data: FitData,
        unresolved_weight: float,
        half_life_days: float,
        n_classes: int | None = None,
    ) -> None:
        self.data = data
        self.unresolved_weight = unresolved_weight
        self.half_life_days = half_life_days
        n, nq = data.n_claims, data.n_questions
        open_questions = np.flatnonzero(~data.closed)
        self.n_states = n + open_questions.size
        self.state_question = np.concatenate((data.question, open_questions))
        self.state_class = np.concatenate((data.claim_class, np.full(open_questions.size, -1)))
        self.n_classes = data.n_classes if n_classes is None else n_classes
        self.size = np.bincount(data.question, minlength=nq)

        # States sorted by question, for per-question maxima (reduceat).
        self.order = np.argsort(self.state_question, kind="stable")
        ranked = self.state_question[self.order]
        self.starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
        self.starts = self.starts[: ranked.size]
        self.first_question = ranked[self.starts]
        self.state_count = np.bincount(self.state_question, minlength=nq)
        # Every question one open claim (a store of yes/no statements): its
        # softmax is the logistic of the claim's score against "none".
        self.lone_claims = bool((self.size == 1).all() and not data.closed.any())
        self.state_start = np.cumsum(self.state_count) - self.state_count

        outcome = data.outcome
        confirmed = segment_sum(outcome == 1, data.question, nq) > 0
        self.ruled_out = np.zeros(self.n_states)
        claim_out = (outcome == 0) | (confirmed[data.question] & (outcome != 1))
        self.ruled_out[:n][claim_out] = RULED_OUT
        self.ruled_out[n:][confirmed[open_questions]] = RULED_OUT
        # Scores before evidence: the claims' given priors, resolutions applied.
        p = data.claim_prior
        self.prior_scores = self.ruled_out.copy()
        self.prior_scores[:n] += np.log(p) - np.log1p(-p)
        resolved = segment_sum(~np.isnan(outcome), data.question, nq)
        answered = confirmed | (resolved == self.size)
        self.resolved_claims = int((~np.isnan(outcome)).sum())
        self.answered_question = answered

        claim, source = data.claim, data.source
        # Rows come grouped by claim from the store (the scorer's order): then a
        # claim's value reaches its rows by repetition (``at_rows``).
        self.claim_rows = (
            np.bincount(claim, minlength=n) if bool((claim[1:] >= claim[:-1]).all()) else None
        )
        self.row_question = data.question[claim]
        self.known = answered[self.row_question] | ~np.isnan(outcome[claim])
        # Per question, a row's read through its question (``chance``): a row array
        # would hold 8 bytes a row throughout the fit.
        if self.n_classes > 1:
            self.question_chance = np.full(nq, 1.0 / self.n_classes)
        else:
            self.question_chance = 1.0 / np.maximum(2, self.size).astype(float)
        self.binary = ((self.n_classes == 1) & (self.size == 1))[self.row_question]
        # A row is alone when its source is the only one speaking to its
        # question: the question's smallest and largest source are the same.
        q = self.row_question
        # Rows come grouped by question when claims do (the scorer's order).
        ranked, ranked_source = q, source
        if not bool((q[1:] >= q[:-1]).all()):
            by_question = np.argsort(q, kind="stable")
            ranked, ranked_source = q[by_question], source[by_question]
        first = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))[: ranked.size]
        lowest, highest = np.zeros(nq, np.intp), np.zeros(nq, np.intp)
        if first.size:
            lowest[ranked[first]] = np.minimum.reduceat(ranked_source, first)
            highest[ranked[first]] = np.maximum.reduceat(ranked_source, first)
        self.alone = (lowest == highest)[self.row_question] & ~self.known
        self.judged_question = answered | (lowest != highest)
        self.mass = self._mass()

    def _mass(self) -> FloatArray:
        """Each row's ``mass``, shape (n_rows,)."""
        data = self.data
        # In place, factor by factor in the formula's order: a store's rows are most
        # of a fit's memory, and a temporary of each is as large as the result.
        mass = np.abs(data.sign, dtype=float)
        mass *= data.fidelity
        mass *= data.weight_scale
        if self.half_life_days > 0:
            decay = np.negative(data.age_days, dtype=float)
            decay /= self.half_life_days
            mass *= np.exp2(decay, out=decay)
            del decay
        np.multiply(mass, self.unresolved_weight, out=mass, where=~self.known)
        mass[self.alone] = 0.0
        return mass

    def without_mass(self) -> Layout:
        """This layout without its mass (empty), all ``with_data`` needs of it: what a
        learner keeps between relay passes."""
        layout = copy.copy(self)
        layout.mass = NO_ROWS
        return layout

    def with_data(self, data: FitData) -> Layout:
        """The layout of ``data`` with the same weights: this one's arrays,
        all but the mass, when ``data`` is this layout's store with other fidelities
        (its other arrays the same objects, as ``FitData.with_fidelity`` keeps them:
        a relay pass's refit), else laid out afresh."""
        fidelity_only = all(
            getattr(data, f.name) is getattr(self.data, f.name)
            for f in fields(data)
            if f.name != "fidelity"
        )
        if not fidelity_only:
            return Layout(data, self.unresolved_weight, self.half_life_days)
        layout = copy.copy(self)
        layout.data = data
        # The previous mass goes as the new one is made (one array of every row).
        layout.mass = NO_ROWS
        layout.mass = layout._mass()
        return layout

    def partition(self, score: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per question: the largest state score, and the sums of exp(score - largest) over
        its claims and over its "none" state; each shape (n_questions,)."""
        top, _, claims, none = self._exp_partition(score)
        return top, claims, none

    def _exp_partition(self, score: FloatArray) -> tuple[FloatArray, ...]:
        """``partition``'s largest score and sums, after exp(score - largest) of each
        state (shape (n_states,)) that they sum."""
        nq, n = self.data.n_questions, self.data.n_claims
        top = np.zeros(nq)
        if score.size:
            top[self.first_question] = np.maximum.reduceat(score[self.order], self.starts)
        e = np.exp(score - top[self.state_question])
        claims = segment_sum(e[:n], self.state_question[:n], nq)
        none = segment_sum(e[n:], self.state_question[n:], nq)
        return top, e, claims, none

    def none_of(self, posterior: FloatArray) -> FloatArray:
        """Each question's probability of "none of them" from the states' ``posterior``
        (shape (n_states,)); 0 for a closed question. Shape (n_questions,)."""
        n = self.data.n_claims
        none = np.zeros(self.data.n_questions)
        none[self.state_question[n:]] = posterior[n:]
        return none

    def softmax(self, score: FloatArray) -> FloatArray:
        """Each state's probability within its question from state log-scores, shape (n_states,)."""
        if self.lone_claims:
            n = self.data.n_claims
            # Claim j's question is j's, and its "none" state is n + its question.
            true = 0.5 + 0.5 * np.tanh((score[:n] - score[n:][self.data.question]) / 2)
            out = np.empty(self.n_states)
            out[:n] = true
            out[n:][self.data.question] = 1 - true
            return out
        # Each state's exp(score - largest) is the partition's own (not made twice).
        _, e, claims, none = self._exp_partition(score)
        e /= (claims + none)[self.state_question]
        return e

    def chance(self, rows: IntArray | slice) -> FloatArray:
        """``question_chance`` of each of ``rows``' questions, shape (n_selected,)."""
        # intp: numpy gathers through a 32-bit index several times slower.
        return self.question_chance[self.row_question[rows].astype(np.intp)]

    def at_rows(self, claim_values: FloatArray) -> FloatArray:
        """Each row's value of its claim, shape (n_rows,), from ``claim_values`` (shape
        (n_claims,) or longer, e.g. (n_states,))."""
        if self.claim_rows is None:
            return claim_values[self.data.claim]
        # Several times faster than gathering through the 32-bit claim index.
        return np.repeat(claim_values[: self.data.n_claims], self.claim_rows)

    def pairs(self, rows: IntArray) -> tuple[IntArray, IntArray]:
        """Every given row beside every state of its question: (pair row, pair state)."""
        q = self.row_question[rows]
        count = self.state_count[q]
        pair_row = np.repeat(rows, count)
        within = np.arange(pair_row.size) - np.repeat(np.cumsum(count) - count, count)
        pair_state = self.order[np.repeat(self.state_start[q], count) + within]
        return pair_row, pair_state

    def vote_scores(self) -> FloatArray:
        """Evidence of a weighted majority vote on each state, one log-odds unit a report.

        EM starts here: starting every source at a coin flip would be a fixed
        point at which no claim moves.
        """
        data = self.data
        return segment_sum(data.sign * data.fidelity * data.weight_scale, data.claim, self.n_states)
