"""A store's claims as compact columns: what the re-scoring job reads, fits and scores from.

``ClaimColumns`` holds every claim and attribution of a store in flat numpy
arrays, with source, relay and question ids interned to ``int32`` codes: about
35 bytes an attribution, where a ``scoring.Claim`` of ``Attribution`` tuples
costs some 880. Neither the fit nor the scorer makes a Python object per
attribution from it: both read its evidence-row table, built with array
operations (``row_lists``; the fit of the whole store, the scorer a pass of
claims at a time, ``scoring.ClaimScorer.score_columns``). Only claims of
numeric questions are made whole, as ``scoring.Claim`` values
(``ClaimColumns.claims``).

It is engine-neutral: the local job and a distributed engine read the same
columns, and a contiguous range of claims (``ClaimColumns.slice``) is a
partition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from scoring.claims import STANCE_SIGN, Attribution, Claim, Stance
from scoring.evidence import FloatArray, IntArray
from scoring.params import ScoringParams, SourceBelief
from scoring.rows import Entities, EvidenceRows, RowLists, design_effects
from scoring.strings import Strings

if TYPE_CHECKING:  # scoring.numeric scores with the scorer, which reads columns
    from scoring.numeric.figures import Figure

# Stance of each sign, indexed by the sign itself: 1 supports, -1 (the last) refutes.
STANCES: tuple[Stance, Stance, Stance] = ("neutral", "supports", "refutes")


@dataclass(frozen=True, eq=False)
class ClaimColumns:
    """Claims and their attributions as flat arrays; claim ``i``'s attributions are
    ``start[i]:start[i + 1]`` (in position order).

    Parameters
    ----------
    entities : list of str, length n_entities
        Source and relay ids; an attribution names them by index (code).
    claim_ids : Strings of str, length n
    prior : ndarray of float64, shape (n,)
        Each claim's base rate, NaN for the scorer's default.
    question : ndarray of int32, shape (n,)
        Index into ``questions``, -1 for a claim alone.
    questions : list of str
        Question ids.
    text : Strings of str or None, length n
        Each claim's wording.
    value : dict of int to Figure
        The figure of each claim that states one (numeric questions), by position.
    start : ndarray of int64, shape (n + 1,)
        Offsets of each claim's attributions.
    source : ndarray of int32, shape (m,)
        Original source of each attribution (entity code).
    sign : ndarray of int8, shape (m,)
        +1 supports, -1 refutes, 0 neutral.
    certainty : ndarray of float64, shape (m,)
        In (0, 1]; kept at full precision because it tells channels apart.
    count : ndarray of int32, shape (m,)
        Unnamed sources behind each attribution, >= 1.
    via_start : ndarray of int64, shape (m + 1,)
        Offsets of each attribution's relay chain in ``via``.
    via : ndarray of int32, shape (k,)
        Relay entity codes, nearest the source first.
    age_days : ndarray of float32, shape (m,)
        Age of each attribution in days, >= 0.
    """

    entities: list[str]
    claim_ids: Strings[str]
    prior: FloatArray
    question: np.ndarray[tuple[int], np.dtype[np.int32]]
    questions: list[str]
    text: Strings[str | None]
    start: np.ndarray[tuple[int], np.dtype[np.int64]]
    source: np.ndarray[tuple[int], np.dtype[np.int32]]
    sign: np.ndarray[tuple[int], np.dtype[np.int8]]
    certainty: FloatArray
    count: np.ndarray[tuple[int], np.dtype[np.int32]]
    via_start: np.ndarray[tuple[int], np.dtype[np.int64]]
    via: np.ndarray[tuple[int], np.dtype[np.int32]]
    age_days: np.ndarray[tuple[int], np.dtype[np.float32]]
    value: dict[int, Figure] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.claim_ids), self.source.size
        sizes = {
            "prior": (self.prior.size, n),
            "question": (self.question.size, n),
            "text": (len(self.text), n),
            "start": (self.start.size, n + 1),
            "sign": (self.sign.size, m),
            "certainty": (self.certainty.size, m),
            "count": (self.count.size, m),
            "via_start": (self.via_start.size, m + 1),
            "age_days": (self.age_days.size, m),
        }
        bad = [name for name, (size, wanted) in sizes.items() if size != wanted]
        if bad or self.start[-1] != m or self.via_start[-1] != self.via.size:
            raise ValueError(f"columns of inconsistent lengths: {', '.join(bad) or 'offsets'}")

    @property
    def n_claims(self) -> int:
        return len(self.claim_ids)

    @property
    def n_attributions(self) -> int:
        return int(self.source.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (ids and texts aside)."""
        arrays = (self.prior, self.question, self.start, self.source, self.sign)
        more = (self.certainty, self.count, self.via_start, self.via, self.age_days)
        return sum(a.nbytes for a in (*arrays, *more))

    def claim_of_attribution(self) -> IntArray:
        """Claim position of each attribution; shape (m,)."""
        return np.repeat(np.arange(self.n_claims), np.diff(self.start))

    def rows_of(self, at: IntArray) -> tuple[IntArray, IntArray]:
        """The attribution rows of the claims at ``at``, in that order, and where each
        claim's rows end among them; shapes (m',) and (len(at),)."""
        lengths = self.start[at + 1] - self.start[at]
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if ends.size else 0
        return np.repeat(self.start[at] - (ends - lengths), lengths) + np.arange(total), ends

    def claims(self, positions: Sequence[int] | IntArray) -> list[Claim]:
        """The claims at ``positions`` as the scorer takes them."""
        at = np.asarray(positions, dtype=np.intp)
        rows, ends = self.rows_of(at)
        offsets = [0, *ends.tolist()]
        # The attributions of all those claims, one list per field, then cut per claim.
        entities = self.entities
        relays = self.via_start[rows].tolist(), self.via_start[rows + 1].tolist()
        via = [
            tuple(entities[r] for r in self.via[a:b].tolist()) if b > a else ()
            for a, b in zip(*relays, strict=True)
        ]
        attributions = list(
            map(
                Attribution,
                [entities[k] for k in self.source[rows].tolist()],
                [STANCES[k] for k in self.sign[rows].tolist()],
                via,
                self.certainty[rows].tolist(),
                self.count[rows].tolist(),
            )
        )
        return [
            replace(claim, attributions=tuple(attributions[offsets[k] : offsets[k + 1]]))
            for k, claim in enumerate(self.bare_claims(at))
        ]

    def bare_claims(self, positions: Sequence[int] | IntArray) -> list[Claim]:
        """The claims at ``positions`` without their attributions: each one's id, text,
        prior, question and value, what a scorer needs of it beside its rows
        (``row_lists`` of ``take(positions)``)."""
        at = np.asarray(positions, dtype=np.intp)
        questions, value = self.questions, self.value
        return [
            Claim(
                (),
                None if prior != prior else prior,
                questions[q] if q >= 0 else None,
                claim_id,
                text,
                value.get(i),
            )
            for i, q, prior, claim_id, text in zip(
                at.tolist(),
                self.question[at].tolist(),
                self.prior[at].tolist(),
                self.claim_ids.at(at),
                self.text.at(at),
                strict=True,
            )
        ]

    def take(self, positions: Sequence[int] | IntArray, *, named: bool = True) -> ClaimColumns:
        """The claims at ``positions``, in that order, sharing the id tables; values
        re-keyed by their place in ``positions``. ``named=False``: their ids and wordings
        left out (None), for a reader of their evidence alone (``row_lists``, a scorer's
        pass: each pass made two ``Strings`` of 4,000 claims that nothing read)."""
        at = np.asarray(positions, dtype=np.intp)
        rows, ends = self.rows_of(at)
        via_lengths = self.via_start[rows + 1] - self.via_start[rows]
        via_ends = np.cumsum(via_lengths)
        via_total = int(via_ends[-1]) if via_ends.size else 0
        via = np.repeat(self.via_start[rows] - (via_ends - via_lengths), via_lengths)
        value = self.value
        listed = at.tolist()
        return ClaimColumns(
            entities=self.entities,
            claim_ids=self.claim_ids.take(at) if named else _left_out(at.size),
            prior=self.prior[at],
            question=self.question[at],
            questions=self.questions,
            text=self.text.take(at) if named else _left_out(at.size),
            start=np.concatenate(([0], ends)).astype(np.int64),
            source=self.source[rows],
            sign=self.sign[rows],
            certainty=self.certainty[rows],
            count=self.count[rows],
            via_start=np.concatenate(([0], via_ends)).astype(np.int64),
            via=self.via[via + np.arange(via_total)],
            age_days=self.age_days[rows],
            value={k: value[i] for k, i in enumerate(listed) if i in value},
        )

    @classmethod
    def of_claims(cls, claims: Sequence[Claim], age_days: ArrayLike | None = None) -> ClaimColumns:
        """The columns of ``claims`` (ids ``str(i)`` where a claim has none); ages
        default to 0. For tests and small stores: a store is read into columns directly.

        Raises
        ------
        ValueError
            For an unknown stance.
        """
        entities: dict[str, int] = {}
        questions: dict[str, int] = {}
        source: list[int] = []
        sign: list[int] = []
        certainty: list[float] = []
        count: list[int] = []
        via: list[int] = []
        via_start = [0]
        start = [0]
        for c in claims:
            for a in c.attributions:
                s = STANCE_SIGN.get(a.stance)
                if s is None:
                    raise ValueError(f"stance must be supports, refutes or neutral: {a.stance!r}")
                source.append(entities.setdefault(a.source, len(entities)))
                sign.append(s)
                certainty.append(a.certainty)
                count.append(a.count)
                via.extend(entities.setdefault(r, len(entities)) for r in a.via)
                via_start.append(len(via))
            start.append(len(source))
        m = len(source)
        return cls(
            entities=list(entities),
            claim_ids=Strings.of(
                c.id if c.id is not None else str(i) for i, c in enumerate(claims)
            ),
            prior=np.array([np.nan if c.prior is None else c.prior for c in claims], dtype=float),
            question=np.array(
                [
                    -1 if c.question is None else questions.setdefault(c.question, len(questions))
                    for c in claims
                ],
                dtype=np.int32,
            ),
            questions=list(questions),
            text=Strings.of(c.text for c in claims),
            start=np.array(start, dtype=np.int64),
            source=np.array(source, dtype=np.int32),
            sign=np.array(sign, dtype=np.int8),
            certainty=np.array(certainty, dtype=float),
            count=np.array(count, dtype=np.int32),
            via_start=np.array(via_start, dtype=np.int64),
            via=np.array(via, dtype=np.int32),
            age_days=np.asarray(np.zeros(m) if age_days is None else age_days, dtype=np.float32),
            value={i: c.value for i, c in enumerate(claims) if c.value is not None},
        )

    def slice(self, lo: int, hi: int) -> ClaimColumns:
        """Claims ``lo:hi`` (a partition), sharing the id tables; values re-keyed from 0."""
        a, b = int(self.start[lo]), int(self.start[hi])
        v, w = int(self.via_start[a]), int(self.via_start[b])
        return ClaimColumns(
            entities=self.entities,
            claim_ids=self.claim_ids[lo:hi],
            prior=self.prior[lo:hi],
            question=self.question[lo:hi],
            questions=self.questions,
            text=self.text[lo:hi],
            start=self.start[lo : hi + 1] - a,
            source=self.source[a:b],
            sign=self.sign[a:b],
            certainty=self.certainty[a:b],
            count=self.count[a:b],
            via_start=self.via_start[a : b + 1] - v,
            via=self.via[v:w],
            age_days=self.age_days[a:b],
            value={i - lo: f for i, f in self.value.items() if lo <= i < hi},
        )

    def without_questions(self, positions: Mapping[int, object] | Sequence[int]) -> ClaimColumns:
        """These columns with the claims at ``positions`` each alone in its question."""
        question = self.question.copy()
        question[np.asarray(list(positions), dtype=np.intp)] = -1
        return replace(self, question=question)


