"""``ConfusionMatrices``: a confusion matrix a source over answer classes (Dawid-Skene),
and ``_one_class``, the sources whose picks are all of one class."""

from __future__ import annotations

import numpy as np

from scoring.evidence import FloatArray, IntArray, segment_sum
from scoring.fit.data import BoolArray, FitData
from scoring.fit.layout import Layout
from scoring.fit.partitions import Parameters, Statistics
from scoring.fit.structures.one_coin import OneCoin, _log
from scoring.fit.structures.shrunk import _Shrunk

# A source whose picks are all of one class is read as ignoring the questions when a source
# reading them would pick that class every time with less than this chance.
ONE_CLASS_CHANCE = 1e-3


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
        return self.base_scores(layout) + self.evidence(layout)

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
