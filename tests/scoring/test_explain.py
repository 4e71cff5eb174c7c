import math

import numpy as np
import pytest

from scoring import Attribution, Beta, Claim, ClaimScorer, SourceBelief
from scoring.explain import Evidence, base_clause, percent, percents, sentence, summarize
from scoring.learned import LearnedModel


def test_summary_is_one_sentence_naming_the_sources() -> None:
    sources = {"reuters": SourceBelief(Beta(16, 4)), "tass": SourceBelief(Beta(3, 7))}
    claim = Claim(
        (
            Attribution("reuters"),
            Attribution("kr-nis", via=("kr-media",)),
            Attribution("tass", "refutes"),
            Attribution("us-pentagon", "neutral"),
        )
    )
    summary = ClaimScorer().score([claim], sources)[0].summary
    assert summary.count(". ") == 0 and summary.endswith(".")
    for name in ("reuters", "kr-nis via kr-media", "refuted by tass", "us-pentagon neutral"):
        assert name in summary


def test_summary_format() -> None:
    evidence = [
        Evidence("kr-nis", ("kr-media",), "supports", 0.65, 0.63, 0.5, None),
        Evidence("ua-president", ("axios",), "supports", 0.65, 0.62, 0.5, None),
        Evidence("us-pentagon", (), "neutral", 0.8, 0.8, 0.0, None),
    ]
    assert summarize("likely", 0.72, (0.551, 0.84), 1.8, evidence) == (
        "Likely (72 %, 90 % interval 55\u201384 %): supported by kr-nis via kr-media and "
        "ua-president via axios (1.8 independent sources); us-pentagon neutral."
    )
    assert summarize("almost no chance", 0.001, (0.0, 0.004), 0.0, []) == (
        "Almost no chance (<1 %, 90 % interval 0\u2013<1 %): no attributed evidence."
    )


def test_summary_says_the_prior_a_claim_gave() -> None:
    assert summarize("unlikely", 0.3, (0.3, 0.3), 0.0, [], base=base_clause(0.3)) == (
        "Unlikely (30 %, 90 % interval 30\u201330 %): no attributed evidence; "
        "from the claim's prior of 30 %."
    )
    sources = {"reuters": SourceBelief(Beta(16, 4))}
    scorer = ClaimScorer()
    given, default = scorer.score(
        [Claim((Attribution("reuters"),), prior=0.1), Claim((Attribution("reuters"),))], sources
    )
    assert given.summary.endswith("(1.0 independent source); from the claim's prior of 10 %.")
    assert "prior" not in default.summary


def test_summary_says_a_learned_base_rate() -> None:
    model = LearnedModel("one coin, class prior", 1.0, class_base=(math.log(4.0),))
    sources = {"reuters": SourceBelief(Beta(16, 4))}
    bare, given, supported = ClaimScorer().score(
        [Claim(()), Claim((), prior=0.3), Claim((Attribution("reuters"),))], sources, model=model
    )
    assert bare.confidence == pytest.approx(0.8)
    assert bare.summary.endswith("no attributed evidence; from a learned base rate of 80 %.")
    assert given.summary.endswith("; from the claim's prior of 30 %.")
    assert supported.summary.endswith("(1.0 independent source); from a learned base rate of 80 %.")


def test_summary_calls_sources_by_their_names_on_every_path() -> None:
    sources = {
        "kr-nis": SourceBelief(Beta(13, 7), "gov:kr", "NIS"),
        "kr-media": SourceBelief(Beta(17, 3), None, "South Korean media"),
        "ap": SourceBelief(Beta(16, 4), None, "AP"),
        "us-pentagon": SourceBelief(Beta(16, 4), "gov:us", "DoD"),
    }
    lone = Claim((Attribution("kr-nis", via=("kr-media",)), Attribution("us-pentagon", "neutral")))
    # One source through two channels: the summary is written from the evidence.
    merged = Claim(
        (
            Attribution("kr-nis", via=("kr-media",)),
            Attribution("kr-nis", via=("ap",)),
            Attribution("anon:x", "refutes"),
        )
    )
    scorer = ClaimScorer()
    first, second = (scorer.score([c], sources)[0] for c in (lone, merged))
    batch = scorer.score([lone, merged, lone], sources)
    assert "supported by NIS via South Korean media" in first.summary
    assert first.summary.endswith("; DoD neutral.")
    assert "supported by NIS via South Korean media and via AP" in second.summary
    # A source without a name keeps its id; ids stay in the structured evidence.
    assert "refuted by anon:x" in second.summary
    assert [e.source for e in second.evidence] == ["kr-nis", "kr-nis", "anon:x"]
    assert second.evidence[1].via == ("ap",)
    assert [s.summary for s in batch] == [first.summary, second.summary, first.summary]


def test_summarize_uses_labels_where_given() -> None:
    evidence = [Evidence("kr-nis", ("kr-media",), "supports", 0.65, 0.63, 0.5, None)]
    labels = {"kr-nis": "NIS"}
    assert "supported by NIS via kr-media (" in summarize(
        "likely", 0.72, (0.5, 0.8), 1.0, evidence, labels=labels
    )


def test_percents_of_many_are_percent_of_each() -> None:
    # Ties of 100 * p, the ends, and what rounds to 0 or 100 without being it.
    edges = [0.0, 5e-324, 0.004, 0.005, 0.00500001, 0.015, 0.125, 0.5, 0.725, 0.995, 0.9951]
    values = [*edges, 1 - 1e-16, 1.0, *np.random.default_rng(7).random(2000).tolist()]
    assert percents(values) == [percent(p) for p in values]
    assert percents(np.array(edges[:3])) == ["0", "<1", "<1"]


def test_one_independent_source_is_singular_exactly_when_it_rounds_to_one() -> None:
    for count in (0.94999, 0.95, 0.9500001, 1.0, 1.04999, 1.05, 1.0500001, 2.0):
        text = sentence("likely", "70", "55", "80", count, ["a"], [], [], "90")
        assert text.endswith(" independent source).") == (round(count, 1) == 1), count
