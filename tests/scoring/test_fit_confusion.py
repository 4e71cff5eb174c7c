"""Per-source confusion matrices in the batch fit (ReliabilityEM.confusion_strength)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.fit import FitData, ReliabilityEM
from tests.scoring.test_fit import biased_crowd, categorical, crowd


def closed_questions(
    question: np.ndarray,
    source: np.ndarray,
    picked: np.ndarray,
    k: int,
    n_sources: int,
    **extra: object,
) -> FitData:
    """Closed questions of k answers, answer c of every question of class c."""
    n_questions = int(question.max()) + 1
    return FitData.build(
        question * k + picked, source, n_claims=n_questions * k, n_sources=n_sources,
        question=np.repeat(np.arange(n_questions), k), n_questions=n_questions, closed=True,
        claim_class=np.tile(np.arange(k), n_questions), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def confused_crowd(seed: int) -> tuple[FitData, np.ndarray, np.ndarray]:
    """Questions of three breeds; half the sources take breed 0 for breed 1.

    The confusers pick 1 when the truth is 0 with chance 0.8 (0 itself with
    0.15) and are right 85 % of the time otherwise; the others are right 75 %
    of the time and spread their mistakes evenly. Returns the data, the
    confusers' true matrix (3 x 3) and the true answers.
    """
    rng = np.random.default_rng(seed)
    k, n_questions, n_sources, per_question = 3, 500, 20, 5
    confuser = np.array([[0.15, 0.8, 0.05], [0.075, 0.85, 0.075], [0.075, 0.075, 0.85]])
    honest = np.full((k, k), 0.125) + np.eye(k) * 0.625
    truth = rng.integers(0, k, n_questions)
    question = np.repeat(np.arange(n_questions), per_question)
    source = np.concatenate(
        [rng.choice(n_sources, per_question, replace=False) for _ in range(n_questions)]
    )
    matrix = np.where((source < n_sources // 2)[:, None], confuser[truth[question]], 0.0)
    matrix += np.where((source >= n_sources // 2)[:, None], honest[truth[question]], 0.0)
    picked = (rng.random(question.size)[:, None] > np.cumsum(matrix, axis=1)).sum(axis=1)
    data = closed_questions(question, source, picked, k, n_sources, prior_alpha=7.0, prior_beta=3.0)
    return data, confuser, truth


def fit_arrays(fit: ReliabilityEM) -> list[np.ndarray]:
    return [
        fit.confidence_,
        fit.alpha_,
        fit.beta_,
        fit.reliability_,
        fit.stance_alpha_,
        fit.stance_beta_,
        fit.stance_reliability_,
        fit.class_prior_,
        np.array([fit.n_iter_, fit.converged_]),
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"accu": True, "saturation": "question", "evidence_cap": 3.0},
        {"stance_strength": 2.0, "learn_class_prior": True},
    ],
)
def test_infinite_strength_is_the_default_fit_exactly(options: dict[str, object]) -> None:
    datasets = [crowd(seed=31)[0], biased_crowd(seed=32)[0], confused_crowd(seed=33)[0]]
    for data in datasets:
        default = ReliabilityEM(unresolved_weight=1.0, **options).fit(data)  # type: ignore[arg-type]
        explicit = ReliabilityEM(
            unresolved_weight=1.0,
            confusion_strength=math.inf,
            **options,  # type: ignore[arg-type]
        ).fit(data)
        for a, b in zip(fit_arrays(default), fit_arrays(explicit), strict=True):
            np.testing.assert_array_equal(a, b)


def test_infinite_strength_reports_the_one_coin_matrix() -> None:
    data, _, _ = confused_crowd(seed=34)
    fit = ReliabilityEM(unresolved_weight=1.0, accu=True).fit(data)
    r = fit.stance_reliability_[:, 0]
    assert fit.confusion_.shape == (data.n_sources, 3, 3)
    np.testing.assert_array_equal(fit.confusion_[:, 1, 1], r)
    np.testing.assert_allclose(fit.confusion_[:, 0, 2], (1 - r) / 2)
    np.testing.assert_allclose(fit.confusion_.sum(axis=2), 1.0, atol=1e-12)


def test_a_specific_confusion_is_recovered_and_beats_one_coin() -> None:
    data, confuser, truth = confused_crowd(seed=35)
    params = {"unresolved_weight": 1.0, "accu": True, "max_iter": 1000}
    one = ReliabilityEM(**params).fit(data)  # type: ignore[arg-type]
    full = ReliabilityEM(confusion_strength=2.0, **params).fit(data)  # type: ignore[arg-type]
    assert full.converged_
    learned = full.confusion_[:10].mean(axis=0)
    np.testing.assert_allclose(learned, confuser, atol=0.08)
    # Row "truth 0" of a confuser: it picks breed 1 far more than breed 0.
    assert (full.confusion_[:10, 0, 1] > full.confusion_[:10, 0, 0] + 0.3).all()
    honest = full.confusion_[10:].mean(axis=0)
    np.testing.assert_allclose(np.diag(honest), 0.75, atol=0.08)
    accuracy_one = np.mean(one.confidence_.reshape(-1, 3).argmax(axis=1) == truth)
    accuracy_full = np.mean(full.confidence_.reshape(-1, 3).argmax(axis=1) == truth)
    assert accuracy_full > accuracy_one + 0.05


def test_zero_strength_is_dawid_skene() -> None:
    """E- and M-step against brute-force Dawid-Skene on a tiny case.

    With no cap, the posterior of each question is proportional to the
    product over its picks of confusion[source, truth, pick] (a relayed pick
    of fidelity P is random with chance 1 - P), and at the fixed point each
    confusion row is the share of the source's expected picks (weighed by
    fidelity) that went to each class.
    """
    k, n_sources = 3, 3
    question = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5])
    source = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    picked = np.array([0, 0, 1, 1, 1, 1, 2, 2, 1, 0, 1, 0, 2, 2, 2, 1, 0, 0])
    fidelity = np.ones(question.size)
    fidelity[[2, 13]] = [0.6, 0.8]
    data = closed_questions(
        question, source, picked, k, n_sources, fidelity=fidelity, prior_alpha=3.0, prior_beta=2.0
    )
    fit = ReliabilityEM(
        unresolved_weight=1.0,
        evidence_cap=math.inf,
        confusion_strength=0.0,
        tol=1e-12,
        max_iter=1000,
    ).fit(data)
    assert fit.converged_
    matrix = fit.confusion_
    brute = np.ones((6, k))
    for row in range(question.size):
        s, p = source[row], fidelity[row]
        brute[question[row]] *= p * matrix[s, :, picked[row]] + (1 - p) / k
    brute /= brute.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fit.confidence_.reshape(6, k), brute, atol=1e-6)

    counts = np.zeros((n_sources, k, k))
    for row in range(question.size):
        counts[source[row], :, picked[row]] += fidelity[row] * brute[question[row]]
    np.testing.assert_allclose(matrix, counts / counts.sum(axis=2, keepdims=True), atol=1e-6)


def test_finite_strength_shrinks_each_row_towards_the_one_coin_row() -> None:
    data, _, _ = confused_crowd(seed=36)
    strength = 5.0
    fit = ReliabilityEM(
        unresolved_weight=1.0, evidence_cap=math.inf, confusion_strength=strength, tol=1e-12,
        max_iter=2000,
    ).fit(data)  # fmt: skip
    assert fit.converged_
    # Rebuild the M-step from the final posteriors: (lam m + n) / (lam + sum n).
    p = fit.confidence_
    k = 3
    counts = np.zeros((data.n_sources, k, k))
    question = data.claim // k
    for row in range(data.n_rows):
        counts[data.source[row], :, data.claim[row] % k] += p[
            question[row] * k : question[row] * k + k
        ]
    r = fit.stance_reliability_[:, 0]
    centre = np.repeat(((1 - r) / (k - 1))[:, None, None], k * k, axis=2).reshape(-1, k, k)
    centre[:, np.arange(k), np.arange(k)] = r[:, None]
    expected = (strength * centre + counts) / (strength + counts.sum(axis=2, keepdims=True))
    np.testing.assert_allclose(fit.confusion_, expected, atol=1e-6)


def test_a_huge_strength_is_the_one_coin_k_class_model() -> None:
    # A confusion fit learns from unsaturated posteriors, so its one-coin
    # limit is the one-coin fit without a cap.
    data, _, _ = confused_crowd(seed=37)
    params = {"unresolved_weight": 1.0, "accu": True, "evidence_cap": math.inf, "tol": 1e-10}
    one = ReliabilityEM(**params).fit(data)  # type: ignore[arg-type]
    huge = ReliabilityEM(confusion_strength=1e12, **params).fit(data)  # type: ignore[arg-type]
    np.testing.assert_allclose(huge.confidence_, one.confidence_, atol=1e-6)
    np.testing.assert_allclose(huge.stance_reliability_, one.stance_reliability_, atol=1e-6)


def test_without_categorical_questions_the_strength_changes_nothing() -> None:
    # Binary claims, and closed questions whose answers share one class: no
    # pick has a class of its own to confuse, so the fit is the one-coin fit.
    binary = crowd(seed=38)[0]
    shared_class, _ = categorical(seed=39, closed=True)
    for data in (binary, shared_class):
        plain = ReliabilityEM(unresolved_weight=1.0, accu=True).fit(data)
        confused = ReliabilityEM(unresolved_weight=1.0, accu=True, confusion_strength=1.0).fit(data)
        np.testing.assert_array_equal(confused.confidence_, plain.confidence_)
        np.testing.assert_array_equal(confused.stance_reliability_, plain.stance_reliability_)


def test_confusion_fit_is_deterministic_and_converges() -> None:
    data, _, _ = confused_crowd(seed=40)
    params = {
        "unresolved_weight": 1.0,
        "confusion_strength": 5.0,
        "saturation": "question",
        "evidence_cap": 3.0,
        "stance_strength": 2.0,
        "learn_class_prior": True,
        "max_iter": 1000,
    }
    first = ReliabilityEM(**params).fit(data)  # type: ignore[arg-type]
    second = ReliabilityEM(**params).fit(data)  # type: ignore[arg-type]
    assert first.converged_
    np.testing.assert_array_equal(first.confusion_, second.confusion_)
    np.testing.assert_array_equal(first.confidence_, second.confidence_)


def test_question_saturation_still_bounds_the_spread() -> None:
    data, _, truth = confused_crowd(seed=41)
    fit = ReliabilityEM(
        unresolved_weight=1.0, confusion_strength=2.0, saturation="question", evidence_cap=3.0,
        max_iter=1000,
    ).fit(data)  # fmt: skip
    assert fit.converged_
    by_question = fit.confidence_.reshape(-1, 3)
    assert (np.log(by_question.max(axis=1) / by_question.min(axis=1)) <= 3.0 + 1e-9).all()
    # The matrices learn from the unsaturated posteriors, so saturation does
    # not blur them: the confusers' row "truth 0" still points at breed 1.
    assert (fit.confusion_[:10, 0, 1] > 0.6).all()
    assert np.mean(by_question.argmax(axis=1) == truth) > 0.85


def test_class_prior_with_confusion_finds_the_base_rates_under_saturation() -> None:
    # One coin reads the confusers' "1 for 0" as breed 0 being rare, and the
    # saturated posteriors then feed that tilt; with confusion matrices the
    # class prior learns from the unsaturated posteriors and stays near 1/3.
    data, _, truth = confused_crowd(seed=42)
    params = {
        "unresolved_weight": 1.0,
        "accu": True,
        "saturation": "question",
        "evidence_cap": 3.0,
        "learn_class_prior": True,
        "max_iter": 1000,
    }
    one = ReliabilityEM(**params).fit(data)  # type: ignore[arg-type]
    full = ReliabilityEM(confusion_strength=5.0, **params).fit(data)  # type: ignore[arg-type]
    share = np.bincount(truth, minlength=3) / truth.size
    np.testing.assert_allclose(full.class_prior_, share, atol=0.06)
    assert one.class_prior_.min() < 0.1


def test_the_cap_only_calibrates_a_confusion_fit() -> None:
    # The fit runs unsaturated; per-question saturation is then a temperature
    # on each question's scores, class prior included, so every cap learns
    # the same parameters and ranks every question's answers the same way.
    data, _, _ = confused_crowd(seed=43)
    outcome = np.full(data.n_claims, np.nan)
    outcome[[0, 5]] = [0.0, 1.0]  # question 0: answer 0 refuted; question 1: answer 2 confirmed
    data = replace(data, outcome=outcome)
    fits = {
        cap: ReliabilityEM(
            unresolved_weight=1.0, confusion_strength=2.0, saturation="question",
            evidence_cap=cap, learn_class_prior=True, max_iter=1000,
        ).fit(data)
        for cap in (2.0, 7.0, math.inf)
    }  # fmt: skip
    free = fits[math.inf]
    by_question = {cap: fit.confidence_.reshape(-1, 3) for cap, fit in fits.items()}
    for cap in (2.0, 7.0):
        fit = fits[cap]
        np.testing.assert_array_equal(fit.confusion_, free.confusion_)
        np.testing.assert_array_equal(fit.class_prior_, free.class_prior_)
        np.testing.assert_array_equal(fit.stance_reliability_, free.stance_reliability_)
        open_questions = by_question[cap][2:]
        assert (open_questions.argmax(axis=1) == by_question[math.inf][2:].argmax(axis=1)).all()
        assert (np.log(open_questions.max(axis=1) / open_questions.min(axis=1)) <= cap + 1e-9).all()
        assert (open_questions.max(axis=1) <= by_question[math.inf][2:].max(axis=1) + 1e-12).all()
        np.testing.assert_allclose(by_question[cap][0].sum(), 1.0)
        assert by_question[cap][0, 0] == 0.0
        np.testing.assert_array_equal(by_question[cap][1], [0.0, 0.0, 1.0])
    assert not np.allclose(by_question[2.0], by_question[math.inf])


@pytest.mark.parametrize("strength", [-1.0, math.nan])
def test_invalid_confusion_strength_is_refused(strength: float) -> None:
    with pytest.raises(ValueError, match="confusion_strength"):
        ReliabilityEM(confusion_strength=strength)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    strength=st.floats(0.0, 50.0),
    cap=st.sampled_from([2.0, 7.0, math.inf]),
    saturation=st.sampled_from(["claim", "question"]),
)
def test_confusion_outputs_are_probabilities(
    seed: int, strength: float, cap: float, saturation: str
) -> None:
    rng = np.random.default_rng(seed)
    k, n_questions, n_sources, n_rows = 4, 12, 5, 50
    # Answer classes in a shuffled order per question; some relayed, some scaled.
    order = np.argsort(rng.random((n_questions, k)), axis=1).ravel()
    question = rng.integers(0, n_questions, n_rows)
    data = FitData.build(
        question * k + rng.integers(0, k, n_rows), rng.integers(0, n_sources, n_rows),
        n_claims=n_questions * k, n_sources=n_sources,
        fidelity=rng.uniform(0.2, 1.0, n_rows), weight_scale=rng.uniform(0.0, 3.0, n_rows),
        question=np.repeat(np.arange(n_questions), k), n_questions=n_questions, closed=True,
        claim_class=order, prior_alpha=rng.uniform(0.5, 5, n_sources),
        prior_beta=rng.uniform(0.5, 5, n_sources),
    )  # fmt: skip
    fit = ReliabilityEM(
        unresolved_weight=1.0,
        evidence_cap=cap,
        saturation=saturation,  # type: ignore[arg-type]
        confusion_strength=strength,
    ).fit(data)
    assert np.isfinite(fit.confidence_).all()
    assert ((fit.confidence_ >= 0) & (fit.confidence_ <= 1)).all()
    np.testing.assert_allclose(fit.confidence_.reshape(-1, k).sum(axis=1), 1.0, atol=1e-9)
    assert ((fit.confusion_ >= 0) & (fit.confusion_ <= 1)).all()
    np.testing.assert_allclose(fit.confusion_.sum(axis=2), 1.0, atol=1e-9)
