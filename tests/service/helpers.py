"""Helpers of the service tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Base


def auth(header: str) -> dict[str, str]:
    return {"Authorization": header}


def row_counts(app: Flask) -> dict[str, int]:
    """Rows in every table: what a failed request must leave unchanged."""
    with Session(app.extensions["credence.engine"]) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is problem+json of ``status`` naming each of ``fields``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    for field in fields:
        assert field in body["errors"], (field, body["errors"])
    return body
