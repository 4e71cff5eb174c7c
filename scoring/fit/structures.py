"""What the fit can learn about sources, one class per structure (in the manner of crowd-kit).

Each structure says how likely a source's stance is under each state of its
question; EM alternates the claims' posteriors (``_e_step``) and the sources'
parameters (``_m_step``). ``__init__`` only stores parameters; ``fit`` returns
self; fitted attributes end in ``_``. ``docs/model-fit.md`` states the model.
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
# A source whose picks are all of one class is read as ignoring the questions when a source
# reading them would pick that class every time with less than this chance.
ONE_CLASS_CHANCE = 1e-3
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
        self.score_ = self._base_scores(layout) + layout.vote_scores()

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
        return self._base_scores(layout) + self.evidence(layout)

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

    def _base_scores(self, layout: Layout) -> FloatArray:
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
        question's) among the questions of its claims; each shape (n_classes,)."""
        data = layout.data
        n, c = data.n_claims, self.base_.size
        true = segment_sum(posterior[:n], data.claim_class, c)
        false = segment_sum(none[data.question], data.claim_class, c)
        return true, false


class _Shrunk(OneCoin):
    """A structure with more than one number a source, each row of them under a prior
    centred on the source's one-coin reliability with ``strength`` pseudo-observations
    (``ConfusionMatrices``, ``TwoCoins``)."""

    def __init__(
        self,
        strength: float = 4.0,
        class_prior: bool = False,
        group_strength: float = 0.0,
        max_iter: int = 100,
        tol: float = 1e-6,
    ) -> None:
        super().__init__(class_prior, group_strength, max_iter, tol)
        self.strength = strength

    def describe(self) -> str:
        return super().describe().replace(self.name, f"{self.name} ({self.strength:g})")


