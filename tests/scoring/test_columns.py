"""ClaimColumns: claims as compact columns round-trip to the same claims."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scoring import (
    Attribution,
    Beta,
    Claim,
    ClaimScorer,
    EvidenceRows,
    ScoringParams,
    SourceBelief,
)
from scoring.columns import ClaimColumns, evidence_rows
from scoring.explain import base_clause, summarize
from scoring.numeric.figures import Figure


def _claims() -> list[Claim]:
    return [
        Claim(
            (
                Attribution("a", "supports", ("r", "s"), 0.5, 2),
                Attribution("b", "refutes"),
                Attribution("a", "neutral"),
            ),
            0.3,
            "q1",
            "c1",
            "yes",
        ),
        Claim((), None, None, "c2", None),
        Claim((Attribution("r", "supports", ("a",)),), None, "q1", "c3", "no", Figure.point(3.0)),
    ]


def test_columns_give_back_the_claims() -> None:
    claims = _claims()
    columns = ClaimColumns.of_claims(claims, [1.0, 2.0, 3.0, 4.0])
    assert columns.claims(range(3)) == claims
    assert columns.claims([2, 0]) == [claims[2], claims[0]]
    assert columns.claims([]) == []
    assert columns.n_attributions == 4
    assert columns.entities == ["a", "r", "s", "b"]
    assert columns.age_days.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_slice_is_a_partition_of_claims() -> None:
    claims = _claims()
    columns = ClaimColumns.of_claims(claims, np.arange(4.0))
    part = columns.slice(1, 3)
    assert part.claims(range(2)) == claims[1:]
    assert part.age_days.tolist() == [3.0]


def test_taken_claims_are_those_claims_in_that_order() -> None:
    claims = _claims()
    columns = ClaimColumns.of_claims(claims, [1.0, 2.0, 3.0, 4.0])
    taken = columns.take([2, 0])
    assert taken.claims(range(2)) == [claims[2], claims[0]]
    assert taken.age_days.tolist() == [4.0, 1.0, 2.0, 3.0]
    assert taken.entities is columns.entities
    assert columns.take([]).claims([]) == []


def test_bare_claims_are_the_claims_without_attributions() -> None:
    claims = _claims()
    columns = ClaimColumns.of_claims(claims)
    assert columns.bare_claims([2, 0]) == [
        replace(claims[2], attributions=()),
        replace(claims[0], attributions=()),
    ]


def test_inconsistent_lengths_are_refused() -> None:
    columns = ClaimColumns.of_claims(_claims())
    with pytest.raises(ValueError, match="inconsistent"):
        ClaimColumns(**{**columns.__dict__, "sign": columns.sign[:-1]})


def _random_claims(seed: int, n: int = 300) -> tuple[list[Claim], dict[str, SourceBelief]]:
    """Claims naming few sources often: repeats, relays, hedges, merges, groups, questions."""
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(12)]
    sources = {
        s: SourceBelief(
            Beta(1 + i, 2), group=("g1", "g2", None)[i % 3], name=f"S{i}" if i % 2 else None
        )
        for i, s in enumerate(names[:9])
    }
    claims = []
    for i in range(n):
        attributions = tuple(
            Attribution(
                str(rng.choice(names)),
                str(rng.choice(["supports", "refutes", "neutral"])),  # type: ignore[arg-type]
                tuple(str(r) for r in rng.choice(names, rng.integers(0, 3))),
                float(rng.choice([1.0, 1.0, 0.5])),
                int(rng.integers(1, 4)),
            )
            for _ in range(rng.integers(0, 6))
        )
        question = f"q{i // 3}" if i % 4 == 0 else None
        prior = float(rng.uniform(0.1, 0.9)) if i % 5 == 0 else None
        claims.append(Claim(attributions, prior, question, f"c{i}", "yes"))
    return claims, sources


@pytest.mark.parametrize("seed", range(6))
def test_evidence_rows_from_columns_equal_the_reference(seed: int) -> None:
    # Seed 5: no claims at all.
    claims, sources = _random_claims(seed, 0 if seed == 5 else 300)
    params = ScoringParams()
    reference = EvidenceRows(claims, sources, params)
    rows = evidence_rows(ClaimColumns.of_claims(claims), sources, params)
    assert rows.ids == reference.ids
    assert rows.beliefs == reference.beliefs
    assert rows.weighted_counts == reference.weighted_counts
    assert rows.n_questions == reference.n_questions
    for name in (
        "question",
        "prior",
        "claim",
        "channel",
        "source",
        "sign",
        "merge",
        "primary",
        "reports",
        "factor",
        "scale",
        "coef",
        "weighted",
        "ch_certainty",
        "ch_via",
        "chx",
        "members",
        "member_group",
        "merged_into",
    ):
        np.testing.assert_array_equal(getattr(rows, name), getattr(reference, name), err_msg=name)


def test_evidence_rows_refuse_out_of_range_values() -> None:
    columns = ClaimColumns.of_claims([Claim((Attribution("a", certainty=0.0),))])
    with pytest.raises(ValueError, match="certainty"):
        evidence_rows(columns, {}, ScoringParams())


@pytest.mark.parametrize("seed", range(4))
def test_scores_from_columns_equal_the_scores_of_the_claims(seed: int) -> None:
    # Several passes a call (a small pass budget), relays, hedges, merged channels,
    # neutral repeats and questions; a subset of the claims in another order.
    claims, sources = _random_claims(seed, 300)
    claims = [replace(c, question=f"q{i // 3}") if i % 2 == 0 else c for i, c in enumerate(claims)]
    # About 256 rows a pass: three passes or so.
    scorer = ClaimScorer(ScoringParams(interval_samples=4096))
    columns = ClaimColumns.of_claims(claims)
    positions = list(range(299, -1, -2)) if seed % 2 else list(range(300))
    expected = scorer.score([claims[i] for i in positions], sources)
    assert scorer.score_columns(columns, positions, sources).scores() == expected
    few = positions[:5]
    assert scorer.score_columns(columns, few, sources).scores() == scorer.score(
        [claims[i] for i in few], sources
    )


@pytest.mark.parametrize("seed", range(3))
def test_summaries_name_the_sources_their_evidence_names(seed: int) -> None:
    # The scorer names each channel from its table; the reference names them from the
    # evidence (what it does itself when a source appears twice on one side).
    claims, sources = _random_claims(seed, 300)
    params = ScoringParams()
    labels = {s: b.name for s, b in sources.items() if b.name}
    for claim, score in zip(claims, ClaimScorer(params).score(claims, sources), strict=True):
        assert score.summary == summarize(
            score.estimative,
            score.confidence,
            score.interval,
            score.independent_sources,
            score.evidence,
            params.interval_level,
            labels,
            base_clause(claim.prior),
        )
