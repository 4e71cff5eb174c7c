import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from scoring import Beta, GradeTable, ScoringParams, pool_group_priors, prior_from_spec

CONFIG = Path(__file__).resolve().parents[2] / "config" / "default.toml"
UNKNOWN = ScoringParams().unknown_source
GRADES = GradeTable.default()


def test_default_grades_mirror_the_config() -> None:
    config = tomllib.loads(CONFIG.read_text())["grades"]
    for letter, spec in config.items():
        assert GRADES.prior(letter) == Beta.from_reliability(spec["reliability"], spec["strength"])


def test_default_params_mirror_the_config() -> None:
    config = tomllib.loads(CONFIG.read_text())["scoring"]
    params = ScoringParams()
    for key in (
        "default_claim_prior",
        "interval_level",
        "interval_samples",
        "evidence_cap",
        "default_group_correlation",
        "unnamed_correlation",
    ):
        assert getattr(params, key) == config[key], key
    unknown = config["unknown_source"]
    assert params.unknown_source == Beta.from_reliability(
        unknown["reliability"], unknown["strength"]
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"alpha": 3, "beta": 1.5}, Beta(3, 1.5)),
        ({"reliability": 0.8, "strength": 10}, Beta(8, 2)),
        ({"grade": "B"}, Beta.from_reliability(0.8, 15)),
        ({"grade": "F"}, UNKNOWN),
    ],
)
def test_prior_from_spec_accepts_each_form(spec: dict[str, object], expected: Beta) -> None:
    got = prior_from_spec(spec, GRADES, UNKNOWN)
    assert math.isclose(got.alpha, expected.alpha) and math.isclose(got.beta, expected.beta)


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"alpha": 0, "beta": 1}, "alpha"),
        ({"alpha": 1, "beta": float("inf")}, "beta"),
        ({"alpha": 1}, "beta"),
        ({"alpha": "2", "beta": 1}, "alpha"),
        ({"reliability": 1.0, "strength": 5}, "reliability"),
        ({"reliability": 0.5, "strength": -1}, "strength"),
        ({"reliability": 0.5, "strength": True}, "strength"),
        ({"grade": "G"}, "grade"),
        ({"grade": "A", "alpha": 1, "beta": 1}, "grade"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_prior_spec_names_the_key(spec: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}:"):
        prior_from_spec(spec, GRADES, UNKNOWN)


def test_each_grade_prior_reads_back_as_its_letter() -> None:
    for letter in "ABCDE":
        prior = GRADES.prior(letter)
        assert prior is not None
        assert GRADES.letter(prior) == letter


def test_letters_cut_between_grade_means_and_f_when_too_uncertain() -> None:
    assert GRADES.letter(Beta.from_reliability(0.88, 100)) == "A"
    assert GRADES.letter(Beta.from_reliability(0.87, 100)) == "B"
    assert GRADES.letter(Beta.from_reliability(0.39, 100)) == "E"
    assert GRADES.letter(UNKNOWN) == "F"
    assert GRADES.letter(Beta(1, 1)) == "F"
    assert GRADES.prior("F") is None
    with pytest.raises(ValueError):
        GRADES.prior("Z")


def test_grade_table_needs_exactly_a_to_e() -> None:
    with pytest.raises(ValueError):
        GradeTable({"A": Beta(1, 1)})


def test_new_member_of_a_poor_record_group_starts_low() -> None:
    nan = float("nan")
    # Two ministries graded E with many misses, and a new ministry with no prior.
    alpha, beta = pool_group_priors(
        prior_alpha=[3.0, 3.0, nan, nan],
        prior_beta=[7.0, 7.0, nan, nan],
        record_alpha=[1.0, 0.0, 0.0, 0.0],
        record_beta=[9.0, 12.0, 0.0, 0.0],
        group=[0, 0, 0, -1],
        unknown=UNKNOWN,
        max_strength=10.0,
    )
    assert (alpha[:2] == [3.0, 3.0]).all() and (beta[:2] == [7.0, 7.0]).all()
    new_mean = alpha[2] / (alpha[2] + beta[2])
    assert new_mean < 0.25 < UNKNOWN.mean
    assert math.isclose(alpha[2] + beta[2], 10.0)
    # No group to borrow from: the unknown prior.
    assert (alpha[3], beta[3]) == (UNKNOWN.alpha, UNKNOWN.beta)


def test_group_pooling_leaves_the_borrower_out() -> None:
    nan = float("nan")
    alpha, beta = pool_group_priors(
        [nan, nan], [nan, nan], [0.0, 50.0], [50.0, 0.0], [0, 0], UNKNOWN, max_strength=1e9
    )
    # Each borrows only the other's record, so the two end up far apart.
    assert np.isclose(alpha / (alpha + beta), [(2.2 + 50) / 54, 2.2 / 54]).all()
