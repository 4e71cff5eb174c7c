"""Scoring a numeric question: an estimate of its quantity, each claim's chance of being right."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.claims import Claim
from scoring.evidence import FloatArray, IntArray, logit
from scoring.explain import make_evidence, percent, summarize
from scoring.intervals import credible_interval, draws_and_mean
from scoring.numeric.errors import ErrorScale, t_cdf
from scoring.numeric.estimate import Estimate, Located, estimate
from scoring.numeric.figures import STATED, Axis, Figure, NumericQuestion, figure_text
from scoring.numeric.grid import Grid, Likelihoods, figure_likelihood, normalise
from scoring.numeric.params import NumericParams
from scoring.numeric.table import FigureTable
from scoring.params import ScoringParams, SourceBelief
from scoring.scales import credibility_level, estimative_term
from scoring.scorer import Score

NUMERIC_MODEL_NAME = "credence-numeric"
NUMERIC_MODEL_VERSION = "1.0"
NUMERIC_MODEL = f"{NUMERIC_MODEL_NAME}/{NUMERIC_MODEL_VERSION}"

# Even a source whose figures are always right may state one that says
# nothing: the mixture keeps every report robust to a wild figure.
MAX_INFORMATIVE = 0.98

# Error laws reach this many scales past the figures before the grid ends.
_TAIL_SCALES = 6.0


@dataclass(frozen=True, slots=True)
class QuestionScore:
    """A numeric question's estimate and its claims' scores (in the order given)."""

    question_id: str | None
    estimate: Estimate
    scores: tuple[Score, ...]


@dataclass(frozen=True)
class Posterior:
    """A question's posterior on its grid, and what built it.

    Attributes
    ----------
    axis : Axis
    grid : Grid
    table : FigureTable
    likelihoods : Likelihoods
    windows : list of (float, float)
        Each claim's window on the axis.
    locations : list of float
        Each claim's figure's location on the axis.
    fidelity, reliability : ndarray, shape (k, s + 1)
        Of each weighted row, for each draw and then at the means; for a
        supporting row ``reliability`` is the chance its figure is
        informative (``informative_chance``).
    log_likelihood : ndarray, shape (s + 1, n)
    mass : ndarray, shape (s + 1, n)
        Posterior cell masses for each draw, then at the means.
    """

    axis: Axis
    grid: Grid
    table: FigureTable
    likelihoods: Likelihoods
    windows: list[tuple[float, float]]
    locations: list[float]
    fidelity: FloatArray
    reliability: FloatArray
    log_likelihood: FloatArray
    mass: FloatArray

    @property
    def point(self) -> FloatArray:
        """Cell masses at the sources' mean reliabilities (the plug-in); shape (n,)."""
        return self.mass[-1]


def informative_chance(reliability: FloatArray, hit: float, chance_hit: float) -> FloatArray:
    """Chance a source's figure is informative, from its reliability and error scale.

    A source's reliability r is the chance its figure is right within the
    tolerance: what its track record counts when numeric questions resolve. An
    informative figure is right with chance ``hit`` (its error law's mass in
    the tolerance window) and one that says nothing with ``chance_hit`` (the
    window's share of the uninformative range), so r = rho hit + (1 - rho)
    chance_hit, and rho = (r - chance_hit) / (hit - chance_hit): a precise
    source that is often wrong has a low rho, an imprecise one that is often
    near has a high one. Above r = hit^2 + (1 - hit) chance_hit the error law
    cannot give r: the source is read as better in both respects, in equal
    measure, rho^2 + (1 - rho) chance_hit = r. The smaller of the two readings,
    kept in [0, ``MAX_INFORMATIVE``], so that rho rises with r up to the cap
    (the first reading alone reached it at r = hit: every grade from A to D).
    """
    if hit - chance_hit <= 1e-9:
        # The error law is no better at hitting than chance: r says nothing of rho.
        return np.full_like(reliability, 0.5)
    linear = (reliability - chance_hit) / (hit - chance_hit)
    root = np.sqrt(np.maximum(chance_hit**2 + 4 * (reliability - chance_hit), 0.0))
    split = (chance_hit + root) / 2
    return np.clip(np.minimum(linear, split), 0.0, MAX_INFORMATIVE)


