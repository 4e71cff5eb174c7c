"""Values at the edges of what JSON, Python's times and the Beta functions hold:
a clear 4xx naming the field, never a 500, and nothing stored.

Each case here once gave a 500 (and the huge prior was stored before it did).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from service.store.models import Source
from tests.service.helpers import assert_problem, attributed, claim, row_counts

LONE = "\\ud800"  # a JSON escape of half a surrogate pair: no Unicode character
PAIR = "\\ud83d\\ude00"  # both halves: one character, U+1F600


def _post_raw(client: FlaskClient, method: str, path: str, body: str) -> Any:
    return client.open(path, method=method, data=body, content_type="application/json")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/claims", '{"claims": [{"id": "c1", "text": "bad %s"}]}'),
        ("POST", "/v1/score", '{"claims": [{"text": "x", "tags": ["%s"]}]}'),
        ("PUT", "/v1/sources/wire", '{"name": "Wire %s"}'),
        ("POST", "/v1/sources", '{"sources": [{"id": "wire", "notes": "%s"}]}'),
    ],
)
def test_a_lone_surrogate_is_malformed_json(
    app: Flask, client: FlaskClient, method: str, path: str, body: str
) -> None:
    before = row_counts(app)
    assert_problem(_post_raw(client, method, path, body % LONE), 400)
    assert row_counts(app) == before
    # Both halves of a pair are one character, and a good body.
    assert _post_raw(client, method, path, body % PAIR).status_code == 200


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_a_body_not_in_utf8_is_malformed(app: Flask, client: FlaskClient, encoding: str) -> None:
    before = row_counts(app)
    for text in ("fine", "bad " + LONE):
        body = ('{"claims": [{"id": "c1", "text": "' + text + '"}]}').encode(encoding)
        response = client.post("/v1/claims", data=body, content_type="application/json")
        assert_problem(response, 400)
    assert row_counts(app) == before


def test_a_byte_order_mark_before_the_body_is_allowed(client: FlaskClient) -> None:
    # As a file saved by an editor on Windows starts, sent with curl -d @file.json.
    body = '{"claims": [{"id": "c1", "text": "with a mark"}]}'.encode("utf-8-sig")
    response = client.post("/v1/claims", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert client.get("/v1/claims/c1").get_json()["text"] == "with a mark"


def test_a_paired_surrogate_is_stored_as_its_character(client: FlaskClient) -> None:
    body = '{"claims": [{"id": "c1", "text": "ok ' + PAIR + '"}]}'
    assert _post_raw(client, "POST", "/v1/claims", body).status_code == 200
    assert client.get("/v1/claims/c1").get_json()["text"] == "ok \U0001f600"


# Valid RFC 3339 times whose UTC time falls outside Python's years 1-9999.
EDGE_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("time", EDGE_TIMES)
def test_a_time_outside_the_utc_years_is_refused(
    app: Flask, client: FlaskClient, time: str
) -> None:
    before = row_counts(app)
    response = client.post("/v1/claims", json=attributed("wire", observed_at=time))
    assert_problem(response, 422, "claims.0.attributions.0.observed_at")
    assert_problem(client.get("/v1/calibration", query_string={"since": time}), 422, "since")
    assert client.post("/v1/claims", json={"claims": [claim()]}).status_code == 200
    stored = row_counts(app)
    response = client.post(
        "/v1/claims/c1/resolution", json={"outcome": "confirmed", "resolved_at": time}
    )
    assert_problem(response, 422, "resolved_at")
    assert row_counts(app) == stored != before


HUGE_PRIORS = [
    ({"reliability": 0.5, "strength": 1e308}, "strength"),
    ({"alpha": 1e307, "beta": 1e307}, "alpha"),
    ({"alpha": 1e20, "beta": 1.0}, "alpha"),
    ({"alpha": 1.0, "beta": 1e6 + 1}, "beta"),
]


@pytest.mark.parametrize(
    ("prior", "field"), HUGE_PRIORS, ids=[json.dumps(p) for p, _ in HUGE_PRIORS]
)
def test_a_prior_past_a_million_observations_is_refused(
    app: Flask, client: FlaskClient, prior: dict[str, float], field: str
) -> None:
    before = row_counts(app)
    assert_problem(client.put("/v1/sources/wire", json={"prior": prior}), 422, f"prior.{field}")
    batch = {"sources": [{"id": "fine"}, {"id": "wire", "prior": prior}]}
    assert_problem(client.post("/v1/sources", json=batch), 422, f"sources.1.prior.{field}")
    assert row_counts(app) == before
    assert client.get("/v1/sources/fine").status_code == 404


def test_a_stored_prior_past_the_rule_still_reads(make_app: Callable[..., Flask]) -> None:
    """The rule is for what comes in: a definition stored before it (two million
    observations worked then) reads and scores as it did."""
    app = make_app()
    assert (
        app.test_client().put("/v1/sources/big", json={"prior": {"grade": "B"}}).status_code == 200
    )
    with Session(app.extensions["credence.engine"]) as session, session.begin():
        session.execute(
            update(Source)
            .where(Source.id == "big")
            .values(prior={"reliability": 0.9, "strength": 2e6})
        )
    client = make_app().test_client()  # another process, reading the store afresh
    source = client.get("/v1/sources/big")
    assert source.status_code == 200 and source.get_json()["reliability"]["mean"] == pytest.approx(
        0.9
    )
    body = {"claims": [{"id": "c1", "text": "x", "attributions": [{"source": "big"}]}]}
    assert client.post("/v1/claims", json=body).status_code == 200
    assert client.get("/v1/sources").status_code == 200


def test_a_prior_of_a_million_observations_is_read_back(client: FlaskClient) -> None:
    response = client.put("/v1/sources/wire", json={"prior": {"alpha": 1e6, "beta": 1e6}})
    assert response.status_code == 200
    low, high = response.get_json()["reliability"]["interval"]
    assert 0.499 < low < 0.5 < high < 0.501
    assert client.get("/v1/sources").status_code == 200
