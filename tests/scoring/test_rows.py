"""The evidence-row table as the batch fit's input."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import Attribution, Beta, Claim, EvidenceRows, ScoringParams, SourceBelief
from scoring.claims import Stance
from scoring.evidence import noisy_or


def test_fit_data_has_one_row_per_original_source_and_side() -> None:
    claims = [
        Claim(
            (
                Attribution("a", "supports", ("r1",)),
                Attribution("a", "supports", ("r2",), 0.5),
                Attribution("b", "refutes"),
                Attribution("c", "neutral"),
            ),
            prior=0.3,
            question="q",
        ),
        Claim((Attribution("g1", "supports"), Attribution("g2", "supports")), question="q"),
    ]
    sources = {s: SourceBelief(Beta(3, 1), "grp" if s.startswith("g") else None) for s in "ab"}
    sources.update({g: SourceBelief(Beta(3, 1), "grp") for g in ("g1", "g2")})
    params = ScoringParams(group_correlation={"grp": 0.5})
    rows = EvidenceRows(claims, sources, params)
    assert rows.ids == ["a", "r1", "r2", "b", "c", "g1", "g2"]
    assert rows.relay_entities().tolist() == [1, 2]

    reliability = np.array([0.8, 0.9, 0.6, 0.7, 0.5, 0.75, 0.75])
    data = rows.fit_data(
        reliability,
        age_days=np.arange(6.0),
        outcome=[1.0, np.nan],
        prior_alpha=np.full(7, 2.0),
        prior_beta=np.full(7, 2.0),
    )
    # a (both channels merged), b, g1, g2; c is neutral.
    assert data.claim.tolist() == [0, 0, 1, 1]
    assert data.source.tolist() == [0, 3, 5, 6]
    assert data.sign.tolist() == [1, -1, 1, 1]
    # Noisy-OR of the two relays' fidelities: 0.9 and 0.6 * 0.5.
    assert data.fidelity.tolist() == pytest.approx([1 - 0.1 * 0.7, 1.0, 1.0, 1.0])
    # Two sources of one group with rho = 0.5 each count 1 / 1.5.
    assert data.weight_scale.tolist() == pytest.approx([1.0, 1.0, 2 / 3, 2 / 3])
    assert data.age_days.tolist() == [0.0, 2.0, 4.0, 5.0]
    assert data.question.tolist() == [0, 0]
    assert data.claim_prior.tolist() == [0.3, 0.5]
    assert not data.closed.any()


def test_relayed_fidelities_match_the_whole_tables_noisy_or_bit_for_bit() -> None:
    # Relayed, hedged, merged (a source through several channels on one side) and
    # direct rows, neutral ones among them: only the relayed groups are kept, and
    # every fit row's fidelity is the noisy-OR of its group over the whole table.
    rng = np.random.default_rng(7)
    stances: list[Stance] = ["supports", "refutes", "neutral"]
    claims = []
    for j in range(60):
        attributions = []
        for _ in range(int(rng.integers(1, 6))):
            via = tuple(f"r{k}" for k in rng.choice(4, int(rng.integers(0, 3)), replace=False))
            certainty = 1.0 if rng.random() < 0.6 else float(rng.uniform(0.2, 1.0))
            attributions.append(
                Attribution(f"s{rng.integers(8)}", stances[int(rng.integers(3))], via, certainty)
            )
        claims.append(Claim(tuple(attributions), question=f"q{j // 3}"))
    rows = EvidenceRows(claims, {}, ScoringParams())
    relayed = rows.relayed()
    keep = rows.primary & (rows.sign != 0)
    assert 0 < relayed.at.size < np.count_nonzero(keep)
    assert not rows.primary.all()
    for seed in range(3):
        reliability = np.random.default_rng(seed).uniform(0.01, 0.99, rows.n_entities)
        entity = np.append(reliability, 1.0)
        channel = entity[rows.ch_via].prod(axis=1) * rows.ch_certainty
        merged = noisy_or(channel[rows.channel], rows.merge, rows.n_rows)
        expected = np.clip(merged[keep], 0.0, 1.0)
        assert relayed.fidelity(reliability).tobytes() == expected.tobytes()
