"""The batch fit: layout, structures, selection and the learner (scoring.fit)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.evidence import segment_sum
from scoring.fit import (
    ConfusionMatrices,
    FitData,
    Layout,
    OneCoin,
    ReliabilityLearner,
    TwoCoins,
)
from scoring.fit.data import index_dtype
from scoring.fit.selection import best_temperature, evidence_scale
from scoring.fit.structures import one_coin
from scoring.track_record import track_record_posterior


def binary_crowd(
    seed: int, n_claims: int = 300, n_sources: int = 30, per_claim: int = 5
) -> tuple[FitData, np.ndarray, np.ndarray]:
    """Lone yes/no claims, each supported or refuted by ``per_claim`` random sources."""
    rng = np.random.default_rng(seed)
    reliability = rng.uniform(0.35, 0.95, n_sources)
    truth = rng.random(n_claims) < 0.5
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    right = rng.random(claim.size) < reliability[source]
    sign = np.where(right == truth[claim], 1.0, -1.0)
    data = FitData.build(
        claim, source, n_claims=n_claims, n_sources=n_sources, sign=sign,
        prior_alpha=2.2, prior_beta=1.8,
    )  # fmt: skip
    return data, reliability, truth


def picks(
    seed: int,
    confusion: np.ndarray,
    n_questions: int = 400,
    n_sources: int = 60,
    per_question: int = 6,
) -> tuple[FitData, np.ndarray, np.ndarray, np.ndarray]:
    """Open questions of K answer classes; each source picks by ``confusion`` (sources, K, K).

    Only answers somebody gave are claims, as a new user stores them.
    Returns the data, each claim's question and class, and each question's truth.
    """
    rng = np.random.default_rng(seed)
    k = confusion.shape[1]
    truth = rng.integers(0, k, n_questions)
    q = np.repeat(np.arange(n_questions), per_question)
    source = np.concatenate(
        [rng.choice(n_sources, per_question, replace=False) for _ in range(n_questions)]
    )
    chance = confusion[source, truth[q]]
    label = (rng.random(q.size)[:, None] > np.cumsum(chance, axis=1)).sum(axis=1)
    keys, claim = np.unique(q * k + label, return_inverse=True)
    data = FitData.build(
        claim, source, n_claims=keys.size, n_sources=n_sources,
        question=keys // k, n_questions=n_questions, claim_class=keys % k,
        prior_alpha=2.2, prior_beta=1.8,
    )  # fmt: skip
    return data, keys // k, keys % k, truth


def one_coin_confusion(reliability: np.ndarray, k: int) -> np.ndarray:
    matrix = np.repeat(((1 - reliability) / (k - 1))[:, None, None], k * k, axis=2)
    matrix = matrix.reshape(reliability.size, k, k)
    matrix[:, np.arange(k), np.arange(k)] = reliability[:, None]
    return matrix


def top_answers(
    confidence: np.ndarray, question: np.ndarray, label: np.ndarray, n: int, k: int
) -> np.ndarray:
    table = np.zeros((n, k))
    table[question, label] = confidence
    return table.argmax(axis=1)


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def test_one_coin_learns_the_order_of_reliabilities_and_beats_the_vote() -> None:
    data, reliability, truth = binary_crowd(seed=1)
    fit = OneCoin().fit(Layout(data, 1.0, 0.0))
    assert np.corrcoef(ranks(fit.reliability_), ranks(reliability))[0, 1] > 0.8
    layout = Layout(data, 1.0, 0.0)
    confidence = layout.softmax(fit.score_)[: data.n_claims]
    vote = np.bincount(data.claim, weights=data.sign, minlength=data.n_claims)
    assert np.mean((confidence > 0.5) == truth) > np.mean((vote > 0) == truth) + 0.02


def test_the_mirror_image_is_not_learned_where_agreement_is_the_rule() -> None:
    # Five answer classes, six answers a question, workers mostly below a coin
    # but well above chance (1/5): "none of them" must not absorb the truth.
    rng = np.random.default_rng(2)
    reliability = rng.uniform(0.3, 0.7, 60)
    data, question, label, truth = picks(2, one_coin_confusion(reliability, 5))
    learner = ReliabilityLearner(unresolved_weight=0.5).fit(data)
    assert (learner.reliability_ > 1 / 5).all()  # above chance: support is evidence for
    assert np.corrcoef(learner.reliability_, reliability)[0, 1] > 0.5
    predicted = top_answers(learner.confidence_, question, label, truth.size, 5)
    votes = np.zeros((truth.size, 5))
    np.add.at(votes, (question[data.claim], label[data.claim]), 1)
    assert np.mean(predicted == truth) >= np.mean(votes.argmax(axis=1) == truth)
    # An answer given by all six is likely (ICD 203: above 55 %; the mirror image gave 0.001).
    size = np.bincount(data.claim, minlength=data.n_claims)
    assert (learner.confidence_[size == 6] > 0.7).all()


def test_one_coin_stays_above_chance_on_contested_two_answer_questions() -> None:
    # Two answers, eight a question, workers right 55-75 % of the time: many questions have
    # both answers as claims. Where "none of them" counted its picks as misses, reliabilities
    # slid to 1/2, where "none" holds a third of each such question, and on to the mirror
    # image (mean 0.26, accuracy 0.25 on this draw against the vote's 0.79).
    rng = np.random.default_rng(1)
    reliability = rng.uniform(0.55, 0.75, 40)
    data, question, label, truth = picks(
        1, one_coin_confusion(reliability, 2), n_questions=150, n_sources=40, per_question=8
    )
    layout = Layout(data, 0.5, 0.0)
    fit = OneCoin().fit(layout)
    assert fit.converged_
    assert fit.reliability_.mean() > 0.6
    confidence = layout.softmax(fit.score_)[: data.n_claims]
    predicted = top_answers(confidence, question, label, truth.size, 2)
    votes = np.zeros((truth.size, 2))
    np.add.at(votes, (question[data.claim], label[data.claim]), 1)
    assert np.mean(predicted == truth) >= np.mean(votes.argmax(axis=1) == truth)


def test_selection_picks_confusion_matrices_when_sources_confuse_two_answers() -> None:
    # Every source says "1" for a true "0" half the time, and is reliable otherwise.
    matrix = one_coin_confusion(np.full(40, 0.9), 3)
    matrix[:, 0] = [0.45, 0.5, 0.05]
    data, _, _, _ = picks(3, matrix, n_sources=40)
    learner = ReliabilityLearner().fit(data)
    assert isinstance(learner.structure_, ConfusionMatrices)
    assert learner.criteria_[learner.structure_.describe()] == max(learner.criteria_.values())


def test_selection_picks_one_coin_when_sources_do_not_confuse_answers() -> None:
    rng = np.random.default_rng(4)
    data, _, _, _ = picks(4, one_coin_confusion(rng.uniform(0.5, 0.9, 40), 3), n_sources=40)
    learner = ReliabilityLearner().fit(data)
    assert not isinstance(learner.structure_, ConfusionMatrices)


def test_sources_that_give_one_answer_to_everything_weigh_nothing() -> None:
    # 24 of 60 sources answer "4" whatever the question, 12 read it (0.85), the rest guess:
    # left free, the spammers read as perfect in a fit that gives nearly every question
    # "4" (accuracy 0.23 against the vote's 0.43 on this draw).
    k = 5
    matrix = np.full((60, k, k), 1 / k)
    matrix[:12] = one_coin_confusion(np.full(12, 0.85), k)
    matrix[12:36] = 0.0
    matrix[12:36, :, k - 1] = 1.0
    data, question, label, truth = picks(0, matrix, n_questions=600)
    learner = ReliabilityLearner().fit(data)
    assert isinstance(learner.structure_, ConfusionMatrices)
    confusion = learner.structure_.confusion_
    tied = (confusion == confusion[:, :1]).all(axis=(1, 2))
    spammer = (np.arange(60) >= 12) & (np.arange(60) < 36)
    np.testing.assert_array_equal(tied, spammer)  # the same chances whatever the truth
    predicted = top_answers(learner.confidence_, question, label, truth.size, k)
    votes = np.zeros((truth.size, k))
    np.add.at(votes, (question[data.claim], label[data.claim]), 1)
    assert np.mean(predicted == truth) > np.mean(votes.argmax(axis=1) == truth) + 0.15


def yes_sayers(
    seed: int,
    n_claims: int = 600,
    n_sources: int = 30,
    per_claim: int = 5,
    coins: tuple[tuple[float, float], tuple[float, float]] = ((0.95, 0.3), (0.8, 0.8)),
    true_share: float = 0.4,
) -> tuple[FitData, np.ndarray]:
    """Lone yes/no claims, ``per_claim`` sources each; by default half the sources support
    nearly every claim put to them (sensitivity 0.95, specificity 0.3), the others are
    even-handed (0.8 both): ``coins`` gives each half's (sensitivity, specificity).
    Returns the data and each claim's truth."""
    rng = np.random.default_rng(seed)
    half = np.arange(n_sources) % 2 == 0
    sensitivity = np.where(half, coins[0][0], coins[1][0])
    specificity = np.where(half, coins[0][1], coins[1][1])
    truth = rng.random(n_claims) < true_share
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    supports = np.where(
        truth[claim],
        rng.random(claim.size) < sensitivity[source],
        rng.random(claim.size) > specificity[source],
    )
    data = FitData.build(
        claim, source, n_claims=n_claims, n_sources=n_sources,
        sign=np.where(supports, 1.0, -1.0), prior_alpha=2.2, prior_beta=1.8,
    )  # fmt: skip
    return data, truth


