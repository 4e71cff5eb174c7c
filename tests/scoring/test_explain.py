from scoring import Attribution, Beta, Claim, ClaimScorer, SourceBelief
from scoring.explain import Evidence, summarize


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
