"""``OneCoin``: one reliability a source, the structure the others extend.

It holds the EM every structure runs (``fit``, over partitions of the questions),
its E- and M-steps and their helpers: ``_StanceRows``, the rows' constants, and the
clipped logarithm ``_log`` with its ``_TINY``, which the other structures' modules
import too (private to this package, not to this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from scoring.evidence import FloatArray, IntArray, segment_sum
from scoring.fit.data import BoolArray, FitData
from scoring.fit.layout import NO_ROWS, Layout
from scoring.fit.partitions import InProcess, Parameters, Partitions, Statistics

# Probabilities are kept this far from 0 and 1 so that logarithms stay finite.
_TINY = 1e-9
# Pseudo-claims behind each class's learned base rate.
CLASS_PRIOR_STRENGTH = 1.0
# Rows whose stance chances an E-step computes at a time: their constants and
# temporaries stay a few megabytes whatever the store's size (a dozen arrays of
# every row, kept or made at once, were most of the job's peak memory).
E_STEP_ROWS = 1 << 16


def _log(p: FloatArray) -> FloatArray:
    return np.log(np.clip(p, _TINY, 1.0))


@dataclass(frozen=True, slots=True)
class _StanceRows:
    """What the stance chances need of some rows of a layout, apart from reliabilities;
    each array of shape (n_selected,)."""

    fidelity: FloatArray
    """The chance the row's statement is its source's own (1 when direct)."""
    unfaithful: FloatArray
    """``(1 - fidelity) * chance``: a relayed statement's chance of being right anyway."""
    support: BoolArray
    pick: BoolArray
    """Supports among more than two answers."""
    chance: FloatArray
    """A pick's chance of being right at random (0.5 for other rows)."""
    miss: FloatArray
    """``1 - chance``."""

    @classmethod
    def of(cls, layout: Layout, rows: IntArray | slice) -> _StanceRows:
        """The constants of ``layout``'s ``rows`` (a slice takes views where it can)."""
        data = layout.data
        fidelity = data.fidelity[rows]
        support = data.sign[rows] > 0
        pick = support & ~layout.binary[rows]
        chance = np.where(pick, layout.chance(rows), 0.5)
        return cls(fidelity, (1 - fidelity) * chance, support, pick, chance, 1 - chance)