class ConfusionMatrices(_Shrunk):
    """A confusion matrix a source over answer classes (Dawid-Skene), shrunk towards one coin.

    When claims have classes (``FitData.claim_class``: which answer an
    answer is, e.g. a breed), source s picks class j when the truth is class k
    with chance ``confusion_[s, k, j]``; under "none of them" its pick is a
    random one of the C classes. A pick therefore weighs
    ``ln(C confusion_[s, k, j])`` on every answer of class k of its question.
    Each row of a matrix has a Dirichlet prior whose mode is the source's
    one-coin row (r on the diagonal, the rest even) with ``strength``
    pseudo-picks, so a source with few picks keeps its one-coin record, and a
    source that reliably says "Norfolk" for "Norwich" is read as what it is.
    Refutations keep the one-coin weights.

    A source that picks one class every time, where a source that reads the
    questions would do so with chance below ``ONE_CLASS_CHANCE`` (that class's
    share of the store's picks, to the power of its picks), tells nothing
    about which answer is true: its rows are tied to its picks' shares (with
    ``strength`` pseudo-picks spread evenly), the same under every truth and
    under "none of them", so its picks weigh nothing. Left free, such sources
    (crowd workers who give one label to everything) read as perfectly
    reliable in a fit where nearly every question has their class, an
    optimum the EM can fall into from the vote when they are many or
    prolific.

    Parameters
    ----------
    strength : float, default 4
        Pseudo-picks of each matrix row's prior.
    Others : as ``OneCoin``.

    Attributes
    ----------
    confusion_ : ndarray, shape (n_sources, n_classes, n_classes)
        Rows sum to 1.
    Others : as ``OneCoin``.
    """

    name = "confusion matrices"
    _ROW_STATE = (
        *OneCoin._ROW_STATE,
        "_picks",
        "_pair_row",
        "_pair_state",
        "_pair_claim",
        "_pair_true",
        "_pair_picked",
        "_other_rows",
        "_pair_weight",
    )

    def _start(self, layout: Layout) -> None:
        super()._start(layout)
        data = layout.data
        self._picks = np.flatnonzero(data.sign > 0)
        self._pair_row, self._pair_state = layout.pairs(self._picks)
        self._pair_claim = self._pair_state < data.n_claims
        self._pair_true = np.where(self._pair_claim, layout.state_class[self._pair_state], 0)
        self._pair_picked = data.claim_class[data.claim[self._pair_row]]
        self._other_rows = np.ones(data.n_rows)
        self._other_rows[self._picks] = 0.0
        self._shared = np.zeros_like(self._shared_rows(data.fidelity))
        # Each source's picks of each class, for ``_one_class`` (a sum over partitions).
        c = self.base_.size
        cell = data.source[self._picks].astype(np.intp) * c
        cell += data.claim_class[data.claim[self._picks]]
        self._picked = segment_sum(np.ones(cell.size), cell, data.n_sources * c)

    def _first_parameters(self) -> None:
        self.confusion_ = self.one_coin_matrices(self.reliability_)

    def one_coin_matrices(self, reliability: FloatArray) -> FloatArray:
        """One-coin matrices, shape (n_sources, C, C): r on the diagonal, the rest even."""
        c = self.base_.size
        off = ((1 - reliability) / max(c - 1, 1))[:, None, None]
        matrix = np.broadcast_to(off, (reliability.size, c, c)).copy()
        diagonal = np.arange(c)
        matrix[:, diagonal, diagonal] = reliability[:, None]
        return matrix

    def _pick_chances(self, layout: Layout, pair_row: IntArray, pair_state: IntArray) -> FloatArray:
        """Chance of each pick under each state of its question ("none": a random pick)."""
        data = layout.data
        c = self.base_.size
        s = data.source[pair_row]
        picked = data.claim_class[data.claim[pair_row]]
        claim_state = pair_state < data.n_claims
        true = np.where(claim_state, layout.state_class[pair_state], 0)
        fidelity = data.fidelity[pair_row]
        chance = fidelity * self.confusion_[s, true, picked] + (1 - fidelity) / c
        # A source whose rows are one (its picks ignore the truth) picks alike under "none".
        tied = (self.confusion_ == self.confusion_[:, :1]).all(axis=(1, 2))
        return np.where(claim_state | tied[s], chance, 1.0 / c)

    def _e_step(self, layout: Layout) -> FloatArray:
        data = layout.data
        weight, shared = self._row_weights(layout)
        self._own = weight * self._other_rows
        self._shared = shared * self._shared_rows(self._other_rows)
        chance = self._pick_chances(layout, self._pair_row, self._pair_state)
        scale = data.weight_scale[self._pair_row]
        self._pair_weight = (_log(chance) + np.log(self.base_.size)) * scale
        # A pick's weight on its own claim against "none of them", for the explanations
        # (its weight on "none" is 0 but for a source whose picks ignore the truth).
        own = self._pair_state == data.claim[self._pair_row]
        none = ~self._pair_claim
        self.weight_ = self._own.copy()
        self.weight_[self._pair_row[own]] = self._pair_weight[own]
        self.weight_[self._pair_row[none]] -= self._pair_weight[none]
        return self._base_scores(layout) + self.evidence(layout)

    def evidence(self, layout: Layout, rows: BoolArray | None = None) -> FloatArray:
        pair_weight = (
            self._pair_weight if rows is None else self._pair_weight * rows[self._pair_row]
        )
        return super().evidence(layout, rows) + segment_sum(
            pair_weight, self._pair_state, layout.n_states
        )

    def pair_likelihood(
        self, layout: Layout, pair_row: IntArray, pair_state: IntArray
    ) -> FloatArray:
        one_coin = super().pair_likelihood(layout, pair_row, pair_state)
        pick = layout.data.sign[pair_row] > 0
        return np.where(pick, self._pick_chances(layout, pair_row, pair_state), one_coin)

    def parameters(self) -> Parameters:
        return {**super().parameters(), "confusion": self.confusion_}

    def set_parameters(self, parameters: Parameters) -> None:
        super().set_parameters(parameters)
        self.confusion_ = parameters["confusion"]

    def _statistics(self, layout: Layout, posterior: FloatArray) -> Statistics:
        """As ``OneCoin``'s, and ``counts``, shape (n_sources * C * C,): each source's
        expected picks of class j when the truth is of class k."""
        data = layout.data
        n, c = data.n_sources, self.base_.size
        source = data.source[self._pair_row].astype(np.intp)
        cell = (source * c + self._pair_true) * c + self._pair_picked
        mass = layout.mass[self._pair_row] * posterior[self._pair_state] * self._pair_claim
        counts = segment_sum(mass, cell, n * c * c)
        return {**super()._statistics(layout, posterior), "counts": counts, "picked": self._picked}

    def _m_step(self, data: FitData, statistics: Statistics) -> float:
        change = super()._m_step(data, statistics)
        c = self.base_.size
        counts = statistics["counts"].reshape(data.n_sources, c, c)
        centre = self.one_coin_matrices(self.reliability_)
        confusion = (self.strength * centre + counts) / (
            self.strength + counts.sum(axis=2, keepdims=True)
        )
        # One row for every truth: the source's picks, with ``strength`` even pseudo-picks.
        picked = statistics["picked"].reshape(data.n_sources, c)
        one_class = _one_class(picked)
        shares = (picked[one_class] + self.strength / c) / (
            self.strength + picked[one_class].sum(axis=1, keepdims=True)
        )
        confusion[one_class] = shares[:, None, :]
        change = max(change, float(np.abs(confusion - self.confusion_).max(initial=0.0)))
        self.confusion_ = confusion
        return change


