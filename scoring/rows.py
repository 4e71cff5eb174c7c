"""The evidence-row table: claims as one row per attribution, with what the model reads.

``collect_rows`` reads claims into ``RowLists`` (Python lists); ``EvidenceRows``
holds the same table as arrays. The online scorer (``scoring.confidence``,
``scoring.scorer``) and the batch fit (``scoring.fit``, through
:meth:`EvidenceRows.fit_data`) both read claims through this table, so they
see the same evidence: relay channels of one original source merged,
correlated reports discounted by their cluster's design effect, answers of one
question indexed together. Nothing here evaluates a score.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.beta import Beta
from scoring.claims import STANCE_SIGN, Claim
from scoring.evidence import (
    FloatArray,
    IntArray,
    cluster_design_effect,
    logit,
    noisy_or,
)
from scoring.fit import FitData
from scoring.fit.data import index_dtype
from scoring.params import ScoringParams, SourceBelief

ObjectArray = np.ndarray[tuple[int], np.dtype[np.object_]]


@dataclass(slots=True)
class RowLists:
    """The evidence-row table of some claims as Python lists, before any array is made.

    ``EvidenceRows`` is built from it; ``scoring.confidence.reference_confidence``
    and the scorer's evidence and notes read it directly.

    Attributes
    ----------
    ids, beliefs, groups : lists, length n_entities
        Each entity's id, reliability belief and group.
    labels : list of str, length n_entities
        What summaries call each entity: its name, else its id.
    rhos : list of float or ndarray, length n_entities
        Correlation of each entity's group (the unnamed one when it has none).
    start : list of int, length n_claims + 1
        Rows of claim j are ``start[j]:start[j + 1]``.
    question, prior : lists, length n_claims
    prior_given : list of bool, length n_claims
        Whether the claim gave its prior (else ``prior`` is the configured default).
    n_questions : int
    claim, channel, sign, reports : lists, length n_rows
        As ``EvidenceRows``' arrays of those names (``sign`` as integers). These,
        the other per-row and per-claim fields, ``ch_source`` and ``ch_certainty``
        may be arrays instead of lists (``scoring.columns.row_lists`` builds them
        so: the table of a whole store is made while its snapshot is held, and as
        lists they added some 15 MB a million attributions).
    merged, merged_to : lists of int
        Rows merged into another row (same source, side and claim), and that row.
    clustered, clustered_to : lists of int
        Rows of a group's correlation cluster other than its first, and that first row.
    factor, scale : ndarray, shape (n_rows,)
        As ``EvidenceRows``' arrays of those names.
    weighted : list of int
        Rows that carry weight (neither neutral nor merged), in row order.
    weighted_counts : list of int, length n_claims
    ch_source, ch_chain, ch_certainty : lists, length n_channels
        Each channel's source entity, relay entities (in order) and certainty.
    """

    ids: list[str]
    beliefs: list[Beta]
    groups: list[str | None]
    rhos: list[float] | FloatArray
    start: list[int]
    question: list[int] | IntArray
    n_questions: int
    prior: list[float] | FloatArray
    prior_given: list[bool] | np.ndarray[tuple[int], np.dtype[np.bool_]]
    claim: list[int] | IntArray
    channel: list[int] | IntArray
    sign: list[int] | IntArray | np.ndarray[tuple[int], np.dtype[np.int8]]
    reports: list[int | float] | FloatArray
    merged: list[int] | IntArray
    merged_to: list[int] | IntArray
    clustered: list[int] | IntArray
    clustered_to: list[int] | IntArray
    weighted: list[int] | IntArray
    weighted_counts: list[int]
    ch_source: list[int] | IntArray
    ch_chain: Sequence[Sequence[int]]
    ch_certainty: list[float] | FloatArray
    labels: list[str]
    factor: FloatArray
    scale: FloatArray
    codes: IntArray | None = None
    """Each entity's code among the columns' entities the table was built from
    (``scoring.columns.row_lists``), None for claims read one by one."""


@dataclass(frozen=True, eq=False)
class Entities:
    """What the evidence-row table reads of each of some entities (sources and relays),
    looked up once: a re-scoring job's passes name the same entities again and again.

    Each field is an array, so that a pass takes the entities it names (``take``) by
    numpy's indexing, not an item at a time (five lists of ~9,000 entities a pass
    cost ~0.3 s of a 1 M-attribution job).

    Attributes
    ----------
    ids, beliefs, groups, labels : ndarray of object, shape (n_entities,)
        As ``RowLists``' fields of those names (``str``, ``Beta``, ``str`` or None, ``str``).
    rhos : ndarray of float, shape (n_entities,)
        As ``RowLists.rhos``.
    group_code : ndarray of int, shape (n_entities,)
        Each entity's group as a number, -1 for none: groups numbered in order
        of their names, out of ``n_groups``.
    n_groups : int
    """

    ids: ObjectArray
    beliefs: ObjectArray
    groups: ObjectArray
    rhos: FloatArray
    labels: ObjectArray
    group_code: IntArray
    n_groups: int

    @classmethod
    def of(
        cls, ids: list[str], sources: Mapping[str, SourceBelief], params: ScoringParams
    ) -> Entities:
        """Entities ``ids`` as ``sources`` know them; those not in it get
        ``params.unknown_source`` and no group."""
        unknown, unnamed = params.unknown_source, params.unnamed_correlation
        known = [sources.get(s) for s in ids]
        groups = [None if k is None else k.group for k in known]
        number = {g: i for i, g in enumerate(sorted({g for g in groups if g}))}
        return cls(
            _objects(ids),
            _objects([unknown if k is None else k.belief for k in known]),
            _objects(groups),
            np.array([params.correlation(g) if g else unnamed for g in groups], dtype=float),
            _objects(
                [s if k is None or not k.name else k.name for s, k in zip(ids, known, strict=True)]
            ),
            np.array([number[g] if g else -1 for g in groups], dtype=np.int64),
            len(number),
        )

    def take(self, codes: IntArray) -> Entities:
        """The entities at ``codes``, in that order (groups numbered as here)."""
        return Entities(
            self.ids[codes],
            self.beliefs[codes],
            self.groups[codes],
            self.rhos[codes],
            self.labels[codes],
            self.group_code[codes],
            self.n_groups,
        )


def _objects(items: Sequence[object]) -> ObjectArray:
    """``items`` as a one-dimensional array of object (each item one element, whatever
    it is: ``np.array`` would unpack sequences)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


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
    questions: dict[str, int] = {}
    question: list[int] = []
    prior: list[float] = []
    prior_given: list[bool] = []
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
        prior_given.append(p is not None)
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
                else:
                    # Several channels of one source may carry different
                    # counts of unnamed sources; the largest is the most
                    # that can stand behind it.
                    add_reports(0)
                    if n > reports[primary]:
                        reports[primary] = n
                    merged.append(row)
                    merged_to.append(primary)
            else:
                add_reports(0)
            add_channel(ch)
            add_sign(s)
            row += 1
        weighted_counts.append(n_weighted)
    start.append(row)
    factor, scale = design_effects(
        clustered,
        clustered_to,
        np.array(reports, dtype=float),
        np.array(rhos),
        ch_source,
        r_channel,
    )
    return RowLists(
        ids,
        beliefs,
        groups,
        rhos,
        start,
        question,
        n_questions,
        prior,
        prior_given,
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
        ch_source,
        ch_chain,
        ch_certainty,
        labels,
        factor,
        scale,
    )