class NumericScorer:
    """Scores the claims of a numeric question as figures of one quantity.

    Parameters
    ----------
    params : ScoringParams
        Unknown-source prior, correlations, interval level and draws.
    numeric : NumericParams
    """

    def __init__(
        self, params: ScoringParams | None = None, numeric: NumericParams | None = None
    ) -> None:
        self.params = params or ScoringParams()
        self.numeric = numeric or NumericParams()

    def posterior(
        self,
        question: NumericQuestion,
        claims: Sequence[Claim],
        values: Sequence[Figure],
        sources: Mapping[str, SourceBelief],
        errors: Mapping[str, ErrorScale] | None = None,
    ) -> Posterior:
        """The question's posterior on its grid (see ``score``'s parameters)."""
        if len(claims) != len(values) or not claims:
            raise ValueError("a numeric question needs one figure for each of its claims")
        p, q = self.params, self.numeric
        axis = Axis.of(question, values)
        table = FigureTable.of(claims, values, sources, errors or {}, p, q)
        observed = [axis.observed(v) for v in values]
        windows = [axis.window(v) for v in values]
        locations = [axis.location(v) for v in values]
        weighted = table.weighted
        sign = table.sign[weighted]
        claim = table.claim[weighted]
        widest = max(
            (table.errors[s].scale for s in table.source[weighted][sign > 0]),
            default=q.unknown_error.scale,
        )
        finite = [b for pair in observed for b in pair if math.isfinite(b)]
        margin = q.log_margin if axis.scale == "log" else q.linear_margin
        reach = max(margin, _TAIL_SCALES * widest)
        grid = Grid.spanning(min(finite) - reach, max(finite) + reach, q.grid_size)

        entity = table.reliability(p.interval_samples)
        fidelity = table.fidelity(entity)
        reliability = entity[table.source[weighted]]
        # What a point figure must hit to be right: the tolerance window around it.
        near = axis.window(Figure.point(1.0 if axis.scale == "log" else 0.0))
        figure, background = [], []
        for k, row, j in zip(
            np.flatnonzero(sign > 0).tolist(),
            weighted[sign > 0].tolist(),
            claim[sign > 0].tolist(),
            strict=True,
        ):
            error = table.errors[table.source[row]]
            low, high = observed[j]
            g, u = figure_likelihood(grid, low, high, error.scale, error.dof, margin)
            figure.append(g)
            background.append(u)
            if error.informative is not None:
                # Learned from the source's figures; drawn as a reliability is.
                b = error.informative
                reliability[k] = draws_and_mean(
                    f"{table.ids[table.source[row]]}#figures", b.alpha, b.beta, p.interval_samples
                )
                continue
            hit = t_cdf([near[1] / error.scale], error.dof) - t_cdf(
                [near[0] / error.scale], error.dof
            )
            reliability[k] = informative_chance(
                reliability[k], float(hit[0]), (near[1] - near[0]) / (2 * margin)
            )
        inside = [grid.share_inside(windows[j][0], windows[j][1]) for j in claim[sign < 0].tolist()]
        n = grid.centres.size
        likelihoods = Likelihoods(
            figure=np.array(figure).reshape(len(figure), n),
            background=np.array(background),
            supports=np.flatnonzero(sign > 0),
            inside=np.array(inside).reshape(len(inside), n),
            refutes=np.flatnonzero(sign < 0),
            weight=table.scale[weighted],
        )
        log_likelihood = likelihoods.total(fidelity, reliability, n)
        return Posterior(
            axis,
            grid,
            table,
            likelihoods,
            windows,
            locations,
            fidelity,
            reliability,
            log_likelihood,
            normalise(log_likelihood),
        )

    def score(
        self,
        question: NumericQuestion,
        claims: Sequence[Claim],
        values: Sequence[Figure],
        sources: Mapping[str, SourceBelief],
        errors: Mapping[str, ErrorScale] | None = None,
    ) -> QuestionScore:
        """Score the claims of one numeric question.

        Parameters
        ----------
        question : NumericQuestion
        claims : sequence of Claim
            The question's claims; their ``prior`` is not used (the prior is
            on the quantity, flat on its axis).
        values : sequence of Figure
            The figure each claim states, in the same order.
        sources : mapping of source id to SourceBelief
            Sources and relays not in it get the unknown-source prior.
        errors : mapping of source id to ErrorScale, optional
            Sources not in it get ``NumericParams.unknown_error``.

        Returns
        -------
        QuestionScore

        Raises
        ------
        ValueError
            For figures that do not fit the question (a non-positive figure
            on a log scale), or a certainty, count or stance out of range.
        """
        post = self.posterior(question, claims, values, sources, errors)
        p = self.params
        grid, table = post.grid, post.table
        weighted = table.weighted
        sign = table.sign[weighted]
        point = post.point
        reports = [
            Located(post.locations[j], table.names[row], post.windows[j])
            for row, j in zip(
                weighted[sign > 0].tolist(), table.claim[weighted][sign > 0].tolist(), strict=True
            )
        ]
        independent = float(table.scale[weighted][sign > 0].sum())
        found = estimate(
            post.axis,
            grid,
            point,
            reports,
            independent,
            level=p.interval_level,
            dip=self.numeric.camp_dip,
            min_weight=self.numeric.min_camp_weight,
            unit=question.unit,
        )
        cdf = grid.cdf(post.mass[:-1])
        at_means = grid.cdf(point)
        confidence = [float(grid.mass_between(at_means, *w)) for w in post.windows]
        sampled = np.array([grid.mass_between(cdf, *w) for w in post.windows])
        low, high = credible_interval(sampled, confidence, p.interval_level)
        weights = self._weights(post)
        # The question's own sources and relays only: ``sources`` may hold a whole store's.
        named = ((i, sources[i].name) for i in table.ids if i in sources)
        labels = {source_id: name for source_id, name in named if name}
        scores = tuple(
            self._claim_score(
                post, question, j, c, values[j], confidence[j], (lo, hi), weights, labels
            )
            for j, (c, lo, hi) in enumerate(zip(claims, low.tolist(), high.tolist(), strict=True))
        )
        return QuestionScore(question.id, found, scores)

    def _weights(self, post: Posterior) -> FloatArray:
        """Each row's contribution to its claim's log-odds at the means (0 for no weight).

        The change in logit of the claim's confidence when the report is left
        out: the posterior without it is the posterior divided by its factor.
        """
        table, grid = post.table, post.grid
        weights = np.zeros(table.n_rows)
        at_means = post.log_likelihood[-1]
        cdf = grid.cdf(post.point)
        for k, row in enumerate(table.weighted.tolist()):
            term = post.likelihoods.term(k, post.fidelity[k, -1:], post.reliability[k, -1:])[0]
            window = post.windows[table.claim[row]]
            with_it = grid.mass_between(cdf, *window)
            without = grid.mass_between(grid.cdf(normalise(at_means - term)), *window)
            weights[row] = float(logit([with_it])[0] - logit([without])[0])
        return weights

    def _claim_score(
        self,
        post: Posterior,
        question: NumericQuestion,
        j: int,
        claim: Claim,
        value: Figure,
        confidence: float,
        interval: tuple[float, float],
        weights: FloatArray,
        labels: Mapping[str, str],
    ) -> Score:
        table = post.table
        rows = np.flatnonzero(table.claim == j)
        mean = post.fidelity.shape[1] - 1
        entity = np.array([b.mean for b in table.beliefs] + [1.0])
        row_fidelity = entity[table.via].prod(axis=1) * table.certainty
        slot = {row: k for k, row in enumerate(table.weighted.tolist())}
        evidence = []
        for row, a in zip(rows.tolist(), claim.attributions, strict=True):
            r = float(entity[table.source[row]])
            fidelity = (
                float(post.fidelity[slot[row], mean]) if row in slot else float(row_fidelity[row])
            )
            effective = fidelity * r if a.stance != "refutes" else fidelity * (r - 0.5) + 0.5
            evidence.append(
                make_evidence(
                    a.source,
                    tuple(a.via),
                    a.stance,
                    r,
                    effective,
                    float(weights[row]),
                    _note(table, rows, row),
                )
            )
        # A claim repeating another's report (same source, figure and side) has it too.
        own = table.scale[np.unique(table.merge[rows])]
        independent = float(own.sum())
        window = post.windows[j]
        supporting = table.weighted[table.sign[table.weighted] > 0]
        confirming = sum(
            float(table.scale[row])
            for row in supporting.tolist()
            if window[0] <= post.locations[table.claim[row]] <= window[1]
        )
        term = estimative_term(confidence)
        credibility = credibility_level(confidence, bool((own > 0).any()), confirming)
        text = summarize(
            term, confidence, interval, independent, evidence, self.params.interval_level, labels
        )
        head, tail = text.split("): ", 1)
        summary = f"{head}) {_claim_phrase(post.axis, value, question.unit)}: {tail}"
        return Score(
            claim.id,
            confidence,
            interval,
            term,
            credibility,
            independent,
            tuple(evidence),
            summary,
            NUMERIC_MODEL,
        )