def test_selection_picks_two_coins_when_half_the_sources_say_yes_to_most_claims() -> None:
    data, truth = yes_sayers(5)
    learner = ReliabilityLearner().fit(data)
    assert isinstance(learner.structure_, TwoCoins)
    coins = learner.structure_.stances_
    # The yes-sayers are told apart (sensitive, not specific; planted 0.95 and 0.3),
    # the others are not (0.8 both).
    assert (coins[0::2, 0] > coins[0::2, 1] + 0.25).all()
    sayers, even = coins[0::2].mean(axis=0), coins[1::2].mean(axis=0)
    assert sayers[0] > 0.8 and sayers[1] < 0.45
    assert abs(even[0] - even[1]) < 0.15
    one_coin = OneCoin().fit(Layout(data, 0.5, 0.0))
    one_coin_right = np.mean((Layout(data, 0.5, 0.0).softmax(one_coin.score_)[:600] > 0.5) == truth)
    assert np.mean((learner.confidence_ > 0.5) == truth) > one_coin_right + 0.02


def test_two_coins_direct_weights_are_their_chances_log_ratio() -> None:
    # The direct E-step reads a table of (source, stance) cells; the chances' formula,
    # which relayed rows and the held-out criterion use, is its reference.
    data, _ = yes_sayers(7)
    layout = Layout(data, 0.5, 0.0)
    fitted = TwoCoins(class_prior=True).fit(layout)
    rows = np.arange(data.n_rows)
    true, false = fitted._yes_no_chances(data, rows)
    np.testing.assert_allclose(fitted.weight_, np.log(true) - np.log(false), rtol=0, atol=1e-12)
    state = data.claim[rows]
    np.testing.assert_allclose(fitted.pair_likelihood(layout, rows, state), true, atol=1e-15)


