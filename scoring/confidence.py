"""Claims' confidences and credible intervals from their evidence rows, computed two ways.

``reference_confidence`` is the model as docs/model.md states it, claim by
claim: each row's weight for every reliability draw (and for the means),
summed, saturated, made a probability within the claim's question, and the
interval read off the sorted draws. It scores calls of a few claims (a lone
claim, a question's answers), where making arrays of a few rows costs more
than the arithmetic on them.

``vectorised_confidence`` is the fast path for calls of many claims: the same
arithmetic over a whole ``EvidenceRows`` table at once, in reused buffers,
with no (rows, samples) array. tests/scoring/test_scorer_paths.py holds it to
the reference. ``make bench-scoring`` (bench/results/scoring_speed.md) is why
each serves the calls it does. Per claim, for the numbers alone: 21 against
48 us at one claim, 15 against 4 at 100, 14 against 2 at 1,000 (reference
against vectorised; whole scores cost the same at about 8 claims).

Both draw each entity's reliability ``interval_samples`` times (memoised per
source, seeded by its id) and carry its mean as one more column, so the point
estimate (the plug-in of the means) and the samples go through one pass. Calls
of many passes over one store's entities (a re-scoring job) give the
vectorised path a ``DrawTable``: each entity's draws, and the log-odds of its
direct channel, made once for all of them.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from scoring.claims import question_units
from scoring.evidence import (
    EPS,
    FloatArray,
    IntArray,
    effective_reliability,
    exclusive_posterior,
    logistic,
    logit,
    noisy_or,
    saturate,
)
from scoring.intervals import (
    DRAW_CACHE_SIZE,
    credible_interval,
    draws_and_mean,
    new_draws_and_mean,
    quantile_positions,
)
from scoring.params import ScoringParams
from scoring.rows import Entities, EvidenceRows, RowLists


@dataclass(slots=True)
class Evaluation:
    """The numbers of the scores of some claims, as Python lists.

    Attributes
    ----------
    mean : list of float, length n_rows
        Reliability (posterior mean) of each row's source.
    effective : list of float, length n_rows
        Effective reliability of each row at the means, unclipped (merged on
        the first of several channels of one source).
    weight : list of float, length n_rows
        Each row's log-odds contribution at the means; 0 for neutral rows and
        for channels merged into another row.
    confidence : list of float, length n_claims
    interval : list of [low, high], length n_claims
        Equal-tailed credible interval at ``interval_level``, widened to
        contain the confidence.
    """

    mean: list[float]
    effective: list[float]
    weight: list[float]
    confidence: list[float]
    interval: list[list[float]]


class OrderStatistics:
    """Where an equal-tailed interval's bounds lie among ``samples`` sorted draws
    (``scoring.intervals.quantile_positions``), to read them off picked columns.

    Attributes
    ----------
    columns : list of int, length 4
        Sorted positions below and above the lower bound, then the upper.
    columns_and_point : ndarray of int, shape (5,)
        ``columns``, then ``samples`` (the column of the means).
    """

    def __init__(self, samples: int, level: float) -> None:
        quantiles = quantile_positions(samples, level)
        self.columns = [i for below, above, _ in quantiles for i in (below, above)]
        self.columns_and_point = np.array([*self.columns, samples], dtype=np.intp)
        self._below_weight = np.array([1 - frac for _, _, frac in quantiles])
        self._above_weight = np.array([frac for _, _, frac in quantiles])

    def bounds(self, columns: FloatArray) -> FloatArray:
        """Lower and upper bounds (last axis) from values at ``columns`` (first four)."""
        bounds = columns[..., 0:4:2] * self._below_weight
        bounds += columns[..., 1:4:2] * self._above_weight
        return bounds


@functools.lru_cache(maxsize=8)
def order_statistics(samples: int, level: float) -> OrderStatistics:
    """``OrderStatistics(samples, level)``, made once."""
    return OrderStatistics(samples, level)


@functools.lru_cache(maxsize=1024)
def prior_log_odds(prior: float) -> float:
    """``logit`` of one claim prior; memoised, as most claims share the default prior."""
    return float(logit([prior])[0])


def _draws(rows: EvidenceRows, samples: int) -> list[FloatArray]:
    """Each entity's reliability draws and mean, shape (samples + 1,) each (read-only)."""
    return [
        draws_and_mean(i, b.alpha, b.beta, samples)
        for i, b in zip(rows.ids, rows.beliefs, strict=True)
    ]


