"""Properties of the numeric model (scoring.numeric): figures of one quantity scored as figures."""

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Attribution, Beta, Claim, ScoringParams, SourceBelief
from scoring.numeric import (
    STATED,
    ErrorScale,
    Figure,
    NumericQuestion,
    NumericScorer,
    QuestionScore,
    figure_text,
)
from scoring.numeric.errors import t_cdf
from scoring.numeric.learning import ErrorScaleEM, NumericCase

# Fewer reliability draws than the service's 256 keep the properties quick; the
# properties hold draw by draw.
SCORER = NumericScorer(ScoringParams(interval_samples=32, group_correlation={"g1": 0.5}))
NAMES = [f"s{i}" for i in range(4)]
RELAYS = ["r0", "r1"]
LOG = NumericQuestion("q", "log")

reliabilities = st.floats(0.05, 0.95)
beliefs = st.builds(Beta.from_reliability, reliabilities, st.floats(2, 40))
source_maps = st.dictionaries(
    st.sampled_from(NAMES + RELAYS),
    st.builds(SourceBelief, beliefs, st.sampled_from([None, "g1"])),
)
attributions = st.builds(
    Attribution,
    source=st.sampled_from(NAMES),
    stance=st.sampled_from(["supports", "supports", "refutes", "neutral"]),
    via=st.lists(st.sampled_from(RELAYS), max_size=2).map(tuple),
    certainty=st.floats(0.2, 1.0),
    count=st.integers(1, 3),
)
figures = st.one_of(
    st.floats(1.0, 1e6).map(Figure.point),
    st.tuples(st.floats(1.0, 1e6), st.floats(1.0, 20.0)).map(lambda t: Figure(t[0], t[0] * t[1])),
    st.floats(1.0, 1e6).map(lambda v: Figure(low=v)),
    st.floats(1.0, 1e6).map(lambda v: Figure(high=v)),
)
answers = st.lists(
    st.tuples(st.lists(attributions, min_size=1, max_size=4).map(tuple), figures),
    min_size=1,
    max_size=4,
)


def score(
    answers: Sequence[tuple[tuple[Attribution, ...], Figure]],
    sources: dict[str, SourceBelief],
    question: NumericQuestion = LOG,
    errors: dict[str, ErrorScale] | None = None,
) -> QuestionScore:
    claims = [Claim(attrs, id=f"c{i}") for i, (attrs, _) in enumerate(answers)]
    return SCORER.score(question, claims, [f for _, f in answers], sources, errors)


def reliability(sources: dict[str, SourceBelief], name: str) -> float:
    known = sources.get(name)
    return (known.belief if known else ScoringParams().unknown_source).mean


@settings(max_examples=60)
@given(
    st.lists(attributions, min_size=1, max_size=4).map(tuple),
    st.floats(10.0, 1e5),
    source_maps,
    st.floats(0.0, 0.95),
    st.floats(2.0, 4.0),
    st.sampled_from([-1.0, 1.0]),
)
def test_a_more_reliable_figure_outside_the_tolerance_never_raises_confidence(
    attrs, value, sources, extra, distance, side
):
    before = score([(attrs, Figure.point(value))], sources)
    # The newcomer is more reliable than every source and relay already heard.
    heard = [a.source for a in attrs] + [v for a in attrs for v in a.via]
    r = max(reliability(sources, s) for s in heard)
    r_new = r + (0.99 - r) * extra
    with_new = {**sources, "new": SourceBelief(Beta.from_reliability(r_new, 50))}
    far = value * math.exp(side * distance)
    after = score(
        [(attrs, Figure.point(value)), ((Attribution("new"),), Figure.point(far))], with_new
    )
    # Up to 0.001: the error law's tails are not flat, so when the sources
    # already heard agree closely (nothing left to lose) a far figure can
    # still lean the posterior inside the window by a hair.
    assert after.scores[0].confidence <= before.scores[0].confidence + 1e-3


@settings(max_examples=60)
@given(answers, source_maps, st.floats(-3.0, 3.0))
def test_moving_every_figure_by_a_factor_moves_the_estimate_by_that_factor(answers, sources, power):
    factor = 10.0**power

    def scaled(f: Figure) -> Figure:
        return Figure(
            None if f.low is None else f.low * factor, None if f.high is None else f.high * factor
        )

    base = score(answers, sources)
    moved = score([(a, scaled(f)) for a, f in answers], sources)
    e, m = base.estimate, moved.estimate
    assert m.median == pytest.approx(e.median * factor, rel=1e-5)
    assert m.interval[0] == pytest.approx(e.interval[0] * factor, rel=1e-5)
    assert m.interval[1] == pytest.approx(e.interval[1] * factor, rel=1e-5)
    assert [x.value for x in m.modes] == pytest.approx(
        [x.value * factor for x in e.modes], rel=1e-5
    )
    for s, t in zip(base.scores, moved.scores, strict=True):
        assert t.confidence == pytest.approx(s.confidence, abs=1e-7)


