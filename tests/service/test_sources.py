"""Sources: definitions, track records, reliabilities, and each process's cache of them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from service.schemas.responses import SourcePageSchema, StoredSourceSchema
from service.store.models import Claim
from tests.service.helpers import assert_problem, row_counts


def _score(client: FlaskClient, source: str) -> float:
    body = {"claims": [{"text": "x", "attributions": [{"source": source}]}]}
    return float(client.post("/v1/score", json=body).get_json()["scores"][0]["confidence"])


def test_put_then_get(client: FlaskClient) -> None:
    definition = {
        "name": "Reuters",
        "kind": "news-agency",
        "group": "media:intl",
        "prior": {"grade": "A"},
        "notes": "wire",
    }
    response = client.put("/v1/sources/reuters", json=definition)
    assert response.status_code == 200
    body = response.get_json()
    assert StoredSourceSchema().validate(body) == {}
    source = body
    assert {k: source[k] for k in definition} == definition
    assert source["reliability"]["grade"] == "A" and source["origin"] == "api"
    assert source["track_record"] == {"confirmed": 0, "refuted": 0, "pending": 0}
    assert client.get("/v1/sources/reuters").get_json() == body


def test_each_prior_form(client: FlaskClient) -> None:
    for prior in ({"alpha": 8, "beta": 2}, {"reliability": 0.8, "strength": 10}, {"grade": "F"}):
        response = client.put("/v1/sources/s", json={"prior": prior})
        assert response.status_code == 200, response.get_json()
    mean = client.put("/v1/sources/s", json={"prior": {"alpha": 8, "beta": 2}}).get_json()
    assert mean["reliability"]["mean"] == 0.8


def test_bad_definitions_are_named(app: Flask, client: FlaskClient) -> None:
    before = row_counts(app)
    cases = [
        ({"prior": {"grade": "G"}}, "prior.grade"),
        ({"prior": {"alpha": 1}}, "prior.beta"),
        ({"prior": {"alpha": 1, "beta": 1, "grade": "A"}}, "prior.grade"),
        ({"prior": {"reliability": 1.0, "strength": 3}}, "prior.reliability"),
        ({"group": "Not A Slug"}, "group"),
        ({"colour": "red"}, "colour"),
    ]
    for body, field in cases:
        assert_problem(client.put("/v1/sources/s", json=body), 422, field)
    assert_problem(client.put("/v1/sources/Bad.ID", json={}), 422, "id")
    assert row_counts(app) == before


def test_catalogue_sources_are_listed_and_overridden(client: FlaskClient) -> None:
    wire = client.get("/v1/sources/wire").get_json()
    assert wire["origin"] == "catalogue" and wire["reliability"]["grade"] == "B"
    client.put("/v1/sources/wire", json={"prior": {"grade": "E"}})
    wire = client.get("/v1/sources/wire").get_json()
    assert wire["origin"] == "api" and wire["reliability"]["grade"] == "E"
    assert_problem(client.get("/v1/sources/never-defined"), 404)


def test_list_pages_by_id(client: FlaskClient) -> None:
    client.put("/v1/sources/aaa", json={})
    body = client.get("/v1/sources?limit=2").get_json()
    assert SourcePageSchema().validate(body) == {}
    seen = [s["id"] for s in body["sources"]]
    while body["next_cursor"]:
        body = client.get(f"/v1/sources?limit=2&cursor={body['next_cursor']}").get_json()
        seen += [s["id"] for s in body["sources"]]
    assert seen == ["aaa", "gov-a", "gov-b", "wire"]


def test_track_record_counts_claims_by_outcome(app: Flask, client: FlaskClient) -> None:
    claims = [
        {
            "id": "c1",
            "text": "1",
            "attributions": [{"source": "wire"}, {"source": "wire", "via": ["x"]}],
        },
        {"id": "c2", "text": "2", "attributions": [{"source": "wire", "stance": "refutes"}]},
        {"id": "c3", "text": "3", "attributions": [{"source": "wire", "stance": "neutral"}]},
    ]
    client.post("/v1/claims", json={"claims": claims})
    with Session(app.extensions["credence.engine"]) as session, session.begin():
        session.execute(update(Claim).where(Claim.id == "c2").values(status="refuted"))
    record = client.get("/v1/sources/wire").get_json()["track_record"]
    assert record == {"confirmed": 0, "refuted": 1, "pending": 1}


def test_other_processes_see_a_changed_source(make_app: Any) -> None:
    first, second = make_app().test_client(), make_app().test_client()
    before = _score(second, "newcomer")
    assert first.put("/v1/sources/newcomer", json={"prior": {"grade": "A"}}).status_code == 200
    assert _score(second, "newcomer") > before
    assert second.get("/v1/sources/newcomer").get_json()["reliability"]["grade"] == "A"


def test_group_members_without_prior_borrow_from_the_group(client: FlaskClient) -> None:
    neutral = _score(client, "gov-b")
    client.put("/v1/sources/gov-a", json={"group": "gov:a", "prior": {"alpha": 90, "beta": 10}})
    assert _score(client, "gov-b") > neutral
