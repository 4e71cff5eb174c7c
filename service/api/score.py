"""POST /v1/score: score claims without storing anything."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort

from service.api.blueprint import Blueprint
from service.app_state import state
from service.schemas.requests import ScoreRequestSchema, StrictQuerySchema
from service.schemas.responses import (
    ScoresResponseSchema,
    estimate_document,
    fresh_score_document,
)
from service.schemas.warnings import claim_warnings, refuse_if_strict
from service.store import questions as question_store
from service.store.claims import request_claim
from service.store.models import utcnow
from service.web.auth import requires
from service.web.database import get_session
from service.web.observability import SCORES

blp = Blueprint(
    "score", __name__, url_prefix="/v1", description="Score claims without storing them."
)


@blp.route("/score", methods=["POST"])
@blp.arguments(ScoreRequestSchema())
@blp.arguments(StrictQuerySchema(), location="query", unknown=None)
@blp.alt_response(
    200, schema=ScoresResponseSchema, success=True, description="Scores in request order."
)
@requires("read")
def score(body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Score claims; `sources` overrides source priors (and groups) for this call only.

    Each entry of `sources` is a source definition (`name`, `kind`, `group`, `prior`,
    `notes`) or a bare prior such as `{"grade": "B"}`. Claims carrying a `value` are
    figures of their (numeric) question, whose estimate `questions` gives. `warnings`
    lists valid input that is probably not what was meant (an undefined source, ...);
    `?strict=true` refuses it with 422.
    """
    app = state()
    session = get_session()
    errors = question_store.value_errors(session, body["claims"], with_stored=False)
    if errors:
        abort(422, errors=errors)
    overrides = body.get("sources") or {}
    defined = app.book.definitions.keys() | overrides.keys() if overrides else app.book.definitions
    warnings = claim_warnings(body["claims"], defined)
    refuse_if_strict(warnings, query.get("strict", app.settings.api.strict))
    beliefs = app.book.with_overrides(overrides, app.setup)
    scored = question_store.score_question(
        session,
        app.setup.scorer.with_model(app.book.model),
        beliefs,
        [request_claim(c.get("id"), c) for c in body["claims"]],
    )
    SCORES.labels("score").inc(len(scored.scores))
    computed_at = utcnow().isoformat()
    grade_of = app.setup.grader(beliefs)
    return {
        "scores": [fresh_score_document(s, computed_at, grade_of) for s in scored.scores],
        "questions": [
            {"id": q, "estimate": estimate_document(e)} for q, e in scored.estimates.items()
        ],
        "warnings": [w.document() for w in warnings],
    }
