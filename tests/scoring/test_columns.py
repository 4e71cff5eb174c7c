"""ClaimColumns: claims as compact columns round-trip to the same claims."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import Attribution, Claim
from scoring.columns import ClaimColumns
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
    assert columns.n_attributions == 4
    assert columns.entities == ["a", "r", "s", "b"]
    assert columns.age_days.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_slice_is_a_partition_of_claims() -> None:
    claims = _claims()
    columns = ClaimColumns.of_claims(claims, np.arange(4.0))
    part = columns.slice(1, 3)
    assert part.claims(range(2)) == claims[1:]
    assert part.age_days.tolist() == [3.0]


def test_inconsistent_lengths_are_refused() -> None:
    columns = ClaimColumns.of_claims(_claims())
    with pytest.raises(ValueError, match="inconsistent"):
        ClaimColumns(**{**columns.__dict__, "sign": columns.sign[:-1]})
