import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    MODEL_NAME,
    MODEL_VERSION,
    Attribution,
    Beta,
    Claim,
    ClaimScorer,
    GradeTable,
    Score,
    ScoringParams,
    SourceBelief,
    prior_from_spec,
)
from scoring.claims import Stance

SCORER = ClaimScorer(ScoringParams(group_correlation={"gov:kr": 0.5}))
TOL = 1e-9
NAMES = [f"s{i}" for i in range(5)]
RELAYS = [f"r{i}" for i in range(3)]

reliabilities = st.floats(0.02, 0.98)
strengths = st.floats(0.5, 50)
beliefs = st.builds(Beta.from_reliability, reliabilities, strengths)
source_maps = st.dictionaries(
    st.sampled_from(NAMES + RELAYS),
    st.builds(SourceBelief, beliefs, st.sampled_from([None, "g1", "g2"])),
)
attributions = st.builds(
    Attribution,
    source=st.sampled_from([*NAMES, "anon"]),
    stance=st.sampled_from(["supports", "refutes", "neutral"]),
    via=st.lists(st.sampled_from(RELAYS), max_size=2).map(tuple),
    certainty=st.floats(0.05, 1.0),
    count=st.integers(1, 3),
)
claims = st.builds(
    Claim,
    attributions=st.lists(attributions, max_size=5).map(tuple),
    prior=st.one_of(st.none(), st.floats(0.02, 0.98)),
)


def score_one(claim: Claim, sources: dict[str, SourceBelief]) -> Score:
    return SCORER.score([claim], sources)[0]


def with_attribution(claim: Claim, attribution: Attribution) -> Claim:
    return Claim((*claim.attributions, attribution), claim.prior, claim.question, claim.id)


@given(claims, source_maps, reliabilities, st.sampled_from(["supports", "refutes"]))
def test_an_independent_source_moves_confidence_its_way(
    claim: Claim, sources: dict[str, SourceBelief], r: float, stance: Stance
) -> None:
    before = score_one(claim, sources).confidence
    fresh = {**sources, "fresh": SourceBelief(Beta.from_reliability(r, 10))}
    after = score_one(with_attribution(claim, Attribution("fresh", stance)), fresh).confidence
    # A supporting source with r >= 0.5 (or a refuting one with r <= 0.5) is evidence for.
    if (stance == "supports") == (r >= 0.5):
        assert after >= before - TOL
    if (stance == "supports") == (r <= 0.5):
        assert after <= before + TOL


@given(
    claims, source_maps, reliabilities, st.lists(st.sampled_from(RELAYS), min_size=1, max_size=3)
)
def test_more_relays_never_beat_one_faithful_relay(
    claim: Claim, sources: dict[str, SourceBelief], r: float, outlets: list[str]
) -> None:
    sources = {**sources, "origin": SourceBelief(Beta.from_reliability(r, 10))}
    without = score_one(claim, sources).confidence
    direct = score_one(with_attribution(claim, Attribution("origin")), sources).confidence
    relayed = claim
    for outlet in outlets:
        relayed = with_attribution(relayed, Attribution("origin", via=(outlet,)))
    got = score_one(relayed, sources).confidence
    assert min(without, direct) - TOL <= got <= max(without, direct) + TOL


@given(claims, source_maps)
def test_swapping_sides_and_prior_mirrors_confidence(
    claim: Claim, sources: dict[str, SourceBelief]
) -> None:
    flip: dict[str, Stance] = {"supports": "refutes", "refutes": "supports", "neutral": "neutral"}
    prior = SCORER.params.default_claim_prior if claim.prior is None else claim.prior
    mirrored = Claim(
        tuple(
            Attribution(a.source, flip[a.stance], a.via, a.certainty, a.count)
            for a in claim.attributions
        ),
        1 - prior,
    )
    p, q = score_one(claim, sources), score_one(mirrored, sources)
    assert math.isclose(q.confidence, 1 - p.confidence, abs_tol=1e-7)
    assert math.isclose(q.interval[0], 1 - p.interval[1], abs_tol=1e-7)
    assert math.isclose(q.independent_sources, p.independent_sources, abs_tol=1e-9)


@given(claims, source_maps, st.sampled_from([*NAMES, *RELAYS, "anon"]))
def test_neutral_changes_nothing(claim: Claim, sources: dict[str, SourceBelief], who: str) -> None:
    before = score_one(claim, sources)
    after = score_one(with_attribution(claim, Attribution(who, "neutral")), sources)
    assert math.isclose(after.confidence, before.confidence, abs_tol=1e-12)
    assert after.interval == pytest.approx(before.interval, abs=1e-12)
    assert after.evidence[-1].weight == 0.0


@given(claims, source_maps)
def test_outputs_are_probabilities_and_the_interval_holds_the_point(
    claim: Claim, sources: dict[str, SourceBelief]
) -> None:
    s = score_one(claim, sources)
    assert 0 <= s.interval[0] <= s.confidence <= s.interval[1] <= 1
    assert 1 <= s.credibility <= 6
    assert len(s.evidence) == len(claim.attributions)
    assert s.model == f"{MODEL_NAME}/{MODEL_VERSION}"


@settings(max_examples=50)
@given(claims, st.lists(claims, max_size=4), source_maps, st.integers(0, 4))
def test_deterministic_and_independent_of_the_batch(
    claim: Claim, others: list[Claim], sources: dict[str, SourceBelief], at: int
) -> None:
    alone = score_one(claim, sources)
    assert score_one(claim, sources) == alone
    batch = [*others[:at], claim, *others[at:]]
    assert SCORER.score(batch, sources)[min(at, len(others))] == alone


