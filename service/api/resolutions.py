"""Ground truth for stored claims, and the history of their scores.

A resolution updates at once the track record of every source that took a
side on the claim (a decayed hit or miss added to its learned Beta, in the
resolution's transaction, with the ``reliabilities`` counter bumped so every
process reloads); withdrawing it takes the same amounts back. The next
re-scoring job refits everything from the store.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import abort
from sqlalchemy import select

from service.api.blueprint import Blueprint
from service.app_state import state
from service.schemas.requests import ResolutionBatchSchema, ResolutionRequestSchema
from service.schemas.responses import (
    ClaimsResponseSchema,
    HistoryResponseSchema,
    StoredClaimSchema,
    claim_document,
    history_entry,
)
from service.store import claims as claim_store
from service.store.models import Claim, ScoreHistory, utcnow
from service.store.resolutions import (
    ResolutionRefused,
    resolve_claim,
    resolve_claims,
    withdraw_resolution,
)
from service.web.auth import requires
from service.web.database import get_session
from service.web.problems import not_found

blp = Blueprint(
    "resolutions",
    __name__,
    url_prefix="/v1",
    description="Resolutions (ground truth) and score history of stored claims.",
)


@blp.route("/claims/<slug:claim_id>/resolution", methods=["POST"])
@blp.arguments(ResolutionRequestSchema)
@blp.alt_response(200, schema=StoredClaimSchema, success=True, description="The resolved claim.")
@requires("admin")
def resolve(body: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """Resolve a claim as confirmed or refuted.

    The claim's status becomes the outcome, its current confidence is kept as the
    resolution's `forecast` (judged by `/v1/calibration`), and its score then reads
    as resolved: confidence 1 (confirmed) or 0 (refuted), credibility 1 or 5, a
    summary that begins with the outcome and its date. Every source that took a
    side gains a hit or a miss; re-scoring jobs leave the score alone.

    409 if the claim is already resolved (withdraw first), if another answer to
    its question is already confirmed, or if it answers a resolved numeric
    question (its value judges the answers).
    """
    session = get_session()
    try:
        resolve_claim(session, claim_id, body, state().resolution_context(), utcnow())
    except ResolutionRefused as refused:
        if refused.status == 404:
            not_found(str(refused))
        if refused.status == 422:
            abort(refused.status, errors=refused.field_errors())
        abort(refused.status, message=str(refused))
    session.commit()
    stored = claim_store.load_claims(session, [claim_id])[claim_id]
    return claim_document(stored, grade_of=state().grader())


@blp.route("/resolutions", methods=["POST"])
@blp.arguments(ResolutionBatchSchema())
@blp.alt_response(
    200,
    schema=ClaimsResponseSchema,
    success=True,
    description="The resolved claims in request order, as lists show them.",
)
# No id in the path, yet unknown claim ids in the body are a 404 naming them.
@blp.alt_response(404, response="NOT_FOUND")
@requires("admin")
def resolve_many(body: dict[str, Any]) -> dict[str, Any]:
    """Resolve up to 10,000 claims at once, each as `POST /v1/claims/{id}/resolution` does.

    All are made or none: 404 names the unknown claim ids, 409 the claims
    already resolved or whose question already has a confirmed answer, 422 the
    bad fields. The claims come back without attributions and evidence, as
    lists show them.
    """
    session = get_session()
    requests = [(item.pop("claim_id"), item) for item in body["resolutions"]]
    try:
        resolve_claims(session, requests, state().resolution_context(), utcnow())
    except ResolutionRefused as refused:
        abort(refused.status, message=str(refused), errors=refused.field_errors("resolutions"))
    session.commit()
    ids = [claim_id for claim_id, _ in requests]
    stored = claim_store.load_claims(session, ids, full=False)
    grade_of = state().grader()
    return {
        "claims": [
            claim_document(stored[claim_id], grade_of=grade_of, full=False) for claim_id in ids
        ]
    }


@blp.route("/claims/<slug:claim_id>/resolution", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def withdraw(claim_id: str) -> Response:
    """Withdraw a claim's resolution: it is open again and rescored as open, and the
    track records are reversed.

    404 if the claim does not exist or has no resolution; 409 if it answers a
    resolved numeric question (its value judges the answers).
    """
    session = get_session()
    try:
        withdraw_resolution(session, claim_id, state().resolution_context(), utcnow())
    except ResolutionRefused as refused:
        if refused.status == 404:
            not_found(str(refused))
        abort(refused.status, message=str(refused))
    session.commit()
    return Response(status=204)


@blp.route("/claims/<slug:claim_id>/history", methods=["GET"])
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
    return {"claim_id": claim_id, "history": [history_entry(row) for row in rows]}