def _left_out(n: int) -> Strings[Any]:
    """``n`` strings, each None."""
    return Strings("", np.zeros(n + 1, dtype=np.int64), np.ones(n, dtype=bool))


def evidence_rows(
    columns: ClaimColumns, sources: Mapping[str, SourceBelief], params: ScoringParams
) -> EvidenceRows:
    """The evidence-row table of every claim in ``columns`` as arrays (``row_lists``)."""
    return EvidenceRows.of(row_lists(columns, sources, params))


def row_lists(
    columns: ClaimColumns,
    sources: Mapping[str, SourceBelief],
    params: ScoringParams,
    entities: Entities | None = None,
) -> RowLists:
    """The evidence-row table of every claim in ``columns``, built with array operations.

    The same table as ``EvidenceRows(columns.claims(all), sources, params)``
    (entities and channels in order of first appearance, relay channels of one
    source merged, correlation clusters) without a Python object per
    attribution; only relayed or hedged attributions are keyed one by one.
    The batch fit's input (``fit_data``) and, a pass at a time, the scorer's
    (``ClaimScorer.score_columns``). ``entities``: ``Entities.of(columns.entities,
    sources, params)`` when the caller has it (a job's passes share it).

    Raises
    ------
    ValueError
        For a prior, certainty or count out of range.
    """
    c = columns
    n, m = c.n_claims, c.n_attributions
    given = c.prior[~np.isnan(c.prior)]
    if ((given <= 0) | (given >= 1)).any():
        raise ValueError("a claim's prior must be in (0, 1)")
    if ((c.certainty <= 0) | (c.certainty > 1)).any():
        raise ValueError("an attribution's certainty must be in (0, 1]")
    if (c.count < 1).any():
        raise ValueError("an attribution's count must be an integer >= 1")
    claim = c.claim_of_attribution()
    via_len = np.diff(c.via_start)
    via_row = np.repeat(np.arange(m), via_len)

    # Entities in order of first appearance in (source, relays...) of each row in turn.
    codes = np.concatenate((c.source, c.via)).astype(np.intp)
    place = np.concatenate((np.arange(m) + c.via_start[:-1], via_row + 1 + np.arange(c.via.size)))
    del via_row
    first = np.full(len(c.entities), np.iinfo(np.int64).max)
    np.minimum.at(first, codes, place)
    used = np.flatnonzero(first < np.iinfo(np.int64).max)
    by_code = used[np.argsort(first[used], kind="stable")]
    index = np.full(len(c.entities), -1, dtype=np.intp)
    index[by_code] = np.arange(by_code.size)
    if entities is None:
        named = Entities.of([c.entities[code] for code in by_code.tolist()], sources, params)
    else:
        named = entities.take(by_code)
    # The lists the table's readers index an item at a time.
    ids = named.ids.tolist()
    src, relays = index[c.source], index[c.via]
    # Temporaries of every attribution go as soon as they are used: the table is
    # built while the snapshot is held, and the job's peak memory is made here.
    del codes, place, first, index

    # Channels: a direct, certain attribution's is its source; others are keyed
    # by (source, relay chain, certainty), numbered after the sources.
    key = src.copy()
    keyed = np.flatnonzero((via_len > 0) | (c.certainty != 1))
    n_keys = len(ids)
    if keyed.size:
        keyed_number = _channel_keys(
            src[keyed], c.certainty[keyed], relays, c.via_start[keyed], via_len[keyed]
        )
        key[keyed] = n_keys + keyed_number
        n_keys += int(keyed_number.max()) + 1
        del keyed_number
    del keyed
    channel, ch_row = _numbered_by_first_row(key, n_keys)
    del key
    # Most channels are unrelayed: one empty chain for them all.
    ch_chain: list[Sequence[int]] = [()] * ch_row.size
    relayed = np.flatnonzero(via_len[ch_row] > 0)
    for ch, r in zip(relayed.tolist(), ch_row[relayed].tolist(), strict=True):
        ch_chain[ch] = relays[c.via_start[r] : c.via_start[r + 1]].tolist()
    del via_len

    # Questions: a claim alone is its own, numbered in claim order with the others.
    qkey = np.where(c.question >= 0, c.question, len(c.questions) + np.arange(n))
    _, first_claim, question = np.unique(qkey, return_index=True, return_inverse=True)
    question = _by_first(first_claim)[question]

    # Merges: rows of one source on one side of one claim go to the first of them.
    sided = np.flatnonzero(c.sign != 0)
    side = (c.sign[sided] > 0).astype(np.int64)
    group_key = (claim[sided] * len(ids) + src[sided]) * 2 + side
    by_key = np.argsort(group_key, kind="stable")
    order, sorted_key = sided[by_key], group_key[by_key]
    del sided, side, group_key, by_key
    starts = _group_starts(sorted_key)
    head = order[starts]
    merge = np.arange(m)
    merge[order] = np.repeat(head, np.diff(np.r_[starts, order.size]))
    del sorted_key
    merged = np.flatnonzero(merge != np.arange(m))
    merged_to = merge[merged]
    del merge
    reports = np.zeros(m)
    if order.size:
        reports[head] = np.maximum.reduceat(c.count[order], starts)
    del order, starts
    weighted = np.sort(head)
    del head
    weighted_counts = np.bincount(claim[weighted], minlength=n).tolist()

    # Correlation clusters: weighted rows of one group on one side of one claim.
    entity_group = named.group_code
    grouped = weighted[entity_group[src[weighted]] >= 0]
    cluster_key = (claim[grouped] * max(named.n_groups, 1) + entity_group[src[grouped]]) * 2 + (
        c.sign[grouped] > 0
    )
    corder = np.argsort(cluster_key, kind="stable")
    ckey = cluster_key[corder]
    del cluster_key
    cstarts = _group_starts(ckey)
    cluster_to = np.repeat(grouped[corder][cstarts], np.diff(np.r_[cstarts, ckey.size]))
    is_member = grouped[corder] != cluster_to
    members = grouped[corder][is_member]
    del grouped, corder, ckey, cstarts
    member_order = np.argsort(members)
    prior = np.where(np.isnan(c.prior), params.default_claim_prior, c.prior)
    clustered, clustered_to = members[member_order], cluster_to[is_member][member_order]
    ch_source = src[ch_row]
    factor, scale = design_effects(clustered, clustered_to, reports, named.rhos, ch_source, channel)
    return RowLists(
        ids=ids,
        beliefs=named.beliefs.tolist(),
        groups=named.groups.tolist(),
        rhos=named.rhos,
        start=c.start.tolist(),
        question=question,
        n_questions=int(first_claim.size),
        prior=prior,
        prior_given=~np.isnan(c.prior),
        claim=claim,
        channel=channel,
        sign=c.sign,
        reports=reports,
        merged=merged,
        merged_to=merged_to,
        clustered=clustered,
        clustered_to=clustered_to,
        weighted=weighted,
        weighted_counts=weighted_counts,
        ch_source=ch_source,
        ch_chain=ch_chain,
        ch_certainty=c.certainty[ch_row],
        labels=named.labels.tolist(),
        factor=factor,
        scale=scale,
        codes=by_code,
    )