@settings(max_examples=60)
@given(
    beliefs,
    beliefs,
    st.floats(10.0, 1e5),
    st.lists(st.tuples(st.sampled_from(NAMES), st.floats(0.95, 1.05)), max_size=3),
)
def test_an_echo_does_not_tighten_the_interval_as_an_independent_figure_does(
    belief, relay, value, others
):
    # Two outlets alike: the echo and the independent figure reach us the same way.
    sources = {
        "a": SourceBelief(belief),
        "b": SourceBelief(belief),
        "relay": SourceBelief(relay),
        "outlet": SourceBelief(relay),
    }
    # Other sources agree with the figure, within 5 %: one camp.
    rest = [((Attribution(s),), Figure.point(value * x)) for s, x in others]
    first = Attribution("a", via=("relay",))

    def width(second: Attribution) -> float:
        low, high = score(
            [((first, second), Figure.point(value)), *rest], sources
        ).estimate.interval
        return math.log(high) - math.log(low)

    echo = width(Attribution("a", via=("outlet",)))
    independent = width(Attribution("b", via=("outlet",)))
    assert echo >= independent - 1e-9


@settings(max_examples=40)
@given(
    answers,
    source_maps,
    figures,
    st.lists(st.sampled_from(RELAYS), max_size=2).map(tuple),
    st.lists(st.sampled_from(RELAYS), max_size=2).map(tuple),
)
def test_one_statement_repeated_in_a_second_claim_counts_once(
    answers, sources, figure, first_via, second_via
):
    # "a" tells one figure, relayed by two outlets: in one claim, or in two claims of it.
    first, second = Attribution("a", via=first_via), Attribution("a", via=second_via)
    together = score([*answers, ((first, second), figure)], sources)
    apart = score([*answers, ((first,), figure), ((second,), figure)], sources)
    assert apart.estimate.median == pytest.approx(together.estimate.median, rel=1e-9)
    assert apart.estimate.interval == pytest.approx(together.estimate.interval, rel=1e-9)
    repeated = together.scores[-1]
    for claim in apart.scores[-2:]:
        assert claim.confidence == pytest.approx(repeated.confidence, abs=1e-12)
        assert claim.independent_sources == pytest.approx(repeated.independent_sources)


def test_the_more_reliable_of_two_lone_figures_is_favoured_at_every_grade():
    # Grade priors (config/default.toml): A 0.95 .. E 0.3. Each grade's figure against an
    # unknown source's; before, every grade from A to D read as the same capped rho.
    grades = {"A": 0.95, "B": 0.8, "C": 0.65, "D": 0.5, "E": 0.3}
    weights = []
    for r in grades.values():
        sources = {"graded": SourceBelief(Beta.from_reliability(r, 20))}
        result = score(
            [
                ((Attribution("graded"),), Figure.point(1500)),
                ((Attribution("x"),), Figure.point(1e4)),
            ],
            sources,
        )
        camp = min(result.estimate.modes, key=lambda m: abs(math.log(m.value / 1500)))
        weights.append(camp.weight)
    assert all(a > b + 0.02 for a, b in itertools.pairwise(weights))


def test_a_source_that_revises_its_figure_gives_one_testimony():
    sources = {name: SourceBelief(Beta.from_reliability(0.7, 10)) for name in ("a", "b", "c")}
    far = ((Attribution("c"),), Figure.point(10_000))
    revised = score(
        [((Attribution("a"),), Figure.point(1500)), ((Attribution("a"),), Figure.point(1600)), far],
        sources,
    )
    two = score(
        [((Attribution("a"),), Figure.point(1500)), ((Attribution("b"),), Figure.point(1600)), far],
        sources,
    )
    assert revised.estimate.independent_sources == pytest.approx(2.0)
    assert two.estimate.independent_sources == pytest.approx(3.0)
    # Two witnesses near 1,500 outweigh the one at 10,000; one who revised does not.
    assert two.estimate.median < 2000 < revised.estimate.median
    note = revised.scores[0].evidence[0].note
    assert note is not None and "counts 0.50" in note


