"""Scoring attributed claims: confidence, credible interval, scales and explanation.

``ClaimScorer.score`` reads claims into their evidence rows (``scoring.rows``),
has ``scoring.confidence`` compute the numbers (the reference for a call of
a few claims, the vectorised path for more; a learned model's E-step on top,
``scoring.learned``), and makes each claim's ``Score`` from them: its words,
credibility, evidence, notes and summary.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from scoring.claims import Claim, question_units
from scoring.confidence import Evaluation, reference_confidence, vectorised_confidence
from scoring.explain import Evidence, make_evidence, percent, sentence, summarize
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
MODEL_VERSION = "1.0"
MODEL = f"{MODEL_NAME}/{MODEL_VERSION}"
"""What a score's ``model`` field says."""

# Rows x samples evaluated in one vectorised pass (whole questions at a time).
# No (rows, samples) array is made, only (channels, samples) and (claims,
# samples) ones, so passes can be large: fewer passes spend less on per-pass
# overhead, and this bounds the memory of a call with 10,000 claims of 1,000
# attributions.
_CELLS_PER_PASS = 1 << 20

# Calls with at most this many claims (and no learned model) take the reference
# and scalar words: making arrays of their few rows costs more than the
# arithmetic on them (make bench-scoring; at about 8 claims both paths cost the same).
_FEW = 8

# A row whose |weight| is below this carries no evidence.
_NO_WEIGHT = 1e-12


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
        model = model or self.model
        batches = self._batches(claims)
        if len(batches) == 1:
            return self._score_batch(claims, sources, model)
        scores: list[Score | None] = [None] * len(claims)
        for batch in batches:
            part = [claims[i] for i in batch]
            for i, score in zip(batch, self._score_batch(part, sources, model), strict=True):
                scores[i] = score
        return [s for s in scores if s is not None]

    def _batches(self, claims: Sequence[Claim]) -> list[list[int]]:
        """Claim positions in passes of whole questions of about ``_CELLS_PER_PASS`` cells."""
        budget = max(1, _CELLS_PER_PASS // self.params.interval_samples)
        if len(claims) == 1 or (
            len(claims) <= budget and sum(len(c.attributions) for c in claims) <= budget
        ):
            return [list(range(len(claims)))]
        batches: list[list[int]] = []
        rows = 0
        for unit in question_units(c.question for c in claims):
            size = sum(len(claims[i].attributions) for i in unit)
            if not batches or rows + size > budget:
                batches.append([])
                rows = 0
            batches[-1].extend(unit)
            rows += size
        return batches

    def _score_batch(
        self,
        claims: Sequence[Claim],
        sources: Mapping[str, SourceBelief],
        model: LearnedModel | None,
    ) -> list[Score]:
        """Scores of claims that hold whole questions, in one pass."""
        p = self.params
        lists = collect_rows(claims, sources, p)
        if len(claims) <= _FEW and model is None:
            return self._scores(claims, lists, reference_confidence(lists, p))
        rows = EvidenceRows.of(lists)
        numbers = vectorised_confidence(rows, p)
        if model is not None:
            learned, weight = learned_scores(claims, rows, model)
            numbers.interval = interval_around(
                learned,
                np.array(numbers.confidence),
                np.array(numbers.interval).reshape(-1, 2),
                model.temperature,
            )
            numbers.confidence = learned.tolist()
            numbers.weight = weight.tolist()
        return self._scores(claims, lists, numbers)

    def _scores(self, claims: Sequence[Claim], t: RowLists, numbers: Evaluation) -> list[Score]:
        """Each claim's ``Score`` from its rows and their numbers."""
        p = self.params
        scale = t.scale.tolist()
        notes = _notes(t, scale)
        confidence = numbers.confidence
        mean, effective, weight = numbers.mean, numbers.effective, numbers.weight
        sign = t.sign
        # Per claim: independent sources whose evidence carries weight, those of
        # them that raise it, and whether any evidence carries weight.
        independent: list[float] = []
        confirming: list[float] = []
        weighty: list[bool] = []
        evidence: list[tuple[Evidence, ...]] = []
        row = 0
        for c in claims:
            n_independent = n_confirming = 0.0
            carried = False
            items = []
            for a in c.attributions:
                w = weight[row]
                if abs(w) > _NO_WEIGHT:
                    carried = True
                    n_independent += scale[row]
                    if w > _NO_WEIGHT and sign[row] > 0:
                        n_confirming += scale[row]
                items.append(
                    make_evidence(
                        a.source,
                        tuple(a.via),
                        a.stance,
                        mean[row],
                        effective[row],
                        w,
                        notes.get(row),
                    )
                )
                row += 1
            independent.append(n_independent)
            confirming.append(n_confirming)
            weighty.append(carried)
            evidence.append(tuple(items))
        if len(claims) <= _FEW:
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
        out = []
        for c, named, term, p_true, (low, high), n_eff, cred, items in zip(
            claims,
            t.named,
            terms,
            confidence,
            numbers.interval,
            independent,
            credibility,
            evidence,
            strict=True,
        ):
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
                    _summary(term, p_true, interval, n_eff, items, named, level, level_text, t),
                    MODEL,
                )
            )
        return out


def _notes(t: RowLists, scale: list[float]) -> dict[int, str]:
    """Why a row's weight is merged, zero or discounted, for the rows where it is."""
    parts: dict[int, list[str]] = {}
    start, claim = t.start, t.claim
    duplicates: dict[int, list[str]] = {}
    for row, primary in zip(t.merged, t.merged_to, strict=True):
        duplicates.setdefault(primary, []).append(f"#{row - start[claim[row]] + 1}")
        parts[row] = [f"same original source as evidence #{primary - start[claim[row]] + 1}"]
    for primary, also in duplicates.items():
        parts[primary] = [f"counted once with evidence {', '.join(also)} (same original source)"]
    # Rows of one cluster, or alike, share their note: format it once.
    said: dict[tuple[str | None, float, float], str] = {}
    for row, (factor, reports) in enumerate(zip(t.factor.tolist(), t.reports, strict=True)):
        if factor >= 1 - _NO_WEIGHT or reports == 0:
            continue
        group = t.groups[t.ch_source[t.channel[row]]]
        key = (group, factor, reports)
        note = said.get(key)
        if note is None:
            note = said[key] = _discount_note(group, factor, reports, scale[row])
        parts.setdefault(row, []).append(note)
    return {row: "; ".join(p) for row, p in parts.items()}


def _summary(
    term: str,
    confidence: float,
    interval: tuple[float, float],
    independent: float,
    items: tuple[Evidence, ...],
    named: tuple[list[str], list[str], list[str]] | None,
    level: float,
    level_text: str,
    table: RowLists,
) -> str:
    """The score's sentence, from the channels named per stance when the table could name them
    (else from the evidence, with the table's labels)."""
    if named is None:
        labels = dict(zip(table.ids, table.labels, strict=True))
        return summarize(term, confidence, interval, independent, items, level, labels)
    return sentence(term, confidence, interval, independent, *named, level_text)


def _discount_note(group: str | None, factor: float, reports: float, scale: float) -> str:
    """Why a row's weight is discounted by its correlation cluster."""
    if group:
        return f"correlated with other {group} sources: counts {factor:.2f}"
    return f"{reports:g} correlated unnamed sources count as {scale:.2f}"
