"""Scoring attributed claims: confidence, credible interval, scales and explanation.

``ClaimScorer.score`` reads claims into their evidence rows (``scoring.rows``;
``ClaimScorer.score_columns`` builds them from a store's columns instead),
has ``scoring.confidence`` compute the numbers (the reference for a call of
a few claims, the vectorised path for more; a learned model's E-step on top,
``scoring.learned``), and makes each claim's ``Score`` from them: its words,
credibility, evidence, notes and summary.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from scoring.claims import Claim, question_units
from scoring.columns import STANCES, ClaimColumns, row_lists
from scoring.confidence import (
    DrawTable,
    Evaluation,
    reference_confidence,
    vectorised_confidence,
)
from scoring.evidence import FloatArray, IntArray
from scoring.explain import (
    LEARNED_CLAUSE,
    PRIOR_CLAUSE,
    Evidence,
    make_evidence,
    percent,
    percents,
    sentence,
    summarize,
)
from scoring.learned import LearnedModel, interval_around, learned_scores
from scoring.params import ScoringParams, SourceBelief
from scoring.rows import EvidenceRows, RowLists, collect_rows
from scoring.scales import (
    credibility_level,
    credibility_levels,
    estimative_term,
    estimative_terms,
)

MODEL_NAME = "credence-logodds"
# A new version makes every stored score stale, so the next re-scoring job rescores
# them all. 1.1: a claim's own prior is neither tempered nor replaced by a learned
# base rate, and a resolved answer counts by its outcome beside its question's open ones.
MODEL_VERSION = "1.1"
MODEL = f"{MODEL_NAME}/{MODEL_VERSION}"
"""What a score's ``model`` field says."""

# Rows x samples evaluated in one vectorised pass (whole questions at a time).
# No (rows, samples) array is made, only (channels, samples) and (claims,
# samples) ones, so passes can be large: fewer passes spend less on per-pass
# overhead, and this bounds the memory of a call with 10,000 claims of 1,000
# attributions.
_CELLS_PER_PASS = 1 << 20

# The same for ``ClaimScorer.score_columns``, whose caller (a re-scoring job) sizes
# its calls itself (a chunk of 4,000 claims, ~20,000 rows, is one pass): a pass
# has a cost per entity it names, and a chunk's passes named most entities again
# each. Scoring a 1 M-attribution store took ~12 % less CPU than in passes of
# ``_CELLS_PER_PASS``, and the job's peak memory is made before its scoring.
_COLUMN_CELLS_PER_PASS = 1 << 23

# Calls with at most this many claims (and no learned model) take the reference
# and scalar words: making arrays of their few rows costs more than the
# arithmetic on them (make bench-scoring; at about 8 claims both paths cost the same).
_FEW = 8

# A row whose |weight| is below this carries no evidence.
_NO_WEIGHT = 1e-12

# ``STANCES`` as an array, to read a table's stances off its signs at once (by sign, -1 last).
_STANCE_OF_SIGN = np.array(STANCES, dtype=object)


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
        ``MODEL``: ``MODEL_NAME/MODEL_VERSION``.
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


