"""POST /v1/score: score claims without storing anything."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from service.auth import requires
from service.claim_store import request_claim
from service.models import utcnow
from service.observability import SCORES
from service.representations import fresh_score_document
from service.request_schemas import ScoreRequestSchema
from service.response_schemas import ScoresResponseSchema
from service.state import state

blp = Blueprint(
    "score", __name__, url_prefix="/v1", description="Score claims without storing them."
)


@blp.route("/score", methods=["POST"])
@blp.arguments(ScoreRequestSchema())
@blp.alt_response(
    200, schema=ScoresResponseSchema, success=True, description="Scores in request order."
)
@requires("read")
def score(body: dict[str, Any]) -> dict[str, Any]:
    """Score claims; `sources` overrides source priors (and groups) for this call only.

    Each entry of `sources` is a source definition (`name`, `kind`, `group`, `prior`,
    `notes`) or a bare prior such as `{"grade": "B"}`.
    """
    app = state()
    beliefs = app.book.with_overrides(body.get("sources") or {}, app.setup)
    scores = app.setup.scorer.score(
        [request_claim(c.get("id"), c) for c in body["claims"]], beliefs
    )
    SCORES.labels("score").inc(len(scores))
    computed_at = utcnow().isoformat()
    return {"scores": [fresh_score_document(s, computed_at) for s in scores]}
