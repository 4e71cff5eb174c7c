"""The console's one way into the service: the API's own views, schemas and roles.

Each page asks for what the matching API operation returns by calling that
operation's view function (unwrapped from flask-smorest's request parsing) on
arguments loaded by the operation's own schema, after checking the role the
operation requires. So a page shows exactly what the API answers, refuses
what the API refuses, and a change to an API view changes its page with it.
The few reads the API has no operation for (a source's reliability across
jobs, what a job changed most) are queries here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import Response, current_app
from marshmallow import RAISE, Schema, ValidationError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from scoring import summarize_reliability
from service.app_state import state
from service.field_errors import flatten_messages
from service.schemas.requests import (
    MAX_VIA,
    SLUG_PATTERN,
    SLUG_RE,
    AttributionBatchSchema,
    CalibrationQuerySchema,
    ClaimQuerySchema,
    JobsQuerySchema,
    PageQuerySchema,
    ResolutionRequestSchema,
    SourceSchema,
)
from service.schemas.warnings import undefined_detail
from service.store.models import Claim, ReliabilityHistory
from service.web.auth import ROLES, KeyRing, Role, required_role
from service.web.database import get_session
from service.web.path_ids import path_id_errors

# Operations by the API endpoint that serves them.
CLAIMS = "claims.list_claims"
CLAIM = "claims.get_claim"
ADD_ATTRIBUTIONS = "claims.add_attributions"
HISTORY = "resolutions.history"
RESOLVE = "resolutions.resolve"
WITHDRAW = "resolutions.withdraw"
SOURCES = "sources.list_sources"
SOURCE = "sources.get_source"
PUT_SOURCE = "sources.put_source"
CALIBRATION = "calibration.calibration"
JOBS = "jobs.list_jobs"
JOB = "jobs.get_job"
START_JOB = "jobs.start_rescore"
# Numeric questions (contract 1.1) add this operation; until then a question
# page lists the claims that answer it.
QUESTION = "questions.get_question"
QUESTIONS = "questions.list_questions"

_METHODS = {
    ADD_ATTRIBUTIONS: "POST",
    RESOLVE: "POST",
    WITHDRAW: "DELETE",
    PUT_SOURCE: "PUT",
    START_JOB: "POST",
}


@dataclass
class Refused(Exception):
    """What the API would have answered instead of a success: status, detail, field errors."""

    status: int
    detail: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def key_ring() -> KeyRing:
    """The API keys, reloaded if another process changed them (as each API request does)."""
    app = state()
    app.refresh()
    return app.keys


def needs(endpoint: str) -> Role:
    """The role the API operation ``endpoint`` requires."""
    return required_role(current_app, endpoint, _METHODS.get(endpoint, "GET"))


def may(role: Role | None, endpoint: str) -> bool:
    """Whether a caller with ``role`` may use the operation ``endpoint``."""
    return role is not None and ROLES.index(role) >= ROLES.index(needs(endpoint))


def _call(role: Role | None, endpoint: str, *args: Any, **kwargs: Any) -> Any:
    if not may(role, endpoint):
        raise Refused(403, f"This requires the '{needs(endpoint)}' role.")
    view: Callable[..., Any] = inspect.unwrap(current_app.view_functions[endpoint])
    try:
        result = view(*args, **kwargs)
    except HTTPException as error:
        data: Mapping[str, Any] = getattr(error, "data", None) or {}
        detail = data.get("message") or error.description or "Refused."
        raise Refused(error.code or 500, detail, dict(data.get("errors") or {})) from None
    if isinstance(result, Response) and endpoint not in _METHODS:
        # A read answered in another medium (CSV, STIX) because Accept asked for it.
        raise Refused(406, "The console answers HTML; ask /v1 for CSV or STIX.")
    return result


def load(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as the API's ``schema`` loads them; Refused (422) naming each bad field."""
    try:
        loaded: dict[str, Any] = schema.load(values, unknown=RAISE)
    except ValidationError as error:
        raise Refused(422, "Some fields are not valid.", flatten_messages(error.messages)) from None
    return loaded


def claims(role: Role | None, query: Mapping[str, Any]) -> dict[str, Any]:
    """A page of ``GET /v1/claims``."""
    page: dict[str, Any] = _call(role, CLAIMS, load(ClaimQuerySchema(), query))
    return page