class DrawTable:
    """The reliability draws of the entities of many passes, and the log-odds of each
    one's direct channel (itself, certain, unrelayed), each made once.

    A pass of a few thousand rows names a few thousand entities: stacking their
    draws and taking the logarithms of their channels cost more than the rest
    of the pass, and a re-scoring job met each entity again in every chunk. The
    table is made for one columns' entities (``scoring.columns.ClaimColumns``,
    looked up as ``entities``) and read by the passes built from those columns
    with them (``row_lists``), which name entities by code; an entity is drawn at
    its first pass. Pickled without its draws (for a Dask worker, which makes its own).

    Parameters
    ----------
    samples : int
        ``ScoringParams.interval_samples`` of the passes.
    entities : Entities
        The columns' entities, every one (``Entities.of(columns.entities, ...)``).

    Attributes
    ----------
    reliability : ndarray, shape (n_entities + 1, samples + 1)
        Row 0 is all ones (the perfect relay that pads chains), then each
        entity's draws and mean (``draws_and_mean``), row ``code + 1``; rows of
        entities not drawn yet are uninitialised.
    log_odds : ndarray, shape (n_entities + 1, samples + 1)
        Each entity's direct channel's log-odds, as ``_sampled_log_odds`` makes them.
    effective : ndarray, shape (n_entities + 1,)
        Its effective reliability at the means, unclipped.
    """

    def __init__(self, samples: int, entities: Entities) -> None:
        self.samples = samples
        self.entities = entities
        self._lock = threading.Lock()
        rows = len(entities.ids) + 1
        self._drawn = np.zeros(rows, dtype=bool)
        self._drawn[0] = True
        # Rows are written as entities come (the pages of the others stay untouched).
        self.reliability = np.empty((rows, samples + 1))
        self.reliability[0] = 1.0
        self.log_odds = np.empty((rows, samples + 1))
        self.effective = np.empty(rows)

    def __getstate__(self) -> dict[str, Any]:
        return {"samples": self.samples, "entities": self.entities}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["samples"], state["entities"])  # type: ignore[misc]

    @property
    def rows_known(self) -> int:
        """Entities drawn so far."""
        return int(self._drawn.sum()) - 1

    def rows(self, rows: EvidenceRows) -> IntArray:
        """The table row of each entity of ``rows``, then 0 for the pad; shape (n_entities + 1,).

        Draws the entities not in it yet (thread-safe: Dask worker threads share one table).

        Raises
        ------
        ValueError
            For rows not built from the table's entities by code.
        """
        if rows.codes is None:
            raise ValueError("a DrawTable reads tables built from columns (row_lists)")
        at = np.append(rows.codes + 1, 0)
        new = at[~self._drawn[at]]
        if new.size:
            with self._lock:
                for row in new.tolist():
                    self._draw(row)
        return at

    def _draw(self, row: int) -> None:
        if self._drawn[row]:
            return
        belief = self.entities.beliefs[row - 1]
        draws = self.reliability[row]
        # Drawn afresh: the table is their cache, and the draw cache need not hold them too.
        draws[:] = new_draws_and_mean(
            self.entities.ids[row - 1], belief.alpha, belief.beta, self.samples
        )
        # The arithmetic of _sampled_log_odds for a certain, unrelayed channel
        # (its products by 1.0 are exact), so these are its values to the bit.
        effective = draws - 0.5
        effective += 0.5
        self.effective[row] = effective[-1]
        _log_odds(effective, self.log_odds[row])
        self._drawn[row] = True


# -- The reference: claim by claim --------------------------------------------------------


