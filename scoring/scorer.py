"""Scoring attributed claims: confidence, credible interval, scales and explanation."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import numpy as np

from scoring.beta import Beta
from scoring.claims import STANCE_SIGN, Claim
from scoring.evidence import (
    EPS,
    FloatArray,
    IntArray,
    claim_log_odds,
    cluster_design_effect,
    effective_reliability,
    exclusive_posterior,
    logit,
    noisy_or,
    saturate,
)
from scoring.explain import Evidence, make_evidence, percent, sentence, summarize
from scoring.intervals import draws_and_mean
from scoring.scales import (
    credibility_level,
    credibility_levels,
    estimative_term,
    estimative_terms,
)

MODEL_NAME = "credence-logodds"
MODEL_VERSION = "1.0"

# Rows x samples evaluated in one vectorised pass (whole questions at a time).
# No (rows, samples) array is made, only (channels, samples) and (claims,
# samples) ones, so passes can be large: fewer passes spend less on per-pass
# overhead, and this bounds the memory of a call with 10,000 claims of 1,000
# attributions.
_CELLS_PER_PASS = 1 << 20

# Workspace buffers up to this many cells (8 bytes each; 6 slots) are kept per
# thread: enough for calls of a few hundred claims, at most 12 MB.
_WORKSPACE_CELLS = 1 << 18

# Calls with at most this many claims take scalar paths where numpy's per-call
# cost would exceed the work.
_FEW = 8

# A row whose |weight| is below this carries no evidence.
_NO_WEIGHT = 1e-12

# Prior of sources never defined: barely better than a coin, weakly held.
UNKNOWN_SOURCE = Beta.from_reliability(0.55, 4)


@dataclass(frozen=True, slots=True)
class SourceBelief:
    """What the scorer knows of a source: its reliability belief and its group."""

    belief: Beta
    group: str | None = None


def _unit(name: str, value: float, *, low_open: bool, high_open: bool) -> None:
    above = value > 0 if low_open else value >= 0
    below = value < 1 if high_open else value <= 1
    if not (above and below):
        raise ValueError(
            f"{name} must be in {'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        )


@dataclass(frozen=True)
class ScoringParams:
    """Settings of the scoring model (``config/default.toml`` ``[scoring]``, ``[groups]``).

    Parameters
    ----------
    default_claim_prior : float in (0, 1)
        Base rate of a claim that gives none.
    unknown_source : Beta
        Reliability belief of a source (or relay) the call does not define.
    group_correlation : mapping of str to float in [0, 1]
        Within-group correlation of sources, by group.
    default_group_correlation : float in [0, 1]
        Within-group correlation of groups not listed.
    unnamed_correlation : float in [0, 1]
        Correlation among the ``count`` unnamed sources of an attribution.
    evidence_cap : float > 0
        A claim's total evidence saturates at this many log-odds (may be inf).
    interval_level : float in (0, 1)
        Probability mass of the credible interval.
    interval_samples : int >= 2
        Monte Carlo draws of each source's reliability behind the interval.
    """

    default_claim_prior: float = 0.5
    unknown_source: Beta = UNKNOWN_SOURCE
    group_correlation: Mapping[str, float] = field(default_factory=dict)
    default_group_correlation: float = 0.3
    unnamed_correlation: float = 0.3
    evidence_cap: float = 7.0
    interval_level: float = 0.9
    interval_samples: int = 256

    def __post_init__(self) -> None:
        _unit("default_claim_prior", self.default_claim_prior, low_open=True, high_open=True)
        for group, rho in self.group_correlation.items():
            _unit(f"group_correlation[{group!r}]", rho, low_open=False, high_open=False)
        _unit(
            "default_group_correlation",
            self.default_group_correlation,
            low_open=False,
            high_open=False,
        )
        _unit("unnamed_correlation", self.unnamed_correlation, low_open=False, high_open=False)
        _unit("interval_level", self.interval_level, low_open=True, high_open=True)
        if not self.evidence_cap > 0:
            raise ValueError("evidence_cap must be > 0")
        if isinstance(self.interval_samples, bool) or not (
            isinstance(self.interval_samples, int) and self.interval_samples >= 2
        ):
            raise ValueError("interval_samples must be an integer >= 2")
        # A read-only copy, so a caller's later edit cannot change a frozen object.
        object.__setattr__(
            self, "group_correlation", MappingProxyType(dict(self.group_correlation))
        )

    def correlation(self, group: str) -> float:
        """Within-group correlation of sources of ``group``."""
        return self.group_correlation.get(group, self.default_group_correlation)


@dataclass(frozen=True, slots=True)
class Score:
    """A claim's score; the fields of the HTTP contract's Score.

    Attributes
    ----------
    claim_id : str or None
    confidence : float
        Probability the claim is true, in [0, 1].
    interval : (float, float)
        Credible interval of the confidence at ``ScoringParams.interval_level``.
    estimative : str
        ICD 203 term of the confidence.
    credibility : int
        Admiralty information credibility 1 .. 6.
    independent_sources : float
        Effective number of independent sources whose evidence carries weight.
    evidence : tuple of Evidence
        One entry per attribution, in the claim's order.
    summary : str
        One sentence.
    model : str
        ``MODEL_NAME/MODEL_VERSION``.
    """

    claim_id: str | None
    confidence: float
    interval: tuple[float, float]
    estimative: str
    credibility: int
    independent_sources: float
    evidence: tuple[Evidence, ...]
    summary: str
    model: str


def _fast_score() -> Callable[..., Score]:
    """``Score(...)`` (positional) without a frozen dataclass's checked assignment of each field."""
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = (getattr(Score, f.name).__set__ for f in fields(Score))

    def build(
        claim_id: str | None,
        confidence: float,
        interval: tuple[float, float],
        estimative: str,
        credibility: int,
        independent_sources: float,
        evidence: tuple[Evidence, ...],
        summary: str,
        model: str,
    ) -> Score:
        score = new(Score)
        s0(score, claim_id)
        s1(score, confidence)
        s2(score, interval)
        s3(score, estimative)
        s4(score, credibility)
        s5(score, independent_sources)
        s6(score, evidence)
        s7(score, summary)
        s8(score, model)
        return score

    return build


