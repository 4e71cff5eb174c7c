"""Resolved claims read as resolved; re-posts and resolutions leave history entries."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.schemas.responses import HistoryResponseSchema, StoredClaimSchema
from tests.learning.common import run_rescore

CLAIM: dict[str, Any] = {
    "id": "c1",
    "text": "The ship was refloated within a week.",
    "attributions": [{"source": "salvor", "stance": "refutes"}, {"source": "agent"}],
}


def _history(client: FlaskClient, claim_id: str) -> list[dict[str, Any]]:
    body = client.get(f"/v1/claims/{claim_id}/history").get_json()
    assert HistoryResponseSchema().validate(body) == {}
    history: list[dict[str, Any]] = body["history"]
    return history


def test_a_confirmed_claim_reads_as_confirmed(client: FlaskClient) -> None:
    client.put("/v1/sources/salvor", json={"name": "Royal Boskalis", "prior": {"grade": "B"}})
    open_score = client.post("/v1/claims", json={"claims": [CLAIM]}).get_json()["claims"][0]
    forecast = open_score["score"]["confidence"]
    assert 0 < forecast < 1

    response = client.post(
        "/v1/claims/c1/resolution",
        json={"outcome": "confirmed", "resolved_at": "2021-03-29T13:00:00Z"},
    )
    assert response.status_code == 200
    claim = response.get_json()
    assert StoredClaimSchema().validate(claim) == {}
    score = claim["score"]
    assert (score["confidence"], score["interval"], score["credibility"]) == (1.0, [1.0, 1.0], 1)
    assert score["estimative"] == "almost certain"
    assert score["summary"] == (
        f"Confirmed on 2021-03-29 (forecast {round(100 * forecast)} %): supported by agent; "
        "refuted by Royal Boskalis (2.0 independent sources)."
    )
    # The evidence stays, with ids; the forecast it had is the resolution's.
    assert [e["source"] for e in score["evidence"]] == ["salvor", "agent"]
    assert claim["resolution"]["forecast"] == forecast
    assert client.get("/v1/claims/c1").get_json()["score"] == score

    history = _history(client, "c1")
    assert [h["reason"] for h in history] == ["resolution", "created"]
    assert (history[0]["confidence"], history[0]["credibility"]) == (1.0, 1)
    assert history[1]["confidence"] == forecast


def test_a_refuted_claim_reads_as_refuted(client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    claim = client.post("/v1/claims/c1/resolution", json={"outcome": "refuted"}).get_json()
    score = claim["score"]
    assert (score["confidence"], score["interval"], score["credibility"]) == (0.0, [0.0, 0.0], 5)
    assert score["estimative"] == "almost no chance"
    assert score["summary"].startswith("Refuted on ")
    listed = client.get("/v1/claims?status=refuted").get_json()["claims"]
    assert [(c["id"], c["score"]["confidence"]) for c in listed] == [("c1", 0.0)]


def test_withdrawing_rescores_the_claim_as_open(client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"})
    assert client.delete("/v1/claims/c1/resolution").status_code == 204
    claim = client.get("/v1/claims/c1").get_json()
    assert claim["status"] == "open" and claim["resolution"] is None
    score = claim["score"]
    assert 0 < score["confidence"] < 1
    assert not score["summary"].startswith("Confirmed")
    history = _history(client, "c1")
    assert [h["reason"] for h in history] == ["resolution-withdrawn", "resolution", "created"]
    assert history[0]["confidence"] == score["confidence"]


def test_jobs_leave_resolved_claims_alone(app: Flask, client: FlaskClient) -> None:
    # Sources s0..s5 each support one resolved claim and one open one.
    claims = [
        {"id": f"{kind}{i}", "text": f"{kind} {i}", "attributions": [{"source": f"s{i}"}]}
        for kind in ("done", "open")
        for i in range(6)
    ]
    client.post("/v1/claims", json={"claims": claims})
    for i in range(6):
        client.post(f"/v1/claims/done{i}/resolution", json={"outcome": "refuted"})
    resolved = {i: client.get(f"/v1/claims/done{i}").get_json()["score"] for i in range(6)}
    opened = {i: client.get(f"/v1/claims/open{i}").get_json()["score"] for i in range(6)}

    stats = run_rescore(app)
    assert stats["claims_changed"] >= 1
    for i in range(6):
        assert client.get(f"/v1/claims/done{i}").get_json()["score"] == resolved[i]
        now_open = client.get(f"/v1/claims/open{i}").get_json()["score"]
        # The refutations taught the job that s{i} is unreliable.
        assert now_open["confidence"] < opened[i]["confidence"]
    assert [h["reason"] for h in _history(client, "done0")] == ["resolution", "created"]


def test_a_resolved_answer_is_left_alone_when_its_question_moves(client: FlaskClient) -> None:
    answers = [
        {"id": f"a{i}", "text": str(i), "question": "q", "attributions": [{"source": f"s{i}"}]}
        for i in range(2)
    ]
    client.post("/v1/claims", json={"claims": answers})
    resolved = client.post("/v1/claims/a0/resolution", json={"outcome": "refuted"}).get_json()
    response = client.post("/v1/claims/a1/attributions", json={"attributions": [{"source": "s9"}]})
    assert response.status_code == 200
    assert client.get("/v1/claims/a0").get_json()["score"] == resolved["score"]
    assert [h["reason"] for h in _history(client, "a0")] == ["resolution", "created"]


def test_a_repost_lists_the_attributions_it_added_and_removed(client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    added = client.post(
        "/v1/claims/c1/attributions",
        json={"attributions": [{"source": "lloyds", "via": ["wire"], "url": "https://x.test/1"}]},
    )
    assert added.status_code == 200
    repost = {**CLAIM, "attributions": [CLAIM["attributions"][0], {"source": "ap"}]}
    assert client.post("/v1/claims", json={"claims": [repost]}).status_code == 200

    newest, attributions, _created = _history(client, "c1")
    assert attributions["reason"] == "attributions"
    assert attributions["changes"] == [
        {
            "change": "added",
            "source": "lloyds",
            "stance": "supports",
            "via": ["wire"],
            "certainty": 1.0,
            "count": 1,
            "url": "https://x.test/1",
        }
    ]
    assert newest["reason"] == "updated"
    changes = {(c["change"], c["source"]) for c in newest["changes"]}
    assert changes == {("removed", "agent"), ("removed", "lloyds"), ("added", "ap")}
    # The same attributions again change nothing, and add no history row.
    client.post("/v1/claims", json={"claims": [repost]})
    assert _history(client, "c1") == [newest, attributions, _created]


def test_a_resolved_claim_reposted_stays_resolved(client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"})
    repost = {**CLAIM, "attributions": [{"source": "agent", "stance": "refutes"}]}
    claim = client.post("/v1/claims", json={"claims": [repost]}).get_json()["claims"][0]
    assert claim["status"] == "confirmed"
    assert claim["score"]["confidence"] == 1.0
    assert "refuted by agent" in claim["score"]["summary"]
    assert client.get("/v1/claims/c1").get_json()["score"] == claim["score"]


def test_a_repost_after_a_job_that_changes_nothing_adds_no_history(
    app: Flask, client: FlaskClient
) -> None:
    claims: list[dict[str, Any]] = [
        {
            "id": f"{q}-{k}",
            "text": f"answer {k}",
            "question": q,
            **({"value": {"point": 1000 + 100 * k}} if q.startswith("n") else {}),
            "attributions": [{"source": f"s{(k + i) % 5}"} for i in range(2)],
        }
        for q in ("n1", "n2", "c1", "c2")
        for k in range(3)
    ]
    client.post("/v1/claims", json={"claims": claims})
    client.post("/v1/questions/n1/resolution", json={"value": 1000})
    client.post("/v1/claims/c1-0/resolution", json={"outcome": "confirmed"})
    run_rescore(app)
    before = {c["id"]: _history(client, c["id"]) for c in claims}
    # The job moved the beliefs: resolved claims' summaries and their open siblings'
    # near-zero scores read a hair differently, and the job's vectorised scores and a
    # request's differ in the last bits. None of it is a change of what history records.
    posted = client.post("/v1/claims", json={"claims": claims}).get_json()["claims"]
    assert {c["id"]: _history(client, c["id"]) for c in claims} == before
    # What the response says is what is stored, rewritten wording included.
    assert [c["score"] for c in posted] == [
        client.get(f"/v1/claims/{c['id']}").get_json()["score"] for c in claims
    ]