@given(st.lists(claims, min_size=1, max_size=4), source_maps)
def test_answers_to_one_question_sum_to_at_most_one(
    answers: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    batch = [Claim(c.attributions, c.prior, "how-many") for c in answers]
    total = sum(s.confidence for s in SCORER.score(batch, sources))
    assert total <= 1 + 1e-9


def test_a_lone_claim_without_evidence_keeps_its_prior() -> None:
    s = score_one(Claim(prior=0.3), {})
    assert s.confidence == pytest.approx(0.3)
    assert s.credibility == 6 and s.independent_sources == 0


def test_correlated_sources_count_less_than_independent_ones() -> None:
    def three(group: str | None) -> Score:
        sources = {n: SourceBelief(Beta.from_reliability(0.8, 20), group) for n in ("a", "b", "c")}
        return score_one(Claim(tuple(Attribution(n) for n in sources)), sources)

    grouped, independent = three("gov:kr"), three(None)
    assert grouped.confidence < independent.confidence
    assert grouped.independent_sources == pytest.approx(3 / (1 + 2 * 0.5))
    assert independent.independent_sources == pytest.approx(3)
    assert "correlated" in (grouped.evidence[0].note or "")


def test_a_source_on_both_sides_of_a_claim_is_one_source() -> None:
    # It reported the claim and later took it back: one source, weighed both times.
    sources = {n: SourceBelief(Beta.from_reliability(0.8, 20)) for n in ("a", "b")}
    turned = Claim((Attribution("a"), Attribution("a", stance="refutes"), Attribution("b")))
    opposed = Claim((Attribution("a"), Attribution("b", stance="refutes")))
    # Alone and in a batch past the few-claims path.
    for batch in ([turned], [turned, opposed] * 10):
        scores = SCORER.score(batch, sources)
        assert scores[0].independent_sources == pytest.approx(2)
        assert [e.weight != 0 for e in scores[0].evidence] == [True, True, True]
        assert scores[0].summary.endswith("(2.0 independent sources).")
    assert scores[1].independent_sources == pytest.approx(2)


def test_unnamed_sources_count_by_the_design_effect() -> None:
    s = score_one(Claim((Attribution("officials", count=3),)), {})
    assert s.independent_sources == pytest.approx(3 / (1 + 2 * 0.3))


def test_one_source_through_three_outlets_is_never_confirmed() -> None:
    sources = {"agency": SourceBelief(Beta.from_reliability(0.97, 200))}
    relayed = Claim(tuple(Attribution("agency", via=(o,)) for o in ("x", "y", "z")), prior=0.9)
    s = score_one(relayed, sources)
    assert s.confidence > 0.8 and s.independent_sources == pytest.approx(1)
    assert s.credibility == 2
    assert [e.weight == 0 for e in s.evidence] == [False, True, True]
    assert s.evidence[2].note == "same original source as evidence #1"
    sources["other"] = SourceBelief(Beta.from_reliability(0.97, 200))
    confirmed = score_one(Claim((Attribution("agency"), Attribution("other"))), sources)
    assert confirmed.credibility == 1


def test_a_source_on_both_sides_keeps_both_rows() -> None:
    s = score_one(Claim((Attribution("a"), Attribution("a", "refutes"))), {})
    assert s.evidence[0].weight == pytest.approx(-s.evidence[1].weight)
    assert s.evidence[0].weight != 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="certainty"):
        score_one(Claim((Attribution("a", certainty=0.0),)), {})
    with pytest.raises(ValueError, match="prior"):
        score_one(Claim(prior=1.0), {})
    with pytest.raises(ValueError, match="interval_samples"):
        ScoringParams(interval_samples=1)
    with pytest.raises(ValueError, match="gov:x"):
        ScoringParams(group_correlation={"gov:x": 1.5})


def test_the_shared_scenario() -> None:
    scenario = json.loads((Path(__file__).parent / "nk_troops_2024_10.json").read_text())
    grades, unknown = GradeTable.default(), SCORER.params.unknown_source
    sources = {
        sid: SourceBelief(prior_from_spec(s["prior"], grades, unknown), s.get("group"))
        for sid, s in scenario["sources"].items()
    }
    claims = [
        Claim(
            tuple(
                Attribution(
                    a["source"],
                    a.get("stance", "supports"),
                    tuple(a.get("via", ())),
                    a.get("certainty", 1.0),
                )
                for a in c["attributions"]
            ),
            id=c["id"],
        )
        for c in scenario["claims"]
    ]
    scores = {s.claim_id: s for s in SCORER.score(claims, sources)}
    troops = scores["kp-troops-in-russia"]
    # The NIS through kr-media and through ap is one source; Ukraine's president another.
    assert troops.independent_sources == pytest.approx(2)
    assert troops.evidence[2].weight == 0 and "#1" in (troops.evidence[2].note or "")
    assert troops.confidence > scores["kp-russian-uniforms"].confidence > 0.5
    # A hedge ("expected to") weakens the same source's word.
    assert scores["kp-second-deployment"].confidence < scores["kp-russian-uniforms"].confidence
    assert "kr-nis via kr-media and via ap" in troops.summary
    assert troops.summary.endswith("us-pentagon neutral.")