@dataclass(slots=True)
class ScoreTable:
    """The scores of some claims field by field, as Python lists: what ``Score`` objects
    are made of (``scores``), for a caller that reads the fields of many (a re-scoring
    job) without an object per score and per piece of evidence.

    Attributes
    ----------
    claim_id, confidence, interval, estimative, credibility, independent_sources,
    summary, model : lists, length n_claims
        Each score's fields of those names (an interval as ``(low, high)`` or ``[low, high]``).
    first, end : lists of int, length n_claims
        Score ``k``'s evidence is rows ``first[k]:end[k]`` of the row fields.
    source, via, stance, reliability, effective_reliability, weight, note : lists
        Each evidence row's ``Evidence`` fields.
    """

    claim_id: list[str | None]
    confidence: list[float]
    interval: list[list[float]] | list[tuple[float, float]]
    estimative: list[str]
    credibility: list[int]
    independent_sources: list[float]
    summary: list[str]
    model: list[str]
    first: list[int]
    end: list[int]
    source: list[str]
    via: list[tuple[str, ...]]
    stance: list[str]
    reliability: list[float]
    effective_reliability: list[float]
    weight: list[float]
    note: list[str | None]

    def __len__(self) -> int:
        return len(self.claim_id)

    def scores(self) -> list[Score]:
        """The ``Score`` of each claim, in order."""
        said = list(
            map(
                make_evidence,
                self.source,
                self.via,
                self.stance,
                self.reliability,
                self.effective_reliability,
                self.weight,
                self.note,
            )
        )
        return [
            make_score(claim_id, p, (low, high), term, cred, n_eff, tuple(said[a:b]), text, model)
            for claim_id, p, (low, high), term, cred, n_eff, text, model, a, b in zip(
                self.claim_id,
                self.confidence,
                self.interval,
                self.estimative,
                self.credibility,
                self.independent_sources,
                self.summary,
                self.model,
                self.first,
                self.end,
                strict=True,
            )
        ]

    @classmethod
    def of_scores(cls, scores: Sequence[Score]) -> ScoreTable:
        """The table of ``scores`` (numbers as Python floats and ints)."""
        evidence = [e for s in scores for e in s.evidence]
        offsets = list(itertools.accumulate((len(s.evidence) for s in scores), initial=0))
        return cls(
            [s.claim_id for s in scores],
            [float(s.confidence) for s in scores],
            [(float(s.interval[0]), float(s.interval[1])) for s in scores],
            [s.estimative for s in scores],
            [int(s.credibility) for s in scores],
            [float(s.independent_sources) for s in scores],
            [s.summary for s in scores],
            [s.model for s in scores],
            offsets[:-1],
            offsets[1:],
            [e.source for e in evidence],
            [e.via for e in evidence],
            [e.stance for e in evidence],
            [float(e.reliability) for e in evidence],
            [float(e.effective_reliability) for e in evidence],
            [float(e.weight) for e in evidence],
            [e.note for e in evidence],
        )

    @classmethod
    def merged(cls, parts: Sequence[tuple[Sequence[int], ScoreTable]]) -> ScoreTable:
        """One table of the claims of ``parts``, each part with the positions its claims
        take (together ``0 .. n - 1``), in position order."""
        order = np.argsort(np.concatenate([np.asarray(p, dtype=np.intp) for p, _ in parts]))
        in_order = bool((order == np.arange(order.size)).all())
        if len(parts) == 1 and in_order:
            return parts[0][1]
        # Passes of whole questions mostly come in order: then their claims are only joined.
        picked = None if in_order else order.tolist()
        rows = list(itertools.accumulate((len(t.source) for _, t in parts), initial=0))

        def per_claim(name: str, offset: bool = False) -> list[Any]:
            joined: list[Any] = []
            for (_, t), shift in zip(parts, rows, strict=False):
                values = getattr(t, name)
                joined.extend([v + shift for v in values] if offset and shift else values)
            return joined if picked is None else [joined[k] for k in picked]

        def per_row(name: str) -> list[Any]:
            return list(itertools.chain.from_iterable(getattr(t, name) for _, t in parts))

        return cls(
            **{f: per_claim(f) for f in _CLAIM_FIELDS},
            first=per_claim("first", offset=True),
            end=per_claim("end", offset=True),
            **{f: per_row(f) for f in _ROW_FIELDS},
        )


# A ScoreTable's fields: a Score's, one list each, and its evidence's, one list each.
_CLAIM_FIELDS = tuple(f.name for f in fields(Score) if f.name != "evidence")
_ROW_FIELDS = tuple(f.name for f in fields(Evidence))


