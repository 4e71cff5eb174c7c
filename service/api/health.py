"""Liveness and readiness probes (no credentials needed)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from service.app_state import state
from service.schemas.responses import HealthSchema, ReadinessSchema
from service.store.schema_migrations import current_revision
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
    head = state().migrations_head
    try:
        with get_engine().connect() as connection:
            current = current_revision(connection)
    except SQLAlchemyError as exc:
        return problem(503, f"The database is not reachable: {type(exc).__name__}.")
    if current != head:
        return problem(
            503, f"The database schema is at {current}, not {head}: run `credence migrate`."
        )
    return {"status": "ready", "database": "ok", "migrations": "current"}