def _one_class(picked: FloatArray) -> BoolArray:
    """Sources whose picks (counts by class, shape (n_sources, C)) are all of one class, with
    chance below ``ONE_CLASS_CHANCE`` for a source picking at the store's shares."""
    n = picked.sum(axis=1)
    share = picked.sum(axis=0) / max(float(n.sum()), 1.0)
    top = picked.argmax(axis=1)
    alone = (n > 0) & (picked[np.arange(n.size), top] == n)
    return alone & (share[top] ** n < ONE_CLASS_CHANCE)


class TwoCoins(_Shrunk):
    """A coin per stance on yes/no claims (binary Dawid-Skene), shrunk towards one coin.

    On a lone claim without answer classes (``Layout.binary``: a statement that
    is true or false), source s supports a true claim with chance
    ``stances_[s, 0]`` (its sensitivity) and refutes a false one with chance
    ``stances_[s, 1]`` (its specificity), so a support weighs
    ``ln(sensitivity / (1 - specificity))`` on the claim and a refutation
    ``ln((1 - sensitivity) / specificity)``. One coin is the case where both
    are r; a source that supports whatever it is asked has a high sensitivity
    and a low specificity, and its support is then weak evidence. Each coin has
    a Beta prior of ``strength`` pseudo-statements, as discriminating as the
    source's one-coin reliability and leaning as its statements do
    (``_prior_coins``), so a source with few statements keeps its one-coin
    record and its lean. Every other row (picks among answers) keeps the
    one-coin weights.

    Parameters
    ----------
    strength : float, default 4
        Pseudo-statements of each coin's prior (the learner's ``coin_strength``, 2).
    Others : as ``OneCoin``.

    Attributes
    ----------
    stances_ : ndarray, shape (n_sources, 2)
        Each source's sensitivity and specificity.
    Others : as ``OneCoin``.
    """

    name = "two coins"
    _ROW_STATE = (*OneCoin._ROW_STATE, "_yes_no", "_yes_no_cell", "_yes_no_mass")

    def _start(self, layout: Layout) -> None:
        super()._start(layout)
        data = layout.data
        self._yes_no = np.flatnonzero(layout.binary & (data.sign != 0))
        # Each yes/no row's (source, stance) cell, 2 s + (0 supports, 1 refutes), and
        # each cell's mass: the M-step's totals, the same every iteration.
        self._yes_no_cell = 2 * data.source[self._yes_no].astype(np.intp)
        self._yes_no_cell += data.sign[self._yes_no] < 0
        self._yes_no_mass = segment_sum(
            layout.mass[self._yes_no], self._yes_no_cell, 2 * data.n_sources
        )

    def _first_parameters(self) -> None:
        self.stances_ = np.repeat(self.reliability_[:, None], 2, axis=1)

    def _yes_no_chances(self, data: FitData, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        """Chance of each yes/no row's stance when its claim is true and when it is
        false (a relay or hedge of fidelity P: a random stance with chance 1 - P)."""
        s = data.source[rows].astype(np.intp)
        fidelity = data.fidelity[rows]
        supports_true = fidelity * self.stances_[s, 0] + (1 - fidelity) / 2
        supports_false = fidelity * (1 - self.stances_[s, 1]) + (1 - fidelity) / 2
        support = data.sign[rows] > 0
        return (
            np.where(support, supports_true, 1 - supports_true),
            np.where(support, supports_false, 1 - supports_false),
        )

    def _yes_no_weights(self, data: FitData) -> FloatArray:
        """Each yes/no row's log-likelihood ratio, true against false, shape (n_yes_no,)."""
        rows = self._yes_no
        if not self._direct:
            true, false = self._yes_no_chances(data, rows)
            return (_log(true) - _log(false)) * data.weight_scale[rows]
        # Every statement direct: a row's ratio is its (source, stance) cell's, worked
        # out once a cell with ``_yes_no_chances``'s arithmetic.
        sensitivity = np.clip(self.stances_[:, 0], _TINY, 1 - _TINY)
        specificity = np.clip(self.stances_[:, 1], _TINY, 1 - _TINY)
        table = np.empty(2 * sensitivity.size)
        table[0::2] = np.log(sensitivity) - np.log1p(-specificity)
        table[1::2] = np.log1p(-sensitivity) - np.log(specificity)
        return table[self._yes_no_cell] * data.weight_scale[rows]

    def _row_weights(self, layout: Layout) -> tuple[FloatArray, FloatArray]:
        weight, shared = super()._row_weights(layout)
        # A yes/no row's chances under "other" and "none" are one number: its shared
        # weight is 0 under either structure, and only its own weight changes.
        weight[self._yes_no] = self._yes_no_weights(layout.data)
        return weight, shared

    def pair_likelihood(
        self, layout: Layout, pair_row: IntArray, pair_state: IntArray
    ) -> FloatArray:
        one_coin = super().pair_likelihood(layout, pair_row, pair_state)
        data = layout.data
        yes_no = layout.binary[pair_row] & (data.sign[pair_row] != 0)
        true, false = self._yes_no_chances(data, pair_row)
        chance = np.where(pair_state == data.claim[pair_row], true, false)
        return np.where(yes_no, chance, one_coin)

    def parameters(self) -> Parameters:
        return {**super().parameters(), "stances": self.stances_}

    def set_parameters(self, parameters: Parameters) -> None:
        super().set_parameters(parameters)
        self.stances_ = parameters["stances"]

    def _statistics(self, layout: Layout, posterior: FloatArray) -> Statistics:
        """As ``OneCoin``'s, and per (source, stance) cell on yes/no claims, shape
        (n_sources * 2,): ``stance_true``, the expected mass on true claims, and
        ``stance_mass``, all the mass."""
        data = layout.data
        true = posterior[data.claim[self._yes_no]] * layout.mass[self._yes_no]
        return {
            **super()._statistics(layout, posterior),
            "stance_true": segment_sum(true, self._yes_no_cell, 2 * data.n_sources),
            "stance_mass": self._yes_no_mass,
        }

    def _m_step(self, data: FitData, statistics: Statistics) -> float:
        change = super()._m_step(data, statistics)
        mass = statistics["stance_mass"].reshape(-1, 2)  # (supports, refutes) of each source
        true = statistics["stance_true"].reshape(-1, 2)  # the same on true claims
        false = mass - true
        prior_sensitivity, prior_specificity = self._prior_coins(mass, true)
        sensitivity = (self.strength * prior_sensitivity + true[:, 0]) / (
            self.strength + true.sum(axis=1)
        )
        specificity = (self.strength * prior_specificity + np.maximum(false[:, 1], 0.0)) / (
            self.strength + np.maximum(false.sum(axis=1), 0.0)
        )
        stances = np.stack([sensitivity, specificity], axis=1)
        change = max(change, float(np.abs(stances - self.stances_).max(initial=0.0)))
        self.stances_ = stances
        return change

    def _prior_coins(self, mass: FloatArray, true: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Each source's prior sensitivity and specificity, shape (n_sources,) each: as
        discriminating as its one-coin reliability r (sens0 + spec0 - 1 = 2r - 1), and
        leaning as its own statements do (``mass``: its (supports, refutes) mass; ``true``:
        the same on claims now judged true; shape (n_sources, 2)).

        Centred on sens0 = spec0 = r, the prior would say that a source leans neither
        way, so a source that refutes most of what it is asked would be explained more
        cheaply by few true claims than by its coins: the EM slid to a store of claims
        nearly all false (duck with three answers a question as yes/no statements: 0.556,
        where the vote has 0.685). Shifted by d so that the prior's chance of a support,
        t sens0 + (1 - t)(1 - spec0), is the source's own share of supports (t: the share
        of its statements on claims judged true), leaning costs it nothing either way.
        """
        r = self.reliability_
        statements = mass.sum(axis=1)
        lean = (mass[:, 0] + 1) / (statements + 2)
        on_true = (true.sum(axis=1) + 1) / (statements + 2)
        shift = lean - (1 - r) - on_true * (2 * r - 1)
        return np.clip(r + shift, _TINY, 1 - _TINY), np.clip(r - shift, _TINY, 1 - _TINY)
