"""Helpers of the service tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.schemas.requests import (
    AttributionBatchSchema,
    ClaimBatchSchema,
    ScoreRequestSchema,
    _FastLoad,
)
from service.store.models import Base


def write_lines(path: Path, rows: list[Any]) -> Path:
    """``rows`` as a JSON Lines file at ``path``."""
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


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


def claim(**fields: Any) -> dict[str, Any]:
    """A request claim "c1" with ``fields`` set."""
    return {"id": "c1", "text": "A claim.", **fields}


def figure_answers(
    question: str, figures: list[tuple[str, dict[str, float]]], prefix: str = "n"
) -> list[dict[str, Any]]:
    """Answers ``<prefix>0``, ``<prefix>1``, ... of the numeric ``question``, each a
    figure (a claim's ``value``) by its one source: ``figures`` as (source, value)."""
    return [
        {"id": f"{prefix}{i}", "text": f"Figure {i}.", "question": question, "value": value,
         "attributions": [{"source": source}]}
        for i, (source, value) in enumerate(figures)
    ]  # fmt: skip


def attributed(source: str, /, **attribution: Any) -> dict[str, Any]:
    """A claim batch of one claim with one attribution of ``source`` (unless
    ``attribution`` names another)."""
    return {"claims": [claim(attributions=[{"source": source, **attribution}])]}


def assert_both_paths_refuse_alike(body: dict[str, Any]) -> None:
    """The fast path and marshmallow refuse a claim batch with the same messages
    (needs an app context); an attribution batch of its attributions is refused too."""
    for schema in (ClaimBatchSchema(), ScoreRequestSchema()):
        with pytest.raises(ma.ValidationError) as fast:
            schema.load(body)
        with pytest.raises(ma.ValidationError) as slow:
            super(_FastLoad, schema).load(body)
        assert fast.value.messages == slow.value.messages
    attributions = body["claims"][0].get("attributions")
    if attributions:
        with pytest.raises(ma.ValidationError):
            AttributionBatchSchema().load({"attributions": attributions})
