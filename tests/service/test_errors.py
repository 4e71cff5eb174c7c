"""Errors are problem+json with the documented status, name the fields, and store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.service.helpers import assert_problem, row_counts


def _claim(**attribution: Any) -> dict[str, Any]:
    return {"claims": [{"text": "t", "attributions": [{"source": "s", **attribution}]}]}


BAD_BODIES = [
    (_claim(certainty=0), "claims.0.attributions.0.certainty"),
    (_claim(certainty=1.5), "claims.0.attributions.0.certainty"),
    (_claim(count=0), "claims.0.attributions.0.count"),
    (_claim(count=-3), "claims.0.attributions.0.count"),
    (_claim(count=10**12), "claims.0.attributions.0.count"),
    (_claim(count=2), "claims.0.attributions.0.count"),
    (_claim(count=2.5), "claims.0.attributions.0.count"),
    (_claim(stance="maybe"), "claims.0.attributions.0.stance"),
    (_claim(via=["s"]), "claims.0.attributions.0.via"),
    (_claim(via=["a", "b", "a"]), "claims.0.attributions.0.via"),
    (_claim(via=["../etc"]), "claims.0.attributions.0.via.0"),
    (_claim(observed_at="yesterday"), "claims.0.attributions.0.observed_at"),
    (_claim(colour="red"), "claims.0.attributions.0.colour"),
    ({"claims": [{"text": ""}]}, "claims.0.text"),
    ({"claims": [{"text": "x" * 10_001}]}, "claims.0.text"),
    ({"claims": [{"text": "t", "prior": 1}]}, "claims.0.prior"),
    ({"claims": [{"text": "t", "prior": 0}]}, "claims.0.prior"),
    ({"claims": [{"text": "t", "id": "Ünïcode"}]}, "claims.0.id"),
    ({"claims": [{"text": "t", "id": "x'; DROP TABLE claims; --"}]}, "claims.0.id"),
    ({"claims": [{"text": "t", "id": "a" * 10_000}]}, "claims.0.id"),
    ({"claims": [{"text": 5}]}, "claims.0.text"),
    ({"claims": [{"text": "t"}] * 10_001}, "claims"),
    (
        {"claims": [{"text": "t", "attributions": [{"source": "s"}] * 1_001}]},
        "claims.0.attributions",
    ),
    ({"claims": "all of them"}, "claims"),
    ({}, "claims"),
    ([], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
@pytest.mark.parametrize("path", ["/v1/score", "/v1/claims"])
def test_bad_input_is_422_naming_the_field(
    app: Flask, client: FlaskClient, path: str, body: Any, field: str
) -> None:
    before = row_counts(app)
    assert_problem(client.post(path, json=body), 422, field)
    assert row_counts(app) == before


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(client: FlaskClient, token: str) -> None:
    attribution = '{"source": "s", "certainty": ' + token + "}"
    raw = '{"claims": [{"text": "t", "attributions": [' + attribution + "]}]}"
    response = client.post("/v1/score", data=raw, content_type="application/json")
    assert_problem(response, 422, "claims.0.attributions.0.certainty")


@pytest.mark.parametrize("raw", ['{"claims": [', "not json", '{"claims": []}}', "\x00"])
def test_malformed_json_is_400(client: FlaskClient, raw: str) -> None:
    assert_problem(client.post("/v1/claims", data=raw, content_type="application/json"), 400)


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    body = json.dumps({"claims": []})
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post("/v1/score", data=body, content_type=content_type)
        assert_problem(response, 415)
    assert_problem(client.put("/v1/sources/s", data="<x/>", content_type="application/xml"), 415)


def test_body_over_the_limit_is_413(make_app: Any) -> None:
    client = make_app(server={"max_body_bytes": 1_000}).test_client()
    body = {"claims": [{"text": "x" * 2_000}]}
    refused = client.post("/v1/claims", json=body)
    assert_problem(refused, 413)
    assert (
        refused.get_json()["detail"] == "The request body is larger than the limit of 1,000 bytes."
    )


def test_unknown_path_and_method(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.delete("/v1/claims"), 405)