def design_effects(
    clustered: Sequence[int] | IntArray,
    clustered_to: Sequence[int] | IntArray,
    reports: FloatArray,
    rhos: FloatArray,
    ch_source: Sequence[int] | IntArray,
    channel: Sequence[int] | IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Each row's design-effect factor and the independent sources it is worth.

    Correlation clusters are the rows of one group taking one side of one claim,
    each numbered by its first row; every other row is its own. A cluster of one
    report counts 1 / (1 + 0 * rho) = 1 exactly, so without clusters and counts the
    factor is 1.

    Parameters
    ----------
    clustered, clustered_to : sequences of int
        Rows of a cluster other than its first, and that first row.
    reports : ndarray, shape (n_rows,)
        Reports (count) of each row.
    rhos : ndarray, shape (n_entities,)
        Correlation of each entity's group.
    ch_source, channel : sequences of int
        Each channel's source entity (n_channels); each row's channel (n_rows).

    Returns
    -------
    factor, scale : ndarray, shape (n_rows,)
        The factor in (0, 1] and ``reports * factor``.
    """
    n_rows = reports.size
    if not len(clustered) and not (reports > 1).any():
        return np.ones(n_rows), reports
    cluster_of = np.arange(n_rows)
    cluster_of[np.asarray(clustered, dtype=np.intp)] = clustered_to
    rho = rhos[np.asarray(ch_source, dtype=np.intp)[np.asarray(channel, dtype=np.intp)]]
    factor = cluster_design_effect(cluster_of, reports, rho, n_rows)
    return factor, reports * factor


@dataclass(frozen=True, slots=True)
class RelayedRows:
    """What the fidelities of ``EvidenceRows.fit_data``'s rows need of the table: a
    fit re-evaluates them at each relay pass's reliabilities without the whole table.

    Only the rows whose merged group has a relayed or hedged channel are kept
    (a tenth of a store's): every other fit row has fidelity exactly 1 (the
    noisy-OR of channels of fidelity 1), and they cost a relay pass nothing.

    Attributes
    ----------
    ch_via, ch_certainty : ndarray
        As ``EvidenceRows``' (shapes (n_channels, depth) and (n_channels,)).
    channel, group : ndarray of int, shape (n_members,)
        The channel of each table row of a relayed group, in table order, and its
        group (a merged channel's rows, or a row alone) among ``at``.
    at : ndarray of int, shape (n_relayed,)
        Each relayed group's fit row.
    n_rows : int
        Fit rows (the table's primary rows that are not neutral).
    """

    ch_via: IntArray
    ch_certainty: FloatArray
    channel: IntArray
    group: IntArray
    at: IntArray
    n_rows: int

    @classmethod
    def of(cls, rows: EvidenceRows) -> RelayedRows:
        """The relayed groups of ``rows``' fit rows, in 32 bits while their counts fit
        (``index_dtype``): a fit holds them through every relay pass."""
        keep = rows.primary & (rows.sign != 0)
        direct = (rows.ch_via == rows.n_entities).all(axis=1) & (rows.ch_certainty == 1)
        relayed = np.zeros(rows.n_rows, dtype=bool)
        relayed[rows.merge[~direct[rows.channel]]] = True
        relayed &= keep
        groups = np.flatnonzero(relayed)
        members = np.flatnonzero(relayed[rows.merge])
        # A group's rows stay in table order, so its noisy-OR adds them as the whole
        # table's did: the same fidelities to the bit.
        group = np.searchsorted(groups, rows.merge[members])
        # In 32 bits: at 10 M rows a 64-bit running count was 80 MB beside the table.
        at = np.cumsum(keep, dtype=index_dtype(rows.n_rows))[groups] - 1
        return cls(
            rows.ch_via,
            rows.ch_certainty,
            rows.channel[members].astype(index_dtype(rows.ch_certainty.size)),
            group.astype(index_dtype(groups.size)),
            at,
            int(np.count_nonzero(keep)),
        )

    def fidelity(self, reliability: ArrayLike) -> FloatArray:
        """Each fit row's fidelity at ``reliability`` (shape (n_entities,)), in [0, 1]:
        its relay chain and certainty, several channels of one source merged."""
        entity = np.append(np.asarray(reliability, dtype=float), 1.0)
        fidelity = entity[self.ch_via].prod(axis=1) * self.ch_certainty
        merged = noisy_or(fidelity[self.channel], self.group, self.at.size)
        kept = np.ones(self.n_rows)
        kept[self.at] = np.clip(merged, 0.0, 1.0, out=merged)
        return kept


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
    n_claims, n_rows, n_questions : int
    question : ndarray of int, shape (n_claims,)
        Question index of each claim; a claim without a question has its own.
    prior : ndarray, shape (n_claims,)
        Base rate of each claim, in (0, 1).
    prior_logit : ndarray, shape (n_claims,)
        Its log-odds (natural logarithm).
    prior_given : ndarray of bool, shape (n_claims,)
        Whether the claim gave its prior (else it is the configured default).
    claim, source : ndarray of int, shape (n_rows,)
        Claim index and (original) source entity of each row.
    sign : ndarray, shape (n_rows,)
        +1.0 supports, -1.0 refutes, 0.0 neutral.
    merge : ndarray of int, shape (n_rows,)
        Primary row of each row: itself, or the first row of its source on its
        side of its claim.
    primary : ndarray of bool, shape (n_rows,)
        ``merge == arange(n_rows)``.
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
        Each row's channel in the table of channels then merged channels.
    ch_source : ndarray of int, shape (n_channels,)
    ch_via : ndarray of int, shape (n_channels, depth)
        Each channel's source entity and relay entities, padded with ``n_entities``.
    ch_certainty : ndarray, shape (n_channels,)
    members, member_group, merged_into : ndarray of int
        The rows whose channels are merged, the merged channel of each (an
        index into ``merged_into``), and each merged channel's primary row.
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
        ids, beliefs, row = lists.ids, lists.beliefs, lists.start[-1]
        merged, merged_to = lists.merged, lists.merged_to
        ch_source, ch_chain = lists.ch_source, lists.ch_chain

        self.ids = ids
        self.beliefs = beliefs
        self.codes = lists.codes
        self.n_claims = len(lists.start) - 1
        self.n_rows = row
        self.n_questions = lists.n_questions
        self.question = np.asarray(lists.question, dtype=np.intp)
        self.prior = np.asarray(lists.prior, dtype=float)
        self.prior_logit = logit(self.prior)
        self.prior_given = np.asarray(lists.prior_given, dtype=bool)
        self.claim = np.asarray(lists.claim, dtype=np.intp)
        self.channel = np.asarray(lists.channel, dtype=np.intp)
        self.ch_source = np.array(ch_source, dtype=np.intp)
        self.source = self.ch_source[self.channel]
        self.sign = np.array(lists.sign, dtype=float)
        self.merge = np.arange(row)
        if len(merged):
            self.merge[merged] = merged_to
            self.primary = self.merge == np.arange(row)
        else:
            self.primary = np.ones(row, dtype=bool)
        self.reports = np.asarray(lists.reports, dtype=float)
        self.factor = lists.factor
        self.scale = lists.scale
        self.weighted = np.asarray(lists.weighted, dtype=np.intp)
        self.weighted_counts = lists.weighted_counts

        self.ch_certainty = np.array(lists.ch_certainty, dtype=float)
        depth = max(map(len, ch_chain), default=0)
        # Padded with the perfect relay; most channels have no relays, so only the
        # relayed ones are written.
        self.ch_via = np.full((len(ch_chain), depth), len(ids), dtype=np.intp)
        if depth:
            for i, chain in enumerate(ch_chain):
                if chain:
                    self.ch_via[i, : len(chain)] = chain

    # What only the scorer reads is made when it first does: the batch fit's table of
    # a whole store (``fit_data``) goes without it.

    @functools.cached_property
    def coef(self) -> FloatArray:
        """A row's weight is its channel's log-odds times this."""
        return self.sign * self.scale

    @functools.cached_property
    def _merged_channels(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """``chx``, ``members``, ``member_group`` and ``merged_into``."""
        none = np.zeros(0, dtype=np.intp)
        if self.primary.all():
            return self.channel, none, none, none
        # Rows of one source reached through several channels: only these
        # need the noisy-OR, whose logarithms are the costliest step.
        shared = np.bincount(self.merge, minlength=self.n_rows)[self.merge] > 1
        members = np.flatnonzero(shared)
        merged_into, member_group = np.unique(self.merge[members], return_inverse=True)
        # Each row's channel in the extended table: merged channels on the first rows.
        chx = self.channel.copy()
        chx[merged_into] = self.ch_source.size + np.arange(merged_into.size)
        return chx, members, member_group, merged_into

    @property
    def chx(self) -> IntArray:
        return self._merged_channels[0]

    @property
    def members(self) -> IntArray:
        return self._merged_channels[1]

    @property
    def member_group(self) -> IntArray:
        return self._merged_channels[2]

    @property
    def merged_into(self) -> IntArray:
        return self._merged_channels[3]

    @property
    def n_entities(self) -> int:
        return len(self.ids)

    def relay_entities(self) -> IntArray:
        """Entities that relay some row's statement, sorted; shape (n_relays,)."""
        via = self.ch_via[self.ch_via < self.n_entities]
        return np.unique(via)

    def relayed(self) -> RelayedRows:
        """What the fit rows' fidelities need of this table (``fit_data``'s rows)."""
        return RelayedRows.of(self)

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
        keep = self.primary & (self.sign != 0)
        # One row array at a time, each narrowed to FitData's type as it is made, the
        # fidelities' temporaries first: beside this table they were the fit's peak.
        fidelity = self.relayed().fidelity(reliability)
        claim = self.claim[keep].astype(index_dtype(self.question.size))
        source = self.source[keep].astype(index_dtype(np.size(prior_alpha)))
        return FitData(
            claim=claim,
            source=source,
            # In int8 before the rows are taken: given the table's float signs, FitData
            # checked and cast them with 24 B a row of temporaries, at 10 M rows this
            # step's peak (the signs are -1, 0 or 1 by construction, cast exactly).
            sign=self.sign.astype(np.int8)[keep],
            fidelity=fidelity,
            weight_scale=self.scale[keep],
            age_days=np.asarray(age_days)[keep],
            question=self.question,
            claim_prior=self.prior,
            # A copy: FitData keeps an array it is given read-only, and this is the caller's.
            outcome=np.array(outcome, dtype=float),
            closed=np.zeros(self.n_questions, dtype=bool),
            prior_alpha=np.asarray(prior_alpha, dtype=float),
            prior_beta=np.asarray(prior_beta, dtype=float),
            claim_class=np.asarray(() if claim_class is None else claim_class, dtype=np.intp),
            source_group=np.asarray(() if source_group is None else source_group, dtype=np.intp),
        )


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
