"""The batch fit: EM over resolved and open claims (scoring.fit)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.fit import FitData, ReliabilityEM, map_reliability
from scoring.track_record import track_record_posterior


def crowd(
    seed: int,
    n_claims: int = 400,
    n_sources: int = 40,
    per_claim: int = 5,
    low: float = 0.3,
    high: float = 0.95,
) -> tuple[FitData, np.ndarray, np.ndarray]:
    """Binary claims with known truth, each judged by ``per_claim`` random sources.

    Reliabilities are spread from below a coin (``low``) to good (``high``), so
    a plain vote is fooled where a learned weighting is not.
    """
    rng = np.random.default_rng(seed)
    reliability = rng.uniform(low, high, n_sources)
    truth = rng.random(n_claims) < 0.5
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    right = rng.random(claim.size) < reliability[source]
    sign = np.where(right == truth[claim], 1.0, -1.0)
    data = FitData.build(
        claim,
        source,
        n_claims=n_claims,
        n_sources=n_sources,
        sign=sign,
        prior_alpha=2.0,
        prior_beta=2.0,
    )
    return data, reliability, truth


def with_outcome(data: FitData, outcome: np.ndarray) -> FitData:
    return FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=data.sign, fidelity=data.fidelity, weight_scale=data.weight_scale,
        age_days=data.age_days, question=data.question, n_questions=data.n_questions,
        claim_prior=data.claim_prior, outcome=outcome, closed=data.closed,
        prior_alpha=data.prior_alpha, prior_beta=data.prior_beta,
    )  # fmt: skip


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def test_learns_the_order_of_reliabilities_without_any_resolution() -> None:
    data, reliability, _ = crowd(seed=1)
    fit = ReliabilityEM(unresolved_weight=1.0).fit(data)
    rank_correlation = np.corrcoef(ranks(fit.reliability_), ranks(reliability))[0, 1]
    assert rank_correlation > 0.85


def test_beats_majority_vote_accuracy_on_mixed_sources() -> None:
    data, _, truth = crowd(seed=2)
    vote = np.bincount(data.claim, weights=data.sign, minlength=data.n_claims)
    vote_accuracy = np.mean((vote > 0) == truth)
    fit = ReliabilityEM(unresolved_weight=1.0).fit(data)
    assert np.mean((fit.confidence_ > 0.5) == truth) > vote_accuracy + 0.03


def test_resolved_claims_keep_their_outcome() -> None:
    data, _, truth = crowd(seed=3)
    outcome = np.full(data.n_claims, np.nan)
    outcome[:100] = truth[:100]
    fit = ReliabilityEM().fit(with_outcome(data, outcome))
    np.testing.assert_array_equal(fit.confidence_[:100], truth[:100].astype(float))
    assert ((fit.confidence_[100:] > 0) & (fit.confidence_[100:] < 1)).all()


def test_resolutions_anchor_the_fit_where_agreement_misleads() -> None:
    # Most sources are worse than a coin: agreement alone learns the mirror image.
    data, _, truth = crowd(seed=4, low=0.1, high=0.6)
    outcome = np.full(data.n_claims, np.nan)
    outcome[:100] = truth[:100]
    blind = ReliabilityEM().fit(data)
    anchored = ReliabilityEM().fit(with_outcome(data, outcome))
    assert np.mean((blind.confidence_[100:] > 0.5) == truth[100:]) < 0.5
    assert np.mean((anchored.confidence_[100:] > 0.5) == truth[100:]) > 0.7


def test_without_open_claims_weight_the_fit_is_the_decayed_track_record() -> None:
    data, _, truth = crowd(seed=5)
    rng = np.random.default_rng(5)
    age = rng.uniform(0, 2000, data.n_rows)
    outcome = np.where(rng.random(data.n_claims) < 0.6, truth.astype(float), np.nan)
    fit_data = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=data.sign, age_days=age, outcome=outcome, prior_alpha=data.prior_alpha,
        prior_beta=data.prior_beta,
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=0.0, half_life_days=365.0).fit(fit_data)

    resolved = ~np.isnan(outcome[data.claim])
    hit = (data.sign[resolved] > 0) == (outcome[data.claim][resolved] == 1)
    alpha, beta = track_record_posterior(
        data.prior_alpha, data.prior_beta, data.source[resolved], hit, age[resolved], 365.0
    )
    np.testing.assert_allclose(fit.alpha_, alpha, rtol=1e-12)
    np.testing.assert_allclose(fit.beta_, beta, rtol=1e-12)
    np.testing.assert_allclose(fit.reliability_, map_reliability(alpha, beta), rtol=1e-12)


def test_same_input_gives_the_same_result() -> None:
    data, _, _ = crowd(seed=6)
    first = ReliabilityEM().fit(data)
    second = ReliabilityEM().fit(data)
    np.testing.assert_array_equal(first.reliability_, second.reliability_)
    np.testing.assert_array_equal(first.confidence_, second.confidence_)
    assert first.n_iter_ == second.n_iter_


def test_converges_to_a_fixed_point() -> None:
    data, _, _ = crowd(seed=7)
    fit = ReliabilityEM(tol=1e-9).fit(data)
    assert fit.converged_
    assert fit.n_iter_ < fit.max_iter
    longer = ReliabilityEM(tol=1e-12, max_iter=1000).fit(data)
    np.testing.assert_allclose(fit.reliability_, longer.reliability_, atol=1e-7)
    np.testing.assert_allclose(fit.reliability_, map_reliability(fit.alpha_, fit.beta_))


def test_stops_at_max_iter_without_claiming_convergence() -> None:
    data, _, _ = crowd(seed=8)
    fit = ReliabilityEM(max_iter=2, tol=1e-12).fit(data)
    assert fit.n_iter_ == 2
    assert not fit.converged_


def categorical(seed: int, closed: bool) -> tuple[FitData, np.ndarray]:
    """Questions of three exclusive answers; each source picks the one it believes."""
    rng = np.random.default_rng(seed)
    n_questions, n_answers, n_sources, per_question = 300, 3, 30, 5
    reliability = rng.uniform(0.35, 0.95, n_sources)
    answer = rng.integers(0, n_answers, n_questions)
    question = np.repeat(np.arange(n_questions), per_question)
    source = np.concatenate(
        [rng.choice(n_sources, per_question, replace=False) for _ in range(n_questions)]
    )
    wrong = (answer[question] + rng.integers(1, n_answers, question.size)) % n_answers
    picked = np.where(rng.random(question.size) < reliability[source], answer[question], wrong)
    data = FitData.build(
        question * n_answers + picked, source, n_claims=n_questions * n_answers,
        n_sources=n_sources, question=np.repeat(np.arange(n_questions), n_answers),
        n_questions=n_questions, closed=closed, prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    return data, answer


def test_closed_questions_share_all_their_probability() -> None:
    data, answer = categorical(seed=9, closed=True)
    fit = ReliabilityEM(unresolved_weight=1.0).fit(data)
    by_question = fit.confidence_.reshape(-1, 3)
    np.testing.assert_allclose(by_question.sum(axis=1), 1.0)
    assert np.mean(by_question.argmax(axis=1) == answer) > 0.8


def test_open_questions_keep_room_for_none_of_them() -> None:
    data, _ = categorical(seed=10, closed=False)
    fit = ReliabilityEM().fit(data)
    total = fit.confidence_.reshape(-1, 3).sum(axis=1)
    assert (total < 1).all()


def test_a_confirmed_answer_rules_out_the_others_and_a_refuted_one_drops_out() -> None:
    data, answer = categorical(seed=11, closed=True)
    outcome = np.full(data.n_claims, np.nan)
    outcome[0 * 3 + answer[0]] = 1.0
    refuted = 1 * 3 + (answer[1] + 1) % 3
    outcome[refuted] = 0.0
    fit = ReliabilityEM().fit(with_outcome(data, outcome))
    first = fit.confidence_[0:3]
    np.testing.assert_array_equal(first, np.eye(3)[answer[0]])
    second = fit.confidence_[3:6]
    assert second[refuted - 3] == 0.0
    np.testing.assert_allclose(second.sum(), 1.0, atol=1e-6)


def test_neutral_rows_and_lost_relays_change_nothing() -> None:
    data, _, _ = crowd(seed=12, n_claims=100, n_sources=10)
    base = ReliabilityEM().fit(data)
    extra = np.arange(50)
    padded = FitData.build(
        np.concatenate([data.claim, extra, extra]),
        np.concatenate([data.source, extra % 10, (extra + 3) % 10]),
        n_claims=data.n_claims, n_sources=data.n_sources,
        sign=np.concatenate([data.sign, np.zeros(50), np.ones(50)]),
        fidelity=np.concatenate([data.fidelity, np.ones(50), np.zeros(50)]),
        prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    fit = ReliabilityEM().fit(padded)
    np.testing.assert_allclose(fit.reliability_, base.reliability_, atol=1e-12)
    np.testing.assert_allclose(fit.confidence_, base.confidence_, atol=1e-12)


def test_a_refuting_row_is_the_mirror_of_a_supporting_one() -> None:
    data, _, _ = crowd(seed=13, n_claims=100, n_sources=10)
    flipped = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=-data.sign, prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    a = ReliabilityEM().fit(data)
    b = ReliabilityEM().fit(flipped)
    np.testing.assert_allclose(b.reliability_, a.reliability_, atol=1e-9)
    np.testing.assert_allclose(b.confidence_, 1 - a.confidence_, atol=1e-9)


def test_weight_scale_counts_like_repeated_rows() -> None:
    data, _, _ = crowd(seed=14, n_claims=100, n_sources=10)
    doubled = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=data.sign, weight_scale=np.full(data.n_rows, 2.0), prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    repeated = FitData.build(
        np.concatenate([data.claim, data.claim]), np.concatenate([data.source, data.source]),
        n_claims=data.n_claims, n_sources=data.n_sources,
        sign=np.concatenate([data.sign, data.sign]), prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    a = ReliabilityEM().fit(doubled)
    b = ReliabilityEM().fit(repeated)
    np.testing.assert_allclose(a.reliability_, b.reliability_, atol=1e-9)
    np.testing.assert_allclose(a.confidence_, b.confidence_, atol=1e-9)


def test_map_reliability_is_the_mode_inside_and_the_mean_at_the_edges() -> None:
    np.testing.assert_allclose(
        map_reliability([3.0, 1.0, 0.5], [2.0, 1.0, 4.0]), [2 / 3, 0.5, 0.5 / 4.5]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"claim": [0, 5]}, "claim"),
        ({"source": [0, -1]}, "source"),
        ({"sign": [1.0, 0.5]}, "sign"),
        ({"fidelity": [1.0, 1.5]}, "fidelity"),
        ({"claim_prior": [0.0, 0.5]}, "claim_prior"),
        ({"outcome": [2.0, np.nan]}, "outcome"),
        ({"prior_alpha": [0.0, 1.0]}, "prior_alpha"),
        ({"age_days": [1.0]}, "differ in length"),
        ({"outcome": [1.0, 1.0], "question": [0, 0], "closed": [False]}, "more than one confirmed"),
    ],
)
def test_invalid_data_is_refused(change: dict[str, list[float]], message: str) -> None:
    arrays: dict[str, list[float]] = {
        "claim": [0, 1], "source": [0, 1], "sign": [1.0, -1.0], "fidelity": [1.0, 1.0],
        "weight_scale": [1.0, 1.0], "age_days": [0.0, 0.0], "question": [0, 1],
        "claim_prior": [0.5, 0.5], "outcome": [np.nan, np.nan], "closed": [False, False],
        "prior_alpha": [1.0, 1.0], "prior_beta": [1.0, 1.0],
    }  # fmt: skip
    arrays.update(change)
    with pytest.raises(ValueError, match=message):
        FitData(**{name: np.asarray(value) for name, value in arrays.items()})


def test_fit_data_is_read_only() -> None:
    data, _, _ = crowd(seed=15, n_claims=10, n_sources=5)
    with pytest.raises(ValueError):
        data.sign[0] = -data.sign[0]


@pytest.mark.parametrize(
    "params",
    [{"unresolved_weight": 1.5}, {"half_life_days": -1.0}, {"evidence_cap": 0.0}, {"max_iter": 0}],
)
def test_invalid_parameters_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReliabilityEM(**params)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    unresolved_weight=st.floats(0.0, 1.0),
    cap=st.floats(0.5, 20.0),
)
def test_outputs_are_probabilities(seed: int, unresolved_weight: float, cap: float) -> None:
    rng = np.random.default_rng(seed)
    n_claims, n_sources, n_rows = 20, 6, 60
    outcome = np.where(rng.random(n_claims) < 0.3, rng.integers(0, 2, n_claims), np.nan)
    data = FitData.build(
        rng.integers(0, n_claims, n_rows), rng.integers(0, n_sources, n_rows),
        n_claims=n_claims, n_sources=n_sources, sign=rng.choice([-1.0, 0.0, 1.0], n_rows),
        fidelity=rng.random(n_rows), weight_scale=rng.uniform(0, 3, n_rows),
        claim_prior=rng.uniform(0.05, 0.95, n_claims), outcome=outcome,
        prior_alpha=rng.uniform(0.5, 5, n_sources), prior_beta=rng.uniform(0.5, 5, n_sources),
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=unresolved_weight, evidence_cap=cap).fit(data)
    assert ((fit.reliability_ > 0) & (fit.reliability_ < 1)).all()
    assert ((fit.confidence_ >= 0) & (fit.confidence_ <= 1)).all()
    assert (fit.alpha_ >= data.prior_alpha).all()
    assert (fit.beta_ >= data.prior_beta).all()


def biased_crowd(seed: int) -> tuple[FitData, np.ndarray, np.ndarray]:
    """Binary claims judged by sources biased towards one stance.

    Two thirds of the sources deny too much (right on 95 % of false claims but
    only 45 % of true ones), the rest are balanced and fair (80 % / 80 %).
    Returns the data, each source's (on true, on false) reliability and the truth.
    """
    rng = np.random.default_rng(seed)
    n_claims, n_sources, per_claim = 300, 30, 9
    r = np.where(np.arange(n_sources)[:, None] < 20, [0.45, 0.95], [0.8, 0.8])
    truth = rng.random(n_claims) < 0.5
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    right = rng.random(claim.size) < r[source, np.where(truth[claim], 0, 1)]
    sign = np.where(right == truth[claim], 1.0, -1.0)
    data = FitData.build(
        claim, source, n_claims=n_claims, n_sources=n_sources, sign=sign,
        prior_alpha=7.0, prior_beta=3.0,
    )  # fmt: skip
    return data, r, truth


def test_two_coins_recover_a_stance_bias_and_beat_one_coin() -> None:
    data, r, truth = biased_crowd(seed=21)
    one = ReliabilityEM(unresolved_weight=1.0).fit(data)
    two = ReliabilityEM(unresolved_weight=1.0, stance_strength=2.0).fit(data)
    assert two.converged_
    deniers = two.stance_reliability_[:20]
    # Their denials are right far more often than their confirmations are made.
    assert np.mean(deniers[:, 1] - deniers[:, 0]) > 0.3
    np.testing.assert_allclose(deniers.mean(axis=0), r[:20].mean(axis=0), atol=0.1)
    fair = two.stance_reliability_[20:]
    assert np.abs(np.mean(fair[:, 1] - fair[:, 0])) < 0.1
    one_accuracy = np.mean((one.confidence_ > 0.5) == truth)
    two_accuracy = np.mean((two.confidence_ > 0.5) == truth)
    assert two_accuracy > one_accuracy + 0.05


def test_a_source_that_never_refutes_splits_its_record_by_side() -> None:
    data, _, _ = crowd(seed=22, n_claims=200, n_sources=10)
    only_supports = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=np.where(data.source == 0, 1.0, data.sign), prior_alpha=2.0, prior_beta=2.0,
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=1.0, stance_strength=5.0).fit(only_supports)
    # Source 0 never refutes: its false-claim reliability has only supports of
    # false claims (misses) to learn from, its true-claim one only hits.
    assert fit.stance_reliability_[0, 0] > fit.reliability_[0] > fit.stance_reliability_[0, 1]


def test_two_coins_shrink_to_one_coin_as_the_strength_grows() -> None:
    data, _, _ = crowd(seed=23)
    one = ReliabilityEM(unresolved_weight=1.0, tol=1e-10).fit(data)
    two = ReliabilityEM(unresolved_weight=1.0, tol=1e-10, stance_strength=1e9).fit(data)
    np.testing.assert_allclose(two.stance_reliability_[:, 0], one.reliability_, atol=1e-6)
    np.testing.assert_allclose(two.stance_reliability_[:, 1], one.reliability_, atol=1e-6)
    np.testing.assert_allclose(two.confidence_, one.confidence_, atol=1e-6)


def test_one_coin_reports_both_sides_as_the_shared_belief() -> None:
    data, _, _ = crowd(seed=24, n_claims=50, n_sources=8)
    fit = ReliabilityEM().fit(data)
    np.testing.assert_array_equal(fit.stance_reliability_[:, 0], fit.reliability_)
    np.testing.assert_array_equal(fit.stance_alpha_[:, 1], fit.alpha_)
    np.testing.assert_array_equal(fit.stance_beta_[:, 0], fit.beta_)


def test_accu_is_the_k_class_one_coin_likelihood() -> None:
    """E- and M-step against a brute-force K-class computation on a tiny case.

    One source's answer to a question of K options is right with chance r and
    each wrong option with chance (1 - r) / (K - 1); an unfaithful relay
    (fidelity P) answers at random, so the answer is right with P r + (1 - P) / K.
    """
    k, n_questions, n_sources = 4, 6, 3
    question = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5])
    source = np.array([0, 1, 2, 0, 1, 2, 0, 2, 0, 1, 2, 1, 2, 0, 1, 2])
    picked = np.array([1, 1, 2, 3, 3, 3, 0, 0, 2, 1, 2, 0, 0, 1, 1, 3])
    fidelity = np.ones(question.size)
    fidelity[[2, 9]] = [0.5, 0.7]
    data = FitData.build(
        question * k + picked, source, n_claims=n_questions * k, n_sources=n_sources,
        fidelity=fidelity, question=np.repeat(np.arange(n_questions), k),
        n_questions=n_questions, closed=True, prior_alpha=3.0, prior_beta=2.0,
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=1.0, evidence_cap=np.inf, accu=True, tol=1e-12).fit(data)
    assert fit.converged_

    # E-step: P(truth = c) proportional to the product of every answer's likelihood.
    r = fit.reliability_[source]
    right = fidelity * r + (1 - fidelity) / k
    brute = np.ones((n_questions, k))
    for row in range(question.size):
        for c in range(k):
            brute[question[row], c] *= (
                right[row] if picked[row] == c else (1 - right[row]) / (k - 1)
            )
    brute /= brute.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fit.confidence_.reshape(n_questions, k), brute, atol=1e-9)

    # M-step: each reliability maximises the expected complete log-likelihood
    # (as the fit weighs it: a relayed answer counts fidelity times) plus the
    # Beta(3, 2) log-prior.
    p = brute[question, picked]
    grid = np.linspace(0.001, 0.999, 99_801)
    for s in range(n_sources):
        mine = source == s
        q = (fidelity[mine] * p[mine]).sum() * np.log(grid) + (
            fidelity[mine] * (1 - p[mine])
        ).sum() * np.log((1 - grid) / (k - 1))
        q += 2 * np.log(grid) + 1 * np.log(1 - grid)
        assert abs(grid[np.argmax(q)] - fit.reliability_[s]) < 1e-4


def test_accu_gives_no_weight_at_chance() -> None:
    # A source at exactly 1/K is a random pick: its answer moves nothing.
    k = 4
    data = FitData.build(
        [1], [0], n_claims=k, n_sources=1, question=[0] * k, n_questions=1, closed=True,
        prior_alpha=250.0, prior_beta=750.0,
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=0.0, accu=True, max_iter=1).fit(data)
    np.testing.assert_allclose(fit.confidence_, np.full(k, 1 / k), atol=1e-3)
    plain = ReliabilityEM(unresolved_weight=0.0, max_iter=1).fit(data)
    assert plain.confidence_[1] < 1 / k  # without ACCU, r = 1/4 counts against its pick


def test_question_saturation_bounds_the_spread_and_keeps_lone_claims() -> None:
    data, _ = categorical(seed=25, closed=True)
    fit = ReliabilityEM(unresolved_weight=1.0, evidence_cap=2.0, saturation="question").fit(data)
    by_question = fit.confidence_.reshape(-1, 3)
    # A spread of at most 2 log-odds: no answer is more than e^2 times another.
    assert (np.log(by_question.max(axis=1) / by_question.min(axis=1)) <= 2.0 + 1e-9).all()
    assert (by_question.max(axis=1) > 0.5).mean() > 0.5
    binary, _, _ = crowd(seed=26)
    per_claim = ReliabilityEM(evidence_cap=2.0).fit(binary)
    per_question = ReliabilityEM(evidence_cap=2.0, saturation="question").fit(binary)
    np.testing.assert_allclose(per_question.confidence_, per_claim.confidence_, atol=1e-12)


def test_learned_class_prior_finds_the_base_rate() -> None:
    rng = np.random.default_rng(27)
    n_claims, n_sources, per_claim = 600, 20, 3
    truth = rng.random(n_claims) < 0.8
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = rng.integers(0, n_sources, claim.size)
    right = rng.random(claim.size) < 0.75
    data = FitData.build(
        claim, source, n_claims=n_claims, n_sources=n_sources,
        sign=np.where(right == truth[claim], 1.0, -1.0), prior_alpha=7.0, prior_beta=3.0,
    )  # fmt: skip
    fit = ReliabilityEM(unresolved_weight=1.0, learn_class_prior=True).fit(data)
    assert abs(fit.class_prior_[0] - truth.mean()) < 0.05
    plain = ReliabilityEM(unresolved_weight=1.0).fit(data)
    assert np.mean((fit.confidence_ > 0.5) == truth) > np.mean((plain.confidence_ > 0.5) == truth)


def test_new_options_are_deterministic() -> None:
    data, _, _ = biased_crowd(seed=28)
    params = {"stance_strength": 3.0, "accu": True, "saturation": "question"}
    first = ReliabilityEM(learn_class_prior=True, **params).fit(data)  # type: ignore[arg-type]
    second = ReliabilityEM(learn_class_prior=True, **params).fit(data)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first.stance_reliability_, second.stance_reliability_)
    np.testing.assert_array_equal(first.confidence_, second.confidence_)


@pytest.mark.parametrize(
    "params",
    [{"stance_strength": 0.0}, {"saturation": "row"}, {"class_prior_strength": 0.0}],
)
def test_invalid_new_parameters_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ReliabilityEM(**params)  # type: ignore[arg-type]
