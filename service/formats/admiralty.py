"""The Admiralty code of a score ("B2") and its tags in MISP's admiralty-scale taxonomy.

A score's code is the grade of the most reliable source that supports the claim
(A best .. F cannot be judged), then the claim's information credibility (1
confirmed .. 6 cannot be judged). A claim no source supports gets F: nothing
vouches for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Best first; F is "reliability cannot be judged".
GRADE_ORDER = ("A", "B", "C", "D", "E", "F")
UNJUDGED = "F"

# OpenCTI's ``x_opencti_reliability`` values: the letter, then its Admiralty meaning.
RELIABILITY_WORDS = {
    "A": "Completely reliable",
    "B": "Usually reliable",
    "C": "Fairly reliable",
    "D": "Not usually reliable",
    "E": "Unreliable",
    "F": "Reliability cannot be judged",
}


def supporting_grade(evidence: Iterable[Mapping[str, Any]], grade_of: Callable[[str], str]) -> str:
    """The best grade among the sources whose evidence supports the claim; F if none does.

    Parameters
    ----------
    evidence : iterable of mapping
        A score's ``evidence`` entries (``source``, ``stance``, ...).
    grade_of : callable
        A source id's current grade letter, A..F.
    """
    grades = {grade_of(e["source"]) for e in evidence if e["stance"] == "supports"}
    return min(grades, key=GRADE_ORDER.index, default=UNJUDGED)


def admiralty_code(grade: str, credibility: int) -> str:
    """``"B2"``: a source-reliability letter, then an information-credibility digit."""
    return f"{grade}{credibility}"


def reliability_tag(grade: str) -> str:
    """MISP ``admiralty-scale:source-reliability="b"`` of a grade letter."""
    return f'admiralty-scale:source-reliability="{grade.lower()}"'


def credibility_tag(credibility: int) -> str:
    """MISP ``admiralty-scale:information-credibility="2"`` of a credibility level."""
    return f'admiralty-scale:information-credibility="{credibility}"'


def score_codes(
    evidence: Iterable[Mapping[str, Any]], credibility: int, grade_of: Callable[[str], str]
) -> dict[str, Any]:
    """The ``admiralty`` and ``tags`` fields of a score."""
    grade = supporting_grade(evidence, grade_of)
    return {
        "admiralty": admiralty_code(grade, credibility),
        "tags": [reliability_tag(grade), credibility_tag(credibility)],
    }


def opencti_reliability(grade: str) -> str:
    """OpenCTI's ``"B - Usually reliable"`` form of a grade letter."""
    return f"{grade} - {RELIABILITY_WORDS[grade]}"


def grade_of_opencti(value: str) -> str | None:
    """The letter of an ``x_opencti_reliability`` value (``"B - Usually reliable"``, ``"B"``);
    None when it is not one."""
    letter, _, words = value.strip().partition(" - ")
    letter = letter.strip().upper()
    if letter not in RELIABILITY_WORDS:
        return None
    if words and words.strip().lower() != RELIABILITY_WORDS[letter].lower():
        return None
    return letter