def test_selection_keeps_one_coin_when_yes_no_sources_are_even_handed() -> None:
    data, _, _ = binary_crowd(seed=6, n_claims=600)
    learner = ReliabilityLearner().fit(data)
    assert any(name.startswith("two coins") for name in learner.criteria_)
    assert not isinstance(learner.structure_, TwoCoins)
    # Nor one coin with a base rate: on yes/no statements held-out answers cannot tell it
    # from the sources' leanings.
    assert "one coin, class prior" not in learner.criteria_


@pytest.mark.parametrize("n_sources", [40, 300])
@pytest.mark.parametrize("seed", range(4))
def test_a_thin_store_of_leaning_sources_is_not_read_as_all_false(
    seed: int, n_sources: int
) -> None:
    # Three statements a claim; half the sources refute most claims, half support most;
    # some 22 statements a source (two coins learnable) or 6 (not). The fit once took the
    # leanings for the truth: the refuters right, the supporters wrong, and nearly every
    # claim false (or true): accuracy 0.45-0.60 on these draws against the vote's 0.81-0.85.
    data, truth = yes_sayers(
        seed, n_claims=300 if n_sources == 40 else 600, n_sources=n_sources, per_claim=3,
        coins=((0.55, 0.95), (0.95, 0.45)), true_share=0.45,
    )  # fmt: skip
    learner = ReliabilityLearner().fit(data)
    vote = segment_sum(data.sign, data.claim, data.n_claims) > 0
    assert abs(learner.confidence_.mean() - truth.mean()) < 0.1
    assert np.mean((learner.confidence_ > 0.5) == truth) > np.mean(vote == truth) - 0.1


