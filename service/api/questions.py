"""Questions: define one (admin), read one or all with their answers and, if numeric, an estimate.

A numeric question's estimate is computed when it is read, from its stored
claims and the current source beliefs (a few milliseconds a question).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import abort
from marshmallow import RAISE
from sqlalchemy import select

from service.api.blueprint import Blueprint
from service.app_state import AppState, state
from service.schemas.requests import (
    PageQuerySchema,
    QuestionResolutionSchema,
    QuestionSchema,
)
from service.schemas.responses import QuestionPageSchema, StoredQuestionSchema, question_document
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store.models import Claim, Question, utcnow
from service.store.resolutions import (
    ResolutionRefused,
    numeric_outcomes,
    resolve_claims,
    withdraw_question_resolution,
)
from service.web.auth import requires
from service.web.database import get_session
from service.web.pagination import decode_cursor, encode_cursor, page_limit
from service.web.problems import not_found

blp = Blueprint(
    "questions",
    __name__,
    url_prefix="/v1",
    description="Questions: competing answers, and numeric questions' estimates.",
)

QUESTION = "question"
"""History reason of a score moved because its question was (re)defined."""


def _documents(app: AppState, question_ids: list[str]) -> list[dict[str, Any]]:
    """The documents of ``question_ids``: their answers read, and scored for the
    numeric estimates, all at once (one question at a time, a page of 100 made some
    700 queries and 100 scoring passes: 700 ms on a 200,000-claim store)."""
    session = get_session()
    defined = question_store.defined_questions(session, question_ids)
    answers = question_store.answer_ids(session, question_ids)
    ids = [claim_id for question_id in question_ids for claim_id in answers[question_id]]
    claims = claim_store.load_claims(session, ids)
    stored = claim_store.stored_claims(session, ids)
    scored = question_store.score_question(
        session,
        app.setup.scorer.with_model(app.book.model),
        app.book.beliefs,
        [stored[i] for i in ids],
    )
    grade_of = app.grader()
    return [
        question_document(
            question_id,
            defined.get(question_id),
            [claims[i] for i in answers[question_id]],
            scored.estimates.get(question_id),
            grade_of,
        )
        for question_id in question_ids
    ]


def _known(question_id: str) -> bool:
    session = get_session()
    return (
        session.get(Question, question_id) is not None
        or session.scalar(select(Claim.id).where(Claim.question == question_id).limit(1))
        is not None
    )


@blp.route("/questions", methods=["GET"])
@blp.arguments(PageQuerySchema(), location="query", unknown=RAISE)
@blp.alt_response(200, schema=QuestionPageSchema, success=True, description="One page, by id.")
@requires("read")
def list_questions(args: dict[str, Any]) -> dict[str, Any]:
    """Defined questions and those only named by claims, by id."""
    app = state()
    limit = page_limit(args.get("limit"), app.settings.limits.page_max)
    after = decode_cursor(args.get("cursor"))
    session = get_session()
    named = select(Claim.question.label("id")).where(Claim.question.is_not(None))
    defined = select(Question.id.label("id"))
    union = named.union(defined).subquery()
    query = select(union.c.id).order_by(union.c.id).limit(limit + 1)
    if after is not None:
        query = query.where(union.c.id > after)
    ids = list(session.scalars(query))
    more = len(ids) > limit
    ids = ids[:limit]
    return {
        "questions": _documents(app, ids),
        "next_cursor": encode_cursor(ids[-1]) if more and ids else None,
    }


@blp.route("/questions/<slug:question_id>", methods=["GET"])
@blp.alt_response(200, schema=StoredQuestionSchema, success=True, description="The question.")
@requires("read")
def get_question(question_id: str) -> dict[str, Any]:
    """A question with its answers and, for a numeric question, the estimate of its quantity."""
    if not _known(question_id):
        not_found(f"No question {question_id!r}.")
    return _documents(state(), [question_id])[0]


@blp.route("/questions/<slug:question_id>", methods=["PUT"])
@blp.arguments(QuestionSchema())
@blp.alt_response(200, schema=StoredQuestionSchema, success=True, description="As stored.")
@requires("admin")
def put_question(body: dict[str, Any], question_id: str) -> dict[str, Any]:
    """Define or redefine a question; its stored answers are rescored at once.

    422 when its stored answers do not fit the definition: values in a choice
    question, an answer without a value in a numeric one, or a figure that is
    not positive on a log scale.
    """
    app = state()
    session = get_session()
    question_store.lock_questions(session, [question_id])
    errors = question_store.save_question(session, question_id, body, utcnow())
    if errors:
        abort(422, errors=errors)
    ids = question_store.answer_ids(session, [question_id])[question_id]
    if ids:
        claim_store.score_stored(
            session,
            ids,
            scorer=app.setup.scorer.with_model(app.book.model),
            beliefs=app.book.beliefs,
            beliefs_version=app.sources.version,
            reasons=dict.fromkeys(ids, QUESTION),
            now=utcnow(),
        )
    session.commit()
    return _documents(app, [question_id])[0]


@blp.route("/questions/<slug:question_id>/resolution", methods=["POST"])
@blp.arguments(QuestionResolutionSchema())
@blp.alt_response(200, schema=StoredQuestionSchema, success=True, description="Resolved.")
@requires("admin")
def resolve_question(body: dict[str, Any], question_id: str) -> dict[str, Any]:
    """Resolve a numeric question with its true value.

    Each answer becomes `confirmed` when the value is within its tolerance (or
    inside its range), else `refuted`, feeding track records as any resolution;
    its score when resolved is kept as its forecast. An answer stored later (or
    re-posted with another figure) is judged as it is stored. 404 for an unknown
    question, 409 when it or one of its answers is already resolved, 422 for a
    choice question or a value that does not fit it.
    """
    app = state()
    session = get_session()
    now = utcnow()
    if not _known(question_id):
        not_found(f"No question {question_id!r}.")
    try:
        outcomes = numeric_outcomes(session, question_id, body, now)
        resolve_claims(
            session,
            [
                (
                    claim_id,
                    {
                        "outcome": outcome,
                        "resolved_at": body.get("resolved_at"),
                        "note": body.get("note"),
                    },
                )
                for claim_id, outcome in outcomes.items()
            ],
            app.resolution_context(),
            now,
            from_question=True,
        )
    except ResolutionRefused as refused:
        session.rollback()
        if refused.errors:
            abort(refused.status, message=str(refused), errors=refused.field_errors())
        abort(refused.status, message=str(refused))
    session.commit()
    app.refresh()
    return _documents(app, [question_id])[0]


@blp.route("/questions/<slug:question_id>/resolution", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def withdraw_question(question_id: str) -> Response:
    """Withdraw a numeric question's resolution: its answers are open again and the
    track records they fed are reversed. 404 if the question has no resolution."""
    app = state()
    session = get_session()
    try:
        withdraw_question_resolution(session, question_id, app.resolution_context(), utcnow())
    except ResolutionRefused as refused:
        not_found(str(refused))
    session.commit()
    app.refresh()
    return Response(status=204)