Entity = tuple[str, float, float]
"""A source or relay as the draw cache knows it: id, then its Beta belief's alpha and beta."""


class ChannelDraws(NamedTuple):
    """A channel's draws (``channel_draws``); arrays have shape (samples + 1,), the means last."""

    fidelity: FloatArray
    log_odds: FloatArray
    effective: float
    mean: float


@functools.lru_cache(maxsize=DRAW_CACHE_SIZE)
def channel_draws(
    source: Entity, relays: tuple[Entity, ...], certainty: float, samples: int
) -> ChannelDraws:
    """What a channel (source, relay chain, certainty) makes of each reliability draw.

    Memoised: most calls meet channels seen before. Returned arrays are read-only.

    Parameters
    ----------
    source : (id, alpha, beta)
    relays : tuple of (id, alpha, beta)
        The relay chain, nearest the source first.
    certainty : float in (0, 1]
    samples : int

    Returns
    -------
    ChannelDraws
        ``fidelity``: chance the channel passed the statement on faithfully,
        ``c * prod(r(relay))``; ``log_odds``: logit of the effective
        reliability ``(r - 1/2) * fidelity + 1/2``; ``effective``: that
        reliability at the means, unclipped; ``mean``: the source's mean.
    """
    reliability = draws_and_mean(*source, samples)
    fidelity = np.ones(samples + 1)
    for relay in relays:
        fidelity *= draws_and_mean(*relay, samples)
    fidelity *= certainty
    effective = effective_reliability(reliability, fidelity)
    log_odds = logit(effective)
    fidelity.flags.writeable = False
    log_odds.flags.writeable = False
    return ChannelDraws(fidelity, log_odds, float(effective[-1]), float(reliability[-1]))


def reference_confidence(t: RowLists, params: ScoringParams) -> Evaluation:
    """Scores' numbers for the claims of ``t``, claim by claim, as docs/model.md states them.

    Each row weighs ``sign * logit(r_eff) * count * f`` for every draw of the
    reliabilities (relays and hedges in ``r_eff``, a source's channels on one
    side of a claim merged by noisy-OR on its first row, ``f`` its cluster's
    design effect); a claim's total is saturated at ``evidence_cap`` and
    added to its prior's log-odds; claims of one question are mutually
    exclusive answers, draw by draw.

    Parameters
    ----------
    t : RowLists
    params : ScoringParams

    Returns
    -------
    Evaluation
    """
    samples = params.interval_samples
    cap = params.evidence_cap
    entity = [(i, b.alpha, b.beta) for i, b in zip(t.ids, t.beliefs, strict=True)]
    channels = [
        channel_draws(entity[s], tuple(entity[r] for r in chain), certainty, samples)
        for s, chain, certainty in zip(t.ch_source, t.ch_chain, t.ch_certainty, strict=True)
    ]
    rows_of = [channels[ch] for ch in t.channel]
    mean = [c.mean for c in rows_of]
    effective = [c.effective for c in rows_of]
    log_odds = [c.log_odds for c in rows_of]
    # A source's channels on one side of a claim are one piece of evidence: on its
    # first row, the effective reliability of their fidelities' noisy-OR.
    merged_rows: dict[int, list[int]] = {}
    for row, primary in zip(t.merged, t.merged_to, strict=True):
        merged_rows.setdefault(primary, [primary]).append(row)
    for primary, members in merged_rows.items():
        fidelity = noisy_or(
            np.array([rows_of[m].fidelity for m in members]), np.zeros(len(members), np.intp), 1
        )[0]
        source = draws_and_mean(*entity[t.ch_source[t.channel[primary]]], samples)
        merged = effective_reliability(source, fidelity)
        effective[primary] = float(merged[-1])
        log_odds[primary] = logit(merged)
    coef = [float(s) * x for s, x in zip(t.sign, t.scale.tolist(), strict=True)]
    weight = [float(odds[samples]) * c for odds, c in zip(log_odds, coef, strict=True)]

    # Each claim's evidence for every draw and the means, before saturation.
    totals: list[FloatArray] = []
    for ci in range(len(t.prior)):
        total = np.zeros(samples + 1)
        for row in range(t.start[ci], t.start[ci + 1]):
            if coef[row]:  # neutral rows and merged channels carry none
                total += log_odds[row] * coef[row]
        totals.append(total)

    # Confidence: sigma(prior + saturated evidence); claims of one question are
    # its mutually exclusive answers, draw by draw. The interval holds the
    # quantiles of the drawn confidences, widened to contain the means' point.
    order = order_statistics(samples, params.interval_level)
    points = [0.0] * len(totals)
    intervals = [[0.0, 0.0]] * len(totals)
    for members in question_units(t.question):
        if len(members) == 1:
            # A confidence that increases with the total evidence: only the
            # totals' order statistics and the point need the transform.
            ci = members[0]
            totals[ci][:samples].sort()
            picked = totals[ci][order.columns_and_point]
            drawn = logistic(saturate(picked, cap) + prior_log_odds(t.prior[ci]))
            point = float(drawn[4])
            low, high = order.bounds(drawn).tolist()
            points[ci], intervals[ci] = point, [min(low, point), max(high, point)]
            continue
        score = saturate(np.array([totals[ci] for ci in members]), cap)
        score += np.array([prior_log_odds(t.prior[ci]) for ci in members])[:, None]
        joint = exclusive_posterior(score, np.zeros(len(members), np.intp), 1)
        bounds = credible_interval(joint[:, :samples], joint[:, samples], params.interval_level)
        for ci, point, low, high in zip(
            members, joint[:, samples].tolist(), *(b.tolist() for b in bounds), strict=True
        ):
            points[ci], intervals[ci] = point, [low, high]
    return Evaluation(mean, effective, weight, points, intervals)


