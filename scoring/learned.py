"""What a batch fit learned beyond each source's Beta belief, in the form the scorer uses.

The fit (``scoring.fit.ReliabilityLearner``) chooses a structure for the store:
one coin, per-source confusion matrices over answer classes, or a coin per
stance on yes/no claims, with or without learned class base rates, and a
temperature. ``LearnedModel`` holds all of it as plain values (JSON-ready, so
the service can store it beside the reliabilities); ``learned_scores`` scores
any claims with the same E-step the fit ran (``ClaimScorer.score(...,
model=...)``), so a stored claim scored online gets the confidence the job
wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scoring.evidence import FloatArray, IntArray, logistic, logit
from scoring.fit.layout import Layout
from scoring.fit.structures import ConfusionMatrices, OneCoin, TwoCoins
from scoring.rows import EvidenceRows

# A job replaces the stored model (and rescores every claim) only when the new one
# differs: another structure or classes, or a parameter (a confusion matrix entry,
# a class base rate's log-odds, ln of the temperature) moved by more than this;
# the last two, moreover, by more than MOVED_SE of their standard errors (about a
# 95 % interval): a change the data cannot tell apart does not rewrite every claim.
MODEL_TOLERANCE = 0.01
MOVED_SE = 2.0

# Wordings become answer classes only when the store's claims use at most this
# many distinct ones, each on average at least this many times.
MAX_CLASSES = 12
MIN_CLAIMS_PER_CLASS = 3


def answer_classes(texts: Sequence[str | None]) -> tuple[IntArray, tuple[str, ...]]:
    """Answer classes of claims from their wordings, when the wordings are a small vocabulary.

    Parameters
    ----------
    texts : sequence of str or None, length n
        Each claim's wording.

    Returns
    -------
    classes : ndarray of int, shape (n,)
        Each claim's class (index into ``vocabulary``); all 0 when the
        wordings do not form classes.
    vocabulary : tuple of str
        The normalised wordings that are classes, sorted; empty when none.
    """
    no_classes = np.zeros(len(texts), dtype=np.intp), ()
    words: list[str] = []
    seen: set[str] = set()
    for text in texts:
        word = normalise(text)
        words.append(word)
        seen.add(word)
        # Free-text wordings are no vocabulary: stop at the first one too many
        # rather than normalise every claim of a large store (a Python call each).
        if len(seen) > MAX_CLASSES:
            return no_classes
    distinct = sorted(seen)
    if (
        "" in distinct
        or not 2 <= len(distinct) <= MAX_CLASSES
        or len(words) < MIN_CLAIMS_PER_CLASS * len(distinct)
    ):
        return no_classes
    index = {w: i for i, w in enumerate(distinct)}
    return np.array([index[w] for w in words], dtype=np.intp), tuple(distinct)


def normalise(text: str | None) -> str:
    """A wording as a class name: stripped, case-folded ("" for none)."""
    return " ".join((text or "").split()).casefold()


@dataclass(frozen=True)
class LearnedModel:
    """A fitted structure and its calibration, as values.

    Attributes
    ----------
    structure : str
        What the fit chose, e.g. ``"confusion matrices (2), class prior"``.
    temperature : float
        Factor on every state's log-score before the per-question softmax.
    classes : tuple of str
        Answer wordings that are classes (``answer_classes``); empty for none.
    class_base : tuple of float or None
        Learned log-odds of a claim of each class against "none of them";
        None when claims keep their given priors.
    confusion : mapping of source id to matrix, or None
        Each fitted source's confusion matrix over ``classes`` (rows: true
        class, columns: picked class); None for one coin.
    strength : float
        The confusion matrices' or two coins' prior strength (unused for one coin).
    stances : mapping of source id to (sensitivity, specificity), or None
        Each fitted source's two coins on yes/no claims: the chance it supports
        a true claim, and that it refutes a false one; None but for two coins.
    stats : mapping
        What the fit reported (``ReliabilityLearner.stats``).
    class_base_se : tuple of float or None
        Standard errors of ``class_base`` (``OneCoin.base_se_``); None if unknown.
    log_temperature_se : float
        Standard error of ln ``temperature`` (``selection.Criterion``); 0 if unknown.
    """

    structure: str
    temperature: float
    classes: tuple[str, ...] = ()
    class_base: tuple[float, ...] | None = None
    confusion: Mapping[str, tuple[tuple[float, ...], ...]] | None = None
    strength: float = 0.0
    stats: Mapping[str, Any] = field(default_factory=dict)
    class_base_se: tuple[float, ...] | None = None
    log_temperature_se: float = 0.0
    stances: Mapping[str, tuple[float, float]] | None = None

    def moved_from(self, other: LearnedModel | None, tolerance: float = MODEL_TOLERANCE) -> bool:
        """Whether this model should replace ``other``: another structure or classes, or
        a parameter moved by more than ``tolerance`` (the temperature in ln T), and a
        class base rate or the temperature by more than ``MOVED_SE`` standard errors
        (the larger of the two models')."""
        if other is None or (self.structure, self.classes, self.strength) != (
            other.structure,
            other.classes,
            other.strength,
        ):
            return True
        se = MOVED_SE * max(self.log_temperature_se, other.log_temperature_se)
        if abs(np.log(self.temperature / other.temperature)) > max(tolerance, se):
            return True
        if (self.class_base is None) != (other.class_base is None):
            return True
        if self.class_base is not None and other.class_base is not None:
            moved = np.abs(np.subtract(self.class_base, other.class_base))
            spread = MOVED_SE * np.maximum(
                self.class_base_se or np.zeros(moved.size),
                other.class_base_se or np.zeros(moved.size),
            )
            if (moved > np.maximum(tolerance, spread)).any():
                return True
        for mine, theirs in (
            (self.confusion or {}, other.confusion or {}),
            (self.stances or {}, other.stances or {}),
        ):
            if mine.keys() != theirs.keys():
                return True
            if any(
                np.abs(np.subtract(mine[s], theirs[s])).max(initial=0.0) > tolerance for s in mine
            ):
                return True
        return False

    def with_stats(self, stats: Mapping[str, Any]) -> LearnedModel:
        return replace(self, stats=dict(stats))

    def to_json(self) -> dict[str, Any]:
        return {
            "structure": self.structure,
            "temperature": self.temperature,
            "classes": list(self.classes),
            "class_base": None if self.class_base is None else list(self.class_base),
            "class_base_se": None if self.class_base_se is None else list(self.class_base_se),
            "confusion": None
            if self.confusion is None
            else {s: [list(r) for r in m] for s, m in self.confusion.items()},
            "strength": self.strength,
            "stances": None
            if self.stances is None
            else {s: list(p) for s, p in self.stances.items()},
            "log_temperature_se": self.log_temperature_se,
            "stats": dict(self.stats),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> LearnedModel:
        confusion = value.get("confusion")
        stances = value.get("stances")
        base = value.get("class_base")
        base_se = value.get("class_base_se")
        return cls(
            structure=str(value["structure"]),
            temperature=float(value["temperature"]),
            classes=tuple(value.get("classes") or ()),
            class_base=None if base is None else tuple(float(b) for b in base),
            class_base_se=None if base_se is None else tuple(float(b) for b in base_se),
            confusion=None
            if confusion is None
            else {s: tuple(tuple(float(x) for x in r) for r in m) for s, m in confusion.items()},
            strength=float(value.get("strength", 0.0)),
            stances=None
            if stances is None
            else {s: (float(p[0]), float(p[1])) for s, p in stances.items()},
            log_temperature_se=float(value.get("log_temperature_se", 0.0)),
            stats=dict(value.get("stats") or {}),
        )

    @classmethod
    def of(
        cls,
        structure: OneCoin,
        temperature: float,
        ids: Sequence[str],
        classes: tuple[str, ...],
        log_temperature_se: float = 0.0,
    ) -> LearnedModel:
        """The values of a fitted structure whose source ``i`` is ``ids[i]``."""
        confusion = None
        stances = None
        strength = 0.0
        if isinstance(structure, ConfusionMatrices):
            strength = structure.strength
            confusion = {
                s: tuple(tuple(row) for row in matrix.tolist())
                for s, matrix in zip(ids, structure.confusion_, strict=True)
            }
        if isinstance(structure, TwoCoins):
            strength = structure.strength
            stances = {
                s: (float(se), float(sp))
                for s, (se, sp) in zip(ids, structure.stances_.tolist(), strict=True)
            }
        return cls(
            structure=structure.describe(),
            temperature=float(temperature),
            classes=classes,
            class_base=tuple(structure.base_.tolist()) if structure.class_prior else None,
            class_base_se=tuple(structure.base_se_.tolist()) if structure.class_prior else None,
            confusion=confusion,
            strength=strength,
            stances=stances,
            log_temperature_se=float(log_temperature_se),
        )

    def structure_for(self, ids: Sequence[str], reliability: FloatArray, n_classes: int) -> OneCoin:
        """The fitted structure over sources ``ids`` (reliabilities given), ready to score.

        A source the fit did not see gets the one-coin matrix (or coins) of its
        reliability.
        """
        base = self.class_base
        class_prior = base is not None and len(base) == n_classes
        structure: OneCoin
        if n_classes > 1 and self.confusion is not None:
            structure = ConfusionMatrices(self.strength, class_prior=class_prior)
        elif self.stances is not None:
            structure = TwoCoins(self.strength, class_prior=class_prior)
        else:
            structure = OneCoin(class_prior=class_prior)
        structure.reliability_ = np.asarray(reliability, dtype=float)
        structure.base_ = np.asarray(base, dtype=float) if class_prior else np.zeros(n_classes)
        if isinstance(structure, ConfusionMatrices) and self.confusion is not None:
            matrices = structure.one_coin_matrices(structure.reliability_)
            for i, source in enumerate(ids):
                known = self.confusion.get(source)
                if known is not None:
                    matrices[i] = np.asarray(known)
            structure.confusion_ = matrices
        if isinstance(structure, TwoCoins) and self.stances is not None:
            coins = np.repeat(structure.reliability_[:, None], 2, axis=1)
            for i, source in enumerate(ids):
                fitted = self.stances.get(source)
                if fitted is not None:
                    coins[i] = fitted
            structure.stances_ = coins
        return structure


def learned_scores(
    texts: Callable[[], Sequence[str | None]], rows: EvidenceRows, model: LearnedModel
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Confidence of each claim and weight of each row under a learned model.

    The fit's own E-step (``OneCoin.predict_scores``) on these claims, with
    each source at its belief's mean (what the fit learned) and the model's
    temperature on all but a prior (a claim's own, which replaces a learned class
    base rate, or the default where none was learned): the confidence a job
    wrote for a stored claim is the one scoring it again gives.

    Parameters
    ----------
    texts : callable
        The claims' wordings (length n_claims), asked for only when the model has
        answer classes.
    rows : EvidenceRows
        The claims' table.
    model : LearnedModel

    Returns
    -------
    confidence : ndarray, shape (n_claims,)
    weight : ndarray, shape (n_rows,)
        Each row's log-odds on its own claim (times the temperature); 0 for
        neutral rows and for channels merged into another row.
    base : ndarray, shape (n_claims,), or None
        Where the model learned class base rates: each claim's confidence before
        its evidence (its learned base rate, or its own prior, within its question).
    """
    alpha = np.array([b.alpha for b in rows.beliefs])
    beta = np.array([b.beta for b in rows.beliefs])
    reliability = alpha / (alpha + beta)  # each belief's mean, as Beta.mean makes it
    classes = np.zeros(rows.n_claims, dtype=np.intp)
    n_classes = 1
    if model.classes:
        index = {c: i for i, c in enumerate(model.classes)}
        found = [index.get(normalise(text)) for text in texts()]
        if all(i is not None for i in found):
            classes = np.array(found, dtype=np.intp)
            n_classes = len(model.classes)
    data = rows.fit_data(
        reliability,
        age_days=np.zeros(rows.n_rows),
        outcome=np.full(rows.n_claims, np.nan),
        prior_alpha=alpha,
        prior_beta=beta,
        claim_class=classes,
    )
    layout = Layout(data, 1.0, 0.0, n_classes)
    structure = model.structure_for(rows.ids, reliability, n_classes)
    score = model.temperature * structure.predict_scores(layout)
    # A prior (a claim's own, or the configured default where no base rate was
    # learned) is the analyst's base rate: the temperature calibrates the evidence
    # and a learned base rate, not it, and no learned base rate replaces a claim's own.
    # Without evidence such a claim keeps its prior.
    n = rows.n_claims
    own = rows.prior_given | (not structure.class_prior)
    base_scores = structure.base_scores(layout)
    tempered_base = model.temperature * (base_scores - layout.ruled_out)[:n]
    given = np.where(own, rows.prior_logit - tempered_base, 0.0)
    score[:n] += given
    weight = np.zeros(rows.n_rows)
    weight[rows.primary & (rows.sign != 0)] = model.temperature * structure.weight_
    base = None
    if structure.class_prior:
        # The same scores without the evidence.
        before = model.temperature * base_scores
        before[:n] += given
        base = layout.softmax(before)[:n]
    return layout.softmax(score)[:n], weight, base


def interval_around(
    point: FloatArray, plain: FloatArray, bounds: FloatArray, temperature: float
) -> list[list[float]]:
    """The interval of the one-coin draws, moved around the learned point in log-odds.

    Reliability draws go through the one-coin arithmetic; their spread in
    log-odds around that arithmetic's point, scaled by the temperature, is
    kept around the learned confidence.

    Parameters
    ----------
    point : ndarray, shape (n,)
        Learned confidences.
    plain : ndarray, shape (n,)
        One-coin confidences.
    bounds : ndarray, shape (n, 2)
        One-coin intervals.
    temperature : float
    """
    centre = logit(plain)
    low = logit(point) - temperature * (centre - logit(bounds[:, 0]))
    high = logit(point) + temperature * (logit(bounds[:, 1]) - centre)
    out = np.column_stack((logistic(low), logistic(high)))
    np.minimum(out[:, 0], point, out=out[:, 0])
    np.maximum(out[:, 1], point, out=out[:, 1])
    return out.tolist()
