"""The scorer's fast path agrees with the reference it stands in for."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import (
    Attribution,
    Claim,
    ClaimScorer,
    Evidence,
    EvidenceRows,
    Score,
    ScoringParams,
    SourceBelief,
)
from scoring.columns import ClaimColumns, row_lists
from scoring.confidence import (
    DrawTable,
    Evaluation,
    reference_confidence,
    vectorised_confidence,
)
from scoring.evidence import exclusive_posterior, logistic, saturate
from scoring.explain import make_evidence
from scoring.intervals import credible_interval, reliability_draws
from scoring.rows import Entities, collect_rows
from scoring.scorer import _FEW, make_score
from tests.scoring.test_scorer import SCORER, claims, source_maps

TOL = 1e-12

batches = st.builds(
    lambda batch, questions: [
        Claim(c.attributions, c.prior, q) for c, q in zip(batch, questions, strict=False)
    ],
    st.lists(claims, max_size=5),
    st.lists(st.sampled_from([None, "q1", "q2"]), min_size=5, max_size=5),
)


def assert_same(got: Evaluation, want: Evaluation) -> None:
    for field in ("mean", "effective", "weight", "confidence"):
        assert getattr(got, field) == pytest.approx(getattr(want, field), abs=TOL), field
    assert np.array(got.interval).ravel().tolist() == pytest.approx(
        np.array(want.interval).ravel().tolist(), abs=TOL
    )


@given(batches, source_maps)
def test_the_vectorised_path_equals_the_reference(
    batch: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    p = SCORER.params
    lists = collect_rows(batch, sources, p)
    assert_same(vectorised_confidence(EvidenceRows.of(lists), p), reference_confidence(lists, p))


@given(batches, batches, source_maps)
def test_a_table_of_draws_gives_the_same_numbers_to_the_bit(
    batch: list[Claim], other: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    """Direct channels' log-odds read from a ``DrawTable`` (filled by one pass, more by
    the next, or pickled empty as for a Dask worker) are the ones computed per pass."""
    p = SCORER.params
    columns = ClaimColumns.of_claims([*batch, *other])
    table = DrawTable(p.interval_samples, Entities.of(columns.entities, sources, p))
    first = list(range(len(batch)))
    second = list(range(len(batch), len(batch) + len(other)))

    def rows(positions: list[int]) -> EvidenceRows:
        return EvidenceRows.of(row_lists(columns.take(positions), sources, p, table.entities))

    for call in (first, second, first):
        assert vectorised_confidence(rows(call), p, table) == vectorised_confidence(rows(call), p)
    copy = pickle.loads(pickle.dumps(table))
    assert copy.samples == p.interval_samples and not copy.rows_known
    assert vectorised_confidence(rows(second), p, copy) == vectorised_confidence(rows(second), p)


def test_a_table_of_draws_reads_only_tables_built_from_columns() -> None:
    p = SCORER.params
    table = DrawTable(p.interval_samples, Entities.of(["a"], {}, p))
    claim = Claim((Attribution("a", "supports"),))
    with pytest.raises(ValueError, match="built from columns"):
        vectorised_confidence(EvidenceRows([claim], {}, p), p, table)


@given(batches, source_maps)
def test_the_reference_is_the_plain_arithmetic(
    batch: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    """Every row's weight for every draw, summed per claim, one sort: docs/model.md as written."""
    p = SCORER.params
    rows = EvidenceRows(batch, sources, p)
    samples = p.interval_samples
    draws = np.array(
        [
            *(
                np.append(reliability_draws(i, b.alpha, b.beta, samples), b.mean)
                for i, b in zip(rows.ids, rows.beliefs, strict=True)
            ),
            np.ones(samples + 1),
        ]
    )
    # Fidelity of each row's own channel; a source's channels on one side merged by noisy-OR.
    fidelity = draws[rows.ch_via].prod(axis=1) * rows.ch_certainty[:, None]
    fidelity = fidelity[rows.channel]
    merged = 1 - np.array(
        [np.prod(1 - fidelity[rows.merge == rows.merge[i]], axis=0) for i in range(rows.n_rows)]
    ).reshape(rows.n_rows, samples + 1)
    effective = (draws[rows.source] - 0.5) * merged + 0.5
    effective = np.clip(effective, 1e-9, 1 - 1e-9)
    weight = np.log(effective / (1 - effective)) * (rows.sign * rows.scale)[:, None]
    weight[~rows.primary] = 0.0
    total = np.zeros((rows.n_claims, samples + 1))
    np.add.at(total, rows.claim, weight)
    score = saturate(total, p.evidence_cap) + rows.prior_logit[:, None]
    if rows.n_questions < rows.n_claims:
        confidence = exclusive_posterior(score, rows.question, rows.n_questions)
    else:
        confidence = logistic(score)
    point = confidence[:, samples]
    low, high = credible_interval(confidence[:, :samples], point, p.interval_level)

    got = reference_confidence(collect_rows(batch, sources, p), p)
    assert got.confidence == pytest.approx(point.tolist(), abs=1e-9)
    assert [i[0] for i in got.interval] == pytest.approx(low.tolist(), abs=1e-9)
    assert [i[1] for i in got.interval] == pytest.approx(high.tolist(), abs=1e-9)
    assert got.weight == pytest.approx(weight[:, samples].tolist(), abs=1e-9)


