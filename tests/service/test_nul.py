"""NUL (U+0000) in any string a request carries: a 422 naming the field, never a 500.

PostgreSQL cannot store NUL in text (nor compare with it), so a claim's text once
gave a 500 there. Every string field of every request schema refuses it, on the
fast path and on marshmallow's; the tests run on each backend.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import fields

from service.schemas import requests as request_schemas
from service.schemas.requests import (
    AwareTime,
    Text,
)
from tests.service.helpers import (
    assert_both_paths_refuse_alike,
    assert_problem,
    attributed,
    claim,
    row_counts,
)

NUL = "\x00"
A = "claims.0.attributions.0."


def _attributed(**attribution: Any) -> dict[str, Any]:
    return attributed("wire", **attribution)


CLAIM_CASES = [
    ({"claims": [claim(text=f"North{NUL}Korea")]}, "claims.0.text"),
    ({"claims": [claim(text=NUL)]}, "claims.0.text"),
    ({"claims": [claim(tags=["ok", f"t{NUL}"])]}, "claims.0.tags.1"),
    ({"claims": [claim(id=f"c{NUL}")]}, "claims.0.id"),
    ({"claims": [claim(question=f"q{NUL}")]}, "claims.0.question"),
    (_attributed(quote=f"said{NUL}"), A + "quote"),
    (_attributed(url=f"https://example.org/{NUL}"), A + "url"),
    (_attributed(source=f"wire{NUL}"), A + "source"),
    (_attributed(via=[f"ap{NUL}"]), A + "via.0"),
    (_attributed(stance=f"supports{NUL}"), A + "stance"),
    (_attributed(observed_at=f"2024-03-01T10:00:00Z{NUL}"), A + "observed_at"),
]


@pytest.mark.parametrize(("body", "field"), CLAIM_CASES, ids=[f for _, f in CLAIM_CASES])
@pytest.mark.parametrize("path", ["/v1/claims", "/v1/score"])
def test_nul_in_a_claim_batch_is_refused(
    app: Flask, client: FlaskClient, path: str, body: dict[str, Any], field: str
) -> None:
    before = row_counts(app)
    body_ = assert_problem(client.post(path, json=body), 422, field)
    assert row_counts(app) == before, body_


@pytest.mark.parametrize(
    ("attribution", "field"),
    [({"quote": NUL}, "quote"), ({"url": NUL}, "url"), ({"source": f"a{NUL}"}, "source")],
)
def test_nul_in_added_evidence_is_refused(
    app: Flask, client: FlaskClient, attribution: dict[str, Any], field: str
) -> None:
    assert client.post("/v1/claims", json={"claims": [claim()]}).status_code == 200
    before = row_counts(app)
    body = {"attributions": [{"source": "wire", **attribution}]}
    response = client.post("/v1/claims/c1/attributions", json=body)
    assert_problem(response, 422, f"attributions.0.{field}")
    assert row_counts(app) == before


@pytest.mark.parametrize("field", ["name", "kind", "notes", "group"])
def test_nul_in_a_source_is_refused(app: Flask, client: FlaskClient, field: str) -> None:
    before = row_counts(app)
    value = f"gov{NUL}" if field == "group" else f"x{NUL}y"
    assert_problem(client.put("/v1/sources/s", json={field: value}), 422, field)
    assert_problem(client.put("/v1/sources/s", json={"prior": {"grade": f"A{NUL}"}}), 422)
    overrides = {"claims": [claim()], "sources": {"s": {field: value}}}
    assert_problem(client.post("/v1/score", json=overrides), 422, f"sources.s.value.{field}")
    assert row_counts(app) == before


def test_nul_in_a_resolution_note_is_refused(app: Flask, client: FlaskClient) -> None:
    assert client.post("/v1/claims", json={"claims": [claim()]}).status_code == 200
    before = row_counts(app)
    body = {"outcome": "confirmed", "note": f"per{NUL}report"}
    assert_problem(client.post("/v1/claims/c1/resolution", json=body), 422, "note")
    body = {"outcome": f"confirmed{NUL}"}
    assert_problem(client.post("/v1/claims/c1/resolution", json=body), 422, "outcome")
    body = {"outcome": "confirmed", "resolved_at": f"2024-03-01T10:00:00+00:00{NUL}"}
    assert_problem(client.post("/v1/claims/c1/resolution", json=body), 422, "resolved_at")
    assert row_counts(app) == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/claims?q=a%00b", "q"),
        ("/v1/claims?tag=a%00", "tag"),
        ("/v1/claims?source=a%00", "source"),
        ("/v1/claims?cursor=%00", "cursor"),
        # A cursor that decodes to a NUL: not one of ours.
        ("/v1/claims?cursor=" + base64.urlsafe_b64encode(b"a\x00").decode(), "cursor"),
        ("/v1/sources?cursor=" + base64.urlsafe_b64encode(b"\x00").decode(), "cursor"),
        ("/v1/calibration?tag=a%00", "tag"),
        ("/v1/calibration?since=2024-03-01T10:00:00Z%00", "since"),
    ],
)
def test_nul_in_a_query_is_refused(client: FlaskClient, path: str, field: str) -> None:
    assert_problem(client.get(path), 422, field)


def test_a_text_without_nul_is_stored_as_sent(client: FlaskClient) -> None:
    """Other control characters and non-ASCII text are stored and returned as they are."""
    text = "Tab\there, newline\nthere, \u0001, \u00e9t\u00e9, \U0001f600."
    body = {"claims": [claim(text=text, tags=["\u00e9"], attributions=[{"source": "wire"}])]}
    assert client.post("/v1/claims", json=body).status_code == 200
    stored = client.get("/v1/claims/c1").get_json()
    assert stored["text"] == text and stored["tags"] == ["\u00e9"]


# Marshmallow's and the fast path's verdicts match on every case.


@pytest.mark.parametrize(("body", "field"), CLAIM_CASES, ids=[f for _, f in CLAIM_CASES])
def test_both_paths_refuse_alike(app_context: Flask, body: dict[str, Any], field: str) -> None:
    assert_both_paths_refuse_alike(body)


def _string_fields(schema: ma.Schema, where: str) -> Iterator[tuple[str, fields.Field]]:
    for name, field in schema.fields.items():
        yield from _inner(field, f"{where}.{name}")


def _inner(field: fields.Field, where: str) -> Iterator[tuple[str, fields.Field]]:
    if isinstance(field, fields.String | fields.DateTime):
        yield where, field
    elif isinstance(field, fields.List):
        yield from _inner(field.inner, f"{where}[]")
    elif isinstance(field, fields.Dict):
        if field.key_field is not None:
            yield from _inner(field.key_field, f"{where}{{key}}")
        if field.value_field is not None:
            yield from _inner(field.value_field, f"{where}{{value}}")
    elif isinstance(field, fields.Nested):
        yield from _string_fields(field.schema, where)


REQUEST_SCHEMAS = [
    request_schemas.ClaimBatchSchema,
    request_schemas.ScoreRequestSchema,
    request_schemas.AttributionBatchSchema,
    request_schemas.SourceSchema,
    request_schemas.SourceOverrideSchema,
    request_schemas.PageQuerySchema,
    request_schemas.ClaimQuerySchema,
    request_schemas.ResolutionRequestSchema,
    request_schemas.CalibrationQuerySchema,
    request_schemas.JobsQuerySchema,
]


def test_every_request_string_field_refuses_nul() -> None:
    """A string field added to a request schema later must be a ``Text`` (or an
    ``AwareTime``: Python's time parser stops at a NUL) too."""
    found = [
        (where, field)
        for schema in REQUEST_SCHEMAS
        for where, field in _string_fields(schema(), schema.__name__)
    ]
    assert len(found) > 20
    plain = [where for where, field in found if not isinstance(field, Text | AwareTime)]
    assert plain == []
    for where, field in found:
        with pytest.raises(ma.ValidationError):
            field.deserialize(f"a{NUL}")
        assert where
