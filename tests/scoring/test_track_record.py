import numpy as np
import pytest

from scoring import GradeTable, decayed_counts, summarize_reliability, track_record_posterior


def test_a_hit_one_half_life_old_counts_half() -> None:
    hits, misses = decayed_counts([0, 0, 1], [True, False, True], [365, 0, 730], 2, 365)
    assert np.allclose(hits, [0.5, 0.25])
    assert np.allclose(misses, [1.0, 0.0])


@pytest.mark.parametrize("half_life", [0.0, float("inf")])
def test_no_decay(half_life: float) -> None:
    hits, misses = decayed_counts([0, 0], [True, False], [10_000, 5], 1, half_life)
    assert hits.tolist() == [1.0] and misses.tolist() == [1.0]


def test_negative_half_life_is_refused() -> None:
    with pytest.raises(ValueError):
        decayed_counts([0], [True], [1], 1, -1.0)


def test_posterior_adds_the_record_to_the_prior() -> None:
    alpha, beta = track_record_posterior(
        [2.0, 1.0], [2.0, 1.0], [1, 1, 1], [True, True, False], [0, 0, 0]
    )
    assert alpha.tolist() == [2.0, 3.0] and beta.tolist() == [2.0, 2.0]


def test_summary_reports_mean_interval_and_grade() -> None:
    report = summarize_reliability([95.0, 1.0], [5.0, 1.0], GradeTable.default())
    assert np.allclose(report.mean, [0.95, 0.5])
    assert (report.low < report.mean).all() and (report.mean < report.high).all()
    assert report.grade == ["A", "F"]