def test_two_coins_are_offered_only_where_yes_no_statements_can_teach_them() -> None:
    data, _, _ = binary_crowd(seed=7)
    supports_only = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        prior_alpha=2.2, prior_beta=1.8,
    )  # fmt: skip
    learner = ReliabilityLearner().fit(supports_only)
    assert not any(name.startswith("two coins") for name in learner.criteria_)
    # Nor where most statements come from sources with a handful each (1.5 here).
    sparse, _, _ = binary_crowd(seed=7, n_claims=600, n_sources=2000)
    learner = ReliabilityLearner().fit(sparse)
    # Nor a base rate beside one coin: held-out answers cannot tell it from leanings.
    assert list(learner.criteria_) == ["one coin"]


def test_a_lone_sources_open_claims_do_not_confirm_it() -> None:
    # Source 0 alone backs 2,000 open claims; three resolutions are all its record.
    n = 2003
    outcome = np.full(n, np.nan)
    outcome[:3] = [1.0, 1.0, 0.0]
    data = FitData.build(
        np.arange(n), np.zeros(n, np.intp), n_claims=n, n_sources=1,
        outcome=outcome, prior_alpha=12.0, prior_beta=3.0,
    )  # fmt: skip
    fit = ReliabilityLearner(unresolved_weight=0.5).fit(data)
    assert fit.alpha_[0] == pytest.approx(12.0 + 2.0)
    assert fit.beta_[0] == pytest.approx(3.0 + 1.0)


