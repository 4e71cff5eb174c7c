"""Response bodies, built as plain dicts.

Dumping through marshmallow would double the cost of a scoring request, so the
response schemas (``response_schemas``) document these shapes and the tests
check the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scoring import Score
from service.store import models

_SCORE_FIELDS = (
    "claim_id",
    "confidence",
    "low",
    "high",
    "estimative",
    "credibility",
    "independent_sources",
    "evidence",
    "summary",
    "model",
    "computed_at",
)


def iso_time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _evidence(score: Score) -> list[dict[str, Any]]:
    return [
        {
            "source": e.source,
            "via": list(e.via),
            "stance": e.stance,
            "reliability": float(e.reliability),
            "effective_reliability": float(e.effective_reliability),
            "weight": float(e.weight),
            "note": e.note,
        }
        for e in score.evidence
    ]


def score_values(score: Score, computed_at: datetime) -> dict[str, Any]:
    """A Score as the columns of the ``scores`` table (evidence as JSON-ready dicts)."""
    low, high = score.interval
    return {
        "claim_id": score.claim_id,
        "confidence": float(score.confidence),
        "low": float(low),
        "high": float(high),
        "estimative": score.estimative,
        "credibility": int(score.credibility),
        "independent_sources": float(score.independent_sources),
        "evidence": _evidence(score),
        "summary": score.summary,
        "model": score.model,
        "computed_at": computed_at,
    }


def fresh_score_document(score: Score, computed_at: str) -> dict[str, Any]:
    """``score_document(score_values(score, t))`` in one step, ``computed_at`` already
    rendered: the body of a score that is not stored (POST /v1/score)."""
    low, high = score.interval
    name, _, version = score.model.rpartition("/")
    return {
        "claim_id": score.claim_id,
        "confidence": float(score.confidence),
        "interval": [float(low), float(high)],
        "estimative": score.estimative,
        "credibility": int(score.credibility),
        "independent_sources": float(score.independent_sources),
        "summary": score.summary,
        "model": {"name": name, "version": version},
        "computed_at": computed_at,
        "evidence": _evidence(score),
    }


def score_document(
    values: Mapping[str, Any] | models.Score, evidence: bool = True
) -> dict[str, Any]:
    """The contract's Score from ``score_values`` or a stored row."""
    row = values if isinstance(values, Mapping) else {k: getattr(values, k) for k in _SCORE_FIELDS}
    name, _, version = row["model"].rpartition("/")
    document = {
        "claim_id": row["claim_id"],
        "confidence": row["confidence"],
        "interval": [row["low"], row["high"]],
        "estimative": row["estimative"],
        "credibility": row["credibility"],
        "independent_sources": row["independent_sources"],
        "summary": row["summary"],
        "model": {"name": name, "version": version},
        "computed_at": iso_time(row["computed_at"]),
    }
    if evidence:
        document["evidence"] = row["evidence"]
    return document


def attribution_document(row: models.Attribution) -> dict[str, Any]:
    document: dict[str, Any] = {
        "source": row.source_id,
        "stance": row.stance,
        "via": row.via,
        "certainty": row.certainty,
        "count": row.count,
        "observed_at": iso_time(row.observed_at),
    }
    if row.url is not None:
        document["url"] = row.url
    if row.quote is not None:
        document["quote"] = row.quote
    return document


def resolution_document(row: models.Resolution | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "outcome": row.outcome,
        "resolved_at": iso_time(row.resolved_at),
        "note": row.note,
        "forecast": row.forecast,
    }


def claim_document(
    claim: models.Claim,
    score: Mapping[str, Any] | models.Score | None = None,
    *,
    full: bool = True,
) -> dict[str, Any]:
    """A stored claim; lists (``full=False``) leave out attributions and score.evidence.

    ``score`` is a fresh ``score_values`` when the claim was just scored, else the
    stored score is used.
    """
    current = score if score is not None else claim.score
    document: dict[str, Any] = {
        "id": claim.id,
        "text": claim.text,
        "prior": claim.prior,
        "question": claim.question,
        "tags": sorted(t.tag for t in claim.tags),
        "status": claim.status,
        "resolution": resolution_document(claim.resolution),
        "score": score_document(current, evidence=full) if current is not None else None,
        "created_at": iso_time(claim.created_at),
        "updated_at": iso_time(claim.updated_at),
    }
    if full:
        document["attributions"] = [attribution_document(a) for a in claim.attributions]
    return document


def stored_claim_document(
    claim_id: str,
    claim: Mapping[str, Any],
    score: Mapping[str, Any],
    *,
    status: str,
    created_at: datetime,
    updated_at: datetime,
    resolution: models.Resolution | None,
) -> dict[str, Any]:
    """``claim_document`` of a claim just stored from ``claim`` (a validated request
    claim) and scored, built without reading it back; attributions without an
    ``observed_at`` were stored as observed at ``updated_at``."""
    attributions = []
    for a in claim["attributions"]:
        attribution: dict[str, Any] = {
            "source": a["source"],
            "stance": a["stance"],
            "via": list(a["via"]),
            "certainty": a["certainty"],
            "count": a["count"],
            "observed_at": iso_time((a.get("observed_at") or updated_at).astimezone(UTC)),
        }
        if a.get("url") is not None:
            attribution["url"] = a["url"]
        if a.get("quote") is not None:
            attribution["quote"] = a["quote"]
        attributions.append(attribution)
    return {
        "id": claim_id,
        "text": claim["text"],
        "prior": claim.get("prior"),
        "question": claim.get("question"),
        "tags": sorted(set(claim.get("tags", ()))),
        "status": status,
        "resolution": resolution_document(resolution),
        "score": score_document(score),
        "created_at": iso_time(created_at),
        "updated_at": iso_time(updated_at),
        "attributions": attributions,
    }


def page(
    items_key: str, items: Sequence[dict[str, Any]], next_cursor: str | None
) -> dict[str, Any]:
    return {items_key: list(items), "next_cursor": next_cursor}
