"""``TwoCoins``: a coin per stance on yes/no claims (binary Dawid-Skene)."""

from __future__ import annotations

import numpy as np

from scoring.evidence import FloatArray, IntArray, segment_sum
from scoring.fit.data import FitData
from scoring.fit.layout import Layout
from scoring.fit.partitions import Parameters, Statistics
from scoring.fit.structures.one_coin import _TINY, OneCoin, _log
from scoring.fit.structures.shrunk import _Shrunk


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