@settings(max_examples=60)
@given(answers, source_maps)
def test_the_interval_contains_the_median_and_scores_are_probabilities(answers, sources):
    result = score(answers, sources)
    e = result.estimate
    assert e.interval[0] <= e.median <= e.interval[1]
    assert e.modes and all(0 <= m.weight <= 1 for m in e.modes)
    assert sum(m.weight for m in e.modes) <= 1 + 1e-9
    assert [m.weight for m in e.modes] == sorted((m.weight for m in e.modes), reverse=True)
    for s in result.scores:
        assert 0 <= s.interval[0] <= s.confidence <= s.interval[1] <= 1


@settings(max_examples=40)
@given(answers, source_maps, st.floats(-1e4, 1e4))
def test_on_a_linear_scale_shifting_every_figure_shifts_the_estimate(answers, sources, shift):
    linear = NumericQuestion("q", "linear", tolerance=5.0)

    def moved(f: Figure) -> Figure:
        return Figure(
            None if f.low is None else f.low + shift, None if f.high is None else f.high + shift
        )

    base = score(answers, sources, linear)
    after = score([(a, moved(f)) for a, f in answers], sources, linear)
    scale = max(abs(base.estimate.median), abs(shift), 1.0)
    assert after.estimate.median == pytest.approx(base.estimate.median + shift, abs=1e-6 * scale)
    for s, t in zip(base.scores, after.scores, strict=True):
        assert t.confidence == pytest.approx(s.confidence, abs=1e-6)


SCENARIO = {
    "kr-nis": SourceBelief(Beta.from_reliability(0.65, 10), "gov:kr"),
    "kr-media": SourceBelief(Beta.from_reliability(0.85, 20), "media:kr"),
    "ua-president": SourceBelief(Beta.from_reliability(0.65, 10), "gov:ua"),
    "axios": SourceBelief(Beta.from_reliability(0.8, 15), "media:us"),
    "ap": SourceBelief(Beta.from_reliability(0.8, 15), "media:us"),
}
TROOPS = [
    (
        (Attribution("kr-nis", via=("kr-media",)), Attribution("kr-nis", via=("ap",))),
        Figure.point(1500),
    ),
    ((Attribution("ua-president", via=("axios",)),), Figure.point(10000)),
]


def test_two_figures_far_apart_are_two_camps_not_a_mean():
    result = score(TROOPS, SCENARIO, NumericQuestion("troops", unit="troops"))
    e = result.estimate
    assert [round(m.value, -2) for m in e.modes] == [1500, 10000]
    assert e.modes[0].sources == ("kr-nis via kr-media",)
    assert e.summary.startswith("Two camps: about 1,500 troops (kr-nis via kr-media) and about")
    assert "the evidence favours about 1,500 troops" in e.summary
    # Each camp holds a claim's figure; the median is the mixture's, and no
    # camp sits at the plain mean of the figures.
    assert all(abs(m.value - 5750) > 3000 for m in e.modes)
    assert e.interval[0] < 1500 and e.interval[1] > 10000
    merged = result.scores[0].evidence[1]
    assert merged.weight == 0 and merged.note == "same original source as evidence #1"
    assert "that 1,500 troops is right within ±10 %" in result.scores[0].summary


def test_camps_call_sources_by_their_names_as_yes_no_summaries_do():
    named = {
        **SCENARIO,
        "kr-nis": replace(SCENARIO["kr-nis"], name="NIS"),
        "kr-media": replace(SCENARIO["kr-media"], name="Yonhap"),
    }
    result = score(TROOPS, named, NumericQuestion("troops", unit="troops"))
    e = result.estimate
    assert e.modes[0].sources == ("NIS via Yonhap",)
    assert "about 1,500 troops (NIS via Yonhap)" in e.summary
    assert "supported by NIS via Yonhap and via ap" in result.scores[0].summary


def test_agreeing_figures_make_one_camp_and_a_confident_claim():
    sources = {s: SourceBelief(Beta.from_reliability(0.9, 40)) for s in NAMES}
    errors = {s: ErrorScale.from_scale(0.05, 40) for s in NAMES}
    figures = [980, 1000, 1010, 1030]
    answers = [((Attribution(s),), Figure.point(v)) for s, v in zip(NAMES, figures, strict=True)]
    result = score(answers, sources, errors=errors)
    assert len(result.estimate.modes) == 1
    assert 950 < result.estimate.median < 1050
    assert all(s.confidence > 0.8 for s in result.scores)


def test_censored_figures_bound_the_estimate():
    at_least = score([((Attribution("s0"),), Figure(low=900))], {})
    assert at_least.estimate.median > 900
    at_most = score([((Attribution("s0"),), Figure(high=900))], {})
    assert at_most.estimate.median < 900
    between = score([((Attribution("s0"),), Figure(1000, 2000))], {})
    assert 1000 < between.estimate.median < 2000


