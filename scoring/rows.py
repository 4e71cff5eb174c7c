"""The evidence-row table: claims as flat arrays of attributions, ready for vectorised evaluation.

Both the online scorer (``scoring.scorer``) and the batch fit (``scoring.fit``,
through :meth:`EvidenceRows.fit_data`) read claims through this table, so they
see the same evidence: relay channels of one original source merged, correlated
reports discounted by their cluster's design effect, answers of one question
indexed together.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

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
)
from scoring.fit import FitData
from scoring.intervals import DRAW_CACHE_SIZE, draws_and_mean
from scoring.params import ScoringParams, SourceBelief

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
# Slots of the workspace.
_EFFECTIVE, _FIDELITY, _ODDS, _RELAY, _TOTALS, _SCRATCH = range(6)


@dataclass(slots=True)
class RowLists:
    """The evidence-row table of some claims as Python lists, before any array is made.

    ``EvidenceRows`` is built from it; a lone claim's scorer reads it directly,
    since making arrays of a few rows costs more than the arithmetic on them.

    Attributes
    ----------
    ids, beliefs, groups : lists, length n_entities
        Each entity's id, reliability belief and group.
    labels : list of str, length n_entities
        What summaries call each entity: its name, else its id.
    rhos : list of float, length n_entities
        Correlation of each entity's group (the unnamed one when it has none).
    start : list of int, length n_claims + 1
    question, prior : lists, length n_claims
    n_questions : int
    claim, channel, sign, reports : lists, length n_rows
        As ``EvidenceRows``' arrays of those names. These and the other
        per-row and per-claim fields may be arrays instead of lists
        (``scoring.columns.evidence_rows`` builds them so).
    merged, merged_to : lists of int
        Rows merged into another row (same source, side and claim), and that row.
    clustered, clustered_to : lists of int
        Rows of a group's correlation cluster other than its first, and that first row.
    weighted : list of int
        Rows that carry weight (neither neutral nor merged), in row order.
    weighted_counts : list of int, length n_claims
    named : list, length n_claims
        As ``EvidenceRows.named``.
    ch_source, ch_chain, ch_certainty : lists, length n_channels
        Each channel's source entity, relay entities (in order) and certainty.
    """

    ids: list[str]
    beliefs: list[Beta]
    groups: list[str | None]
    rhos: list[float]
    start: list[int]
    question: list[int] | IntArray
    n_questions: int
    prior: list[float] | FloatArray
    claim: list[int] | IntArray
    channel: list[int] | IntArray
    sign: list[int] | IntArray
    reports: list[int | float] | FloatArray
    merged: list[int] | IntArray
    merged_to: list[int] | IntArray
    clustered: list[int] | IntArray
    clustered_to: list[int] | IntArray
    weighted: list[int] | IntArray
    weighted_counts: list[int]
    named: list[tuple[list[str], list[str], list[str]] | None]
    ch_source: list[int]
    ch_chain: list[list[int]]
    ch_certainty: list[float]
    labels: list[str]


def collect_rows(
    claims: Sequence[Claim], sources: Mapping[str, SourceBelief], params: ScoringParams
) -> RowLists:
    """The evidence-row table of ``claims`` as Python lists (see ``RowLists``).

    Raises
    ------
    ValueError
        For a prior, certainty, count or stance out of range.
    """
    ids: list[str] = []
    beliefs: list[Beta] = []
    groups: list[str | None] = []
    rhos: list[float] = []
    labels: list[str] = []
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
                labels.append(source_id)
            else:
                beliefs.append(known.belief)
                groups.append(known.group)
                rhos.append(params.correlation(known.group) if known.group else unnamed)
                labels.append(known.name or source_id)
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
                raise ValueError(f"stance must be supports, refutes or neutral, got {a.stance!r}")
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
                chain = [index(r) for r in via]
                ch_chain.append(chain)
                ch_certainty.append(certainty)
                ch_name.append(
                    f"{labels[src]} via {' via '.join([labels[r] for r in chain])}"
                    if via
                    else labels[src]
                )
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
    return RowLists(
        ids,
        beliefs,
        groups,
        rhos,
        start,
        question,
        n_questions,
        prior,
        r_claim,
        r_channel,
        r_sign,
        reports,
        merged,
        merged_to,
        clustered,
        clustered_to,
        weighted,
        weighted_counts,
        named,
        ch_source,
        ch_chain,
        ch_certainty,
        labels,
    )


class EvidenceRows:
    """Flat arrays of the attributions of some claims, ready for vectorised evaluation.

    One row per attribution, claims in the given order and their rows
    contiguous. Entities (sources and relays) are indexed once, in order of
    first appearance; index ``n_entities`` is a perfect relay that pads short
    relay chains.

    A *channel* is a distinct (source, relay chain, certainty). Rows through
    one channel share its fidelity, effective reliability and log-odds, so
    those are evaluated once per channel and gathered per row: with
    reliability samples, the costly arithmetic scales with the channels of a
    call, not with its rows. A source reached through several channels on one
    side of one claim is merged into an extra channel (the noisy-OR of their
    fidelities), appended after the plain ones and carried by the first row
    (its *primary* row); the others carry no weight.

    Parameters
    ----------
    claims : sequence of Claim
    sources : mapping of source id to SourceBelief
        Sources (and relays) not in it get ``params.unknown_source`` and no group.
    params : ScoringParams

    Raises
    ------
    ValueError
        For a prior, certainty, count or stance out of range.

    Attributes
    ----------
    ids : list of str, length n_entities
        Source or relay id of each entity.
    beliefs : list of Beta, length n_entities
        Reliability belief of each entity.
    groups : list of str or None, length n_entities
    labels : list of str, length n_entities
        What summaries call each entity: its name, else its id.
    n_claims, n_rows, n_questions : int
    start : list of int, length n_claims + 1
        Rows of claim j are ``start[j]:start[j + 1]``.
    question : ndarray of int, shape (n_claims,)
        Question index of each claim; a claim without a question has its own.
    prior : ndarray, shape (n_claims,)
        Base rate of each claim, in (0, 1).
    prior_logit : ndarray, shape (n_claims,)
        Its log-odds (natural logarithm).
    claim, source : ndarray of int, shape (n_rows,)
        Claim index and (original) source entity of each row.
    sign : ndarray, shape (n_rows,)
        +1.0 supports, -1.0 refutes, 0.0 neutral.
    merge : ndarray of int, shape (n_rows,)
        Primary row of each row: itself, or the first row of its source on its
        side of its claim.
    primary : ndarray of bool, shape (n_rows,)
        ``merge == arange(n_rows)``.
    row_merges : bool
        Whether any row is merged into another.
    reports : ndarray, shape (n_rows,)
        Reports behind each row: its ``count`` (the largest of the channels
        merged into it); 0 for merged and neutral rows.
    factor : ndarray, shape (n_rows,)
        Design-effect factor of each row's correlation cluster, in (0, 1].
    scale : ndarray, shape (n_rows,)
        ``reports * factor``: independent sources a row is worth.
    coef : ndarray, shape (n_rows,)
        ``sign * scale``: a row's weight is its channel's log-odds times this.
    chx : ndarray of int, shape (n_rows,)
        Each row's channel in the table of channels then merged channels
        (the index into ``channels(...)[1:]``).
    named : list, length n_claims
        Per claim, the labels ("source via relay") of its supporting,
        refuting and neutral channels, or None when a source appears twice on
        one side (the summary then names sources from the evidence).
    """

    def __init__(
        self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief], params: ScoringParams
    ) -> None:
        self._set(collect_rows(claims, sources, params))

    @classmethod
    def of(cls, lists: RowLists) -> EvidenceRows:
        """The table of claims already collected by ``collect_rows``."""
        rows = cls.__new__(cls)
        rows._set(lists)
        return rows

    def _set(self, lists: RowLists) -> None:
        ids, beliefs, rhos, row = lists.ids, lists.beliefs, lists.rhos, lists.start[-1]
        merged, merged_to = lists.merged, lists.merged_to
        clustered, clustered_to = lists.clustered, lists.clustered_to
        ch_source, ch_chain = lists.ch_source, lists.ch_chain

        self.ids = ids
        self.beliefs = beliefs
        self.groups = lists.groups
        self.labels = lists.labels
        self.start = lists.start
        self.n_claims = len(lists.start) - 1
        self.n_rows = row
        self.n_questions = lists.n_questions
        self.question = np.array(lists.question, dtype=np.intp)
        self.prior = np.array(lists.prior, dtype=float)
        self.prior_logit = logit(self.prior)
        self.claim = np.array(lists.claim, dtype=np.intp)
        self.channel = np.array(lists.channel, dtype=np.intp)
        self.ch_source = np.array(ch_source, dtype=np.intp)
        self.source = self.ch_source[self.channel]
        self.sign = np.array(lists.sign, dtype=float)
        self.row_merges = len(merged) > 0
        self.merge = np.arange(row)
        if self.row_merges:
            self.merge[merged] = merged_to
            self.primary = self.merge == np.arange(row)
        else:
            self.primary = np.ones(row, dtype=bool)
        self.reports = np.array(lists.reports, dtype=float)
        # Correlation clusters: the rows of one group taking one side of one
        # claim, each numbered by its first row; every other row is its own.
        cluster_of = np.arange(row)
        if len(clustered):
            cluster_of[clustered] = clustered_to
        rho = np.array(rhos)[self.source]
        self.factor = cluster_design_effect(cluster_of, self.reports, rho, row)
        self.scale = self.reports * self.factor
        # A row's weight is its channel's log-odds times this.
        self.coef = self.sign * self.scale
        self.weighted = np.array(lists.weighted, dtype=np.intp)
        self.weighted_counts = lists.weighted_counts
        self.named = lists.named

        self.ch_certainty = np.array(lists.ch_certainty, dtype=float)
        depth = max(map(len, ch_chain), default=0)
        pad = len(ids)
        self.ch_via = np.array(
            [chain + [pad] * (depth - len(chain)) for chain in ch_chain], dtype=np.intp
        ).reshape(len(ch_chain), depth)
        # Each row's channel in the extended table: merged channels on the first rows.
        self.chx = self.channel
        self.members = self.member_group = self.merged_into = np.zeros(0, dtype=np.intp)
        if self.row_merges:
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
        effective = self._with_merged(effective, fidelity, reliability)
        return fidelity, effective, logit(effective)

    def _with_merged(
        self, effective: FloatArray, fidelity: FloatArray, reliability: FloatArray
    ) -> FloatArray:
        """``effective`` (channels) followed by the merged channels' effective reliabilities."""
        if not self.merged_into.size:
            return effective
        merged = noisy_or(
            fidelity[self.channel[self.members]], self.member_group, self.merged_into.size
        )
        return np.concatenate(
            (effective, effective_reliability(reliability[self.source[self.merged_into]], merged))
        )

    def posterior(self, score: FloatArray) -> FloatArray:
        """Confidence of each claim (rows of ``score``) from its log-odds, questions joint."""
        if self.n_questions < self.n_claims:
            return exclusive_posterior(score, self.question, self.n_questions)
        return logistic(score)

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

    @property
    def n_entities(self) -> int:
        return len(self.ids)

    def relay_entities(self) -> IntArray:
        """Entities that relay some row's statement, sorted; shape (n_relays,)."""
        via = self.ch_via[self.ch_via < self.n_entities]
        return np.unique(via)

    def fit_data(
        self,
        reliability: ArrayLike,
        *,
        age_days: ArrayLike,
        outcome: ArrayLike,
        prior_alpha: ArrayLike,
        prior_beta: ArrayLike,
        claim_class: ArrayLike | None = None,
        source_group: ArrayLike | None = None,
    ) -> FitData:
        """The table as the batch fit's input (``scoring.fit.ReliabilityEM``).

        One fit row per primary, non-neutral row: an original source's stance
        on a claim, its channels merged. The fit takes fidelities as given, so
        relay fidelities are evaluated at ``reliability``; fit entity ``i`` is
        entity ``i`` of this table (``ids[i]``).

        Parameters
        ----------
        reliability : array_like, shape (n_entities,)
            Reliability in [0, 1] of each entity, at which relays are evaluated.
        age_days : array_like, shape (n_rows,)
            Age of each row's statement in days, >= 0 (a merged row takes its
            primary row's).
        outcome : array_like, shape (n_claims,)
            1.0 confirmed, 0.0 refuted, NaN open.
        prior_alpha, prior_beta : array_like, shape (n_entities,)
            Beta prior of each entity's reliability, > 0.
        claim_class : array_like of int, shape (n_claims,), optional
            Answer class of each claim (``scoring.learned.answer_classes``).
        source_group : array_like of int, shape (n_entities,), optional
            Group of each entity, -1 for none.

        Returns
        -------
        FitData
            With every question open (``closed`` all False).
        """
        entity = np.append(np.asarray(reliability, dtype=float), 1.0)
        fidelity = self.channels(entity)[0][self.channel]
        merged = noisy_or(fidelity, self.merge, self.n_rows)
        keep = self.primary & (self.sign != 0)
        return FitData(
            claim=self.claim[keep],
            source=self.source[keep],
            sign=self.sign[keep],
            fidelity=np.clip(merged[keep], 0.0, 1.0),
            weight_scale=self.scale[keep],
            age_days=np.asarray(age_days, dtype=float)[keep],
            question=self.question,
            claim_prior=self.prior,
            outcome=np.asarray(outcome, dtype=float),
            closed=np.zeros(self.n_questions, dtype=bool),
            prior_alpha=np.asarray(prior_alpha, dtype=float),
            prior_beta=np.asarray(prior_beta, dtype=float),
            claim_class=np.asarray(() if claim_class is None else claim_class, dtype=np.intp),
            source_group=np.asarray(() if source_group is None else source_group, dtype=np.intp),
        )

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
        effective = self._with_merged(effective, fidelity, reliability)
        last = effective[:, -1].copy()
        odds = _log_odds(effective, _workspace.get(_ODDS, *effective.shape))
        return odds, last, effective

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


