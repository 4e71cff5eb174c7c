"""A re-scoring job's stored values of scores made from their table are those of the scores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from scoring import Claim, ClaimScorer, ScoreTable, ScoringParams, SourceBelief
from scoring.columns import ClaimColumns
from service.store.scores import score_values, table_values
from tests.scoring.test_scorer import claims, source_maps

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SCORER = ClaimScorer(ScoringParams(interval_samples=64))


@given(st.lists(claims, max_size=12), source_maps)
def test_the_values_of_a_table_are_the_values_of_its_scores(
    batch: list[Claim], sources: dict[str, SourceBelief]
) -> None:
    """As the job makes them (a table scored from columns) and of any scores (``of_scores``)."""
    batch = [replace(c, id=f"c{i}") for i, c in enumerate(batch)]
    scores = SCORER.score(batch, sources)
    which = list(range(len(scores)))[::-1]
    want = [score_values(scores[k], NOW) for k in which]
    from_columns = SCORER.score_columns(ClaimColumns.of_claims(batch), range(len(batch)), sources)
    assert table_values(from_columns, which, NOW) == want
    table = ScoreTable.of_scores(scores)
    assert table.scores() == scores
    assert table_values(table, which, NOW) == want
