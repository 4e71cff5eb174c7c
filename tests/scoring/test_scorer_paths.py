"""The scorer's fast paths agree with the plain computation they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import Claim, Evidence, EvidenceRows, Score, SourceBelief
from scoring.evidence import claim_log_odds, effective_reliability, logit
from scoring.explain import make_evidence
from scoring.intervals import credible_interval, draws_and_mean, reliability_draws
from scoring.rows import channel_log_odds, collect_rows
from scoring.scorer import make_score
from tests.scoring.test_scorer import SCORER, claims, source_maps


def plain_scores(batch: list[Claim], sources: dict[str, SourceBelief]) -> tuple:
    """Confidence and interval the straightforward way: every row, every sample, one sort."""
    p = SCORER.params
    rows = EvidenceRows(batch, sources, p)
    point = np.array([b.mean for b in rows.beliefs] + [1.0])
    confidence = rows.evaluate(point, p.evidence_cap)[3]
    draws = np.array(
        [
            *(
                reliability_draws(i, b.alpha, b.beta, p.interval_samples)
                for i, b in zip(rows.ids, rows.beliefs, strict=True)
            ),
            np.ones(p.interval_samples),
        ]
    )
    samples = rows.evaluate(draws, p.evidence_cap)[3]
    low, high = credible_interval(samples, confidence, p.interval_level)
    return confidence, low, high


@given(
    st.lists(claims, max_size=5),
    source_maps,
    st.lists(st.sampled_from([None, "q1", "q2"]), min_size=5, max_size=5),
)
def test_scores_match_the_plain_computation(
    batch: list[Claim], sources: dict[str, SourceBelief], questions: list[str | None]
) -> None:
    batch = [Claim(c.attributions, c.prior, q) for c, q in zip(batch, questions, strict=False)]
    confidence, low, high = plain_scores(batch, sources)
    got = SCORER.score(batch, sources)
    assert [s.confidence for s in got] == pytest.approx(confidence.tolist(), abs=1e-12)
    assert [s.interval[0] for s in got] == pytest.approx(low.tolist(), abs=1e-12)
    assert [s.interval[1] for s in got] == pytest.approx(high.tolist(), abs=1e-12)


@given(claims, source_maps)
def test_a_lone_claim_scores_as_in_the_table(
    claim: Claim, sources: dict[str, SourceBelief]
) -> None:
    """The lone-claim path (Python lists, memoised channels) equals the table's, exactly."""
    table = SCORER._score_rows([claim], EvidenceRows([claim], sources, SCORER.params))
    assert SCORER.score([claim], sources) == table


@given(st.lists(claims, min_size=1, max_size=4), source_maps)
def test_channel_rows_equal_the_table_rows(
    batch: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    p = SCORER.params
    samples = p.interval_samples
    rows = EvidenceRows(batch, sources, p)
    reliability = np.array(
        [
            *(
                draws_and_mean(i, b.alpha, b.beta, samples)
                for i, b in zip(rows.ids, rows.beliefs, strict=True)
            ),
            np.ones(samples + 1),
        ]
    )
    table, last, _ = rows.sampled_log_odds(reliability)
    lists = collect_rows(batch, sources, p)
    entity = [(i, b.alpha, b.beta) for i, b in zip(lists.ids, lists.beliefs, strict=True)]
    for ch, (source, chain, certainty) in enumerate(
        zip(lists.ch_source, lists.ch_chain, lists.ch_certainty, strict=True)
    ):
        log_odds, point, mean = channel_log_odds(
            entity[source], tuple(entity[r] for r in chain), certainty, samples
        )
        assert np.array_equal(log_odds, table[ch])
        assert point == last[ch]
        assert mean == rows.beliefs[source].mean


def test_fast_constructors_build_equal_objects() -> None:
    args = ("kr-nis", ("kr-media",), "supports", 0.65, 0.63, 0.5, "a note")
    assert make_evidence(*args) == Evidence(*args)
    evidence = (Evidence(*args),)
    fields = ("c1", 0.7, (0.5, 0.8), "likely", 2, 1.0, evidence, "Likely.", "m/1")
    assert make_score(*fields) == Score(*fields)


def test_claim_log_odds_takes_shared_log_odds() -> None:
    rng = np.random.default_rng(4)
    reliability = rng.random(6)
    index = rng.integers(0, 6, 20)
    fidelity = rng.random(6)
    effective = effective_reliability(reliability, fidelity)
    claim = np.sort(rng.integers(0, 5, 20))
    sign = rng.choice([-1.0, 0.0, 1.0], 20)
    scale = rng.random(20)
    plain = claim_log_odds(claim, sign, scale, effective[index], 5, 7.0)
    shared = claim_log_odds(
        claim, sign, scale, None, 5, 7.0, log_odds=logit(effective), index=index
    )
    assert np.array_equal(plain[0], shared[0]) and np.array_equal(plain[1], shared[1])
    with pytest.raises(ValueError, match="either"):
        claim_log_odds(claim, sign, scale, None, 5, 7.0)
