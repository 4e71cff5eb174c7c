"""The error responses of every operation, in the OpenAPI document.

flask-smorest documents only the 422 of a parsed body or query, as
``application/json``, plus a catch-all ``default``. The service answers every
error as ``application/problem+json`` (see ``service.web.problems``) with a known
set of statuses, so this apispec plugin writes them into each operation:

- every operation: 414 (request line too long; gunicorn's limit);
- every ``/v1`` operation: 401 and 403 (credentials, role), 503 (database
  unavailable); the probes outside ``/v1`` need no credentials (``security: []``);
- an operation with a body: 400 (malformed JSON), 413 (too large), 415 (not
  JSON), 422 (breaks the rules);
- an operation with query parameters: 422;
- a path with an id: 404 (no such id) and 422 (an id that breaks its rule);
- an operation that writes: 409 (conflict with a concurrent writer) and 507
  (the store is out of space).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from marshmallow import fields

from service.schemas.responses import ProblemSchema
from service.web.problems import PROBLEM_JSON

_WRITES = ("post", "put", "patch", "delete")


class Problem(ProblemSchema):
    """RFC 9457 problem details: every member is always present."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages by field path, e.g. claims.3.attributions.0.certainty"},
    )


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses ``method path`` can answer with."""
    if not path.startswith("/v1/"):
        return {414, 503} if path == "/readyz" else {414}
    statuses = {401, 403, 414, 503}
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if any(p.get("in") == "query" for p in operation.get("parameters", []) if isinstance(p, dict)):
        statuses.add(422)
    if "{" in path:
        statuses |= {404, 422}
    if method in _WRITES:
        statuses |= {409, 507}
    return statuses


def register_problem_responses(spec: Any, error_schema: Any) -> None:
    """A lazily registered problem+json response per HTTP status, named like flask-smorest's."""
    for status in HTTPStatus:
        response: dict[str, Any] = {"description": status.phrase}
        if status >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": error_schema}}
        spec.components.response(status.name, response, lazy=True)


class ErrorResponses(BasePlugin):
    """Documents each operation's error responses as problem+json."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if path is None or not operations:
            return
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "delete", "patch", "head"):
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            for status in sorted(error_statuses(path, method, operation)):
                responses.setdefault(str(status), HTTPStatus(status).name)
            if not path.startswith("/v1/"):
                operation["security"] = []
