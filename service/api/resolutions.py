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
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from service.app_state import AppState, state
from service.schemas.requests import ResolutionRequestSchema
from service.schemas.responses import (
    HistoryResponseSchema,
    StoredClaimSchema,
    claim_document,
    history_entry,
)
from service.store import claims as claim_store
from service.store.db import get_session
from service.store.models import Claim, ScoreHistory, utcnow
from service.store.resolutions import (
    ResolutionContext,
    ResolutionRefused,
    locked_claim,
    resolve_claim,
    withdraw_resolution,
)
from service.web.auth import requires
from service.web.problems import not_found

blp = Blueprint(
    "resolutions",
    __name__,
    url_prefix="/v1",
    description="Resolutions (ground truth) and score history of stored claims.",
)


def _resolution_context(app: AppState) -> ResolutionContext:
    return ResolutionContext(app.setup, app.settings.learning, app.book, app.sources.version)


@blp.route("/claims/<slug:claim_id>/resolution", methods=["POST"])
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
    session = get_session()
    try:
        resolve_claim(session, claim_id, body, _resolution_context(state()), utcnow())
    except ResolutionRefused as refused:
        if refused.status == 404:
            not_found(str(refused))
        if refused.errors:
            abort(refused.status, errors=refused.errors)
        abort(refused.status, message=str(refused))
    session.commit()
    stored = claim_store.load_claims(session, [claim_id])[claim_id]
    return claim_document(stored, grade_of=state().grader())


@blp.route("/claims/<slug:claim_id>/resolution", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def withdraw(claim_id: str) -> Response:
    """Withdraw a claim's resolution: it is open again and the track records are reversed.

    404 if the claim does not exist or has no resolution.
    """
    session = get_session()
    try:
        claim = locked_claim(session, claim_id)
    except ResolutionRefused as refused:
        not_found(str(refused))
    if claim.resolution is None:
        not_found(f"Claim {claim_id!r} has no resolution.")
    withdraw_resolution(session, _resolution_context(state()), claim, utcnow())
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