def test_a_refutation_lowers_the_claim_it_refutes():
    claim = (Attribution("s0"),)
    base = score([(claim, Figure.point(1500))], {})
    refuted = score([((*claim, Attribution("s1", stance="refutes")), Figure.point(1500))], {})
    assert refuted.scores[0].confidence < base.scores[0].confidence


def test_a_precise_source_outweighs_a_vague_one():
    sources = {s: SourceBelief(Beta.from_reliability(0.8, 40)) for s in NAMES}
    errors = {"s0": ErrorScale.from_scale(0.03, 40), "s1": ErrorScale.from_scale(0.8, 40)}
    answers = [
        ((Attribution("s0"),), Figure.point(1000)),
        ((Attribution("s1"),), Figure.point(1400)),
    ]
    result = score(answers, sources, errors=errors)
    assert abs(math.log(result.estimate.median / 1000)) < abs(
        math.log(result.estimate.median / 1400)
    )


def test_bad_figures_are_refused():
    with pytest.raises(ValueError, match="positive"):
        score([((Attribution("s0"),), Figure.point(0.0))], {})
    with pytest.raises(ValueError, match="low must not exceed"):
        Figure(2.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        Figure.point(math.inf)
    with pytest.raises(ValueError, match="tolerance"):
        NumericQuestion(scale="log", tolerance=1.5)


def test_linear_questions_take_negative_figures():
    linear = NumericQuestion("q", "linear", unit="points")
    result = score(
        [((Attribution("s0"),), Figure.point(-40.0)), ((Attribution("s1"),), Figure.point(-35.0))],
        {},
        linear,
    )
    assert -45 < result.estimate.median < -30


def test_student_t_distribution_function():
    assert t_cdf([0.0], 5.0)[0] == pytest.approx(0.5, abs=1e-7)
    # Nearly Gaussian at many degrees of freedom; tables of t(4) and t(2).
    assert t_cdf([1.959964], 1e6)[0] == pytest.approx(0.975, abs=1e-5)
    assert t_cdf([2.776445], 4.0)[0] == pytest.approx(0.975, abs=1e-5)
    assert t_cdf([2.919986], 2.0)[0] == pytest.approx(0.95, abs=1e-5)
    assert t_cdf([-np.inf, np.inf], 3.0).tolist() == [0.0, 1.0]


def test_figures_read_as_people_write_them():
    assert figure_text(1500.0, "troops") == "1,500 troops"
    assert figure_text(13000.0) == "13,000"
    assert figure_text(0.25) == "0.25"
    assert figure_text(-3.5) == "\u22123.5"
    assert figure_text(1e300, "troops") == "1e+300 troops"
    assert figure_text(-1.234e-7) == "\u22121.23e\u221207"
    # A source's own figure is written back as it gave it.
    assert figure_text(12345.0, "troops", STATED) == "12,345 troops"
    assert figure_text(0.1 + 0.2, "", STATED) == "0.3"


def test_error_scales_are_learned_from_resolved_questions():
    rng = np.random.default_rng(7)
    spread = {"careful": 0.03, "steady": 0.05, "careless": 0.4}
    cases = []
    for _ in range(40):
        truth = float(np.exp(rng.uniform(3, 10)))
        claims, values = [], []
        for source, sigma in spread.items():
            claims.append(Claim((Attribution(source),)))
            values.append(Figure.point(truth * float(np.exp(sigma * rng.standard_normal()))))
        cases.append(NumericCase(LOG, claims, values, truth=truth))
    em = ErrorScaleEM(unresolved_weight=0.0).fit(cases, {})
    careful, careless = em.errors_["careful"].scale, em.errors_["careless"].scale
    assert careful < 0.1 < 0.25 < careless
    # Open questions alone (agreement only): the figure far from the others' is the careless one.
    open_cases = [NumericCase(c.question, c.claims, c.values) for c in cases]
    soft = ErrorScaleEM(unresolved_weight=1.0).fit(open_cases, {})
    assert soft.errors_["careful"].scale < soft.errors_["careless"].scale


def test_numeric_and_choice_questions_are_scored_together():
    from scoring import ClaimScorer
    from scoring.numeric import QuestionKinds, QuestionScorer

    scorer = QuestionScorer(ClaimScorer(ScoringParams(interval_samples=32)), SCORER)
    claims = [
        Claim((Attribution("s0"),), id="plain"),
        Claim((Attribution("s0"),), question="troops", id="a", value=Figure.point(1500)),
        Claim((Attribution("s1"),), question="troops", id="b", value=Figure.point(10000)),
        Claim((Attribution("s1"),), question="who", id="c"),
    ]
    scored = scorer.score(claims, {})
    assert [s.claim_id for s in scored.scores] == ["plain", "a", "b", "c"]
    assert list(scored.estimates) == ["troops"]
    assert scored.scores[1].model.startswith("credence-numeric")
    assert scored.scores[0].model.startswith("credence-logodds")
    with pytest.raises(ValueError, match="choice question"):
        scorer.score(claims, {}, kinds=QuestionKinds(choice=frozenset({"troops"})))
    with pytest.raises(ValueError, match="needs a value"):
        scorer.score([*claims, Claim(question="troops", id="none")], {})
    with pytest.raises(ValueError, match="must name a question"):
        scorer.score([Claim(value=Figure.point(3.0))], {})


def test_a_figure_the_evidence_left_behind_belongs_to_no_camp():
    sources = {"s2": SourceBelief(Beta.from_reliability(0.9, 40))}
    answers = [
        ((Attribution("s0"),), Figure.point(1500)),
        ((Attribution("s1"),), Figure.point(10000)),
        ((Attribution("s2"),), Figure(low=3000)),
    ]
    estimate = score(answers, sources).estimate
    assert [m.sources for m in estimate.modes] == [("s1", "s2")]
    assert estimate.summary.endswith("far from the evidence: s0.")


def test_scores_from_columns_are_the_scores_of_the_claims_whatever_their_kind():
    """Choice and numeric claims of one call, interleaved: the table of their scores
    (``ScoreTable.merged`` of the choice claims' and each numeric question's) is in the
    claims' order and holds their scores."""
    from scoring import ClaimScorer
    from scoring.columns import ClaimColumns
    from scoring.numeric import QuestionScorer

    scorer = QuestionScorer(ClaimScorer(ScoringParams(interval_samples=32)), SCORER)
    claims = [
        Claim((Attribution("s1"),), question="who", id="c"),
        Claim((Attribution("s0"),), question="troops", id="a", value=Figure.point(1500)),
        Claim((Attribution("s0", via=("r",)), Attribution("s2", "refutes")), id="plain"),
        Claim((Attribution("s1"),), question="troops", id="b", value=Figure.point(10000)),
        Claim((Attribution("s2"),), question="who", id="d"),
    ]
    positions = [4, 1, 0, 2, 3]
    scored = scorer.score_columns(ClaimColumns.of_claims(claims), positions, {})
    assert scored.table.scores() == scorer.score([claims[i] for i in positions], {}).scores


def test_columns_find_numeric_questions_and_wrong_values_as_claims_do():
    """The columns path reads question codes and values, not claims: the same questions
    are numeric (defined so, or given a value) and the same mistakes are refused."""
    from scoring import ClaimScorer
    from scoring.columns import ClaimColumns
    from scoring.numeric import QuestionKinds, QuestionScorer

    scorer = QuestionScorer(ClaimScorer(ScoringParams(interval_samples=32)), SCORER)
    claims = [
        Claim((Attribution("s0"),), question="who", id="plain"),
        Claim((Attribution("s0"),), question="troops", id="a", value=Figure.point(1500)),
        Claim((Attribution("s1"),), question="tanks", id="t", value=Figure.point(40)),
        Claim((Attribution("s1"),), id="alone"),
    ]
    defined = QuestionKinds(numeric={"tanks": NumericQuestion("tanks")})
    columns = ClaimColumns.of_claims(claims)
    for kinds in (None, defined):
        scored = scorer.score_columns(columns, [3, 2, 1, 0], {}, kinds=kinds)
        expected = scorer.score([claims[i] for i in (3, 2, 1, 0)], {}, kinds=kinds)
        assert scored.table.scores() == expected.scores
        assert list(scored.estimates) == list(expected.estimates) == ["tanks", "troops"]
    wrong = [
        (QuestionKinds(choice=frozenset({"troops"})), claims, "choice question"),
        (QuestionKinds(numeric={"who": NumericQuestion("who")}), claims, "needs a value"),
        (None, [*claims, Claim(question="troops", id="none")], "needs a value"),
        (None, [*claims, Claim(value=Figure.point(3.0))], "must name a question"),
    ]
    for kinds, some, message in wrong:
        with pytest.raises(ValueError, match=message):
            scorer.score_columns(ClaimColumns.of_claims(some), range(len(some)), {}, kinds=kinds)
