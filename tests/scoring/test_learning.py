"""Learning a store and scoring with what it learned: one model, one path (scoring.learning)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scoring import Attribution, Beta, Claim, ClaimScorer, ScoringParams, SourceBelief
from scoring.columns import ClaimColumns
from scoring.fit import ReliabilityLearner
from scoring.learned import LearnedModel, answer_classes
from scoring.learning import StoreFit, learn_columns, learn_store


def crowd_claims(seed: int, n_questions: int = 150, labels: str = "abc") -> list[Claim]:
    """Questions answered by six of thirty sources; one claim per answer given."""
    rng = np.random.default_rng(seed)
    reliability = rng.uniform(0.4, 0.9, 30)
    claims = []
    for q in range(n_questions):
        truth = rng.integers(len(labels))
        answers: dict[str, list[Attribution]] = {}
        for s in rng.choice(30, 6, replace=False):
            right = rng.random() < reliability[s]
            label = labels[truth] if right else labels[(truth + 1 + rng.integers(2)) % 3]
            answers.setdefault(label, []).append(Attribution(f"w{s}"))
        for label, attributions in sorted(answers.items()):
            claims.append(
                Claim(tuple(attributions), question=f"q{q}", id=f"{q}{label}", text=label)
            )
    return claims


def learn_open(claims: list[Claim], params: ScoringParams) -> StoreFit:
    """``learn_store`` of open claims, none of their sources defined, with the defaults."""
    n_rows = sum(len(c.attributions) for c in claims)
    return learn_store(
        claims, {}, {}, np.full(len(claims), np.nan), np.zeros(n_rows), params,
        ReliabilityLearner(),
    )  # fmt: skip


def test_online_scores_of_stored_claims_are_what_the_fit_learned() -> None:
    claims = crowd_claims(1)
    params = ScoringParams(interval_samples=32)
    fit = learn_open(claims, params)
    model = LearnedModel.from_json(fit.model.to_json())
    beliefs = {s: SourceBelief(b) for s, b in fit.beliefs.items()}
    scorer = ClaimScorer(params)
    together = [s.confidence for s in scorer.score(claims, beliefs, model)]
    np.testing.assert_allclose(together, fit.confidence, atol=1e-9)
    # One question at a time, as POST /v1/score sends a stored claim with its siblings.
    first = [c for c in claims if c.question == "q0"]
    alone = [s.confidence for s in scorer.score(first, beliefs, model)]
    np.testing.assert_allclose(alone, fit.confidence[: len(first)], atol=1e-9)
    for score in scorer.score(first, beliefs, model):
        low, high = score.interval
        assert low <= score.confidence <= high


def learn_crowd(seed: int) -> StoreFit:
    """``learn_store`` of 60 open crowd questions with the defaults."""
    return learn_open(crowd_claims(seed, n_questions=60), ScoringParams())


def test_the_model_round_trips_through_json() -> None:
    fit = learn_crowd(2)
    assert LearnedModel.from_json(fit.model.to_json()) == fit.model
    assert fit.model.classes == ("a", "b", "c")
    assert fit.model.stats["structure"] == fit.model.structure


def test_a_model_moves_only_by_more_than_its_data_can_tell_apart() -> None:
    model = learn_crowd(3).model
    se = model.log_temperature_se
    assert 0 < se < 1  # 60 questions pin ln T down better than the prior alone
    assert model.class_base_se is not None and min(model.class_base_se) > 0
    # Within two standard errors of ln T: the same temperature as far as the data tell.
    near = replace(model, temperature=model.temperature * np.exp(1.9 * se))
    assert not near.moved_from(model) and not model.moved_from(near)
    assert replace(model, temperature=model.temperature * np.exp(2.1 * se)).moved_from(model)
    assert model.class_base is not None
    shifted = tuple(b + 1.9 * e for b, e in zip(model.class_base, model.class_base_se, strict=True))
    assert not replace(model, class_base=shifted).moved_from(model)
    beyond = tuple(b + 2.1 * e for b, e in zip(model.class_base, model.class_base_se, strict=True))
    assert replace(model, class_base=beyond).moved_from(model)
    # A model stored without standard errors moves by the plain tolerance.
    bare = replace(model, log_temperature_se=0.0)
    assert replace(bare, temperature=bare.temperature * 1.02).moved_from(bare)


def yes_no_claims(seed: int, n_claims: int = 300) -> list[Claim]:
    """Lone statements, each supported or refuted by five of twenty sources, half of
    whom support nearly everything (sensitivity 0.95, specificity 0.3; the others 0.85
    both); one relayed, one hedged."""
    rng = np.random.default_rng(seed)
    claims = []
    for i in range(n_claims):
        true = rng.random() < 0.5
        attributions = []
        for s in rng.choice(20, 5, replace=False):
            sensitivity, specificity = (0.95, 0.3) if s % 2 == 0 else (0.85, 0.85)
            supports = rng.random() < sensitivity if true else rng.random() > specificity
            attributions.append(Attribution(f"s{s}", "supports" if supports else "refutes"))
        if i == 0:
            attributions[0] = replace(attributions[0], via=("s1",))
        if i == 1:
            attributions[0] = replace(attributions[0], certainty=0.6)
        claims.append(Claim(tuple(attributions), id=f"c{i:03d}", text=f"Statement {i}."))
    return claims


def test_a_coin_per_stance_is_stored_and_scores_online_as_the_fit_did() -> None:
    claims = yes_no_claims(4)
    params = ScoringParams(interval_samples=32)
    fit = learn_open(claims, params)
    assert fit.model.structure.startswith("two coins")
    model = LearnedModel.from_json(fit.model.to_json())
    assert model == fit.model
    coins = model.stances
    assert coins is not None and set(coins) >= {"s0", "s1"}
    beliefs = {s: SourceBelief(b) for s, b in fit.beliefs.items()}
    scored = ClaimScorer(params).score(claims, beliefs, model)
    np.testing.assert_allclose([s.confidence for s in scored], fit.confidence, atol=1e-9)
    # A direct statement weighs its coins' log-likelihood ratio (times the temperature):
    # a yes-sayer's support less than an even-handed source's.
    weight = {(e.source, e.stance): e.weight for s in scored[2:] for e in s.evidence}
    for source in ("s0", "s1"):
        se, sp = coins[source]
        assert weight[source, "supports"] == pytest.approx(
            model.temperature * np.log(se / (1 - sp))
        )
        assert weight[source, "refutes"] == pytest.approx(model.temperature * np.log((1 - se) / sp))
    assert weight["s0", "supports"] < weight["s1", "supports"] / 2
    # The coins move the model as its other parameters do.
    se, sp = coins["s0"]
    assert not replace(model, stances={**coins, "s0": (se + 0.005, sp)}).moved_from(model)
    assert replace(model, stances={**coins, "s0": (se + 0.02, sp)}).moved_from(model)


def test_a_source_that_gives_one_answer_to_everything_weighs_nothing_online_either() -> None:
    # Two sources answer "c" to all 60 questions besides the crowd's six answers.
    claims = crowd_claims(5, n_questions=60)
    spam = (Attribution("spam1"), Attribution("spam2"))
    for q in range(60):
        at = next((i for i, c in enumerate(claims) if c.id == f"{q}c"), None)
        if at is None:
            claims.append(Claim(spam, question=f"q{q}", id=f"{q}c", text="c"))
        else:
            claims[at] = replace(claims[at], attributions=claims[at].attributions + spam)
    params = ScoringParams(interval_samples=32)
    fit = learn_open(claims, params)
    assert fit.model.structure.startswith("confusion matrices")
    model = LearnedModel.from_json(fit.model.to_json())
    confusion = model.confusion
    assert confusion is not None
    for source in ("spam1", "spam2"):
        assert len(set(confusion[source])) == 1  # one row whatever the truth
    assert len(set(confusion["w0"])) == 3
    beliefs = {s: SourceBelief(b) for s, b in fit.beliefs.items()}
    scored = ClaimScorer(params).score(claims, beliefs, model)
    np.testing.assert_allclose([s.confidence for s in scored], fit.confidence, atol=1e-9)
    weights = [e.weight for s in scored for e in s.evidence if e.source.startswith("spam")]
    assert len(weights) == 120 and np.allclose(weights, 0.0)


def test_wordings_are_classes_only_when_they_are_a_small_vocabulary() -> None:
    classes, vocabulary = answer_classes(["Yes", "no ", "yes", "No", "yes", "no"])
    assert vocabulary == ("no", "yes")
    assert classes.tolist() == [1, 0, 1, 0, 1, 0]
    assert answer_classes(["a", "b", "c", None])[1] == ()
    assert answer_classes([f"statement {i}" for i in range(40)])[1] == ()
    # Wordings past the most classes are no vocabulary, whatever comes after them.
    classes, vocabulary = answer_classes([f"answer {i % 13}" for i in range(13)] + ["a"] * 99)
    assert (vocabulary, classes.tolist()) == ((), [0] * 112)


def test_a_lone_sources_claims_leave_its_belief_where_prior_and_resolutions_put_it() -> None:
    claims = [Claim((Attribution("reuters"),), id=f"c{i}") for i in range(2003)]
    outcome = np.full(len(claims), np.nan)
    outcome[:3] = [1.0, 1.0, 0.0]
    prior = Beta.from_reliability(0.8, 15)
    fit = learn_store(
        claims, {}, {"reuters": prior}, outcome, np.zeros(len(claims)), ScoringParams(),
        ReliabilityLearner(unresolved_weight=0.5),
    )  # fmt: skip
    learned = fit.beliefs["reuters"]
    assert learned.alpha == pytest.approx(prior.alpha + 2)
    assert learned.beta == pytest.approx(prior.beta + 1)


def test_a_store_of_one_statement_keeps_a_temperature() -> None:
    # The fold that hides the one row sees a bare prior: the folds checked no
    # confidence, and there is nothing to scale by (the evidence scale once came
    # out 0, and with it every weight).
    claims = [Claim((Attribution("nis"),), id="c")]
    fit = learn_store(
        claims, {}, {"nis": Beta.from_reliability(0.6, 10)}, np.full(1, np.nan), np.zeros(1),
        ScoringParams(), ReliabilityLearner(),
    )  # fmt: skip
    assert fit.model.stats["evidence_scale"] == 1.0
    assert fit.model.temperature > 0


def test_a_learned_model_scores_any_call() -> None:
    model = LearnedModel(
        "confusion matrices (4), class prior", 0.5, ("a", "b"), (1.0, 2.0),
        {"x": ((0.9, 0.1), (0.2, 0.8))}, 4.0,
    )  # fmt: skip
    scorer = ClaimScorer(ScoringParams(interval_samples=16)).with_model(model)
    assert scorer.score([], {}) == []
    x, y = Attribution("x"), Attribution("y")
    relayed = (Attribution("x", "refutes", ("r",), 0.5), Attribution("x", via=("r",)))
    calls = [
        [Claim(())],
        [Claim((x,), question="q", text="a"), Claim((y,), question="q", text="B")],
        [Claim((x,), question="q", text="not a class")],
        [Claim(relayed, text="a")],
    ]
    for claims in calls:
        for score in scorer.score(claims, {}):
            low, high = score.interval
            assert 0 <= low <= score.confidence <= high <= 1


@pytest.mark.parametrize(
    "model",
    [
        LearnedModel("one coin", 0.5),
        LearnedModel("one coin, class prior", 0.5, class_base=(2.0,)),
    ],
    ids=["one coin", "class prior"],
)
def test_a_claims_own_prior_is_neither_tempered_nor_replaced(model: LearnedModel) -> None:
    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    params = ScoringParams(interval_samples=16)
    plain = ClaimScorer(params)
    scorer = plain.with_model(model)
    wire = {"wire": SourceBelief(Beta.from_reliability(0.8, 10))}
    [bare] = scorer.score([Claim((), prior=0.05)], wire)
    assert bare.confidence == pytest.approx(0.05)
    # With evidence: the prior's log-odds plus the tempered weight of the evidence.
    claim = Claim((Attribution("wire"),), prior=0.05)
    [scored] = scorer.score([claim], wire)
    [weight] = [e.weight for e in scored.evidence]
    assert logit(scored.confidence) == pytest.approx(logit(0.05) + weight)
    assert weight == pytest.approx(
        0.5 * next(e.weight for e in plain.score([claim], wire)[0].evidence)
    )
    # A claim without a prior of its own takes the learned base rate, tempered, if any.
    [default] = scorer.score([Claim(())], wire)
    base = 0.0 if model.class_base is None else 0.5 * model.class_base[0]
    assert logit(default.confidence) == pytest.approx(base)


def test_learning_from_columns_is_learning_from_claims() -> None:
    claims = crowd_claims(3, n_questions=80)
    outcome = np.where(np.arange(len(claims)) % 7 == 0, 1.0, np.nan)
    n_rows = sum(len(c.attributions) for c in claims)
    # Whole days: float32 ages (the columns') are then exact.
    ages = np.arange(n_rows) % 300.0
    sources = {"w1": SourceBelief(Beta(4, 2), group="g"), "w2": SourceBelief(Beta(2, 2), group="g")}
    priors = {"w1": Beta(3, 2)}
    params = ScoringParams()
    reference = learn_store(claims, sources, priors, outcome, ages, params, ReliabilityLearner())
    fit = learn_columns(
        ClaimColumns.of_claims(claims, ages), sources, priors, outcome, params, ReliabilityLearner()
    )
    assert fit.beliefs == reference.beliefs
    # The stats differ only in the fit's timings.
    assert {**fit.model.to_json(), "stats": None} == {**reference.model.to_json(), "stats": None}
    np.testing.assert_array_equal(fit.confidence, reference.confidence)