def _channel_keys(
    source: IntArray, certainty: FloatArray, relays: IntArray, at: IntArray, length: IntArray
) -> IntArray:
    """A number for each distinct channel (source, relay chain, certainty) of some rows.

    Parameters
    ----------
    source : ndarray of int, shape (k,)
        Each row's source entity.
    certainty : ndarray of float, shape (k,)
    relays : ndarray of int, shape (v,)
        Relay entities (>= 0) of all rows; row ``i``'s chain is ``length[i]`` of them
        from ``at[i]``.

    Returns
    -------
    ndarray of int, shape (k,)
        Equal for rows of one channel (the same source, chain and certainty, to the
        bit), in ``[0, k)``.
    """
    # One row of integers a channel: source, certainty's bits, relays padded with -1
    # (so chains of other lengths differ too).
    described = np.full((source.size, 2 + int(length.max())), -1, dtype=np.int64)
    described[:, 0] = source
    described[:, 1] = np.ascontiguousarray(certainty, dtype=np.float64).view(np.int64)
    row = np.repeat(np.arange(source.size), length)
    step = np.arange(row.size) - np.repeat(np.cumsum(length) - length, length)
    described[row, 2 + step] = relays[at[row] + step]
    _, number = np.unique(described, axis=0, return_inverse=True)
    return number.reshape(-1)