Entity = tuple[str, float, float]
"""A source or relay as the draw cache knows it: id, then its Beta belief's alpha and beta."""


@functools.lru_cache(maxsize=DRAW_CACHE_SIZE)
def channel_log_odds(
    source: Entity, relays: tuple[Entity, ...], certainty: float, samples: int
) -> tuple[FloatArray, float, float]:
    """One channel's row of ``EvidenceRows.sampled_log_odds``, alone and memoised.

    The same arithmetic in the same order as that method's, on one
    (samples + 1,) vector instead of a (channels, samples + 1) table (a relay
    that pads a shorter chain there multiplies by exactly 1), so the values
    are the same: a lone claim is scored from these rows at a fraction of the
    cost of building the table (``ClaimScorer``).

    Parameters
    ----------
    source : (id, alpha, beta)
    relays : tuple of (id, alpha, beta)
        The relay chain, nearest the source first.
    certainty : float in (0, 1]
    samples : int

    Returns
    -------
    log_odds : ndarray, shape (samples + 1,)
        Log-odds of the channel's effective reliability for each sample, then
        for the means (read-only).
    effective : float
        Effective reliability at the means, unclipped.
    mean : float
        The source's mean reliability.
    """
    reliability = draws_and_mean(*source, samples)
    effective = reliability - 0.5
    if relays:
        fidelity = draws_and_mean(*relays[0], samples).copy()
        for relay in relays[1:]:
            fidelity *= draws_and_mean(*relay, samples)
        fidelity *= certainty
        effective *= fidelity
    else:
        effective *= certainty
    effective += 0.5
    last = float(effective[-1])
    log_odds = _log_odds(effective, np.empty_like(effective))
    log_odds.flags.writeable = False
    return log_odds, last, float(reliability[-1])


def _log_odds(effective: FloatArray, out: FloatArray) -> FloatArray:
    """``logit(effective)`` written into ``out``; ``effective`` is clipped in place."""
    np.maximum(effective, EPS, out=effective)
    np.minimum(effective, 1 - EPS, out=effective)
    np.subtract(1.0, effective, out=out)
    np.divide(effective, out, out=out)
    return np.log(out, out=out)


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


def logistic(score: FloatArray) -> FloatArray:
    """``exclusive_posterior``'s arithmetic for claims each alone in its question (a new array)."""
    top = np.maximum(score, 0.0)
    shifted = np.subtract(score, top)
    np.exp(shifted, out=shifted)
    total = np.negative(top, out=top)
    np.exp(total, out=total)
    total += shifted
    shifted /= total
    return shifted
