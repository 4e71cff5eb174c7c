"""Errors as RFC 9457 problem details: ``{"type", "title", "status", "detail", "errors"}``."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, NoReturn

from flask import Response, current_app
from werkzeug.exceptions import HTTPException, NotFound

from service.field_errors import flatten_messages

PROBLEM_JSON = "application/problem+json"

_DETAILS = {
    400: "The request body is not valid JSON.",
    401: "Send a valid API key as 'Authorization: Bearer <key>'.",
    403: "This key's role does not allow the request.",
    404: "No such resource.",
    405: "The method is not allowed on this resource.",
    409: "The request conflicts with the current state.",
    413: "The request body is larger than the configured limit.",
    415: "Send the body as application/json.",
    422: "The request breaks the rules of the contract; see errors.",
    500: "An unexpected error occurred; it has been logged.",
    503: "The service cannot answer now; try again shortly.",
}


def problem(
    status: int,
    detail: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or _DETAILS.get(status, HTTPStatus(status).description),
        "errors": dict(errors or {}),
    }
    return Response(
        current_app.json.dumps(body), status, headers=dict(headers or {}), mimetype=PROBLEM_JSON
    )


def not_found(detail: str) -> NoReturn:
    raise NotFound(detail)


def from_http_exception(error: HTTPException) -> Response:
    """The problem response of an aborted request, whatever raised it.

    webargs aborts with ``data={"messages": {location: {field: [...]}}}``; the
    location level is dropped so fields read as body paths or query names.
    """
    status = error.code or 500
    data: Mapping[str, Any] = getattr(error, "data", None) or {}
    errors: dict[str, list[str]] = {}
    if "messages" in data:
        for messages in data["messages"].values():
            for path, msgs in flatten_messages(messages).items():
                errors.setdefault(path, []).extend(msgs)
    elif "errors" in data:
        errors = dict(data["errors"])
    detail = data.get("message")
    if detail is None and (status not in _DETAILS or error.description != type(error).description):
        detail = error.description
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if status == 413 and detail is None and limit:
        detail = f"The request body is larger than the limit of {limit:,} bytes."
    headers = dict(data.get("headers") or {})
    if error.response is None:
        headers.update(
            (key, value)
            for key, value in error.get_headers()
            if key.lower() not in ("content-type", "content-length")
        )
    return problem(status, detail, errors, headers)