# -- The fast path: a whole table at once -------------------------------------------------

# Workspace buffers up to this many cells (8 bytes each; 6 slots) are kept per
# thread: enough for calls of a few hundred claims, at most 12 MB.
_WORKSPACE_CELLS = 1 << 18


class _Workspace(threading.local):
    """Per-thread buffers for the (channels or claims, samples) arrays of a pass.

    A fresh array of a few hundred kilobytes is served by ``mmap`` and
    page-faults on first touch, which costs more than the arithmetic done in
    it; reusing buffers avoids that. A buffer is only valid until the next
    call on the same thread, so nothing taken from it may outlive a pass.
    """

    def __init__(self) -> None:
        self.buffers: dict[int, FloatArray] = {}

    def get(self, slot: int, rows: int, columns: int) -> FloatArray:
        """An uninitialised C-contiguous (rows, columns) array that is slot ``slot``."""
        cells = rows * columns
        if cells > _WORKSPACE_CELLS:
            return np.empty((rows, columns))
        buffer = self.buffers.get(slot)
        if buffer is None or buffer.size < cells:
            buffer = self.buffers[slot] = np.empty(max(cells, 4096))
        return buffer[:cells].reshape(rows, columns)


_workspace = _Workspace()
# Claims x samples of a block of ``_sampled_totals`` (256 KB): its totals and a
# rank's weights fit in a core's L2 cache together.
_BLOCK_CELLS = 1 << 15
# Slots of the workspace.
_EFFECTIVE, _FIDELITY, _ODDS, _RELAY, _TOTALS, _SCRATCH = range(6)


