"""The application factory."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

import psycopg
from flask import Flask, Request, Response, current_app, g, request
from flask_smorest import Api
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from service import api, console
from service.app_state import AppState
from service.schemas.catalogue import load_catalogue
from service.scoring_model import configured_model
from service.settings import load_settings
from service.store.source_beliefs import SourceBookCache
from service.web import database, observability, retry
from service.web.auth import Denied, KeyRing, authorize, required_role
from service.web.json_provider import OrjsonProvider
from service.web.openapi_errors import ErrorResponses, Problem, register_problem_responses
from service.web.path_ids import path_id_errors, register_path_converters
from service.web.problems import from_http_exception, problem

log = logging.getLogger("credence.app")

_BODY_METHODS = ("POST", "PUT", "PATCH")


class CredenceApi(Api):
    """flask-smorest's Api with RFC 9457 problem details as the error body, and
    each operation's error responses documented as such (``service.web.openapi_errors``)."""

    ERROR_SCHEMA = Problem
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own errors

    def handle_http_exception(self, error: HTTPException) -> Response:
        return from_http_exception(error)

    def _register_responses(self) -> None:
        register_problem_responses(self.spec, self.ERROR_SCHEMA)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """A configured app; ``overrides`` is nested like config/default.toml.

    Raises
    ------
    ConfigError
        When the settings or the source catalogue are invalid (naming the key).
    """
    settings = load_settings(overrides)
    setup = configured_model(settings)
    observability.configure_logging(settings.server.log_level)

    app = Flask("service")
    app.json = OrjsonProvider(app)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.server.max_body_bytes,
        API_TITLE="Credence",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.json.sort_keys = False
    database.init_app(app, settings.database.url)
    app.extensions["credence"] = AppState(
        settings=settings,
        setup=setup,
        sources=SourceBookCache(setup, load_catalogue(settings.sources.catalogue)),
        keys=KeyRing(),
    )
    observability.init_app(app)
    app.before_request(_guard)
    # Raw DBAPI errors too: a pool checkout outside SQLAlchemy's wrapping (e.g. the
    # per-request counters read through ``engine.raw_connection()``) raises them as is.
    for unavailable in (
        OperationalError,
        InterfaceError,
        sqlite3.OperationalError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    ):
        app.register_error_handler(unavailable, _database_unavailable)
    app.register_error_handler(IntegrityError, _conflict)
    app.register_error_handler(Exception, _unexpected)

    smorest = CredenceApi(app, spec_kwargs={"extra_plugins": [ErrorResponses()]})
    register_path_converters(app, smorest)
    api.register(smorest)
    # The pages for people: the console at / and the API docs at /docs.
    console.register(app)
    retry.init_app(app)
    return app


def _guard() -> Response | None:
    """Credentials, role, content type and path id of /v1 requests, before their body is read."""
    # Every /v1 request pays this: the request and app are looked up once, not per use.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if not req.path.startswith("/v1/"):
        return None
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app_state: AppState = app.extensions["credence"]
    app_state.refresh()
    needed = required_role(app, req.endpoint, req.method)
    try:
        g.role = authorize(app_state.keys, needed, req)
    except Denied as denied:
        headers = {"WWW-Authenticate": "Bearer"} if denied.status == 401 else None
        return problem(denied.status, denied.detail, headers=headers)
    has_body = bool(req.content_length) or "Transfer-Encoding" in req.headers
    if req.method in _BODY_METHODS and has_body and not req.is_json:
        return problem(
            415, f"Send JSON (application/json, or a +json type), not {req.mimetype or 'nothing'}."
        )
    broken = path_id_errors(req.view_args)
    if broken:
        return problem(422, "The id in the path breaks the id rule.", broken)
    return None


# What the database said, by words of its message (SQLite) or SQLSTATE (PostgreSQL),
# as the status and detail of the answer; anything else is "not available".
_STORAGE_FULL = (507, "The database is out of storage space; nothing of this request was stored.")
_READ_ONLY = (503, "The database is read-only; nothing of this request was stored.")
_IO_ERROR = (503, "The database could not be written (I/O error); nothing was stored.")


def _storage_problem(error: Exception) -> tuple[int, str] | None:
    original = getattr(error, "orig", None) or error
    sqlstate = getattr(original, "sqlstate", None) or ""
    message = str(original or error).lower()
    if sqlstate == "53100" or "database or disk is full" in message:
        return _STORAGE_FULL
    if sqlstate == "25006" or "readonly database" in message or "read-only" in message:
        return _READ_ONLY
    if "disk i/o error" in message:
        return _IO_ERROR
    return None


def _database_unavailable(error: Exception) -> Response:
    storage = _storage_problem(error)
    log.warning(
        "database unavailable",
        extra={
            "fields": {
                "error": type(error).__name__,
                "cause": type(getattr(error, "orig", None) or error).__name__,
                "storage": storage[0] if storage else None,
            }
        },
    )
    if storage is not None:
        return problem(*storage)
    return problem(
        503, "The database is not available; try again shortly.", headers={"Retry-After": "1"}
    )


def _conflict(error: Exception) -> Response:
    log.warning("integrity error", extra={"fields": {"error": str(error.__cause__)}})
    return problem(409, "The request conflicts with stored data; retry it.")


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"fields": {"request_id": g.get("request_id")}})
    return problem(500)