make_score = _fast_score()


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
# Slots of the workspace.
_EFFECTIVE, _FIDELITY, _ODDS, _RELAY, _TOTALS, _SCRATCH = range(6)


class _Rows:
    """Flat arrays of the attributions of some claims, ready for vectorised evaluation.

    One row per attribution, claims in the given order and their rows
    contiguous. Entities (sources and relays) are indexed once; index
    ``n_entities`` is a perfect relay that pads short relay chains.

    A *channel* is a distinct (source, relay chain, certainty). Rows through
    one channel share its fidelity, effective reliability and log-odds, so
    those are evaluated once per channel and gathered per row: with
    reliability samples, the costly arithmetic scales with the channels of a
    call, not with its rows. A source reached through several channels on one
    side of one claim is merged into an extra channel (the noisy-OR of their
    fidelities), appended after the plain ones and carried by the first row.
    """

    def __init__(
        self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief], params: ScoringParams
    ) -> None:
        ids: list[str] = []
        beliefs: list[Beta] = []
        groups: list[str | None] = []
        rhos: list[float] = []
        entity: dict[str, int] = {}
        unknown = params.unknown_source
        unnamed = params.unnamed_correlation

        def index(source_id: str) -> int:
            i = entity.get(source_id)
            if i is None:
                i = entity[source_id] = len(ids)
                ids.append(source_id)
                known = sources.get(source_id)
                if known is None:
                    beliefs.append(unknown)
                    groups.append(None)
                    rhos.append(unnamed)
                else:
                    beliefs.append(known.belief)
                    groups.append(known.group)
                    rhos.append(params.correlation(known.group) if known.group else unnamed)
            return i

        # A channel's key: its source alone when direct and certain.
        channels: dict[object, int] = {}
        ch_source: list[int] = []
        ch_group: list[str | None] = []
        ch_chain: list[list[int]] = []
        ch_certainty: list[float] = []
        # How the summary names a channel: "source via relay via relay".
        ch_name: list[str] = []
        questions: dict[str, int] = {}
        question: list[int] = []
        prior: list[float] = []
        start: list[int] = []
        r_claim: list[int] = []
        r_channel: list[int] = []
        r_sign: list[int] = []
        # Reports behind each row: its count, the largest count of the
        # channels merged into it, 0 when merged into another row or neutral.
        reports: list[int | float] = []
        # Rows merged into the first row of their source and side.
        merged: list[int] = []
        merged_to: list[int] = []
        # Rows of a group's correlation cluster other than its first row.
        clustered: list[int] = []
        clustered_to: list[int] = []
        clusters: dict[tuple[int, str, int], int] = {}
        # Rows that carry weight (neither neutral nor merged), and their number per claim.
        weighted: list[int] = []
        weighted_counts: list[int] = []
        # Per claim, the names of its supporting, refuting and neutral
        # channels, or None when a source appears twice on one side.
        named: list[tuple[list[str], list[str], list[str]] | None] = []
        n_questions = 0
        default_prior = params.default_claim_prior
        sign_of = STANCE_SIGN
        add_channel = r_channel.append
        add_sign = r_sign.append
        add_reports = reports.append
        add_weighted = weighted.append
        row = 0
        for ci, c in enumerate(claims):
            if c.question is None:
                question.append(n_questions)
                n_questions += 1
            else:
                qi = questions.get(c.question)
                if qi is None:
                    qi = questions[c.question] = n_questions
                    n_questions += 1
                question.append(qi)
            p = c.prior
            if p is None:
                p = default_prior
            elif not 0 < p < 1:
                raise ValueError("a claim's prior must be in (0, 1)")
            prior.append(p)
            start.append(row)
            r_claim += [ci] * len(c.attributions)
            # First row of each source taking each side: channels of one
            # original source taking one side are one piece of evidence,
            # carried by the first of them.
            supports: dict[str, int] = {}
            refutes: dict[str, int] = {}
            neutral: list[str] = []
            names: tuple[list[str], list[str], list[str]] | None = ([], [], [])
            n_weighted = 0
            for a in c.attributions:
                s = sign_of.get(a.stance)
                if s is None:
                    raise ValueError(
                        f"stance must be supports, refutes or neutral, got {a.stance!r}"
                    )
                via = a.via
                certainty = a.certainty
                key: object = a.source
                if via or certainty != 1:
                    key = (a.source, tuple(via), certainty)
                ch = channels.get(key)
                if ch is None:
                    if not 0 < certainty <= 1:
                        raise ValueError("an attribution's certainty must be in (0, 1]")
                    ch = channels[key] = len(ch_source)
                    src = index(a.source)
                    ch_source.append(src)
                    ch_group.append(groups[src])
                    ch_chain.append([index(r) for r in via])
                    ch_certainty.append(certainty)
                    ch_name.append(f"{a.source} via {' via '.join(via)}" if via else a.source)
                n: int | float = a.count
                if type(n) is not int or n < 1:
                    n = _valid_count(n)
                if s:
                    primary = (supports if s > 0 else refutes).setdefault(a.source, row)
                    if primary == row:
                        add_reports(n)
                        add_weighted(row)
                        n_weighted += 1
                        group = ch_group[ch]
                        if group is not None:
                            cluster = clusters.setdefault((ci, group, s), row)
                            if cluster != row:
                                clustered.append(row)
                                clustered_to.append(cluster)
                        if names is not None:
                            names[0 if s > 0 else 1].append(ch_name[ch])
                    else:
                        # Several channels of one source may carry different
                        # counts of unnamed sources; the largest is the most
                        # that can stand behind it.
                        add_reports(0)
                        if n > reports[primary]:
                            reports[primary] = n
                        merged.append(row)
                        merged_to.append(primary)
                        names = None
                else:
                    add_reports(0)
                    if names is not None:
                        if a.source in neutral:
                            names = None
                        else:
                            neutral.append(a.source)
                            names[2].append(ch_name[ch])
                add_channel(ch)
                add_sign(s)
                row += 1
            weighted_counts.append(n_weighted)
            named.append(names)
        start.append(row)

        self.ids = ids
        self.beliefs = beliefs
        self.groups = groups
        self.start = start
        self.n_claims = len(claims)
        self.n_rows = row
        self.n_questions = n_questions
        self.question = np.array(question, dtype=np.intp)
        self.prior_logit = logit(np.array(prior, dtype=float))
        self.claim = np.array(r_claim, dtype=np.intp)
        self.channel = np.array(r_channel, dtype=np.intp)
        self.ch_source = np.array(ch_source, dtype=np.intp)
        self.source = self.ch_source[self.channel]
        self.sign = np.array(r_sign, dtype=float)
        self.row_merges = bool(merged)
        self.merge = np.arange(row)
        if merged:
            self.merge[merged] = merged_to
            self.primary = self.merge == np.arange(row)
        else:
            self.primary = np.ones(row, dtype=bool)
        self.reports = np.array(reports, dtype=float)
        # Correlation clusters: the rows of one group taking one side of one
        # claim, each numbered by its first row; every other row is its own.
        cluster_of = np.arange(row)
        if clustered:
            cluster_of[clustered] = clustered_to
        rho = np.array(rhos)[self.source]
        self.factor = cluster_design_effect(cluster_of, self.reports, rho, row)
        self.scale = self.reports * self.factor
        # A row's weight is its channel's log-odds times this.
        self.coef = self.sign * self.scale
        self.weighted = np.array(weighted, dtype=np.intp)
        self.weighted_counts = weighted_counts
        self.named = named

        self.ch_certainty = np.array(ch_certainty, dtype=float)
        depth = max(map(len, ch_chain), default=0)
        pad = len(ids)
        self.ch_via = np.array(
            [chain + [pad] * (depth - len(chain)) for chain in ch_chain], dtype=np.intp
        ).reshape(len(ch_chain), depth)
        # Each row's channel in the extended table: merged channels on the first rows.
        self.chx = self.channel
        self.members = self.member_group = self.merged_into = np.zeros(0, dtype=np.intp)
        if merged:
            # Rows of one source reached through several channels: only these
            # need the noisy-OR, whose logarithms are the costliest step.
            shared = np.bincount(self.merge, minlength=row)[self.merge] > 1
            self.members = np.flatnonzero(shared)
            self.merged_into, self.member_group = np.unique(
                self.merge[self.members], return_inverse=True
            )
            self.chx = self.channel.copy()
            self.chx[self.merged_into] = len(ch_source) + np.arange(self.merged_into.size)

    def channels(self, reliability: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Push entity reliabilities through the channels.

        Parameters
        ----------
        reliability : ndarray, shape (n_entities + 1,) or (n_entities + 1, s)
            Reliability of each entity (last: 1, the padding relay), optionally
            for each of s samples.

        Returns
        -------
        fidelity : ndarray, shape (n_channels[, s])
            Chance each channel passes the statement on faithfully.
        effective : ndarray, shape (n_channels + n_merged[, s])
            Effective reliability of each channel, then of each merged one.
        log_odds : ndarray, shape of ``effective``
        """
        column = (-1,) + (1,) * (reliability.ndim - 1)
        certainty = self.ch_certainty.reshape(column)
        if self.ch_via.shape[1]:
            fidelity = reliability[self.ch_via].prod(axis=1)
            fidelity *= certainty
        else:
            fidelity = np.broadcast_to(certainty, (certainty.shape[0], *reliability.shape[1:]))
        effective = effective_reliability(reliability[self.ch_source], fidelity)
        if self.merged_into.size:
            merged = noisy_or(
                fidelity[self.channel[self.members]], self.member_group, self.merged_into.size
            )
            effective = np.concatenate(
                (
                    effective,
                    effective_reliability(reliability[self.source[self.merged_into]], merged),
                )
            )
        return fidelity, effective, logit(effective)

    def posterior(self, score: FloatArray) -> FloatArray:
        """Confidence of each claim (rows of ``score``) from its log-odds, questions joint."""
        if self.n_questions < self.n_claims:
            return exclusive_posterior(score, self.question, self.n_questions)
        return _logistic(score)

    def evaluate(
        self, reliability: FloatArray, cap: float
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Push entity reliabilities through the model.

        Parameters
        ----------
        reliability : ndarray, shape (n_entities + 1,) or (n_entities + 1, s)
            Reliability of each entity (last: 1, the padding relay), optionally
            for each of s samples.

        Returns
        -------
        fidelity : ndarray, shape (n_rows[, s])
            Chance each row's own channel passed the statement on faithfully.
        effective : ndarray, shape (n_rows[, s])
            Effective reliability; on the first of several channels of one
            source, of the channels merged (the others carry no weight).
        weight : ndarray, shape (n_rows[, s])
            Log-odds contribution of each row.
        confidence : ndarray, shape (n_claims[, s])
        """
        fidelity, effective, log_odds = self.channels(reliability)
        weight, total = claim_log_odds(
            self.claim,
            self.sign,
            self.scale,
            None,
            self.n_claims,
            cap,
            log_odds=log_odds,
            index=self.chx,
        )
        column = (-1,) + (1,) * (reliability.ndim - 1)
        confidence = self.posterior(self.prior_logit.reshape(column) + total)
        return fidelity[self.channel], effective[self.chx], weight, confidence

    def sampled_log_odds(
        self, reliability: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``channels(reliability)[2]`` for sampled reliabilities, computed in place.

        The same arithmetic in the same order, on two or three (channels,
        samples) buffers: every fresh array of that size costs page faults
        worth more than the arithmetic on it.

        Parameters
        ----------
        reliability : ndarray, shape (n_entities + 1, s)

        Returns
        -------
        log_odds : ndarray, shape (n_channels + n_merged, s)
        last : ndarray, shape (n_channels + n_merged,)
            The effective reliabilities of the last sample (unclipped).
        scratch : ndarray, shape (k, s)
            A buffer the caller may overwrite.
        """
        certainty = self.ch_certainty[:, None]
        depth = self.ch_via.shape[1]
        shape = (self.ch_source.size, reliability.shape[1])
        effective = reliability.take(
            self.ch_source, axis=0, out=_workspace.get(_EFFECTIVE, *shape), mode="clip"
        )
        effective -= 0.5
        if depth:
            fidelity = reliability.take(
                self.ch_via[:, 0], axis=0, out=_workspace.get(_FIDELITY, *shape), mode="clip"
            )
            if depth > 1:
                relay = _workspace.get(_RELAY, *shape)
                for j in range(1, depth):
                    fidelity *= reliability.take(self.ch_via[:, j], axis=0, out=relay, mode="clip")
            fidelity *= certainty
            effective *= fidelity
        else:
            fidelity = np.broadcast_to(certainty, effective.shape)
            effective *= certainty
        effective += 0.5
        if self.merged_into.size:
            merged = noisy_or(
                fidelity[self.channel[self.members]], self.member_group, self.merged_into.size
            )
            effective = np.concatenate(
                (
                    effective,
                    effective_reliability(reliability[self.source[self.merged_into]], merged),
                )
            )
        last = effective[:, -1].copy()
        # logit, in place
        np.maximum(effective, EPS, out=effective)
        np.minimum(effective, 1 - EPS, out=effective)
        odds = np.subtract(1.0, effective, out=_workspace.get(_ODDS, *effective.shape))
        np.divide(effective, odds, out=odds)
        return np.log(odds, out=odds), last, effective

    def sampled_totals(
        self, log_odds: FloatArray, scratch: FloatArray | None = None
    ) -> tuple[FloatArray, IntArray | None]:
        """Each claim's unsaturated evidence for each sample of the channels' log-odds.

        Equal to ``claim_log_odds``'s sums (weights added in row order), but
        rank by rank: the first weighted row of every claim, then the second
        of those with two, and so on, each a leading slice of the claims
        ordered by their number of weighted rows. No (rows, samples) array is
        made, and a claim's sums do not depend on the other claims.

        Parameters
        ----------
        log_odds : ndarray, shape (n_channels + n_merged, s)
        scratch : ndarray, shape (k, s), optional
            A buffer to overwrite.

        Returns
        -------
        totals : ndarray, shape (n_claims, s)
            Row i holds claim ``order[i]``.
        order : ndarray of int, shape (n_claims,), or None
            None when row i holds claim i.
        """
        n = self.n_claims
        counts = self.weighted_counts
        order: IntArray | None = None
        if not counts or min(counts) == max(counts):
            # Every claim has as many weighted rows: rank k is column k.
            ranked = self.weighted.reshape(n, -1).T.ravel() if n else self.weighted
            sizes = [n] * (counts[0] if counts else 0)
        else:
            count = np.array(counts)
            order = np.argsort(-count, kind="stable")
            position = np.empty(n, dtype=np.intp)
            position[order] = np.arange(n)
            claim = self.claim[self.weighted]
            rank = np.arange(self.weighted.size) - (np.cumsum(count) - count)[claim]
            ranked = self.weighted[np.argsort(rank * n + position[claim])]
            sizes = np.bincount(rank).tolist()
        chx = self.chx[ranked]
        coef = self.coef[ranked, None]
        totals = _workspace.get(_TOTALS, n, log_odds.shape[1])
        if not sizes:
            totals.fill(0.0)
            return totals, order
        first = sizes[0]
        log_odds.take(chx[:first], axis=0, out=totals[:first], mode="clip")
        totals[:first] *= coef[:first]
        totals[first:] = 0.0
        if len(sizes) > 1:
            if scratch is None or scratch.shape[0] < sizes[1]:
                scratch = _workspace.get(_SCRATCH, sizes[1], log_odds.shape[1])
            done = first
            for size in sizes[1:]:
                weight = log_odds.take(
                    chx[done : done + size], axis=0, out=scratch[:size], mode="clip"
                )
                weight *= coef[done : done + size]
                totals[:size] += weight
                done += size
        return totals, order


def _valid_count(count: object) -> int | float:
    """``count`` as a number of reports, or ValueError unless it is an integer >= 1."""
    try:
        value = float(count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    # An infinite count has always passed the check floor(count) == count; NaN never.
    finite = math.isfinite(value)
    if not (value == math.inf or (finite and value >= 1 and value == math.floor(value))):
        raise ValueError("an attribution's count must be an integer >= 1")
    return value


class ClaimScorer:
    """Scores claims from who said them, through whom, and who else did.

    Parameters
    ----------
    params : ScoringParams
    """

    def __init__(self, params: ScoringParams | None = None) -> None:
        self.params = params or ScoringParams()
        p = self.params
        # The interval's order statistics: numpy's linear interpolation
        # between the sorted samples below and above each tail's position.
        last = p.interval_samples - 1
        tail = (1 - p.interval_level) / 2
        self._quantiles: list[tuple[int, int, float]] = []
        for q in (tail, 1 - tail):
            position = q * last
            below = int(np.floor(position))
            self._quantiles.append((below, min(below + 1, last), position - below))
        self._columns = [i for below, above, _ in self._quantiles for i in (below, above)]
        self._columns_and_point = [*self._columns, p.interval_samples]
        # numpy's interpolation, sorted[below] * (1 - frac) + sorted[above] * frac
        self._below_weight = np.array([1 - frac for _, _, frac in self._quantiles])
        self._above_weight = np.array([frac for _, _, frac in self._quantiles])
        self._padding = np.ones(p.interval_samples + 1)
        self._padding.flags.writeable = False

    def score(self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief]) -> list[Score]:
        """Score claims; claims sharing a question are scored jointly.

        Parameters
        ----------
        claims : sequence of Claim
        sources : mapping of source id to SourceBelief
            Sources (and relays) not in it get ``params.unknown_source`` and no group.

        Returns
        -------
        list of Score, in the order of ``claims``

        Raises
        ------
        ValueError
            For a prior, certainty, count or stance out of range.
        """
        batches = self._batches(claims)
        if len(batches) == 1:
            return self._score_rows(claims, sources)
        scores: list[Score | None] = [None] * len(claims)
        for batch in batches:
            for i, score in zip(
                batch, self._score_rows([claims[i] for i in batch], sources), strict=True
            ):
                scores[i] = score
        return [s for s in scores if s is not None]

    def _batches(self, claims: Sequence[Claim]) -> list[list[int]]:
        """Claim positions in passes of whole questions of about ``_CELLS_PER_PASS`` cells."""
        budget = max(1, _CELLS_PER_PASS // self.params.interval_samples)
        if len(claims) <= budget and sum(len(c.attributions) for c in claims) <= budget:
            return [list(range(len(claims)))]
        questions: dict[str, list[int]] = {}
        units: list[list[int]] = []
        for i, c in enumerate(claims):
            if c.question is None:
                units.append([i])
            elif c.question in questions:
                questions[c.question].append(i)
            else:
                units.append(questions.setdefault(c.question, [i]))
        batches: list[list[int]] = []
        rows = 0
        for unit in units:
            size = sum(len(claims[i].attributions) for i in unit)
            if not batches or rows + size > budget:
                batches.append([])
                rows = 0
            batches[-1].extend(unit)
            rows += size
        return batches

    def _evaluate(
        self, rows: _Rows
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, list[list[float]]]:
        """Point estimates and credible intervals of the claims of ``rows``.

        Every entity's reliability is drawn ``interval_samples`` times
        (memoised per source, seeded by its id); its mean rides along as one
        more column, so that the point estimate (the plug-in of the means)
        and the samples go through the same vectorised pass. The interval
        holds the equal-tailed quantiles of the sampled confidences, widened
        to contain the point. A claim alone in its question has a confidence
        that increases with its total evidence, so the order statistics are
        taken of the totals and only those few are pushed through the
        saturation and the logistic.

        Returns
        -------
        mean : ndarray, shape (n_rows,)
            Reliability (posterior mean) of each row's source.
        effective : ndarray, shape (n_rows,)
            Effective reliability of each row (merged on the first of several
            channels of one source).
        weight : ndarray, shape (n_rows,)
        confidence : ndarray, shape (n_claims,)
        interval : list of [low, high]
        """
        p = self.params
        samples = p.interval_samples
        cap = p.evidence_cap
        reliability = np.array(
            [
                *(
                    draws_and_mean(i, b.alpha, b.beta, samples)
                    for i, b in zip(rows.ids, rows.beliefs, strict=True)
                ),
                self._padding,
            ]
        )
        log_odds, point_effective, scratch = rows.sampled_log_odds(reliability)
        weight = log_odds[rows.chx, samples]
        weight *= rows.coef
        # Row i of totals is claim order[i]; its last column is the point
        # estimate's evidence, the same sum as claim_log_odds's.
        totals, order = rows.sampled_totals(log_odds, scratch)
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
            joint_bounds = self._bounds(np.sort(joint_samples, axis=1)[:, self._columns])
        sampled.sort(axis=1)
        # The order statistics behind the interval, then the point: each
        # through saturation and the logistic.
        columns = saturate(totals[:, self._columns_and_point], cap)
        columns += rows.prior_logit[:, None] if order is None else rows.prior_logit[order, None]
        columns = _logistic(columns)
        if order is not None:
            in_order = np.empty_like(columns)
            in_order[order] = columns
            columns = in_order
        if joint is None:
            confidence = columns[:, 4]
        else:
            total = saturate(np.bincount(rows.claim, weight, minlength=rows.n_claims), cap)
            confidence = rows.posterior(rows.prior_logit + total)
        bounds = self._bounds(columns)
        if joint is not None:
            bounds[joint] = joint_bounds
        np.minimum(bounds[:, 0], confidence, out=bounds[:, 0])
        np.maximum(bounds[:, 1], confidence, out=bounds[:, 1])
        return (
            reliability[rows.source, samples],
            point_effective[rows.chx],
            weight,
            confidence,
            bounds.tolist(),
        )

    def _bounds(self, columns: FloatArray) -> FloatArray:
        """Lower and upper quantiles (columns) from the order statistics in ``self._columns``."""
        bounds = columns[:, 0:4:2] * self._below_weight
        bounds += columns[:, 1:4:2] * self._above_weight
        return bounds

    def _score_rows(
        self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief]
    ) -> list[Score]:
        """Scores of claims that hold whole questions, in one vectorised pass."""
        p = self.params
        rows = _Rows(claims, sources, p)
        n = rows.n_claims
        mean, effective, weight, confidence, bounds = self._evaluate(rows)

        carries = np.abs(weight) > _NO_WEIGHT
        independent = np.bincount(rows.claim, rows.scale * carries, minlength=n).tolist()
        confirming = np.bincount(
            rows.claim, rows.scale * ((weight > _NO_WEIGHT) & (rows.sign > 0)), minlength=n
        )
        weighty = np.bincount(rows.claim, carries, minlength=n) > 0
        conf = confidence.tolist()
        if n <= _FEW:
            # numpy's per-call cost exceeds the work for a few claims.
            terms = [estimative_term(x) for x in conf]
            credibility = [
                credibility_level(*args)
                for args in zip(conf, weighty.tolist(), confirming.tolist(), strict=True)
            ]
        else:
            terms = estimative_terms(confidence)
            credibility = credibility_levels(confidence, weighty, confirming).tolist()
        notes = self._notes(rows)
        evidence = [
            make_evidence(a.source, tuple(a.via), a.stance, r, e, w, notes.get(row))
            for row, (a, r, e, w) in enumerate(
                zip(
                    [a for c in claims for a in c.attributions],
                    mean.tolist(),
                    effective.tolist(),
                    weight.tolist(),
                    strict=True,
                )
            )
        ]
        model = f"{MODEL_NAME}/{MODEL_VERSION}"
        level = p.interval_level
        level_text = percent(level)
        start = rows.start
        out = []
        for ci, (c, named, term, p_true, (low, high), n_eff, cred) in enumerate(
            zip(claims, rows.named, terms, conf, bounds, independent, credibility, strict=True)
        ):
            items = tuple(evidence[start[ci] : start[ci + 1]])
            interval = (low, high)
            out.append(
                make_score(
                    c.id,
                    p_true,
                    interval,
                    term,
                    cred,
                    n_eff,
                    items,
                    summarize(term, p_true, interval, n_eff, items, level)
                    if named is None
                    else sentence(
                        term, p_true, interval, n_eff, named[0], named[1], named[2], level_text
                    ),
                    model,
                )
            )
        return out

    @staticmethod
    def _notes(rows: _Rows) -> dict[int, str]:
        """Why a row's weight is merged, zero or discounted, for the rows where it is."""
        parts: dict[int, list[str]] = {}
        start = rows.start
        if rows.row_merges:
            claim_of = rows.claim.tolist()
            merge = rows.merge.tolist()
            duplicates: dict[int, list[str]] = {}
            for row, primary in enumerate(merge):
                if primary != row:
                    duplicates.setdefault(primary, []).append(f"#{row - start[claim_of[row]] + 1}")
            for row, primary in enumerate(merge):
                if row in duplicates:
                    also = ", ".join(duplicates[row])
                    parts[row] = [f"counted once with evidence {also} (same original source)"]
                elif primary != row:
                    number = primary - start[claim_of[row]] + 1
                    parts[row] = [f"same original source as evidence #{number}"]
        discounted = ((rows.reports != 0) & (rows.factor < 1 - _NO_WEIGHT)).nonzero()[0]
        if discounted.size:
            factor = rows.factor.tolist()
            reports = rows.reports.tolist()
            scale = rows.scale.tolist()
            source = rows.source.tolist()
            # Rows of one cluster, or alike, share their note: format it once.
            said: dict[tuple[str | None, float, float], str] = {}
            for row in discounted.tolist():
                group = rows.groups[source[row]]
                key = (group, factor[row], reports[row])
                note = said.get(key)
                if note is None:
                    note = said[key] = (
                        f"correlated with other {group} sources: counts {factor[row]:.2f}"
                        if group
                        else f"{reports[row]:g} correlated unnamed sources count as "
                        f"{scale[row]:.2f}"
                    )
                parts.setdefault(row, []).append(note)
        return {row: "; ".join(p) for row, p in parts.items()}


def _logistic(score: FloatArray) -> FloatArray:
    """``exclusive_posterior``'s arithmetic for claims each alone in its question."""
    top = np.maximum(score, 0.0)
    shifted = np.subtract(score, top)
    np.exp(shifted, out=shifted)
    total = np.negative(top, out=top)
    np.exp(total, out=total)
    total += shifted
    shifted /= total
    return shifted