def vectorised_confidence(
    rows: EvidenceRows, params: ScoringParams, table: DrawTable | None = None
) -> Evaluation:
    """``reference_confidence`` of the claims of ``rows``, all at once.

    A claim alone in its question has a confidence that increases with its
    total evidence, so the order statistics are taken of the totals and only
    those few columns are pushed through the saturation and the logistic;
    answers of one question are scored jointly, draw by draw. With ``table``
    (of ``params.interval_samples`` draws), entities' draws and direct
    channels' log-odds are read from it.
    """
    samples = params.interval_samples
    cap = params.evidence_cap
    order_stats = order_statistics(samples, params.interval_level)
    if table is None:
        reliability = np.array([*_draws(rows, samples), np.ones(samples + 1)])
        entity = np.arange(rows.n_entities + 1)
    else:
        entity = table.rows(rows)  # may draw entities not drawn yet
        reliability = table.reliability
    odds = _sampled_log_odds(rows, reliability, entity, table)
    weight = odds.of_rows(samples)
    weight *= rows.coef
    # Row i of totals is claim order[i]; its last column is the means' evidence.
    totals, order = _sampled_totals(rows, odds)
    sampled = totals[:, :samples]
    joint = None
    if rows.n_questions < rows.n_claims:
        # Answers to one question are scored jointly, sample by sample.
        joint = np.flatnonzero(np.bincount(rows.question)[rows.question] > 1)
        position = joint
        if order is not None:
            position = np.empty_like(order)
            position[order] = np.arange(order.size)
            position = position[joint]
        score = saturate(sampled[position], cap)
        score += rows.prior_logit[joint, None]
        joint_samples = exclusive_posterior(score, rows.question[joint], rows.n_questions)
        joint_bounds = order_stats.bounds(np.sort(joint_samples, axis=1)[:, order_stats.columns])
    sampled.sort(axis=1)
    # The order statistics behind the interval, then the point: each through
    # saturation and the logistic.
    columns = saturate(totals[:, order_stats.columns_and_point], cap)
    columns += rows.prior_logit[:, None] if order is None else rows.prior_logit[order, None]
    columns = logistic(columns)
    if order is not None:
        in_order = np.empty_like(columns)
        in_order[order] = columns
        columns = in_order
    if joint is None:
        confidence = columns[:, 4]
    else:
        total = saturate(np.bincount(rows.claim, weight, minlength=rows.n_claims), cap)
        confidence = exclusive_posterior(rows.prior_logit + total, rows.question, rows.n_questions)
    bounds = order_stats.bounds(columns)
    if joint is not None:
        bounds[joint] = joint_bounds
    np.minimum(bounds[:, 0], confidence, out=bounds[:, 0])
    np.maximum(bounds[:, 1], confidence, out=bounds[:, 1])
    return Evaluation(
        reliability[entity[rows.source], samples].tolist(),
        odds.effective_of_rows().tolist(),
        weight.tolist(),
        confidence.tolist(),
        bounds.tolist(),
    )


class _ChannelOdds(NamedTuple):
    """Each channel's log-odds for each draw (``_sampled_log_odds``), and where each
    evidence row finds its own: direct channels' in a ``DrawTable``, the others' here.

    Attributes
    ----------
    odds : ndarray, shape (k, s)
        The log-odds computed for the pass: its channels not taken from a table,
        then its merged channels.
    last : ndarray, shape (k,)
        Their effective reliabilities of the last sample (the means), unclipped.
    scratch : ndarray, shape (k', s)
        A buffer the caller may overwrite.
    row_odds : ndarray of int, shape (n_rows,)
        Each row's row of ``odds``; -1 for a row whose channel is in the table.
    table : DrawTable or None
        Where the direct channels' log-odds are, if anywhere.
    row_table : ndarray of int, shape (n_rows,)
        With ``table``, each row's row of ``table.log_odds`` where ``row_odds`` is
        -1 (0 elsewhere: a row that is overwritten).
    """

    odds: FloatArray
    last: FloatArray
    scratch: FloatArray
    row_odds: IntArray
    table: DrawTable | None
    row_table: IntArray

    def of_rows(self, column: int) -> FloatArray:
        """Column ``column`` of each row's log-odds; shape (n_rows,) (a new array)."""
        in_table = None if self.table is None else self.table.log_odds[:, column]
        return self._per_row(in_table, self.odds[:, column])

    def effective_of_rows(self) -> FloatArray:
        """Each row's effective reliability at the means, unclipped; shape (n_rows,)."""
        return self._per_row(None if self.table is None else self.table.effective, self.last)

    def _per_row(self, in_table: FloatArray | None, here: FloatArray) -> FloatArray:
        """Each row's value: from ``in_table`` (by table row, shape (n_entities,)) for a
        direct channel's row, else from ``here`` (by row of ``odds``)."""
        if in_table is None:
            return here[self.row_odds]
        picked = in_table[self.row_table]
        own = np.flatnonzero(self.row_odds >= 0)
        picked[own] = here[self.row_odds[own]]
        return picked

    def take(self, rows: IntArray, out: FloatArray) -> FloatArray:
        """The log-odds of evidence rows ``rows`` (shape (k,)) for each draw, written
        into ``out`` (shape (k, s)): each value copied once, from where it is."""
        if self.table is None:
            return self.odds.take(self.row_odds[rows], axis=0, out=out, mode="clip")
        self.table.log_odds.take(self.row_table[rows], axis=0, out=out, mode="clip")
        at = self.row_odds[rows]
        here = np.flatnonzero(at >= 0)
        if here.size:
            out[here] = self.odds.take(at[here], axis=0)
        return out