def _numbered_by_first_row(key: IntArray, n_keys: int) -> tuple[IntArray, IntArray]:
    """Keys numbered in the order of their first rows.

    Keys are small integers (``[0, n_keys)``), so each one's first row is found in
    place, not by ``np.unique``'s sorts of every row (several temporaries of a row
    each, at the table's peak).

    Parameters
    ----------
    key : ndarray of int, shape (m,)
        Each row's key.
    n_keys : int
        One more than the largest key.

    Returns
    -------
    number : ndarray of int, shape (m,)
        Each row's key's number.
    first_row : ndarray of int, shape (k,)
        The first row of each number's key, ascending (k keys used).
    """
    m = key.size
    key_row = np.full(n_keys, m)
    np.minimum.at(key_row, key, np.arange(m))
    used = np.flatnonzero(key_row < m)
    by_row = np.argsort(key_row[used], kind="stable")
    number = np.empty(n_keys, dtype=np.intp)
    number[used[by_row]] = np.arange(used.size)
    return number[key], key_row[used][by_row]


def _by_first(first: IntArray) -> IntArray:
    """For keys numbered by ``np.unique`` with first positions ``first``: each key's
    number in order of first appearance."""
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank


def _group_starts(keys: IntArray) -> IntArray:
    """Where each run of equal values of sorted ``keys`` starts."""
    if not keys.size:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
