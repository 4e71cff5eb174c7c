"""How a resolved claim's score reads: the outcome, not a forecast.

Once the truth is known a claim's score says so: confidence 1 (confirmed) or 0
(refuted), its interval collapsed on it, credibility 1 (confirmed) or 5
(refuted), and a summary that begins with the outcome and its date, then the
forecast the claim had when resolved (kept in ``resolution.forecast``, which
calibration judges) and the evidence as it stands. Scores of resolved claims
are written in this form wherever a score is written, and re-scoring jobs
leave them alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from scoring.explain import percent
from scoring.scales import estimative_term

CONFIDENCE = {"confirmed": 1.0, "refuted": 0.0}
CREDIBILITY = {"confirmed": 1, "refuted": 5}
# An open summary is "Term (p %, level % interval a-b %): the evidence." Its
# opening holds no source name, so the first "): " ends it.
_OPENING_END = "): "


class ResolutionFacts(Protocol):
    """What the resolved form needs of a resolution (a ``Resolution`` row has it)."""

    outcome: str
    resolved_at: datetime
    forecast: float


def evidence_clauses(summary: str) -> str:
    """The part of an open score's summary after its verdict: who said what."""
    _opening, found, clauses = summary.partition(_OPENING_END)
    return clauses if found else summary


def resolved_summary(outcome: str, resolved_at: datetime, forecast: float, summary: str) -> str:
    """e.g. "Confirmed on 2021-03-29 (forecast 38 %): supported by Boskalis (1.0
    independent source)." from the open score's ``summary``."""
    day = resolved_at.astimezone(UTC).date().isoformat()
    return (
        f"{outcome.capitalize()} on {day} (forecast {percent(forecast)} %): "
        f"{evidence_clauses(summary)}"
    )


def resolved_values(values: Mapping[str, Any], resolution: ResolutionFacts) -> dict[str, Any]:
    """``score_values`` of an open score, as the claim's resolution makes it read."""
    confidence = CONFIDENCE[resolution.outcome]
    return {
        **values,
        "confidence": confidence,
        "low": confidence,
        "high": confidence,
        "estimative": estimative_term(confidence),
        "credibility": CREDIBILITY[resolution.outcome],
        "summary": resolved_summary(
            resolution.outcome, resolution.resolved_at, resolution.forecast, values["summary"]
        ),
    }