@pytest.mark.parametrize("from_columns", [False, True])
def test_a_call_of_many_claims_and_few_rows_keeps_each_score_on_its_claim(
    from_columns: bool,
) -> None:
    # More claims than a pass's budget (256 claims or rows; 2,048 from columns) but
    # fewer rows: a question's options listed up front, few of them attributed, and
    # the questions' claims not adjacent. Each score is the one its question gets alone.
    scorer = ClaimScorer(ScoringParams(interval_samples=4096))
    n, n_questions = 3000, 60
    claims = [
        Claim(
            (Attribution(f"s{i % 7}"),) * (i % 40 == 0) + (Attribution("s9"),) * (i % 120 == 0),
            question=f"q{i % n_questions}",
            id=f"c{i}",
        )
        for i in range(n)
    ]
    assert sum(len(c.attributions) for c in claims) < 256
    if from_columns:
        got = scorer.score_columns(ClaimColumns.of_claims(claims), range(n), {}).scores()
    else:
        got = scorer.score(claims, {})
    assert [s.claim_id for s in got] == [c.id for c in claims]
    scored = {s.claim_id: s.confidence for s in got}
    for q in range(n_questions):
        members = claims[q::n_questions]
        alone = {s.claim_id: s.confidence for s in scorer.score(members, {})}
        assert alone == pytest.approx({c.id: scored[c.id] for c in members})
    # Attributed or not, claims differ: a wrong order would show.
    assert len({round(s.confidence, 9) for s in got}) > 2


@given(claims, source_maps)
def test_a_call_of_few_claims_scores_as_a_large_one(
    claim: Claim, sources: dict[str, SourceBelief]
) -> None:
    """A call of one claim (the reference) and the same claim among many (vectorised)."""
    other = Claim(claim.attributions, 0.3)
    alone = SCORER.score([claim], sources)[0]
    among = SCORER.score([other] * _FEW + [claim], sources)[_FEW]
    assert alone.confidence == pytest.approx(among.confidence, abs=TOL)
    assert alone.interval == pytest.approx(among.interval, abs=TOL)
    assert [e.weight for e in alone.evidence] == pytest.approx(
        [e.weight for e in among.evidence], abs=TOL
    )
    assert [e.note for e in alone.evidence] == [e.note for e in among.evidence]
    assert (alone.credibility, alone.independent_sources) == (
        among.credibility,
        pytest.approx(among.independent_sources, abs=TOL),
    )


def test_fast_constructors_build_equal_objects() -> None:
    args = ("kr-nis", ("kr-media",), "supports", 0.65, 0.63, 0.5, "a note")
    assert make_evidence(*args) == Evidence(*args)
    evidence = (Evidence(*args),)
    fields = ("c1", 0.7, (0.5, 0.8), "likely", 2, 1.0, evidence, "Likely.", "m/1")
    assert make_score(*fields) == Score(*fields)
