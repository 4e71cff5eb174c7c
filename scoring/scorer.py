"""Scoring attributed claims: confidence, credible interval, scales and explanation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from scoring.beta import Beta
from scoring.claims import STANCE_SIGN, Claim
from scoring.evidence import (
    FloatArray,
    claim_log_odds,
    cluster_design_effect,
    effective_reliability,
    exclusive_posterior,
    logit,
    noisy_or,
)
from scoring.explain import Evidence, summarize
from scoring.intervals import credible_interval, reliability_draws
from scoring.scales import credibility_levels, estimative_terms

MODEL_NAME = "credence-logodds"
MODEL_VERSION = "1.0"

# Rows x samples evaluated in one vectorised pass. Small passes keep the
# (rows, samples) temporaries in cache and below malloc's mmap threshold (a
# fresh large array page-faults on every use), and bound the memory of a call
# with 10,000 claims of 1,000 attributions.
_CELLS_PER_PASS = 32768

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


class _Rows:
    """Flat arrays of the attributions of some claims, ready for vectorised evaluation.

    One row per attribution, claims in the given order and their rows
    contiguous. Entities (sources and relays) are indexed once; index
    ``n_entities`` is a perfect relay that pads short relay chains.
    """

    def __init__(
        self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief], params: ScoringParams
    ) -> None:
        self.ids: list[str] = []
        self.beliefs: list[Beta] = []
        self.groups: list[str | None] = []
        entity: dict[str, int] = {}

        def index(source_id: str) -> int:
            i = entity.get(source_id)
            if i is None:
                i = entity[source_id] = len(self.ids)
                known = sources.get(source_id)
                self.ids.append(source_id)
                self.beliefs.append(known.belief if known else params.unknown_source)
                self.groups.append(known.group if known else None)
            return i

        questions: dict[str, int] = {}
        question: list[int] = []
        prior: list[float] = []
        self.start: list[int] = []
        # claim, source, sign, certainty, count, merge, cluster, rho of each row
        table: list[tuple[int, int, int, float, int, int, int, float]] = []
        chains: list[list[int]] = []
        first: dict[tuple[int, str, int], int] = {}
        clusters: dict[object, int] = {}
        self.n_questions = 0
        for ci, c in enumerate(claims):
            if c.question is not None and c.question in questions:
                question.append(questions[c.question])
            else:
                question.append(self.n_questions)
                if c.question is not None:
                    questions[c.question] = self.n_questions
                self.n_questions += 1
            prior.append(params.default_claim_prior if c.prior is None else c.prior)
            self.start.append(len(table))
            for a in c.attributions:
                row = len(table)
                s = STANCE_SIGN.get(a.stance)
                if s is None:
                    raise ValueError(
                        f"stance must be supports, refutes or neutral, got {a.stance!r}"
                    )
                src = index(a.source)
                group = self.groups[src]
                # Channels of one original source taking one side are one piece
                # of evidence, carried by the first of them.
                primary = first.setdefault((ci, a.source, s), row) if s else row
                key: object = (ci, group, s) if group is not None and primary == row else row
                table.append(
                    (
                        ci,
                        src,
                        s,
                        a.certainty,
                        a.count,
                        primary,
                        clusters.setdefault(key, len(clusters)),
                        params.correlation(group) if group else params.unnamed_correlation,
                    )
                )
                chains.append([index(r) for r in a.via])
        self.start.append(len(table))

        self.n_claims = len(prior)
        self.n_rows = len(table)
        claim, source, sign, certainty, reports, merge, cluster, rho = (
            np.array(table, dtype=float).reshape(self.n_rows, 8).T
        )
        self.question = np.asarray(question, dtype=np.intp)
        prior_arr = np.asarray(prior, dtype=float)
        if not np.all((prior_arr > 0) & (prior_arr < 1)):
            raise ValueError("a claim's prior must be in (0, 1)")
        self.prior_logit = logit(prior_arr)
        self.claim = claim.astype(np.intp)
        self.source = source.astype(np.intp)
        self.sign = sign
        self.certainty = certainty
        if not np.all((self.certainty > 0) & (self.certainty <= 1)):
            raise ValueError("an attribution's certainty must be in (0, 1]")
        if not np.all((reports >= 1) & (reports == np.floor(reports))):
            raise ValueError("an attribution's count must be an integer >= 1")
        self.merge = merge.astype(np.intp)
        self.primary = self.merge == np.arange(self.n_rows)
        # Rows of one source reached through several channels: only these need
        # the noisy-OR, whose logarithms are the costliest step of a pass.
        channels = np.bincount(self.merge, minlength=self.n_rows)[self.merge] > 1
        self.channels = np.flatnonzero(channels)
        self.merged_into, self.channel_group = np.unique(
            self.merge[self.channels], return_inverse=True
        )
        depth = max(map(len, chains), default=0)
        pad = len(self.ids)
        self.via = np.asarray(
            [chain + [pad] * (depth - len(chain)) for chain in chains], dtype=np.intp
        ).reshape(self.n_rows, depth)

        # Several channels of one source may carry different counts of unnamed
        # sources; the largest is the most that can stand behind it.
        merged_reports = np.zeros(self.n_rows)
        np.maximum.at(merged_reports, self.merge, reports)
        self.reports = merged_reports * (self.primary & (self.sign != 0))
        self.factor = cluster_design_effect(
            cluster.astype(np.intp), self.reports, rho, len(clusters)
        )
        self.scale = self.reports * self.factor

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
        column = (-1,) + (1,) * (reliability.ndim - 1)
        fidelity = self.certainty.reshape(column) * reliability[self.via].prod(axis=1)
        merged = fidelity
        if self.channels.size:
            merged = fidelity.copy()
            merged[self.merged_into] = noisy_or(
                fidelity[self.channels], self.channel_group, self.merged_into.size
            )
        effective = effective_reliability(reliability[self.source], merged)
        weight, total = claim_log_odds(
            self.claim, self.sign, self.scale, effective, self.n_claims, cap
        )
        confidence = exclusive_posterior(
            self.prior_logit.reshape(column) + total, self.question, self.n_questions
        )
        return fidelity, effective, weight, confidence


class ClaimScorer:
    """Scores claims from who said them, through whom, and who else did.

    Parameters
    ----------
    params : ScoringParams
    """

    def __init__(self, params: ScoringParams | None = None) -> None:
        self.params = params or ScoringParams()

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
        scores: list[Score | None] = [None] * len(claims)
        for batch in self._batches(claims):
            for i, score in zip(
                batch, self._score_rows([claims[i] for i in batch], sources), strict=True
            ):
                scores[i] = score
        return [s for s in scores if s is not None]

    def _batches(self, claims: Sequence[Claim]) -> list[list[int]]:
        """Claim positions in passes of whole questions of about ``_CELLS_PER_PASS`` cells."""
        questions: dict[str, list[int]] = {}
        units: list[list[int]] = []
        for i, c in enumerate(claims):
            if c.question is None:
                units.append([i])
            elif c.question in questions:
                questions[c.question].append(i)
            else:
                units.append(questions.setdefault(c.question, [i]))
        budget = max(1, _CELLS_PER_PASS // self.params.interval_samples)
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

    def _score_rows(
        self, claims: Sequence[Claim], sources: Mapping[str, SourceBelief]
    ) -> list[Score]:
        """Scores of claims that hold whole questions, in one vectorised pass."""
        p = self.params
        rows = _Rows(claims, sources, p)
        alpha = np.array([b.alpha for b in rows.beliefs])
        beta = np.array([b.beta for b in rows.beliefs])
        point = np.append(alpha / (alpha + beta), 1.0)
        fidelity, effective, weight, confidence = rows.evaluate(point, p.evidence_cap)
        draws = np.vstack(
            [
                *(
                    reliability_draws(i, b.alpha, b.beta, p.interval_samples)
                    for i, b in zip(rows.ids, rows.beliefs, strict=True)
                ),
                np.ones(p.interval_samples),
            ]
        )
        low, high = credible_interval(
            rows.evaluate(draws, p.evidence_cap)[3], confidence, p.interval_level
        )

        carries = np.abs(weight) > _NO_WEIGHT
        independent = np.bincount(rows.claim, rows.scale * carries, minlength=rows.n_claims)
        confirming = np.bincount(
            rows.claim,
            rows.scale * ((weight > _NO_WEIGHT) & (rows.sign > 0)),
            minlength=rows.n_claims,
        )
        credibility = credibility_levels(
            confidence, np.bincount(rows.claim, carries, minlength=rows.n_claims) > 0, confirming
        )
        # A duplicate channel shows its own discounting; the first shows the merged one.
        shown = np.where(
            rows.primary, effective, effective_reliability(point[rows.source], fidelity)
        )
        evidence = self._evidence(claims, rows, point[rows.source], shown, weight)
        model = f"{MODEL_NAME}/{MODEL_VERSION}"
        out = []
        for ci, (c, term) in enumerate(zip(claims, estimative_terms(confidence), strict=True)):
            items = tuple(evidence[rows.start[ci] : rows.start[ci + 1]])
            interval = (float(low[ci]), float(high[ci]))
            n_eff = float(independent[ci])
            out.append(
                Score(
                    claim_id=c.id,
                    confidence=float(confidence[ci]),
                    interval=interval,
                    estimative=term,
                    credibility=int(credibility[ci]),
                    independent_sources=n_eff,
                    evidence=items,
                    summary=summarize(
                        term, float(confidence[ci]), interval, n_eff, items, p.interval_level
                    ),
                    model=model,
                )
            )
        return out

    def _evidence(
        self,
        claims: Sequence[Claim],
        rows: _Rows,
        reliability: FloatArray,
        effective: FloatArray,
        weight: FloatArray,
    ) -> list[Evidence]:
        """One Evidence per row, with a note where channels merged or correlation discounted."""
        claim_of = rows.claim.tolist()
        merge = rows.merge.tolist()
        factor = rows.factor.tolist()
        reports = rows.reports.tolist()
        scale = rows.scale.tolist()
        duplicates: dict[int, list[str]] = {}
        for row, primary in enumerate(merge):
            if primary != row:
                duplicates.setdefault(primary, []).append(f"#{row - rows.start[claim_of[row]] + 1}")
        attributions = [a for c in claims for a in c.attributions]
        evidence = []
        for row, (a, r, e, w) in enumerate(
            zip(
                attributions, reliability.tolist(), effective.tolist(), weight.tolist(), strict=True
            )
        ):
            notes = []
            if row in duplicates:
                also = ", ".join(duplicates[row])
                notes.append(f"counted once with evidence {also} (same original source)")
            if merge[row] != row:
                number = merge[row] - rows.start[claim_of[row]] + 1
                notes.append(f"same original source as evidence #{number}")
            if reports[row] and factor[row] < 1 - _NO_WEIGHT:
                group = rows.groups[rows.source[row]]
                notes.append(
                    f"correlated with other {group} sources: counts {factor[row]:.2f}"
                    if group
                    else f"{reports[row]:g} correlated unnamed sources count as {scale[row]:.2f}"
                )
            evidence.append(
                Evidence(a.source, tuple(a.via), a.stance, r, e, w, "; ".join(notes) or None)
            )
        return evidence
