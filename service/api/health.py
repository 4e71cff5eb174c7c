"""Liveness and readiness probes (no credentials needed)."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlalchemy.exc import SQLAlchemyError

from service.api.blueprint import Blueprint
from service.schemas.responses import HealthSchema, ReadinessSchema
from service.store.schema_version import schema_problem
from service.web.database import get_engine
from service.web.problems import problem

blp = Blueprint("health", __name__, description="Probes for orchestrators.")


@blp.route("/healthz", methods=["GET"])
@blp.alt_response(200, schema=HealthSchema, success=True, description="The process answers.")
def healthz() -> dict[str, Any]:
    """Liveness: answers without touching the database."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.alt_response(200, schema=ReadinessSchema, success=True, description="Ready for traffic.")
def readyz() -> dict[str, Any] | Response:
    """Readiness: the database answers and its schema is at the migrations' head."""
    try:
        with get_engine().connect() as connection:
            wrong = schema_problem(connection)
    except SQLAlchemyError as exc:
        return problem(503, f"The database is not reachable: {type(exc).__name__}.")
    if wrong is not None:
        return problem(503, wrong)
    return {"status": "ready", "database": "ok", "migrations": "current"}