class OneCoin:
    """One reliability a source: the chance its stance is right.

    A support of claim j in a question is a pick: right (chance r) when j is
    true, else one of the question's other answers at random, so under any
    other state (another answer or "none of them") it had chance
    ``(1 - r) / (K - 1)``, K the number of answers a pick chooses among
    (``Layout.question_chance``). Its weight on j against every other state is
    therefore ``ln((K - 1) r / (1 - r))``, zero at chance (r = 1 / K): a
    source better than chance never counts against its own pick, which is
    what keeps the fit off the mirror-image solution. A refutation of j weighs
    ``-logit r``. A relay or hedge of fidelity P makes the statement a random
    one with chance 1 - P. The Beta prior of each source keeps the MAP away
    from 0 and 1.

    Parameters
    ----------
    class_prior : bool, default False
        Learn each claim class's base rate against "none of them" from the
        posteriors (Dawid-Skene's class priors); else each claim keeps its
        given prior.
    group_strength : float, default 0
        Pseudo-observations a source's prior borrows from the record of the
        *other* members of its group (``FitData.source_group``); 0 for none.
    max_iter : int, default 100
    tol : float, default 1e-6
        The fit has converged when no parameter moved by more than this in
        one iteration.

    Attributes
    ----------
    warm_start : bool
        Whether the next fit starts from this structure's fitted parameters and
        an E-step at them, rather than from the priors and a weighted majority
        vote (False until set, as a refit of the same store on moved data does).
    alpha_, beta_ : ndarray, shape (n_sources,)
        Each source's Beta belief: prior plus expected hits and misses.
    reliability_ : ndarray, shape (n_sources,)
        Posterior mean ``alpha_ / (alpha_ + beta_)``, the reliability every
        score uses.
    base_ : ndarray, shape (n_classes,)
        Log-odds of a claim of each class against "none of them" before
        evidence (with ``class_prior``).
    base_se_ : ndarray, shape (n_classes,)
        Standard error of each ``base_``, a log ratio of two expected counts
        (with ``class_prior``).
    score_ : ndarray, shape (n_states,)
        Each state's log-score (base, evidence, resolutions) after the fit.
    weight_ : ndarray, shape (n_rows,)
        Each row's weight on its own claim against the other states.
    n_iter_ : int
    converged_ : bool
    """

    name = "one coin"
    warm_start = False
    _ROW_STATE: tuple[str, ...] = (
        "weight_",
        "_own",
        "_shared",
        "_signed_scale",
        "_pick_scale",
        "_pick_offset",
        "_shared_offset",
        "_formula_rows",
        "_pick_rows",
    )
    """The per-row state a fit's ``_start`` and E-steps set (``release_rows``)."""

    def __init__(
        self,
        class_prior: bool = False,
        group_strength: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-6,
    ) -> None:
        self.class_prior = class_prior
        self.group_strength = group_strength
        self.max_iter = max_iter
        self.tol = tol

    def describe(self) -> str:
        parts = [self.name]
        if self.class_prior:
            parts.append("class prior")
        if self.group_strength:
            parts.append(f"group prior {self.group_strength:g}")
        return ", ".join(parts)

    def fit(self, layout: Layout) -> Self:
        """Learn the sources' parameters from ``layout`` by EM, from a weighted majority vote."""
        return self.fit_partitions(layout.data, InProcess(self, layout))

    def fit_partitions(self, data: FitData, partitions: Partitions) -> Self:
        """Learn the sources' parameters by EM over ``partitions`` of ``data``'s questions.

        Each iteration sums the partitions' statistics and takes the M-step
        here (``scoring.fit.partitions``). ``data`` gives the sources' priors
        and groups and the claims' classes; its rows are not read here. With
        ``InProcess`` partitions this structure ends holding the store's
        per-row state and ``score_``; otherwise only the parameters.
        """
        if not self.warm_start:
            self.alpha_ = data.prior_alpha.copy()
            self.beta_ = data.prior_beta.copy()
            self.reliability_ = self.alpha_ / (self.alpha_ + self.beta_)
            self.base_ = np.zeros(data.n_classes)
            self._first_parameters()
        partitions.start(self.parameters())
        self.n_iter_, self.converged_ = 0, False
        for _ in range(self.max_iter):
            change = self._m_step(data, partitions.statistics())
            partitions.advance(self.parameters())
            self.n_iter_ += 1
            if change <= self.tol:
                self.converged_ = True
                break
        return self

    def release_rows(self) -> None:
        """Let go of the per-row state of the last fit, keeping its parameters: a warm
        refit on other rows makes its own, and holding both at once was the fit's peak."""
        for name in self._ROW_STATE:
            self.__dict__.pop(name, None)

    def parameters(self) -> Parameters:
        """What an E-step needs: reliabilities and class base rates."""
        return {"reliability": self.reliability_, "base": self.base_}

    def set_parameters(self, parameters: Parameters) -> None:
        self.reliability_ = parameters["reliability"]
        self.base_ = parameters["base"]

    # --- one partition's side (scoring.fit.partitions) -----------------------------------

    def start_partition(self, layout: Layout) -> None:
        """Per-row constants of ``layout``'s partition and its starting scores at the
        current parameters: a weighted majority vote, or an E-step (``warm_start``)."""
        self._start(layout)
        if self.warm_start:
            self.score_ = self._e_step(layout)
            return
        data = layout.data
        self.weight_ = data.sign * data.fidelity * data.weight_scale
        self._own = self.weight_
        self._shared = np.zeros_like(self._shared_rows(data.fidelity))
        self.score_ = self.base_scores(layout) + layout.vote_scores()

    def partition_statistics(self, layout: Layout) -> Statistics:
        """The partition's statistics at its current scores (``_statistics``)."""
        return self._statistics(layout, layout.softmax(self.score_))

    def advance_partition(self, layout: Layout) -> None:
        """The partition's scores after an E-step at the current parameters."""
        self.score_ = self._e_step(layout)

    def _start(self, layout: Layout) -> None:
        """Per-row constants of the E- and M-steps, computed once a fit."""
        data = layout.data
        support = data.sign > 0
        pick = support & ~layout.binary
        self._direct = bool((data.fidelity == 1).all())
        self._pick_rows = np.flatnonzero(pick)
        self._any_pick = bool(self._pick_rows.size)
        # The direct E-step keeps its per-row constants (8 bytes a row each); the other
        # computes its stance chances a block of rows at a time (``_row_weights``).
        if self._direct:
            # With every statement direct, a row's weights are its source's
            # log-odds plus a constant of its question's size.
            scale = data.weight_scale * np.abs(data.sign)
            chance = layout.chance(slice(None))
            self._signed_scale = np.where(support, scale, -scale)
            self._pick_scale = scale * pick
            self._pick_offset = self._pick_scale * np.log(1 / chance - 1)
            self._shared_offset = -self._pick_scale * np.log1p(-chance)
        # The relayed E-step works out the rows the per-source weights do not cover
        # (``_row_weights``), or every row when they are most of the store, or when
        # sources outnumber the rows those weights would serve (a selection's sample
        # of a large store, whose every source is kept).
        self._formula_rows = None
        if not self._direct:
            formula_rows = np.flatnonzero(pick | (data.fidelity != 1))
            served = data.n_rows - formula_rows.size
            if served >= max(formula_rows.size, data.n_sources):
                self._formula_rows = formula_rows
        n = data.n_sources
        refuting = np.where(support, 0.0, layout.mass)
        self._refuting_mass = segment_sum(refuting, data.source, n)
        self._total_mass = segment_sum(layout.mass, data.source, n)

    def _first_parameters(self) -> None:
        """Parameters beyond reliabilities and base rates, before the first M-step."""

    def predict_scores(self, layout: Layout) -> FloatArray:
        """State log-scores of ``layout``'s store under the fitted parameters (one E-step)."""
        self._start(layout)
        return self._e_step(layout)

    # --- E-step -------------------------------------------------------------------------

    def _e_step(self, layout: Layout) -> FloatArray:
        """State scores given the sources' current parameters."""
        # The previous weights go before the new ones are made: two arrays of every row.
        self._own = self._shared = self.weight_ = NO_ROWS
        self._own, self._shared = self._row_weights(layout)
        self.weight_ = self._own
        return self.base_scores(layout) + self.evidence(layout)

    def evidence(self, layout: Layout, rows: BoolArray | None = None) -> FloatArray:
        """What the rows (those where ``rows`` holds, default all) add to each state's
        score at the current parameters, shape (n_states,): each row's weight on its
        own claim and its shared weight on every claim of its question, all against
        "none of them"."""
        data = layout.data
        own, shared = self._own, self._shared
        if rows is not None:
            own, shared = own * rows, shared * self._shared_rows(rows)
        evidence = segment_sum(own, data.claim, layout.n_states)
        if self._any_pick or not self._direct:
            # Summed over the rows that hold one: the same sums as over every row.
            question = self._shared_rows(layout.row_question)
            by_question = segment_sum(shared, question, data.n_questions)
            evidence[: data.n_claims] += by_question[data.question]
        return evidence

    def _shared_rows(self, values: np.ndarray) -> np.ndarray:
        """``values`` of every row (shape (n_rows,)) on the rows whose shared weight
        ``_shared`` holds: every row, or the relayed E-step's formula rows (the other
        rows' shared weight is 0, and is not kept: 8 bytes a row)."""
        return values if self._formula_rows is None else values[self._formula_rows]

    def base_scores(self, layout: Layout) -> FloatArray:
        """Each state's score before evidence, with resolutions: a claim's class base rate
        or its given prior's log-odds; 0 for "none of them"."""
        if not self.class_prior:
            return layout.prior_scores
        base = layout.prior_scores.copy()
        base[: layout.data.n_claims] = (
            self.base_[layout.data.claim_class] + layout.ruled_out[: layout.data.n_claims]
        )
        return base

    def _stance_chances(
        self, rows: _StanceRows, source: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Chance of each row's stance when its own claim is true, when another
        claim of its question is, and when none is; ``rows`` holds the rows'
        constants, ``source`` their sources."""
        # intp: numpy gathers through a 32-bit index (FitData's) several times slower.
        effective = rows.fidelity * self.reliability_[source.astype(np.intp)] + rows.unfaithful
        # A pick: right with chance r, else one of the K - 1 other answers;
        # under "none of them" it is a random one of the K.
        own = np.where(rows.support, effective, 1 - effective)
        other = np.where(rows.pick, (1 - effective) * rows.chance / rows.miss, 1 - own)
        none = np.where(rows.pick, rows.chance, other)
        return own, other, none

    def _row_weights(self, layout: Layout) -> tuple[FloatArray, FloatArray]:
        """Each row's log-likelihood ratio of its own claim against the question's other
        claims, and of any claim of its question against "none of them": the latter on
        the rows ``_shared`` holds (``_shared_rows``)."""
        data = layout.data
        if self._direct:
            r = np.clip(self.reliability_, _TINY, 1 - _TINY)
            log_miss = np.log1p(-r)
            weight = self._signed_scale * (np.log(r) - log_miss)[data.source] + self._pick_offset
            shared = np.zeros(data.n_rows)
            if self._any_pick:
                shared = self._pick_scale * log_miss[data.source] + self._shared_offset
            return weight, shared
        weight = np.empty(data.n_rows)
        formula_rows = self._formula_rows
        if formula_rows is None:
            shared = np.empty(data.n_rows)
            for start in range(0, data.n_rows, E_STEP_ROWS):
                block = slice(start, start + E_STEP_ROWS)
                weight[block], shared[block] = self._stance_weights(layout, block)
        else:
            # A direct statement that is no pick (most rows of a store) has the stance
            # chances r and 1 - r of its source's r: its weight is its source's, worked
            # out once a source with the arithmetic ``_stance_weights`` does a row, and
            # its shared weight 0 (its chances under "other" and "none" are one number).
            # Interleaved (refutes, supports): a row's entry is 2 * source + supports.
            r = self.reliability_
            log_miss = _log(1 - r)
            table = np.empty(2 * r.size)
            table[0::2] = log_miss - _log(1 - (1 - r))
            table[1::2] = _log(r) - log_miss
            for start in range(0, data.n_rows, E_STEP_ROWS):
                block = slice(start, start + E_STEP_ROWS)
                sign = data.sign[block]
                entry = data.source[block].astype(np.intp)
                entry *= 2
                entry += sign > 0
                np.multiply(
                    table[entry], data.weight_scale[block] * np.abs(sign), out=weight[block]
                )
            # The shared weights are kept for the formula's rows alone (0 elsewhere).
            shared = np.empty(formula_rows.size)
            for start in range(0, formula_rows.size, E_STEP_ROWS):
                part = slice(start, start + E_STEP_ROWS)
                rows = formula_rows[part]
                weight[rows], shared[part] = self._stance_weights(layout, rows)
        return weight, shared

    def _stance_weights(
        self, layout: Layout, rows: IntArray | slice
    ) -> tuple[FloatArray, FloatArray]:
        """``_row_weights`` of ``layout``'s ``rows`` from their stance chances, each shape
        (n_selected,): the reference the relayed E-step's per-source weights match."""
        data = layout.data
        scale = data.weight_scale[rows] * np.abs(data.sign[rows])
        own, other, none = self._stance_chances(_StanceRows.of(layout, rows), data.source[rows])
        log_other = _log(other)
        return (_log(own) - log_other) * scale, (log_other - _log(none)) * scale

    def pair_likelihood(
        self, layout: Layout, pair_row: IntArray, pair_state: IntArray
    ) -> FloatArray:
        """Chance of each row's stance under each state of its question (``Layout.pairs``)."""
        data = layout.data
        own, other, none = self._stance_chances(
            _StanceRows.of(layout, pair_row), data.source[pair_row]
        )
        chance = np.where(pair_state < data.n_claims, other, none)
        return np.where(pair_state == data.claim[pair_row], own, chance)

    # --- M-step -------------------------------------------------------------------------

    def _statistics(self, layout: Layout, posterior: FloatArray) -> Statistics:
        """What the M-step needs of ``layout``'s claims, given each state's posterior
        (shape (n_states,)): sums that add up over partitions of the questions.

        ``hits`` and ``total``, shape (n_sources,): each source's expected right
        stances and its mass, less its picks' share under "none of them"; with
        ``class_prior``, ``true`` and ``false``, shape (n_classes,): each class's
        expected true claims and "none of them".
        """
        data = layout.data
        # A support is right when its claim is true, a refutation when it is not
        # (signed here, not kept signed: a row's mass is 8 bytes, its stance's test 1).
        own = layout.at_rows(posterior)
        own *= layout.mass
        np.negative(own, out=own, where=data.sign < 0)
        statistics = {
            "hits": self._refuting_mass + segment_sum(own, data.source, data.n_sources),
            "total": self._total_mass,
        }
        if not (self._any_pick or self.class_prior):
            return statistics
        none = layout.none_of(posterior)
        if self._any_pick:
            # Under "none of them" a pick is a random one, as likely whatever r is: that
            # share of its mass is neither a hit nor a miss. (Counted as a miss, it drags r
            # to chance, where "none" holds as much as any claim, and on below it.)
            rows = self._pick_rows
            unread = none[layout.row_question[rows]] * layout.mass[rows]
            unread_mass = segment_sum(unread, data.source[rows], data.n_sources)
            statistics["total"] = self._total_mass - unread_mass
        if self.class_prior:
            statistics["true"], statistics["false"] = self._class_counts(layout, posterior, none)
        return statistics

    def _m_step(self, data: FitData, statistics: Statistics) -> float:
        """Sources' parameters from the statistics summed over the store (``data``: its
        sources and classes); returns the largest change."""
        total = statistics["total"]
        hits = np.clip(statistics["hits"], 0.0, total)
        prior_alpha, prior_beta = self._priors(data, hits, total)
        self.alpha_ = prior_alpha + hits
        self.beta_ = prior_beta + (total - hits)
        reliability = self.alpha_ / (self.alpha_ + self.beta_)
        change = float(np.abs(reliability - self.reliability_).max(initial=0.0))
        self.reliability_ = reliability
        if self.class_prior:
            # Each class's log-odds against "none of them": expected true claims over nones.
            base = np.log(CLASS_PRIOR_STRENGTH + statistics["true"]) - np.log(
                CLASS_PRIOR_STRENGTH + statistics["false"]
            )
            change = max(change, float(np.abs(base - self.base_).max(initial=0.0)))
            self.base_ = base
            self.base_se_ = np.sqrt(
                1 / (CLASS_PRIOR_STRENGTH + statistics["true"])
                + 1 / (CLASS_PRIOR_STRENGTH + statistics["false"])
            )
        return change

    def _priors(
        self, data: FitData, hits: FloatArray, total: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Each source's prior: its own, plus its group's record without it (empirical Bayes)."""
        if not self.group_strength or data.n_groups == 0:
            return data.prior_alpha, data.prior_beta
        group = data.source_group
        member = group >= 0
        g = np.where(member, group, 0)
        group_hits = segment_sum(hits * member, g, data.n_groups)
        group_total = segment_sum(total * member, g, data.n_groups)
        # The group's record without the source's own; none for a source outside every
        # group (group 0's record less a non-member's could even cancel the +2).
        others_hits = np.where(member, group_hits[g] - hits, 0.0)
        others_total = np.where(member, group_total[g] - total, 0.0)
        rate = (others_hits + 1) / (np.maximum(others_total, 0.0) + 2)
        borrowed = self.group_strength * member
        return data.prior_alpha + borrowed * rate, data.prior_beta + borrowed * (1 - rate)

    def _class_counts(
        self, layout: Layout, posterior: FloatArray, none: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Each class's expected true claims, and expected "none of them" (``none``, each
        question's) among the judged questions of its claims (``Layout.judged_question``);
        each shape (n_classes,).

        A claim only its one source speaks to is in the store because that source
        said it: counted, its posterior would lean the base rate towards its
        source's stance, and the next E-step lean the claim further (a store of
        such claims, all supported, would learn that every claim is true)."""
        data = layout.data
        n, c = data.n_claims, self.base_.size
        judged = layout.judged_question[data.question]
        true = segment_sum(posterior[:n] * judged, data.claim_class, c)
        false = segment_sum(none[data.question] * judged, data.claim_class, c)
        return true, false
