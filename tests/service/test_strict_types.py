"""Numbers are JSON numbers: a string ("0.5") or a boolean in a numeric field is a 422
naming the field, on the fast path and on marshmallow's, and the OpenAPI types say so."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.schemas.requests import (
    PriorSchema,
)
from tests.service.helpers import (
    assert_both_paths_refuse_alike,
    assert_problem,
    attributed,
    claim,
    row_counts,
)

A = "claims.0.attributions.0."


def _attributed(**attribution: Any) -> dict[str, Any]:
    return attributed("anon:officials", **attribution)


# (body, field): every numeric field of a claim batch, given as a string or a boolean.
CLAIM_CASES = [
    ({"claims": [claim(prior="0.5")]}, "claims.0.prior"),
    ({"claims": [claim(prior="1e-1")]}, "claims.0.prior"),
    ({"claims": [claim(prior=True)]}, "claims.0.prior"),
    (_attributed(certainty="1"), A + "certainty"),
    (_attributed(certainty="0.5"), A + "certainty"),
    (_attributed(certainty=True), A + "certainty"),
    (_attributed(count="3"), A + "count"),
    (_attributed(count=True), A + "count"),
    (_attributed(count=3.0), A + "count"),
]


@pytest.mark.parametrize(("body", "field"), CLAIM_CASES, ids=[f for _, f in CLAIM_CASES])
@pytest.mark.parametrize("path", ["/v1/claims", "/v1/score"])
def test_numbers_as_strings_or_booleans_are_refused(
    app: Flask, client: FlaskClient, path: str, body: dict[str, Any], field: str
) -> None:
    before = row_counts(app)
    assert_problem(client.post(path, json=body), 422, field)
    assert row_counts(app) == before


@pytest.mark.parametrize(
    ("attribution", "field"),
    [({"certainty": "0.5"}, "certainty"), ({"count": "2"}, "count"), ({"certainty": False}, "c")],
)
def test_attributions_refuse_strings_for_numbers(
    client: FlaskClient, attribution: dict[str, Any], field: str
) -> None:
    assert client.post("/v1/claims", json={"claims": [claim()]}).status_code == 200
    body = {"attributions": [{"source": "anon:x", **attribution}]}
    response = client.post("/v1/claims/c1/attributions", json=body)
    field = "certainty" if field == "c" else field
    assert_problem(response, 422, f"attributions.0.{field}")


@pytest.mark.parametrize(
    ("prior", "field"),
    [
        ({"alpha": "2", "beta": 3}, "prior.alpha"),
        ({"alpha": 2, "beta": "3"}, "prior.beta"),
        ({"reliability": "0.7", "strength": 5}, "prior.reliability"),
        ({"reliability": 0.7, "strength": "5"}, "prior.strength"),
        ({"alpha": True, "beta": 3}, "prior.alpha"),
    ],
)
def test_source_priors_refuse_strings(
    client: FlaskClient, prior: dict[str, Any], field: str
) -> None:
    assert_problem(client.put("/v1/sources/s", json={"prior": prior}), 422, field)
    overrides = {"claims": [claim()], "sources": {"s": prior}}
    assert_problem(client.post("/v1/score", json=overrides), 422, f"sources.s.value.{field}")


def test_json_numbers_still_load(client: FlaskClient) -> None:
    """Integers where a number is expected are numbers; nothing else changed."""
    body = _attributed(certainty=1, count=3)
    body["claims"][0]["prior"] = 0.25
    assert client.post("/v1/claims", json=body).status_code == 200
    prior = {"prior": {"alpha": 2, "beta": 3}}
    assert client.put("/v1/sources/s", json=prior).status_code == 200


@pytest.mark.parametrize(("body", "field"), CLAIM_CASES, ids=[f for _, f in CLAIM_CASES])
def test_both_paths_refuse_alike(app_context: Flask, body: dict[str, Any], field: str) -> None:
    assert_both_paths_refuse_alike(body)


def test_query_numbers_still_read_from_text(client: FlaskClient) -> None:
    """Query strings are text: their numbers are parsed, not refused."""
    assert client.get("/v1/claims?min_confidence=0.5&limit=3").status_code == 200


def test_openapi_types(client: FlaskClient) -> None:
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    attribution, claim = schemas["Attribution"]["properties"], schemas["Claim"]["properties"]
    assert attribution["certainty"]["type"] == "number"
    assert attribution["count"]["type"] == "integer"
    assert claim["prior"]["type"] == "number"
    prior = schemas["Prior"]["properties"]
    assert {prior[k]["type"] for k in ("alpha", "beta", "reliability", "strength")} == {"number"}
    assert claim["text"]["type"] == "string"


def test_prior_schema_alone(app_context: Flask) -> None:
    assert PriorSchema().load({"alpha": 2, "beta": 3.5}) == {"alpha": 2.0, "beta": 3.5}
    with pytest.raises(ma.ValidationError) as refused:
        PriorSchema().load({"alpha": "2", "beta": 3})
    assert refused.value.messages == {"alpha": ["Not a valid number."]}
