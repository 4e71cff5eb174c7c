"""Ground truth for stored claims, and the history of their scores.

A resolution updates at once the track record of every source that took a
side on the claim (a decayed hit or miss added to its learned Beta, in the
resolution's transaction, with the ``reliabilities`` counter bumped so every
process reloads); withdrawing it takes the same amounts back. The next
re-scoring job refits everything from the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service import claim_store, counters
from service.auth import requires
from service.db import get_session
from service.learning import (
    SECONDS_PER_DAY,
    LearningSettings,
    apply_track_record,
    sides_taken,
    track_record_deltas,
)
from service.learning_schemas import HistoryResponseSchema, ResolutionRequestSchema
from service.models import Claim, Resolution, ScoreHistory, utcnow
from service.problems import not_found
from service.representations import claim_document, iso_time
from service.response_schemas import StoredClaimSchema
from service.state import AppState, state

blp = Blueprint(
    "resolutions",
    __name__,
    url_prefix="/v1",
    description="Resolutions (ground truth) and score history of stored claims.",
)

RESOLUTION = "resolution"
"""History reason of a score computed because a claim without one was resolved."""
# Clocks of clients and server differ a little; a resolution is refused only
# when it is clearly in the future.
_CLOCK_SKEW = timedelta(minutes=5)


def _locked_claim(session: Session, claim_id: str) -> Claim:
    claim = session.scalar(
        select(Claim)
        .where(Claim.id == claim_id)
        .options(
            selectinload(Claim.attributions),
            selectinload(Claim.score),
            selectinload(Claim.resolution),
        )
        .with_for_update(of=Claim)
    )
    if claim is None:
        not_found(f"No claim {claim_id!r}.")
    return claim


def _update_track_records(
    session: Session, app: AppState, claim: Claim, resolution: Resolution, sign: int
) -> None:
    learning = LearningSettings.from_settings(app.settings)
    age = (resolution.created_at - resolution.resolved_at).total_seconds() / SECONDS_PER_DAY
    deltas = track_record_deltas(
        sides_taken(claim.attributions),
        resolution.outcome,
        max(age, 0.0),
        learning.half_life_days,
    )
    base = {source_id: app.book.belief(source_id, app.setup).belief for source_id in deltas}
    apply_track_record(session, deltas, base, sign, resolution.created_at)
    counters.bump(session, counters.RELIABILITIES)


@blp.route("/claims/<string:claim_id>/resolution", methods=["POST"])
@blp.arguments(ResolutionRequestSchema)
@blp.alt_response(200, schema=StoredClaimSchema, success=True, description="The resolved claim.")
@requires("admin")
def resolve(body: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """Resolve a claim as confirmed or refuted.

    The claim's status becomes the outcome, its current score is kept as the
    resolution's `forecast` (judged by `/v1/calibration`), and every source that
    took a side gains a hit or a miss. 409 if the claim is already resolved
    (withdraw first), or if another answer to its question is already confirmed.
    """
    app = state()
    session = get_session()
    now = utcnow()
    resolved_at = body.get("resolved_at") or now
    if resolved_at > now + _CLOCK_SKEW:
        abort(422, errors={"resolved_at": ["Must not be in the future."]})
    claim = _locked_claim(session, claim_id)
    if claim.resolution is not None:
        abort(409, message=f"Claim {claim_id!r} is already {claim.status}; withdraw it first.")
    if body["outcome"] == "confirmed" and claim.question is not None:
        rival = session.scalar(
            select(Claim.id).where(
                Claim.question == claim.question,
                Claim.id != claim.id,
                Claim.status == "confirmed",
            )
        )
        if rival is not None:
            abort(
                409,
                message=f"Claim {rival!r}, another answer to question {claim.question!r}, "
                "is already confirmed.",
            )
    if claim.score is not None:
        forecast = claim.score.confidence
    else:
        [scored] = claim_store.score_stored(
            session,
            [claim_id],
            scorer=app.setup.scorer,
            beliefs=app.book.beliefs,
            reasons={claim_id: RESOLUTION},
            now=now,
        )
        forecast = scored.score["confidence"]
    resolution = Resolution(
        claim_id=claim_id,
        outcome=body["outcome"],
        resolved_at=resolved_at,
        note=body.get("note"),
        forecast=forecast,
        created_at=now,
    )
    session.add(resolution)
    claim.status = body["outcome"]
    claim.updated_at = now
    _update_track_records(session, app, claim, resolution, +1)
    session.commit()
    stored = claim_store.load_claims(session, [claim_id])[claim_id]
    return claim_document(stored)


@blp.route("/claims/<string:claim_id>/resolution", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def withdraw(claim_id: str) -> Response:
    """Withdraw a claim's resolution: it is open again and the track records are reversed.

    404 if the claim does not exist or has no resolution.
    """
    app = state()
    session = get_session()
    claim = _locked_claim(session, claim_id)
    resolution = claim.resolution
    if resolution is None:
        not_found(f"Claim {claim_id!r} has no resolution.")
    _update_track_records(session, app, claim, resolution, -1)
    claim.resolution = None
    claim.status = "open"
    claim.updated_at = utcnow()
    session.commit()
    return Response(status=204)


@blp.route("/claims/<string:claim_id>/history", methods=["GET"])
@blp.alt_response(
    200, schema=HistoryResponseSchema, success=True, description="Past scores, newest first."
)
@requires("read")
def history(claim_id: str) -> dict[str, Any]:
    """Every past score of the claim, newest first, with what moved it.

    `reason` says what computed the score (the request that stored or changed
    the claim, a sibling answer of its question, or a re-scoring job, then with
    its `job_id`); `changes` lists the sources whose weight moved most.
    """
    session = get_session()
    if session.get(Claim, claim_id) is None:
        not_found(f"No claim {claim_id!r}.")
    rows = session.scalars(
        select(ScoreHistory)
        .where(ScoreHistory.claim_id == claim_id)
        .order_by(ScoreHistory.computed_at.desc(), ScoreHistory.id.desc())
    )
    entries = []
    for row in rows:
        name, _, version = row.model.rpartition("/")
        entries.append(
            {
                "confidence": row.confidence,
                "interval": [row.low, row.high],
                "credibility": row.credibility,
                "model": {"name": name, "version": version},
                "computed_at": iso_time(row.computed_at),
                "reason": row.reason,
                "job_id": row.job_id,
                "changes": row.changes or [],
            }
        )
    return {"claim_id": claim_id, "history": entries}
