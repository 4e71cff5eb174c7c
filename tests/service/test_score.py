"""POST /v1/score: scores in request order, per-call source overrides, nothing stored."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.schemas.responses import ScoresResponseSchema
from tests.service.helpers import assert_problem, row_counts


def test_scores_in_request_order_with_the_contract_fields(
    client: FlaskClient, scenario: dict[str, Any]
) -> None:
    response = client.post("/v1/score", json=scenario)
    assert response.status_code == 200
    body = response.get_json()
    assert ScoresResponseSchema().validate(body) == {}
    scores = body["scores"]
    assert [s["claim_id"] for s in scores] == [c["id"] for c in scenario["claims"]]
    troops = scores[2]
    low, high = troops["interval"]
    assert 0 <= low <= troops["confidence"] <= high <= 1
    assert troops["model"]["name"] and troops["model"]["version"]
    assert [e["source"] for e in troops["evidence"]] == [
        "kr-nis",
        "ua-president",
        "kr-nis",
        "us-pentagon",
    ]
    # One source through two relays is one piece of evidence; neutral carries no weight.
    assert troops["evidence"][2]["weight"] == 0 and troops["evidence"][2]["note"]
    assert troops["evidence"][3]["weight"] == 0
    assert set(troops["evidence"][0]) == {
        "source",
        "via",
        "stance",
        "reliability",
        "effective_reliability",
        "weight",
        "note",
    }


def test_stores_nothing(app: Flask, client: FlaskClient, scenario: dict[str, Any]) -> None:
    before = row_counts(app)
    assert client.post("/v1/score", json=scenario).status_code == 200
    assert row_counts(app) == before


def test_source_overrides_apply_to_the_call_only(client: FlaskClient) -> None:
    claim = {"text": "x", "attributions": [{"source": "someone"}]}
    unknown = client.post("/v1/score", json={"claims": [claim]}).get_json()["scores"][0]
    graded = client.post(
        "/v1/score", json={"claims": [claim], "sources": {"someone": {"grade": "A"}}}
    ).get_json()["scores"][0]
    defined = client.post(
        "/v1/score",
        json={"claims": [claim], "sources": {"someone": {"name": "S", "prior": {"grade": "A"}}}},
    ).get_json()["scores"][0]
    again = client.post("/v1/score", json={"claims": [claim]}).get_json()["scores"][0]
    assert graded["confidence"] > unknown["confidence"]
    assert defined["confidence"] == graded["confidence"]
    assert again["confidence"] == unknown["confidence"]


def test_catalogue_priors_are_used(client: FlaskClient) -> None:
    def confidence(source: str) -> float:
        body = {"claims": [{"text": "x", "attributions": [{"source": source}]}]}
        return float(client.post("/v1/score", json=body).get_json()["scores"][0]["confidence"])

    # "wire" is grade B in the test catalogue; "gov-b" has no prior and borrows gov:a's.
    assert confidence("wire") > confidence("nobody")
    assert confidence("gov-b") != confidence("nobody")


def test_unnamed_sources_may_have_counts(client: FlaskClient) -> None:
    def score(count: int) -> float:
        body = {
            "claims": [
                {"text": "x", "attributions": [{"source": "anon:officials", "count": count}]}
            ]
        }
        response = client.post("/v1/score", json=body)
        assert response.status_code == 200
        return float(response.get_json()["scores"][0]["confidence"])

    assert score(3) > score(1)


def test_one_source_via_two_relays_is_valid(client: FlaskClient) -> None:
    body = {
        "claims": [
            {
                "text": "x",
                "attributions": [
                    {"source": "kr-nis", "via": ["kr-media"]},
                    {"source": "kr-nis", "via": ["ap"]},
                ],
            }
        ]
    }
    assert client.post("/v1/score", json=body).status_code == 200


def test_questions_are_exclusive_within_a_call(client: FlaskClient) -> None:
    claims = [
        {
            "id": f"n-{n}",
            "text": f"{n} troops",
            "question": "how-many",
            "attributions": [{"source": "wire"}],
        }
        for n in (1500, 10000, 0)
    ]
    scores = client.post("/v1/score", json={"claims": claims}).get_json()["scores"]
    assert sum(s["confidence"] for s in scores) <= 1


def test_bad_sources_are_named(client: FlaskClient) -> None:
    body = {"claims": [], "sources": {"Bad Id": {"grade": "A"}, "ok": {"grade": "Z"}}}
    assert_problem(
        client.post("/v1/score", json=body),
        422,
        "sources.Bad Id.key",
        "sources.ok.value.prior.grade",
    )