def _sampled_log_odds(
    rows: EvidenceRows, reliability: FloatArray, entity: IntArray, table: DrawTable | None
) -> _ChannelOdds:
    """Each channel's log-odds for each draw, computed in place.

    ``channel_draws``' arithmetic in the same order, on two or three (channels,
    samples) buffers: every fresh array of that size costs page faults worth
    more than the arithmetic on it. With ``table``, direct channels (a source,
    certain, unrelayed) are read from it where the rows need them, and only the
    others are computed.

    Parameters
    ----------
    reliability : ndarray, shape (k, s)
        Draws of each entity, by row.
    entity : ndarray of int, shape (n_entities + 1,)
        The row of ``reliability`` of each entity of ``rows``, then of the
        perfect relay (all ones) that pads short chains.
    table : DrawTable or None
        Where ``reliability`` comes from, if from a table.
    """
    n_channels = rows.ch_source.size
    computed: IntArray | None = None  # the channels computed here, when not all
    ch_source, ch_via, ch_certainty = rows.ch_source, rows.ch_via, rows.ch_certainty
    if table is not None:
        direct = (ch_certainty == 1.0) & (ch_via == rows.n_entities).all(axis=1)
        computed = np.flatnonzero(~direct)
        ch_source, ch_via, ch_certainty = (
            ch_source[computed],
            ch_via[computed],
            ch_certainty[computed],
        )
    certainty = ch_certainty[:, None]
    depth = ch_via.shape[1]
    shape = (ch_source.size, reliability.shape[1])
    effective = reliability.take(
        entity[ch_source], axis=0, out=_workspace.get(_EFFECTIVE, *shape), mode="clip"
    )
    effective -= 0.5
    if depth:
        via = entity[ch_via]
        fidelity = reliability.take(
            via[:, 0], axis=0, out=_workspace.get(_FIDELITY, *shape), mode="clip"
        )
        if depth > 1:
            relay = _workspace.get(_RELAY, *shape)
            for j in range(1, depth):
                fidelity *= reliability.take(via[:, j], axis=0, out=relay, mode="clip")
        fidelity *= certainty
        effective *= fidelity
    else:
        fidelity = np.broadcast_to(certainty, effective.shape)
        effective *= certainty
    effective += 0.5
    if rows.merged_into.size:
        # Rows of one source reached through several channels: only these
        # need the noisy-OR, whose logarithms are the costliest step.
        member_channel = rows.channel[rows.members]
        if computed is None:
            member_fidelity = fidelity[member_channel]
        else:
            # A direct channel's fidelity is 1.
            member_fidelity = np.ones((member_channel.size, reliability.shape[1]))
            at = np.searchsorted(computed, member_channel)
            relayed = at < computed.size
            relayed[relayed] = computed[at[relayed]] == member_channel[relayed]
            member_fidelity[relayed] = fidelity[at[relayed]]
        merged = noisy_or(member_fidelity, rows.member_group, rows.merged_into.size)
        merged_effective = effective_reliability(
            reliability[entity[rows.source[rows.merged_into]]], merged
        )
        effective = np.concatenate((effective, merged_effective))
    last = effective[:, -1].copy()
    odds = _log_odds(effective, _workspace.get(_ODDS, *effective.shape))
    if computed is None:
        return _ChannelOdds(odds, last, effective, rows.chx, None, rows.chx)
    assert table is not None
    # Rows of direct channels read the table's rows; the others, and the merged, ``odds``.
    at_odds = np.full(n_channels + effective.shape[0] - computed.size, -1, dtype=np.intp)
    at_odds[computed] = np.arange(computed.size)
    at_odds[n_channels:] = np.arange(computed.size, effective.shape[0])
    at_table = np.zeros(at_odds.size, dtype=np.intp)
    at_table[np.flatnonzero(direct)] = entity[rows.ch_source[direct]]
    chx = rows.chx
    return _ChannelOdds(odds, last, effective, at_odds[chx], table, at_table[chx])


