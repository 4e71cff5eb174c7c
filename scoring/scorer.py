"""Scoring attributed claims: confidence, credible interval, scales and explanation."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from scoring.claims import Claim
from scoring.evidence import (
    FloatArray,
    cluster_design_effect,
    exclusive_posterior,
    logit,
    saturate,
)
from scoring.explain import Evidence, make_evidence, percent, sentence, summarize
from scoring.fit.layout import Layout
from scoring.intervals import draws_and_mean
from scoring.learned import LearnedModel, normalise
from scoring.params import ScoringParams, SourceBelief
from scoring.rows import EvidenceRows, RowLists, channel_log_odds, collect_rows, logistic
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

# Calls with at most this many claims take scalar paths where numpy's per-call
# cost would exceed the work.
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
        self._columns_and_point = np.array([*self._columns, p.interval_samples], dtype=np.intp)
        # numpy's interpolation, sorted[below] * (1 - frac) + sorted[above] * frac
        self._below_weight = np.array([1 - frac for _, _, frac in self._quantiles])
        self._above_weight = np.array([frac for _, _, frac in self._quantiles])
        self._padding = np.ones(p.interval_samples + 1)
        self._padding.flags.writeable = False
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
            (``learned_scores``), and the interval keeps the width reliability
            draws give it in log-odds.

        Returns
        -------
        list of Score, in the order of ``claims``

        Raises
        ------
        ValueError
            For a prior, certainty, count or stance out of range.
        """
        p = self.params
        model = model or self.model
        if len(claims) == 1:
            lists = collect_rows(claims, sources, p)
            if not lists.merged and model is None:
                return [self._score_lone(claims[0], lists)]
            return self._score_rows(claims, EvidenceRows.of(lists), model)
        batches = self._batches(claims)
        if len(batches) == 1:
            return self._score_rows(claims, EvidenceRows(claims, sources, p), model)
        scores: list[Score | None] = [None] * len(claims)
        for batch in batches:
            part = [claims[i] for i in batch]
            for i, score in zip(
                batch, self._score_rows(part, EvidenceRows(part, sources, p), model), strict=True
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
        self, rows: EvidenceRows
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
        columns = logistic(columns)
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
        """Lower and upper quantiles (last axis) from the order statistics in ``self._columns``."""
        bounds = columns[..., 0:4:2] * self._below_weight
        bounds += columns[..., 1:4:2] * self._above_weight
        return bounds

    def _score_rows(
        self, claims: Sequence[Claim], rows: EvidenceRows, model: LearnedModel | None = None
    ) -> list[Score]:
        """Scores of claims that hold whole questions (their ``rows``), in one vectorised pass."""
        p = self.params
        n = rows.n_claims
        mean, effective, weight, confidence, bounds = self._evaluate(rows)
        if model is not None:
            learned, weight = learned_scores(claims, rows, model)
            bounds = _interval_around(
                learned, confidence, np.array(bounds).reshape(-1, 2), model.temperature
            )
            confidence = learned

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
                    _summary(term, p_true, interval, n_eff, items, named, level, level_text, rows),
                    MODEL,
                )
            )
        return out

    @staticmethod
    def _notes(rows: EvidenceRows) -> dict[int, str]:
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
                    note = said[key] = _discount_note(group, factor[row], reports[row], scale[row])
                parts.setdefault(row, []).append(note)
        return {row: "; ".join(p) for row, p in parts.items()}

    def _score_lone(self, claim: Claim, t: RowLists) -> Score:
        """``_score_rows`` of one claim without merged channels, from its lists.

        The same arithmetic in the same order on Python floats and
        (samples + 1,) vectors (each channel's from ``channel_log_odds``), so
        the same score (tests/scoring/test_scorer_paths.py), at a fraction of
        what making arrays of a few rows costs.
        """
        p = self.params
        samples = p.interval_samples
        ids, beliefs = t.ids, t.beliefs
        channels = [
            channel_log_odds(
                (ids[s], beliefs[s].alpha, beliefs[s].beta),
                tuple((ids[r], beliefs[r].alpha, beliefs[r].beta) for r in chain),
                certainty,
                samples,
            )
            for s, chain, certainty in zip(t.ch_source, t.ch_chain, t.ch_certainty, strict=True)
        ]
        n = len(t.claim)
        reports = t.reports
        factor = [1.0] * n
        # Clusters of one report each count 1 / (1 + 0 * rho) = 1 exactly.
        if t.clustered or any(r > 1 for r in reports):
            cluster_of = list(range(n))
            for row, first in zip(t.clustered, t.clustered_to, strict=True):
                cluster_of[row] = first
            rho = [t.rhos[t.ch_source[ch]] for ch in t.channel]
            factor = cluster_design_effect(cluster_of, reports, rho, n).tolist()
        scale = [float(r) * f for r, f in zip(reports, factor, strict=True)]
        coef = [float(s) * x for s, x in zip(t.sign, scale, strict=True)]

        total: FloatArray | None = None
        for row in t.weighted:
            weighed = channels[t.channel[row]][0] * coef[row]
            if total is None:
                total = weighed
            else:
                total += weighed
        if total is None:
            total = np.zeros(samples + 1)
        total[:samples].sort()
        columns = saturate(total[self._columns_and_point], p.evidence_cap)
        columns += prior_log_odds(t.prior[0])
        columns = logistic(columns)
        confidence = float(columns[4])
        low, high = self._bounds(columns).tolist()
        interval = (min(low, confidence), max(high, confidence))

        mean: list[float] = []
        effective: list[float] = []
        weight: list[float] = []
        for ch, c in zip(t.channel, coef, strict=True):
            log_odds, point, source_mean = channels[ch]
            mean.append(source_mean)
            effective.append(point)
            weight.append(float(log_odds[samples]) * c)
        independent = confirming = 0.0
        weighty = False
        for x, w, s in zip(scale, weight, t.sign, strict=True):
            carries = abs(w) > _NO_WEIGHT
            weighty |= carries
            independent += x * carries
            confirming += x * (w > _NO_WEIGHT and s > 0)
        term = estimative_term(confidence)
        credibility = credibility_level(confidence, weighty, confirming)
        notes: dict[int, str] = {}
        for row, (r, f) in enumerate(zip(reports, factor, strict=True)):
            if r != 0 and f < 1 - _NO_WEIGHT:
                group = t.groups[t.ch_source[t.channel[row]]]
                notes[row] = _discount_note(group, f, r, scale[row])
        items = tuple(
            make_evidence(a.source, tuple(a.via), a.stance, m, e, w, notes.get(row))
            for row, (a, m, e, w) in enumerate(
                zip(claim.attributions, mean, effective, weight, strict=True)
            )
        )
        named = t.named[0]
        level = p.interval_level
        return make_score(
            claim.id,
            confidence,
            interval,
            term,
            credibility,
            independent,
            items,
            _summary(
                term, confidence, interval, independent, items, named, level, percent(level), t
            ),
            MODEL,
        )


