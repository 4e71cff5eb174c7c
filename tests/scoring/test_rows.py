"""The evidence-row table as the batch fit's input."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import Attribution, Beta, Claim, EvidenceRows, ScoringParams, SourceBelief


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