class ClaimScorer:
    """Scores claims from who said them, through whom, and who else did.

    Parameters
    ----------
    params : ScoringParams
    """

    def __init__(self, params: ScoringParams | None = None) -> None:
        self.params = params or ScoringParams()
        self.model: LearnedModel | None = None

    def with_model(self, model: LearnedModel | None) -> ClaimScorer:
        """This scorer, scoring with ``model`` (what a batch fit learned) unless a call
        passes another; None scores with the one-coin arithmetic alone."""
        bound = copy.copy(self)
        bound.model = model
        return bound

    def score(
        self,
        claims: Sequence[Claim],
        sources: Mapping[str, SourceBelief],
        model: LearnedModel | None = None,
    ) -> list[Score]:
        """Score claims; claims sharing a question are scored jointly.

        Parameters
        ----------
        claims : sequence of Claim
        sources : mapping of source id to SourceBelief
            Sources (and relays) not in it get ``params.unknown_source`` and no group.
        model : LearnedModel, optional
            What a batch fit learned (structure, class base rates, confusion
            matrices, temperature); default: the scorer's own (``with_model``).
            Confidences and weights are then the fit's E-step on these claims
            (``scoring.learned.learned_scores``), and the interval keeps the
            width reliability draws give it in log-odds.

        Returns
        -------
        list of Score, in the order of ``claims``

        Raises
        ------
        ValueError
            For a prior, certainty, count or stance out of range.
        """
        params = self.params
        return self._score_passes(
            [c.id for c in claims],
            [c.question for c in claims],
            [len(c.attributions) for c in claims],
            lambda batch: collect_rows([claims[i] for i in batch], sources, params),
            lambda batch: [claims[i].text for i in batch],
            model or self.model,
            _CELLS_PER_PASS,
        ).scores()

    def score_columns(
        self,
        columns: ClaimColumns,
        positions: Sequence[int] | IntArray,
        sources: Mapping[str, SourceBelief],
        model: LearnedModel | None = None,
        *,
        table: DrawTable | None = None,
    ) -> ScoreTable:
        """``score(columns.claims(positions), sources, model)`` without an object per
        claim or attribution: each pass's table is built from the columns with array
        operations (``scoring.columns.row_lists``), and the scores are a ``ScoreTable``.
        ``table``: the draws of ``columns``' entities (looked up in ``sources``), for a
        caller that scores them in many calls (``scoring.confidence.DrawTable``)."""
        at = np.asarray(positions, dtype=np.intp)
        params = self.params
        entities = None if table is None else table.entities
        if entities is not None and len(entities.ids) != len(columns.entities):
            raise ValueError("the table of draws is of other columns' entities")
        return self._score_passes(
            columns.claim_ids.at(at),
            [None if q < 0 else q for q in columns.question[at].tolist()],
            (columns.start[at + 1] - columns.start[at]).tolist(),
            lambda batch: row_lists(
                columns.take(at[batch], named=False), sources, params, entities
            ),
            lambda batch: columns.text.at(at[batch]),
            model or self.model,
            _COLUMN_CELLS_PER_PASS,
            table,
        )

    def _score_passes(
        self,
        ids: Sequence[str | None],
        questions: Sequence[str | int | None],
        sizes: Sequence[int],
        table: Callable[[list[int]], RowLists],
        texts: Callable[[list[int]], Sequence[str | None]],
        model: LearnedModel | None,
        cells: int,
        draws: DrawTable | None = None,
    ) -> ScoreTable:
        """Scores of some claims, pass by pass of about ``cells`` rows x samples.

        Parameters
        ----------
        ids, questions, sizes : sequences, length n_claims
            Each claim's id, question (an id or a number; None for a claim alone) and
            number of attributions.
        table, texts : callables
            The evidence-row table, and the wordings, of the claims at some positions
            (the wordings are read only for a model with answer classes).
        """
        batches = self._batches(questions, sizes, cells)
        if len(batches) == 1:
            batch = batches[0]
            return self._score_batch(ids, table(batch), model, draws, lambda: texts(batch))
        return ScoreTable.merged(
            [
                (
                    batch,
                    self._score_batch(
                        [ids[i] for i in batch],
                        table(batch),
                        model,
                        draws,
                        lambda batch=batch: texts(batch),  # type: ignore[misc]
                    ),
                )
                for batch in batches
            ]
        )

    def _batches(
        self, questions: Sequence[str | int | None], sizes: Sequence[int], cells: int
    ) -> list[list[int]]:
        """Claim positions in passes of whole questions of about ``cells`` cells."""
        budget = max(1, cells // self.params.interval_samples)
        if len(questions) == 1 or (len(questions) <= budget and sum(sizes) <= budget):
            return [list(range(len(questions)))]
        batches: list[list[int]] = []
        rows = 0
        for unit in question_units(questions):
            size = sum(sizes[i] for i in unit)
            if not batches or rows + size > budget:
                batches.append([])
                rows = 0
            batches[-1].extend(unit)
            rows += size
        # Each pass in the claims' order (a pass needs whole questions, not adjacent
        # ones): a single pass is then the claims as given, which ``_score_passes``
        # returns as they come. Gathered by question instead, a call of more claims
        # than the budget but fewer rows (claims without attributions) came back with
        # each score on another claim.
        return [sorted(batch) for batch in batches]

    def _score_batch(
        self,
        ids: Sequence[str | None],
        lists: RowLists,
        model: LearnedModel | None,
        draws: DrawTable | None,
        texts: Callable[[], Sequence[str | None]],
    ) -> ScoreTable:
        """Scores of claims that hold whole questions (``ids``), from their table, in
        one pass; ``texts`` gives their wordings."""
        p = self.params
        if len(ids) <= _FEW and model is None:
            return self._scores(ids, lists, reference_confidence(lists, p))
        rows = EvidenceRows.of(lists)
        numbers = vectorised_confidence(rows, p, draws)
        learned_base = None
        if model is not None:
            learned, weight, learned_base = learned_scores(texts, rows, model)
            numbers.interval = interval_around(
                learned,
                np.array(numbers.confidence),
                np.array(numbers.interval).reshape(-1, 2),
                model.temperature,
            )
            numbers.confidence = learned.tolist()
            numbers.weight = weight.tolist()
        return self._scores(ids, lists, numbers, learned_base)

    def _scores(
        self,
        claim_ids: Sequence[str | None],
        t: RowLists,
        numbers: Evaluation,
        learned_base: FloatArray | None = None,
    ) -> ScoreTable:
        """The score of each claim (``claim_ids``) from its rows and their numbers, and
        its ``learned_base`` rate where the model learned one (``learned_scores``)."""
        p = self.params
        scale = t.scale.tolist()
        notes = _notes(t, scale)
        confidence = numbers.confidence
        n_claims, start = len(claim_ids), t.start
        sign_of = np.asarray(t.sign, dtype=np.intp)
        channel = np.asarray(t.channel, dtype=np.intp)
        claim = np.asarray(t.claim, dtype=np.intp)
        # What each attribution said, read from the table: its channel's source and
        # relays by id, and its stance.
        ids = t.ids
        ch_source = [ids[s] for s in t.ch_source]
        ch_via = [tuple([ids[r] for r in chain]) if chain else () for chain in t.ch_chain]
        channels = channel.tolist()
        source = [ch_source[c] for c in channels]
        via = [ch_via[c] for c in channels]
        stance: list[str] = _STANCE_OF_SIGN[sign_of].tolist()
        # Few rows have a note.
        note: list[str | None] = [None] * len(channels)
        for row, text in notes.items():
            note[row] = text
        # Per claim: independent sources whose evidence carries weight, those of
        # them that raise it, and whether any evidence carries weight (sums in
        # row order, as bincount adds).
        w = np.asarray(numbers.weight, dtype=float)
        carries = np.abs(w) > _NO_WEIGHT
        raises = (w > _NO_WEIGHT) & (sign_of > 0)
        scales = np.asarray(t.scale, dtype=float)
        row_source = np.asarray(t.ch_source, dtype=np.intp)[channel]
        independent = _independent_sources(
            claim[carries], row_source[carries], sign_of[carries] > 0, scales[carries], n_claims
        ).tolist()
        confirming = np.bincount(claim[raises], scales[raises], n_claims).tolist()
        weighty = (np.bincount(claim[carries], minlength=n_claims) > 0).tolist()
        named = _named(t, channel, claim, sign_of)
        if n_claims <= _FEW:
            # numpy's per-call cost exceeds the work for a few claims.
            terms = [estimative_term(x) for x in confidence]
            credibility = [
                credibility_level(*args)
                for args in zip(confidence, weighty, confirming, strict=True)
            ]
        else:
            conf = np.array(confidence)
            terms = estimative_terms(conf)
            credibility = credibility_levels(conf, np.array(weighty), np.array(confirming)).tolist()
        level = p.interval_level
        level_text = percent(level)
        # Summaries of claims the table could not name sources for name them from
        # their evidence, by the table's labels.
        by_id = dict(zip(ids, t.labels, strict=True)) if None in named else {}
        table = ScoreTable(
            list(claim_ids),
            confidence,
            numbers.interval,
            terms,
            credibility,
            independent,
            [],
            [MODEL] * n_claims,
            start[:-1],
            start[1:],
            source,
            via,
            stance,
            numbers.mean,
            numbers.effective,
            numbers.weight,
            note,
        )
        # The percents of a whole pass at once (the sentences' costliest part, one by one).
        low, high = np.reshape(numbers.interval, (-1, 2)).T
        texts = zip(percents(confidence), percents(low), percents(high), strict=True)
        # What each claim started from (``base_clause``): the prior it gave, else a
        # learned base rate. Most claims give no prior: a one-claim request without a
        # learned model pays no numpy call for it.
        bases: list[str | None] = (
            [None] * n_claims
            if learned_base is None
            else [LEARNED_CLAUSE.format(text) for text in percents(learned_base)]
        )
        given = [k for k, gave in enumerate(t.prior_given) if gave]
        if given:
            for k, text in zip(given, percents([t.prior[k] for k in given]), strict=True):
                bases[k] = PRIOR_CLAUSE.format(text)
        table.summary = [
            sentence(term, p_text, low_text, high_text, n_eff, *names, level_text, base)
            if names is not None
            else summarize(
                term,
                confidence[k],
                numbers.interval[k],
                n_eff,
                _evidence(table, k),
                level,
                by_id,
                base,
            )
            for k, (names, term, (p_text, low_text, high_text), n_eff, base) in enumerate(
                zip(named, terms, texts, independent, bases, strict=True)
            )
        ]
        return table


def _independent_sources(
    claim: IntArray, source: IntArray, raises: np.ndarray, scale: FloatArray, n_claims: int
) -> FloatArray:
    """Independent sources each claim's rows are worth.

    A source that takes both sides of a claim (it said so, then took it back) is
    one source, not two: it counts as much as its larger side.

    Parameters
    ----------
    claim, source : ndarray of int, shape (n_rows,)
        Each row's claim and the entity of its channel's source.
    raises : ndarray of bool, shape (n_rows,)
        Whether the row's stance is on the claim's side.
    scale : ndarray, shape (n_rows,)
        Independent sources the row is worth on its side (``RowLists.scale``).
    n_claims : int

    Returns
    -------
    ndarray, shape (n_claims,)
    """
    total = np.asarray(np.bincount(claim, scale, n_claims), dtype=float)
    # Only a claim with rows on both sides can hold a source twice; the sort
    # below costs a job a quarter of a second per million rows, so it sees only those.
    both = (np.bincount(claim[raises], minlength=n_claims) > 0) & (
        np.bincount(claim[~raises], minlength=n_claims) > 0
    )
    rows = both[claim]
    if not rows.any():
        return total
    claim, source, raises, scale = claim[rows], source[rows], raises[rows], scale[rows]
    # One cell per (claim, source, side), a source's sides adjacent, the pairs
    # numbered in the order of their first rows: each claim's total then adds in
    # row order, whatever the numbering of sources (the scorer's paths agree).
    _, first, inverse = np.unique(
        claim * (int(source.max()) + 1) + source, return_index=True, return_inverse=True
    )
    rank = np.empty_like(first)
    rank[np.argsort(first)] = np.arange(first.size)
    pair = rank[inverse]
    sides = np.bincount(2 * pair + raises, scale, 2 * first.size).reshape(-1, 2)
    pair_claim = np.empty(first.size, dtype=np.intp)
    pair_claim[pair] = claim
    total[both] = np.bincount(pair_claim, sides.max(axis=1), n_claims)[both]
    return total


def _evidence(table: ScoreTable, k: int) -> list[Evidence]:
    """Score ``k``'s evidence of ``table`` as ``Evidence``."""
    return [
        make_evidence(*(getattr(table, f)[row] for f in _ROW_FIELDS))
        for row in range(table.first[k], table.end[k])
    ]


def _named(
    t: RowLists, channel: IntArray, claim: IntArray, sign: IntArray
) -> list[tuple[list[str], list[str], list[str]] | None]:
    """Per claim, the names ("source via relay") of its supporting, refuting and neutral
    channels in row order, or None when a source appears twice on one side (the summary
    then names sources from the evidence)."""
    n_claims = len(t.start) - 1
    labels = t.labels
    ch_name = [
        f"{labels[s]} via {' via '.join([labels[r] for r in chain])}" if chain else labels[s]
        for s, chain in zip(t.ch_source, t.ch_chain, strict=True)
    ]
    # A source twice on one side: a merged row, or a neutral source met again.
    unnamed = np.zeros(n_claims, dtype=bool)
    unnamed[claim[np.asarray(t.merged, dtype=np.intp)]] = True
    neutral = np.flatnonzero(sign == 0)
    source = np.asarray(t.ch_source, dtype=np.intp)[channel[neutral]]
    key = claim[neutral] * len(t.ids) + source
    repeated = np.unique(key, return_counts=True)
    unnamed[repeated[0][repeated[1] > 1] // max(len(t.ids), 1)] = True
    sides = []
    for rows in (np.flatnonzero(sign > 0), np.flatnonzero(sign < 0), neutral):
        names = [ch_name[c] for c in channel[rows].tolist()]
        cuts = np.searchsorted(claim[rows], np.arange(n_claims + 1)).tolist()
        sides.append([names[a:b] for a, b in itertools.pairwise(cuts)])
    return [
        None if skip else (supports, refutes, neutrals)
        for skip, supports, refutes, neutrals in zip(unnamed.tolist(), *sides, strict=True)
    ]


def _notes(t: RowLists, scale: list[float]) -> dict[int, str]:
    """Why a row's weight is merged, zero or discounted, for the rows where it is."""
    parts: dict[int, list[str]] = {}
    start, claim = t.start, t.claim
    duplicates: dict[int, list[str]] = {}
    merged, merged_to = np.asarray(t.merged).tolist(), np.asarray(t.merged_to).tolist()
    for row, primary in zip(merged, merged_to, strict=True):
        duplicates.setdefault(primary, []).append(f"#{row - start[claim[row]] + 1}")
        parts[row] = [f"same original source as evidence #{primary - start[claim[row]] + 1}"]
    for primary, also in duplicates.items():
        parts[primary] = [f"counted once with evidence {', '.join(also)} (same original source)"]
    # Rows of one cluster, or alike, share their note: format it once. Most rows are
    # not discounted: only those that are are visited.
    said: dict[tuple[str | None, float, float], str] = {}
    factors, reported = np.asarray(t.factor), np.asarray(t.reports)
    discounted = np.flatnonzero(~(factors >= 1 - _NO_WEIGHT) & (reported != 0))
    for row, factor, reports in zip(
        discounted.tolist(),
        factors[discounted].tolist(),
        reported[discounted].tolist(),
        strict=True,
    ):
        group = t.groups[t.ch_source[t.channel[row]]]
        key = (group, factor, reports)
        note = said.get(key)
        if note is None:
            note = said[key] = _discount_note(group, factor, reports, scale[row])
        parts.setdefault(row, []).append(note)
    return {row: "; ".join(p) for row, p in parts.items()}


def _discount_note(group: str | None, factor: float, reports: float, scale: float) -> str:
    """Why a row's weight is discounted by its correlation cluster."""
    if group:
        return f"correlated with other {group} sources: counts {factor:.2f}"
    return f"{reports:g} correlated unnamed sources count as {scale:.2f}"
