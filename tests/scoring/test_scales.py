import numpy as np
import pytest

from scoring.scales import (
    credibility_level,
    credibility_levels,
    estimative_term,
    estimative_terms,
)


@pytest.mark.parametrize(
    ("p", "term"),
    [
        (0.0, "almost no chance"),
        (0.049, "almost no chance"),
        (0.05, "very unlikely"),
        (0.2, "unlikely"),
        (0.45, "roughly even chance"),
        (0.5, "roughly even chance"),
        (0.55, "roughly even chance"),
        (0.56, "likely"),
        (0.8, "likely"),
        (0.81, "very likely"),
        (0.95, "very likely"),
        (0.951, "almost certain"),
        (1.0, "almost certain"),
    ],
)
def test_estimative_bands(p: float, term: str) -> None:
    assert estimative_terms([p]) == [term]


def test_credibility_bands_and_confirmation() -> None:
    got = credibility_levels(
        [0.9, 0.9, 0.7, 0.5, 0.3, 0.1, 0.9],
        [True, True, True, True, True, True, False],
        [2.0, 1.9, 5.0, 5.0, 5.0, 5.0, 5.0],
    )
    assert got.tolist() == [1, 2, 2, 3, 4, 5, 6]


def test_scalar_versions_agree_with_the_vectorised_ones() -> None:
    edges = [0.05, 0.2, 0.4, 0.45, 0.5, 0.55, 0.6, 0.8, 0.95]
    p = np.concatenate(
        (
            np.random.default_rng(3).random(2000),
            edges,
            np.nextafter(edges, 0.0),
            np.nextafter(edges, 1.0),
            [0.0, 1.0, np.nan],
        )
    )
    carries = np.arange(p.size) % 5 != 0
    confirming = np.arange(p.size) % 4 * 0.7
    assert [estimative_term(x) for x in p.tolist()] == estimative_terms(p)
    expected = credibility_levels(p, carries, confirming).tolist()
    got = [
        credibility_level(x, c, n)
        for x, c, n in zip(p.tolist(), carries.tolist(), confirming.tolist(), strict=True)
    ]
    assert got == expected