def test_claims_each_backed_by_their_one_source_teach_no_base_rate() -> None:
    # Every claim is in the store because its one source said so: all supported,
    # they would otherwise teach that every claim is true (0.998 once, after a job).
    n = 200
    data = FitData.build(
        np.arange(n), np.arange(n) % 5, n_claims=n, n_sources=5, prior_alpha=8.0, prior_beta=2.0
    )
    fit = OneCoin(class_prior=True).fit(Layout(data, 0.5, 0.0))
    np.testing.assert_allclose(fit.base_, 0.0)
    # A second source on half of them: those claims now say something.
    claim = np.concatenate((np.arange(n), np.arange(n // 2)))
    source = np.concatenate((np.arange(n) % 5, 5 + np.arange(n // 2) % 5))
    heard = FitData.build(claim, source, n_claims=n, n_sources=10, prior_alpha=8.0, prior_beta=2.0)
    assert OneCoin(class_prior=True).fit(Layout(heard, 0.5, 0.0)).base_[0] > 1.0


def test_claims_only_supported_are_offered_no_base_rate_until_resolutions_judge_it() -> None:
    # Two sources echo each other on every claim and nobody else speaks: every claim
    # true and both sources right explains the store best whatever the truth.
    n = 60
    claim = np.repeat(np.arange(n), 2)
    source = np.tile([0, 1], n)
    echo = FitData.build(claim, source, n_claims=n, n_sources=2)
    learner = ReliabilityLearner()
    fit = learner.fit(echo)
    assert not fit.structure_.class_prior
    assert all("class prior" not in name for name in fit.criteria_)
    # With outcomes enough to judge it, the base rate is a candidate again.
    outcome = np.full(n, np.nan)
    outcome[:40] = 1.0
    resolved = FitData.build(claim, source, n_claims=n, n_sources=2, outcome=outcome)
    assert any("class prior" in name for name in learner.fit(resolved).criteria_)


def test_other_sources_on_the_same_claims_do_count() -> None:
    n = 200
    claim = np.repeat(np.arange(n), 2)
    source = np.tile([0, 1], n)
    data = FitData.build(claim, source, n_claims=n, n_sources=2, prior_alpha=2.0, prior_beta=2.0)
    fit = OneCoin().fit(Layout(data, 0.5, 0.0))
    assert fit.alpha_[0] + fit.beta_[0] == pytest.approx(4.0 + 0.5 * n)


def test_resolutions_are_a_decayed_track_record_without_open_weight() -> None:
    data, _, truth = binary_crowd(seed=5)
    rng = np.random.default_rng(5)
    age = rng.uniform(0, 2000, data.n_rows)
    outcome = np.where(rng.random(data.n_claims) < 0.6, truth.astype(float), np.nan)
    fit_data = FitData.build(
        data.claim, data.source, n_claims=data.n_claims, n_sources=data.n_sources,
        sign=data.sign, age_days=age, outcome=outcome, prior_alpha=data.prior_alpha,
        prior_beta=data.prior_beta,
    )  # fmt: skip
    fit = OneCoin().fit(Layout(fit_data, 0.0, 365.0))
    resolved = ~np.isnan(outcome[data.claim])
    hit = (data.sign[resolved] > 0) == (outcome[data.claim][resolved] == 1)
    alpha, beta = track_record_posterior(
        data.prior_alpha, data.prior_beta, data.source[resolved], hit, age[resolved], 365.0
    )
    np.testing.assert_allclose(fit.alpha_, alpha, rtol=1e-9)
    np.testing.assert_allclose(fit.beta_, beta, rtol=1e-9)


def test_a_source_outside_every_group_borrows_nothing() -> None:
    """Group priors: a source with no group keeps its own prior, even when its record
    is exactly two resolutions larger than group 0's (the group's record less its
    own was once divided by zero there, and the job failed on a NaN belief)."""
    source = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    outcome = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    data = FitData.build(
        np.arange(8), source, n_claims=8, n_sources=2, outcome=outcome,
        prior_alpha=2.0, prior_beta=2.0, source_group=[0, -1],
    )  # fmt: skip
    fit = OneCoin(group_strength=4.0).fit(Layout(data, 0.5, 0.0))
    assert fit.alpha_[1] == pytest.approx(2.0 + 3.0)
    assert fit.beta_[1] == pytest.approx(2.0 + 2.0)
    # The lone member of group 0 borrows 4 pseudo-observations at an empty group's 1/2.
    assert fit.alpha_[0] == pytest.approx(2.0 + 2.0 + 2.0)


def test_resolved_claims_keep_their_outcome() -> None:
    data, _, truth = binary_crowd(seed=6)
    outcome = np.full(data.n_claims, np.nan)
    outcome[:100] = truth[:100]
    fit = ReliabilityLearner().fit(data.with_outcome(outcome))
    np.testing.assert_allclose(fit.confidence_[:100], truth[:100].astype(float), atol=1e-12)
    assert ((fit.confidence_[100:] > 0) & (fit.confidence_[100:] < 1)).all()


def test_a_fit_that_runs_out_of_iterations_says_so() -> None:
    data, _, _ = binary_crowd(seed=7)
    fit = ReliabilityLearner(max_iter=1, tol=0.0).fit(data)
    assert not fit.converged_
    assert fit.stats()["converged"] is False
    assert fit.stats()["iterations"] == 1
    settled = ReliabilityLearner(max_iter=500).fit(data)
    assert settled.converged_ and settled.n_iter_ < 500


def test_same_input_gives_the_same_result() -> None:
    data, _, _, _ = picks(8, one_coin_confusion(np.full(60, 0.7), 4))
    first = ReliabilityLearner().fit(data)
    second = ReliabilityLearner().fit(data)
    np.testing.assert_array_equal(first.confidence_, second.confidence_)
    assert first.stats()["candidates"] == second.stats()["candidates"]


def test_stats_name_the_choice_and_every_alternative() -> None:
    data, _, _, _ = picks(9, one_coin_confusion(np.full(60, 0.7), 4))
    stats = ReliabilityLearner().fit(data).stats()
    assert stats["structure"] in stats["candidates"]
    assert len(stats["candidates"]) == 4
    assert stats["criterion"] == "held-out answers"
    assert stats["temperature"] > 0


def test_an_answers_temperature_claims_no_more_than_the_folds_checked() -> None:
    """Held-out answers check posteriors that pooled 2/3 of each question's answers;
    the store's temperature is scaled by how much smaller those posteriors' top
    log-odds were than the whole store's, so it is below 1 and above the bare 2/3
    (the class base rates and the "none" state do not grow with answers)."""
    data, _, _, _ = picks(12, one_coin_confusion(np.full(60, 0.7), 4))
    fit = ReliabilityLearner().fit(data)
    assert 0.6 < fit.evidence_scale_ < 0.95
    assert fit.stats()["evidence_scale"] == pytest.approx(fit.evidence_scale_, abs=1e-4)
    whole = evidence_scale(fit.structure_, Layout(data, 0.5, 0.0), folds=3, seed=0)
    assert whole == pytest.approx(fit.evidence_scale_)
    # More folds pool more of the answers: less to scale.
    assert evidence_scale(fit.structure_, Layout(data, 0.5, 0.0), folds=6, seed=0) > whole


def test_a_large_stores_temperature_taken_on_the_selections_sample_agrees_with_the_whole() -> None:
    # 7,500 rows judged on a sample of about 2,500: the temperature and its scale are taken
    # on the sample at the parameters fitted on everything, within the sample's two
    # standard errors of what the whole store gives.
    rng = np.random.default_rng(6)
    reliability = rng.uniform(0.5, 0.9, 60)
    data, _, _, _ = picks(6, one_coin_confusion(reliability, 4), n_questions=1500, per_question=5)
    whole = ReliabilityLearner().fit(data)
    sampled = ReliabilityLearner(selection_rows=2_500).fit(data)
    assert sampled.structure_.describe() == whole.structure_.describe()
    assert whole.log_temperature_se_ < sampled.log_temperature_se_ < 0.2
    moved = abs(np.log(sampled.temperature_ / whole.temperature_))
    assert moved < 2 * sampled.log_temperature_se_


def test_a_temperature_chosen_on_resolved_claims_is_not_scaled() -> None:
    data, _, truth = binary_crowd(seed=13)
    outcome = np.full(data.n_claims, np.nan)
    outcome[:100] = truth[:100]
    fit = ReliabilityLearner().fit(data.with_outcome(outcome))
    assert fit.criterion_ == "resolved claims"
    assert fit.evidence_scale_ == 1.0


def test_temperature_search_finds_the_maximum() -> None:
    found = best_temperature(lambda t: -((np.log(t) - np.log(0.7)) ** 2), 10**9)
    assert found.temperature == pytest.approx(0.7, rel=1e-4)
    # With a flat criterion (a store of a few rows), T stays at 1.
    assert best_temperature(lambda t: 0.0, 3).temperature == pytest.approx(1.0, abs=1e-3)


def test_restricting_to_questions_renumbers_claims_and_rows() -> None:
    data, question, _, _ = picks(10, one_coin_confusion(np.full(60, 0.7), 4), n_questions=20)
    keep = np.arange(20) % 2 == 0
    part = data.with_questions(keep)
    assert part.n_questions == 10
    assert part.n_claims == int(keep[question].sum())
    assert part.n_rows == int(keep[question[data.claim]].sum())
    assert (
        part.question[part.claim]
        == np.cumsum(keep)[question[data.claim]][keep[question[data.claim]]] - 1
    ).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"claim": [0, 5]}, "claim"),
        ({"source": [0, -1]}, "source"),
        ({"sign": [1.0, 0.5]}, "sign"),
        ({"sign": [1.0, 257.0]}, "sign"),
        ({"sign": [1.0, np.nan]}, "sign"),
        ({"sign": np.array([1, -128], dtype=np.int8)}, "sign"),
        ({"fidelity": [1.0, 1.5]}, "fidelity"),
        ({"fidelity": [1.0, np.nan]}, "fidelity"),
        ({"weight_scale": [1.0, np.inf]}, "weight_scale"),
        # Against the largest float64, which a float32 bound would round to inf.
        ({"age_days": np.array([0.0, np.inf], dtype=np.float32)}, "age_days"),
        ({"claim_class": [0, -1]}, "claim_class"),
        ({"prior_beta": [1.0, np.inf]}, "prior_beta"),
        ({"claim_prior": [0.0, 0.5]}, "claim_prior"),
        ({"outcome": [2.0, np.nan]}, "outcome"),
        ({"prior_alpha": [0.0, 1.0]}, "prior_alpha"),
        ({"source_group": [0, -2]}, "source_group"),
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
    data, _, _ = binary_crowd(seed=11, n_claims=10, n_sources=5)
    with pytest.raises(ValueError):
        data.sign[0] = -data.sign[0]


def test_fit_data_keeps_indices_in_32_bits_while_their_count_fits() -> None:
    """Half the memory of a store's per-row indices; a count past 32 bits keeps 64."""
    data, _, _ = binary_crowd(seed=11, n_claims=10, n_sources=5)
    assert {data.claim.dtype, data.source.dtype, data.question.dtype} == {np.dtype(np.int32)}
    assert index_dtype(2**31 - 1) is np.int32
    assert index_dtype(2**31) is np.intp


def test_fit_data_keeps_signs_in_8_bits_and_float32_ages_as_given() -> None:
    """A store's signs and float32 ages at a quarter and half of float64's memory; the
    values are the given ones, and ages given in float64 stay float64."""
    ages = np.array([0.1, 365.25], dtype=np.float32)
    data = FitData.build([0, 1], [0, 1], n_claims=2, n_sources=2, sign=[1.0, -1.0], age_days=ages)
    assert data.sign.dtype == np.int8 and data.sign.tolist() == [1, -1]
    assert data.age_days is ages
    precise = FitData.build([0], [0], n_claims=1, n_sources=1, age_days=[0.1])
    assert precise.age_days.dtype == np.float64 and precise.age_days[0] == 0.1


def test_fit_data_takes_an_array_it_owns_without_a_copy_and_copies_a_view() -> None:
    """A store's rows are most of a fit's memory: an array is frozen, not copied; a view
    of someone's array is copied, so that an edit through its base cannot reach the data."""
    fidelity = np.full(2, 0.5)
    base = np.array([1.0, 9.0, -1.0, 9.0])
    data = FitData.build([0, 1], [0, 1], n_claims=2, n_sources=2, fidelity=fidelity, sign=base[::2])
    assert data.fidelity is fidelity
    with pytest.raises(ValueError):
        fidelity[0] = 1.0
    base[0] = -1.0
    assert data.sign.tolist() == [1.0, -1.0]


@pytest.mark.parametrize("pick_answers", [False, True])
def test_the_e_step_a_block_of_rows_at_a_time_equals_it_over_all_rows(
    monkeypatch: pytest.MonkeyPatch, pick_answers: bool
) -> None:
    if pick_answers:
        data = picks(seed=14, confusion=one_coin_confusion(np.full(60, 0.7), 3))[0]
    else:
        data = binary_crowd(seed=14)[0]
    # Relayed rows: the E-step that computes its stance chances in blocks.
    fidelity = np.random.default_rng(14).uniform(0.3, 1.0, data.n_rows)
    data = data.with_fidelity(fidelity)
    whole = OneCoin(class_prior=True).fit(Layout(data, 0.5, 0.0))
    monkeypatch.setattr(one_coin, "E_STEP_ROWS", 7)
    blocked = OneCoin(class_prior=True).fit(Layout(data, 0.5, 0.0))
    assert blocked.n_iter_ == whole.n_iter_ > 1
    np.testing.assert_array_equal(blocked.reliability_, whole.reliability_)
    np.testing.assert_array_equal(blocked.score_, whole.score_)
    np.testing.assert_array_equal(blocked.weight_, whole.weight_)


def mixed_rows(seed: int) -> FitData:
    """Lone yes/no claims and questions of two to four answers, rows grouped by claim:
    supports, refutes and neutral rows, a fifth of them relayed, some of no weight."""
    rng = np.random.default_rng(seed)
    size = np.where(rng.random(150) < 0.6, 1, rng.integers(2, 5, 150))
    question = np.repeat(np.arange(size.size), size)
    claim = np.repeat(np.arange(question.size), rng.integers(1, 6, question.size))
    m = claim.size
    return FitData.build(
        claim, rng.integers(0, 25, m), n_claims=question.size, n_sources=25,
        sign=rng.choice([1, 1, -1, 0], m),
        fidelity=np.where(rng.random(m) < 0.2, rng.uniform(0.3, 1.0, m), 1.0),
        weight_scale=np.where(rng.random(m) < 0.1, 0.0, rng.choice([1.0, 0.75], m)),
        question=question, n_questions=size.size,
        outcome=np.where(rng.random(question.size) < 0.2, 0.0, np.nan),
        prior_alpha=2.2, prior_beta=1.8,
    )  # fmt: skip


@pytest.mark.parametrize("block", [7, one_coin.E_STEP_ROWS])
def test_the_relayed_e_steps_per_source_weights_are_the_stance_chances_to_the_bit(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(one_coin, "E_STEP_ROWS", block)
    data = mixed_rows(seed=21)
    layout = Layout(data, 0.5, 0.0)
    fitted = OneCoin(class_prior=True, max_iter=3).fit(layout)
    # Most rows are direct statements that are no picks: the per-source weights serve them.
    assert fitted._formula_rows is not None and 0 < fitted._formula_rows.size < data.n_rows / 2
    weight, shared = fitted._row_weights(layout)
    reference, reference_shared = fitted._stance_weights(layout, slice(None))
    assert weight.tobytes() == reference.tobytes()
    # Shared weights are kept on the formula's rows: elsewhere they are 0.
    assert shared.tobytes() == reference_shared[fitted._formula_rows].tobytes()
    others = np.delete(reference_shared, fitted._formula_rows)
    assert others.tobytes() == np.zeros_like(others).tobytes()
    # The evidence summed over the rows that hold shared weights is the sum over all.
    whole = segment_sum(reference, data.claim, layout.n_states)
    by_question = segment_sum(reference_shared, layout.row_question, data.n_questions)
    whole[: data.n_claims] += by_question[data.question]
    assert fitted.evidence(layout).tobytes() == whole.tobytes()
    hidden = np.random.default_rng(21).random(data.n_rows) < 0.3
    whole = segment_sum(reference * hidden, data.claim, layout.n_states)
    by_question = segment_sum(reference_shared * hidden, layout.row_question, data.n_questions)
    whole[: data.n_claims] += by_question[data.question]
    assert fitted.evidence(layout, hidden).tobytes() == whole.tobytes()


def test_a_claims_value_reaches_its_rows_whether_or_not_rows_are_grouped() -> None:
    data = mixed_rows(seed=22)
    values = np.random.default_rng(22).random(data.n_claims + 5)
    grouped = Layout(data, 0.5, 0.0)
    assert grouped.claim_rows is not None
    np.testing.assert_array_equal(grouped.at_rows(values), values[data.claim])
    shuffled = data.with_rows(np.random.default_rng(23).permutation(data.n_rows))
    layout = Layout(shuffled, 0.5, 0.0)
    assert layout.claim_rows is None
    np.testing.assert_array_equal(layout.at_rows(values), values[shuffled.claim])


def test_a_layout_of_other_fidelities_shares_all_but_the_mass() -> None:
    data = mixed_rows(seed=24)
    layout = Layout(data, 0.5, 30.0)
    moved = data.with_fidelity(np.random.default_rng(24).uniform(0.2, 1.0, data.n_rows))
    relaid, fresh = layout.with_data(moved), Layout(moved, 0.5, 30.0)
    assert relaid.data is moved and relaid.row_question is layout.row_question
    assert relaid.mass.tobytes() == fresh.mass.tobytes() != layout.mass.tobytes()
    assert layout.mass.tobytes() == Layout(data, 0.5, 30.0).mass.tobytes()
    # Other rows are laid out afresh.
    fewer = data.with_rows(np.arange(0, data.n_rows, 2))
    other = layout.with_data(fewer)
    assert other.row_question.size == fewer.n_rows
    assert other.mass.tobytes() == Layout(fewer, 0.5, 30.0).mass.tobytes()