def claim_pages(role: Role | None, query: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The claims of every page of ``GET /v1/claims`` for ``query`` (its cursor aside),
    at the largest page the API serves."""
    query = {**query, "limit": state().settings.limits.page_max}
    while True:
        page = claims(role, query)
        yield page["claims"]
        if not page["next_cursor"]:
            return
        query = {**query, "cursor": page["next_cursor"]}


def question_answers(role: Role | None, question_id: str) -> dict[str, Any]:
    """A question with its answers: ``GET /v1/questions/{id}`` where it exists, else the
    stored claims that answer it (full documents, as ``GET /v1/claims/{id}``)."""
    if QUESTION in current_app.view_functions:
        document: dict[str, Any] = _call(role, QUESTION, question_id)
        return document
    ids = get_session().scalars(
        select(Claim.id).where(Claim.question == question_id).order_by(Claim.id)
    )
    answers = [_call(role, CLAIM, claim_id) for claim_id in ids]
    if not answers:
        raise Refused(404, f"No claim answers the question {question_id!r}.")
    return {"id": question_id, "kind": "choice", "answers": answers}


def claim(role: Role | None, claim_id: str) -> dict[str, Any]:
    document: dict[str, Any] = _call(role, CLAIM, claim_id)
    return document


def history(role: Role | None, claim_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = _call(role, HISTORY, claim_id)["history"]
    return entries


def add_attribution(role: Role | None, claim_id: str, attribution: Mapping[str, Any]) -> None:
    body = load(AttributionBatchSchema(), {"attributions": [attribution]})
    # An empty query: strict or not as the [api] strict setting says.
    _call(role, ADD_ATTRIBUTIONS, body, {}, claim_id)


def undefined_notes(source_ids: Sequence[str]) -> list[str]:
    """What the API's warning says of each of ``source_ids`` defined nowhere: the ids
    an attribution named (a source and its relays, from a page's address: those that
    break the id rule are left out)."""
    defined = state().book.definitions
    return [
        undefined_detail(source_id, "attribution", defined)
        for source_id in dict.fromkeys(source_ids[: MAX_VIA + 1])
        if SLUG_RE.fullmatch(source_id) and source_id not in defined
    ]


def resolve(role: Role | None, claim_id: str, resolution: Mapping[str, Any]) -> None:
    _call(role, RESOLVE, load(ResolutionRequestSchema(), resolution), claim_id)


def withdraw(role: Role | None, claim_id: str) -> None:
    _call(role, WITHDRAW, claim_id)


def questions(role: Role | None, query: Mapping[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = _call(role, QUESTIONS, load(PageQuerySchema(), query))
    return page


def sources(role: Role | None, query: Mapping[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = _call(role, SOURCES, load(PageQuerySchema(), query))
    return page


def source(role: Role | None, source_id: str) -> dict[str, Any]:
    document: dict[str, Any] = _call(role, SOURCE, source_id)
    return document


def is_defined(role: Role | None, source_id: str) -> bool:
    """Whether ``source_id`` is defined, through the API or in the shipped catalogue
    (not only learned from claims that name it)."""
    try:
        document = source(role, source_id)
    except Refused as refused:
        if refused.status in (404, 422):
            return False
        raise
    return bool(document["origin"] != "learned")


def broken_ids(view_args: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """``{"id": [rule]}`` when an id in the path breaks the API's rule for it (as the API
    answers 422 before its view runs); else empty."""
    return path_id_errors(view_args)


def put_source(role: Role | None, source_id: str, definition: Mapping[str, Any]) -> None:
    """Define the source ``source_id`` (given in a form, so checked here as a path id is)."""
    if not SLUG_RE.fullmatch(source_id):
        raise Refused(
            422, "The id breaks the id rule.", {"id": [f"Not a valid slug: {SLUG_PATTERN}"]}
        )
    _call(role, PUT_SOURCE, load(SourceSchema(), definition), source_id)


def calibration(role: Role | None, query: Mapping[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = _call(role, CALIBRATION, load(CalibrationQuerySchema(), query))
    return document


def jobs(role: Role | None, query: Mapping[str, Any]) -> dict[str, Any]:
    page: dict[str, Any] = _call(role, JOBS, load(JobsQuerySchema(), query))
    return page


def job(role: Role | None, job_id: str) -> dict[str, Any]:
    document: dict[str, Any] = _call(role, JOB, job_id)["job"]
    return document


def start_job(role: Role | None) -> str:
    """Start a re-scoring job; its id."""
    body, _status, _headers = _call(role, START_JOB)
    job_id: str = body["job"]["id"]
    return job_id


def learned_structure() -> str | None:
    """The structure of the learned model the scores use (``"one coin, class prior"``),
    or None before the first re-scoring job."""
    model = state().book.model
    return None if model is None else model.structure


def default_prior() -> float:
    """The prior of a claim that names none."""
    return state().setup.params.default_claim_prior


def grade_bands() -> list[tuple[str, float, float]]:
    """Where each Admiralty letter applies on the reliability scale, as (letter, low, high).

    Read off the grade table itself (the letter of a confident belief at each
    mean), so the bands are the configured ones.
    """
    means = np.linspace(0.0005, 0.9995, 1000)
    letters = state().setup.grades.letters(means * 1e6, (1 - means) * 1e6)
    bands: list[tuple[str, float, float]] = []
    start = 0.0
    for i in range(1, len(means) + 1):
        if i == len(means) or letters[i] != letters[i - 1]:
            end = 1.0 if i == len(means) else float((means[i - 1] + means[i]) / 2)
            bands.append((letters[i - 1], start, end))
            start = end
    return bands


def reliability_across_jobs(source_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The source's learned reliability as each of the latest ``limit`` re-scoring jobs
    that moved it wrote it, oldest first: ``{"job_id", "computed_at", "reliability",
    "low", "high"}`` (the belief's mean and credible interval, as a source's document has them)."""
    rows = get_session().execute(
        select(
            ReliabilityHistory.job_id,
            ReliabilityHistory.created_at,
            ReliabilityHistory.alpha,
            ReliabilityHistory.beta,
        )
        .where(ReliabilityHistory.source_id == source_id)
        .order_by(ReliabilityHistory.id.desc())
        .limit(limit)
    )
    found = rows.all()[::-1]
    setup = state().setup
    # As a source's document summarises its belief, all rows at once.
    alpha, beta = [row.alpha for row in found], [row.beta for row in found]
    summary = summarize_reliability(alpha, beta, setup.grades, setup.interval_level)
    return [
        {
            "job_id": row.job_id,
            "computed_at": row.created_at,
            "reliability": mean,
            "low": low,
            "high": high,
        }
        for row, mean, low, high in zip(
            found, summary.mean.tolist(), summary.low.tolist(), summary.high.tolist(), strict=True
        )
    ]


def group_members(group: str | None, limit: int = 50) -> list[str]:
    """Ids of the defined sources in ``group``."""
    if not group:
        return []
    definitions = state().book.definitions
    return sorted(sid for sid, d in definitions.items() if d.group == group)[:limit]
