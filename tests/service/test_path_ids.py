"""Ids in paths follow their rule: a claim's or a source's id is a slug, a job's id is
its own format. One that breaks it is a 422 naming ``id``, on every method, after
authentication, and the OpenAPI document carries the pattern and the 422."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.schemas.requests import JOB_ID_PATTERN, SLUG_PATTERN
from service.web.auth import Role
from tests.service.helpers import assert_problem, auth, row_counts

BROKEN = {
    "upper": "Claim",
    "space": "a b",
    "sql": "x'; DROP TABLE claims; --",
    "lookalike": "\u0441laim",
    "zero-width": "cl\u200baim",
    "nul": "c\x00",
    "newline": "claim\n",
    "leading-dot": ".claim",
    "129-chars": "a" * 129,
    "10kb": "a" * 10_240,
}

# (method, path template, JSON body or None)
CLAIM_ROUTES = [
    ("GET", "/v1/claims/{}", None),
    ("POST", "/v1/claims/{}/attributions", {"attributions": [{"source": "wire"}]}),
    ("POST", "/v1/claims/{}/resolution", {"outcome": "confirmed"}),
    ("DELETE", "/v1/claims/{}/resolution", None),
    ("GET", "/v1/claims/{}/history", None),
    ("GET", "/v1/sources/{}", None),
    ("PUT", "/v1/sources/{}", {"prior": {"grade": "A"}}),
]


def _open(client: FlaskClient, method: str, path: str, body: Any, **kwargs: Any) -> Any:
    return client.open(path, method=method, json=body, **kwargs)


@pytest.mark.parametrize("bad", BROKEN.values(), ids=BROKEN.keys())
@pytest.mark.parametrize(
    ("method", "template", "body"), CLAIM_ROUTES, ids=[f"{m} {t}" for m, t, _ in CLAIM_ROUTES]
)
def test_a_broken_slug_in_the_path_is_a_422_naming_id(
    app: Flask, client: FlaskClient, method: str, template: str, body: Any, bad: str
) -> None:
    before = row_counts(app)
    response = _open(client, method, template.format(quote(bad, safe="")), body)
    problem = assert_problem(response, 422, "id")
    assert SLUG_PATTERN in problem["errors"]["id"][0]
    assert row_counts(app) == before


@pytest.mark.parametrize("bad", ["nope", "0" * 31, "0" * 33, "A" * 32, "g" * 32, "0" * 32 + "\n"])
def test_a_broken_job_id_is_a_422_naming_id(client: FlaskClient, bad: str) -> None:
    problem = assert_problem(client.get(f"/v1/jobs/{quote(bad, safe='')}"), 422, "id")
    assert JOB_ID_PATTERN in problem["errors"]["id"][0]


def test_well_formed_unknown_ids_are_still_404(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/claims/no-such-claim"), 404)
    assert_problem(client.get("/v1/claims/no-such-claim/history"), 404)
    body = {"attributions": [{"source": "wire"}]}
    assert_problem(client.post("/v1/claims/no-such-claim/attributions", json=body), 404)
    assert_problem(client.get("/v1/sources/no-such-source"), 404)
    assert_problem(client.get(f"/v1/jobs/{'0' * 32}"), 404)


def test_well_formed_ids_still_work(client: FlaskClient) -> None:
    for claim_id in ("c", "a.b_c:d-e", "0" + "z" * 127):
        body = {"claims": [{"id": claim_id, "text": "t"}]}
        assert client.post("/v1/claims", json=body).status_code == 200
        assert client.get(f"/v1/claims/{claim_id}").get_json()["id"] == claim_id
    assert client.put("/v1/sources/anon:x.y", json={}).status_code == 200
    assert client.get("/v1/sources/anon:x.y").status_code == 200


def test_credentials_come_before_the_id(
    make_app: Callable[..., Flask], new_key: Callable[[Role], str]
) -> None:
    """With keys: no key is 401 and a weaker role 403 whatever the id; then the id."""
    client = make_app().test_client()
    body = {"attributions": [{"source": "wire"}]}
    path = "/v1/claims/Bad/attributions"
    # ``new_key`` stores the key in the test database, which every app here shares.
    write, read = new_key("write"), new_key("read")
    assert_problem(client.post(path, json=body), 401)
    assert_problem(client.post(path, json=body, headers=auth(f"Bearer {read}")), 403)
    # The route is known, so is its role: a write key may add evidence, and hears about the id.
    assert_problem(client.post(path, json=body, headers=auth(f"Bearer {write}")), 422, "id")
    assert_problem(client.get("/v1/jobs/nope", headers=auth(f"Bearer {read}")), 422, "id")


def test_openapi_path_parameters_carry_the_pattern(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    expected = {
        "claim_id": SLUG_PATTERN,
        "source_id": SLUG_PATTERN,
        "question_id": SLUG_PATTERN,
        "job_id": JOB_ID_PATTERN,
    }
    seen = set()
    for path, operations in spec["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            for method, operation in operations.items():
                if method == "parameters":
                    continue
                parameters = operation.get("parameters", []) + operations.get("parameters", [])
                [parameter] = [p for p in parameters if p["in"] == "path" and p["name"] == name]
                assert parameter["schema"]["pattern"] == expected[name], (path, method)
                assert "422" in operation["responses"], (path, method)
                assert "404" in operation["responses"], (path, method)
                seen.add(path)
    assert {
        "/v1/claims/{claim_id}",
        "/v1/claims/{claim_id}/attributions",
        "/v1/claims/{claim_id}/resolution",
        "/v1/claims/{claim_id}/history",
        "/v1/sources/{source_id}",
        "/v1/questions/{question_id}",
        "/v1/questions/{question_id}/resolution",
        "/v1/jobs/{job_id}",
    } <= seen
    # The documented patterns are the ones enforced: Python's anchors differ only at "\n".
    assert re.fullmatch(SLUG_PATTERN[1:-1], "a" * 128)
    assert not re.fullmatch(SLUG_PATTERN[1:-1], "a" * 129)


def test_a_trailing_newline_is_not_a_slug_in_bodies_either(client: FlaskClient) -> None:
    """``$`` matches before a final newline in Python; the slug rule does not."""
    body = {"claims": [{"id": "c\n", "text": "t", "attributions": [{"source": "wire\n"}]}]}
    for path in ("/v1/claims", "/v1/score"):
        assert_problem(
            client.post(path, json=body), 422, "claims.0.id", "claims.0.attributions.0.source"
        )
