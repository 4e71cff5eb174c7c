"""POST /v1/sources and POST /v1/resolutions: many writes in one request, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.schemas.requests import MAX_BATCH_WRITES
from service.schemas.responses import ClaimsResponseSchema, SourceListSchema
from service.store.models import SourceReliability
from tests.learning.common import engine_of
from tests.service.helpers import assert_problem, auth, row_counts

CLAIMS = [
    {
        "id": f"c{i}",
        "text": f"Claim {i}.",
        "attributions": [
            {"source": f"s{i % 3}"},
            {"source": f"s{(i + 1) % 3}", "stance": "refutes"},
            {"source": "s9", "via": [f"s{i % 2}"]},
        ],
    }
    for i in range(6)
]


def _learned(app: Flask) -> dict[str, tuple[float, float]]:
    with Session(engine_of(app)) as session:
        rows = session.execute(
            select(SourceReliability.source_id, SourceReliability.alpha, SourceReliability.beta)
        )
        return {s: (a, b) for s, a, b in rows}


def test_sources_are_defined_together(make_app: Callable[..., Flask]) -> None:
    first, second = make_app().test_client(), make_app().test_client()
    before = second.get("/v1/sources/zeta").status_code
    body = {
        "sources": [
            {"id": "zeta", "name": "Zeta", "group": "g", "prior": {"grade": "A"}},
            {"id": "alpha", "kind": "outlet", "group": "g"},
            {"id": "wire", "prior": {"alpha": 2, "beta": 8}},
        ]
    }
    response = first.post("/v1/sources", json=body)
    assert response.status_code == 200, response.get_json()
    stored = response.get_json()
    assert SourceListSchema().validate(stored) == {}
    assert [s["id"] for s in stored["sources"]] == ["zeta", "alpha", "wire"]
    assert stored["sources"][0]["reliability"]["grade"] == "A"
    # The catalogue's wire is replaced whole, as PUT does.
    assert stored["sources"][2]["group"] is None and stored["sources"][2]["origin"] == "api"
    # Another process sees all of them on its next request; alpha borrows zeta's prior.
    assert before == 404
    for document in stored["sources"]:
        seen = second.get(f"/v1/sources/{document['id']}").get_json()
        # Intervals are Monte Carlo draws seeded per call: they depend on the batch.
        for one in (seen, document):
            one["reliability"].pop("interval")
        assert seen == document
    assert stored["sources"][1]["reliability"]["mean"] > 0.5


def test_a_bad_source_stores_none(app: Flask, client: FlaskClient) -> None:
    counts = row_counts(app)
    cases: list[tuple[Any, str]] = [
        (
            {"sources": [{"id": "ok"}, {"id": "bad", "prior": {"grade": "G"}}]},
            "sources.1.prior.grade",
        ),
        ({"sources": [{"name": "no id"}]}, "sources.0.id"),
        ({"sources": [{"id": "Not A Slug"}]}, "sources.0.id"),
        ({"sources": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}, "sources.2.id"),
        ({"sources": [{"id": "a", "colour": "red"}]}, "sources.0.colour"),
        ({"sources": [{"id": f"s{i}"} for i in range(MAX_BATCH_WRITES + 1)]}, "sources"),
        ({}, "sources"),
    ]
    for body, field in cases:
        assert_problem(client.post("/v1/sources", json=body), 422, field)
    assert row_counts(app) == counts


def test_batch_writes_need_the_admin_role(client: FlaskClient, keys: dict[str, str]) -> None:
    client.post("/v1/claims", json={"claims": CLAIMS[:1]}, headers=auth(keys["write"]))
    sources = {"sources": [{"id": "a"}]}
    resolutions = {"resolutions": [{"claim_id": "c0", "outcome": "confirmed"}]}
    for path, body in (("/v1/sources", sources), ("/v1/resolutions", resolutions)):
        assert_problem(client.post(path, json=body, headers=auth(keys["write"])), 403)
        assert client.post(path, json=body, headers=auth(keys["admin"])).status_code == 200


def test_resolutions_together_count_as_one_by_one(app: Flask, client: FlaskClient) -> None:
    assert client.post("/v1/claims", json={"claims": CLAIMS}).status_code == 200
    outcomes = ["confirmed", "refuted", "confirmed", "confirmed", "refuted", "refuted"]
    body = {
        "resolutions": [
            {"claim_id": f"c{i}", "outcome": outcome, "note": f"n{i}"}
            for i, outcome in enumerate(outcomes)
        ]
    }
    scores = {
        c["id"]: c["score"]["confidence"] for c in client.get("/v1/claims").get_json()["claims"]
    }
    response = client.post("/v1/resolutions", json=body)
    assert response.status_code == 200, response.get_json()
    resolved = response.get_json()
    assert ClaimsResponseSchema().validate(resolved) == {}
    assert [c["id"] for c in resolved["claims"]] == [f"c{i}" for i in range(6)]
    for claim, outcome in zip(resolved["claims"], outcomes, strict=True):
        assert claim["status"] == outcome
        assert claim["resolution"]["forecast"] == scores[claim["id"]]
    together = _learned(app)
    assert set(together) >= {"s0", "s1", "s2", "s9"}

    for i in range(6):
        assert client.delete(f"/v1/claims/c{i}/resolution").status_code == 204
    for i, outcome in enumerate(outcomes):
        one = client.post(f"/v1/claims/c{i}/resolution", json={"outcome": outcome})
        assert one.status_code == 200
    one_by_one = _learned(app)
    assert one_by_one.keys() == together.keys()
    for source_id, (alpha, beta) in together.items():
        assert one_by_one[source_id] == pytest.approx((alpha, beta), rel=1e-9)


def test_a_refused_resolution_makes_none(app: Flask, client: FlaskClient) -> None:
    answers = [
        {"id": f"a{i}", "text": str(i), "question": "how-many", "attributions": []}
        for i in range(2)
    ]
    client.post("/v1/claims", json={"claims": [*CLAIMS, *answers]})
    assert client.post("/v1/claims/c5/resolution", json={"outcome": "refuted"}).status_code == 200
    counts = row_counts(app)

    def post(*items: dict[str, Any]) -> Any:
        return client.post("/v1/resolutions", json={"resolutions": list(items)})

    ok = {"claim_id": "c0", "outcome": "confirmed"}
    unknown = assert_problem(
        post(
            ok,
            {"claim_id": "nope", "outcome": "refuted"},
            {"claim_id": "gone", "outcome": "refuted"},
        ),
        404,
        "resolutions.1.claim_id",
        "resolutions.2.claim_id",
    )
    assert "resolutions.0.claim_id" not in unknown["errors"]
    assert "nope" in unknown["detail"]
    assert_problem(
        post(ok, {"claim_id": "c5", "outcome": "confirmed"}), 409, "resolutions.1.claim_id"
    )
    rivals = [{"claim_id": f"a{i}", "outcome": "confirmed"} for i in range(2)]
    assert_problem(post(*rivals), 409, "resolutions.1.claim_id")
    assert_problem(post(ok, {"claim_id": "c1", "outcome": "maybe"}), 422, "resolutions.1.outcome")
    future = {"claim_id": "c1", "outcome": "refuted", "resolved_at": "2999-01-01T00:00:00Z"}
    assert_problem(post(ok, future), 422, "resolutions.1.resolved_at")
    assert_problem(post(ok, {**ok, "outcome": "refuted"}), 422, "resolutions.1.claim_id")
    assert_problem(post({"outcome": "refuted"}), 422, "resolutions.0.claim_id")
    too_many = [{"claim_id": f"c{i}", "outcome": "refuted"} for i in range(MAX_BATCH_WRITES + 1)]
    assert_problem(post(*too_many), 422, "resolutions")
    assert row_counts(app) == counts