@functools.lru_cache(maxsize=1024)
def prior_log_odds(prior: float) -> float:
    """``logit`` of one claim prior; memoised, as most claims share the default prior."""
    return float(logit([prior])[0])


def _summary(
    term: str,
    confidence: float,
    interval: tuple[float, float],
    independent: float,
    items: tuple[Evidence, ...],
    named: tuple[list[str], list[str], list[str]] | None,
    level: float,
    level_text: str,
    table: EvidenceRows | RowLists,
) -> str:
    """The score's sentence, from the channels named per stance when the table could name them
    (else from the evidence, with the table's labels)."""
    if named is None:
        labels = dict(zip(table.ids, table.labels, strict=True))
        return summarize(term, confidence, interval, independent, items, level, labels)
    return sentence(term, confidence, interval, independent, *named, level_text)


def learned_scores(
    claims: Sequence[Claim], rows: EvidenceRows, model: LearnedModel
) -> tuple[FloatArray, FloatArray]:
    """Confidence of each claim and weight of each row under a learned model.

    The fit's own E-step (``OneCoin.predict_scores``) on these claims, with
    each source at its belief's mean (what the fit learned) and the model's
    temperature: the confidence a job wrote for a stored claim is the one
    scoring it again gives.

    Returns
    -------
    confidence : ndarray, shape (n_claims,)
    weight : ndarray, shape (n_rows,)
        Each row's log-odds on its own claim (times the temperature); 0 for
        neutral rows and for channels merged into another row.
    """
    reliability = np.array([b.mean for b in rows.beliefs])
    classes = np.zeros(rows.n_claims, dtype=np.intp)
    n_classes = 1
    if model.classes:
        index = {c: i for i, c in enumerate(model.classes)}
        found = [index.get(normalise(c.text)) for c in claims]
        if all(i is not None for i in found):
            classes = np.array(found, dtype=np.intp)
            n_classes = len(model.classes)
    data = rows.fit_data(
        reliability,
        age_days=np.zeros(rows.n_rows),
        outcome=np.full(rows.n_claims, np.nan),
        prior_alpha=np.array([b.alpha for b in rows.beliefs]),
        prior_beta=np.array([b.beta for b in rows.beliefs]),
        claim_class=classes,
    )
    layout = Layout(data, 1.0, 0.0, n_classes)
    structure = model.structure_for(rows.ids, reliability, n_classes)
    score = model.temperature * structure.predict_scores(layout)
    weight = np.zeros(rows.n_rows)
    weight[rows.primary & (rows.sign != 0)] = model.temperature * structure.weight_
    return layout.softmax(score)[: rows.n_claims], weight


def _interval_around(
    point: FloatArray, plain: FloatArray, bounds: FloatArray, temperature: float
) -> list[list[float]]:
    """The interval of the plain model's draws, moved around the learned point in log-odds.

    Reliability draws go through the one-coin arithmetic; their spread in
    log-odds around that arithmetic's point, scaled by the temperature, is
    kept around the learned confidence.
    """
    centre = logit(plain)
    low = logit(point) - temperature * (centre - logit(bounds[:, 0]))
    high = logit(point) + temperature * (logit(bounds[:, 1]) - centre)
    out = np.column_stack((logistic(low), logistic(high)))
    np.minimum(out[:, 0], point, out=out[:, 0])
    np.maximum(out[:, 1], point, out=out[:, 1])
    return out.tolist()


def _discount_note(group: str | None, factor: float, reports: float, scale: float) -> str:
    """Why a row's weight is discounted by its correlation cluster."""
    if group:
        return f"correlated with other {group} sources: counts {factor:.2f}"
    return f"{reports:g} correlated unnamed sources count as {scale:.2f}"