def _sampled_totals(rows: EvidenceRows, odds: _ChannelOdds) -> tuple[FloatArray, IntArray | None]:
    """Each claim's unsaturated evidence for each draw of the channels' log-odds.

    The reference's sums (weights added in row order), but rank by rank: the
    first weighted row of every claim, then the second of those with two, and
    so on, each a leading slice of the claims ordered by their number of
    weighted rows. No (rows, samples) array is made.

    Parameters
    ----------
    odds : _ChannelOdds
        The log-odds of each row's channel, shape (s,) each.

    Returns
    -------
    totals : ndarray, shape (n_claims, s)
        Row i holds claim ``order[i]``.
    order : ndarray of int, shape (n_claims,), or None
        None when row i holds claim i.
    """
    n = rows.n_claims
    counts = rows.weighted_counts
    order: IntArray | None = None
    if not counts or min(counts) == max(counts):
        # Every claim has as many weighted rows: rank k is column k.
        ranked = rows.weighted.reshape(n, -1).T.ravel() if n else rows.weighted
        sizes = [n] * (counts[0] if counts else 0)
    else:
        count = np.array(counts)
        order = np.argsort(-count, kind="stable")
        position = np.empty(n, dtype=np.intp)
        position[order] = np.arange(n)
        claim = rows.claim[rows.weighted]
        rank = np.arange(rows.weighted.size) - (np.cumsum(count) - count)[claim]
        ranked = rows.weighted[np.argsort(rank * n + position[claim])]
        sizes = np.bincount(rank).tolist()
    coef = rows.coef[ranked, None]
    width = odds.odds.shape[1]
    totals = _workspace.get(_TOTALS, n, width)
    first = sizes[0] if sizes else 0
    totals[first:] = 0.0
    # A block of claims at a time, every rank of it: the block's totals and
    # weights stay in the CPU's cache from one rank to the next (rank by rank over
    # a 1 M-attribution job's 4,000-claim chunks, each pass went to memory).
    block = max(1, _BLOCK_CELLS // width)
    scratch = odds.scratch
    if scratch.shape[0] < block:
        scratch = _workspace.get(_SCRATCH, block, width)
    starts = list(itertools.accumulate(sizes, initial=0))
    for a in range(0, first, block):
        here = totals[a : min(a + block, first)]
        odds.take(ranked[a : a + here.shape[0]], here)
        here *= coef[a : a + here.shape[0]]
        for start, size in zip(starts[1:], sizes[1:], strict=False):
            if size <= a:
                break  # ranks hold fewer and fewer claims
            end = min(a + here.shape[0], size)
            weight = odds.take(ranked[start + a : start + end], scratch[: end - a])
            weight *= coef[start + a : start + end]
            here[: end - a] += weight
    return totals, order


def _log_odds(effective: FloatArray, out: FloatArray) -> FloatArray:
    """``logit(effective)`` written into ``out``; ``effective`` is clipped in place."""
    np.maximum(effective, EPS, out=effective)
    np.minimum(effective, 1 - EPS, out=effective)
    np.subtract(1.0, effective, out=out)
    np.divide(effective, out, out=out)
    return np.log(out, out=out)
