import pytest

from scoring.scales import credibility_levels, estimative_terms


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