def _claim_phrase(axis: Axis, value: Figure, unit: str) -> str:
    """What the claim's confidence is the chance of, in words."""
    if value.is_point:
        assert value.low is not None
        within = (
            f"\u00b1{percent(axis.tolerance)} %"
            if axis.scale == "log"
            else f"\u00b1{figure_text(axis.tolerance, unit)}"
        )
        return f"that {figure_text(value.low, unit, STATED)} is right within {within}"
    if value.low is None:
        assert value.high is not None
        return f"that the value is at most {figure_text(value.high, unit, STATED)}"
    if value.high is None:
        return f"that the value is at least {figure_text(value.low, unit, STATED)}"
    low, high = figure_text(value.low, "", STATED), figure_text(value.high, unit, STATED)
    return f"that the value lies in {low}\u2013{high}"


def _note(table: FigureTable, rows: IntArray, row: int) -> str | None:
    """Why a row's weight is merged or discounted."""
    primary = int(table.merge[row])
    if primary != row and table.claim[primary] == table.claim[row]:
        return f"same original source as evidence #{int(np.flatnonzero(rows == primary)[0]) + 1}"
    if primary != row:
        return "the same figure from the same original source as another answer: counted once"
    if table.share[row] < 1:
        return (
            f"one of the {round(1 / table.share[row])} figures {table.ids[table.source[row]]} "
            f"gives on this question: counts {table.share[row]:.2f}"
        )
    if table.sign[row] and table.factor[row] < 1 - 1e-12:
        group = table.groups[table.source[row]]
        if group:
            factor = table.factor[row]
            return f"correlated with other {group} sources on this question: counts {factor:.2f}"
        return f"correlated unnamed sources count as {table.scale[row]:.2f}"
    return None
