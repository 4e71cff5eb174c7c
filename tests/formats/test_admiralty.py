"""The Admiralty code of a score and the MISP and OpenCTI forms of the scale."""

from __future__ import annotations

import pytest

from service.formats.admiralty import (
    GRADE_ORDER,
    grade_of_opencti,
    opencti_reliability,
    score_codes,
    supporting_grade,
)

GRADES = {"wire": "B", "gov": "C", "blog": "E", "anon:x": "F"}


def evidence(source: str, stance: str = "supports") -> dict[str, str]:
    return {"source": source, "stance": stance}


def test_code_is_the_best_supporting_grade_then_credibility() -> None:
    codes = score_codes(
        [evidence("gov"), evidence("wire"), evidence("blog")], 2, GRADES.__getitem__
    )
    assert codes == {
        "admiralty": "B2",
        "tags": [
            'admiralty-scale:source-reliability="b"',
            'admiralty-scale:information-credibility="2"',
        ],
    }


def test_refuting_and_neutral_sources_do_not_vouch() -> None:
    found = [evidence("wire", "refutes"), evidence("gov", "neutral"), evidence("blog")]
    assert supporting_grade(found, GRADES.__getitem__) == "E"


def test_a_claim_nothing_supports_cannot_be_judged() -> None:
    assert supporting_grade([evidence("wire", "refutes")], GRADES.__getitem__) == "F"
    assert score_codes([], 6, GRADES.__getitem__)["admiralty"] == "F6"


def test_an_unjudged_source_ranks_below_every_grade() -> None:
    assert supporting_grade([evidence("anon:x"), evidence("blog")], GRADES.__getitem__) == "E"


@pytest.mark.parametrize("letter", GRADE_ORDER)
def test_opencti_reliability_reads_back(letter: str) -> None:
    assert grade_of_opencti(opencti_reliability(letter)) == letter


def test_opencti_reliability_wording() -> None:
    assert opencti_reliability("B") == "B - Usually reliable"
    assert grade_of_opencti("b") == "B"
    assert grade_of_opencti("B - Completely reliable") is None
    assert grade_of_opencti("G - Unknown") is None
    assert grade_of_opencti("") is None
