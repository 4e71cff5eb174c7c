"""The real server end to end: ``credence serve`` under gunicorn on a free loopback
port, a temporary SQLite database, and the README's example scenario
(``examples/ever-given-2021-03.json``) driven over HTTP with urllib."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import Client, create_key, credence, live_server, server_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ever-given-2021-03.json"
ESTIMATIVE = {
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("e2e")
    env = server_env(f"sqlite:///{tmp}/credence.db")
    credence("migrate", env=env)
    key = create_key(env, "admin")
    with live_server(env, tmp / "server.log", workers=2, key=key) as client:
        yield client


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return data


@pytest.fixture(scope="module")
def stored(server: Client, scenario: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The scenario's sources defined and its claims posted; the claims by id."""
    for sid, source in scenario["sources"].items():
        r = server("PUT", f"/v1/sources/{sid}", source)
        assert r.status == 200, r.body
    r = server("POST", "/v1/claims", {"claims": scenario["claims"]})
    assert r.status == 200, r.body
    claims = r.body["claims"]
    assert [c["id"] for c in claims] == [c["id"] for c in scenario["claims"]]
    return {c["id"]: c for c in claims}


def check_score(score: dict[str, Any], claim: dict[str, Any]) -> None:
    assert score["claim_id"] == claim["id"]
    low, high = score["interval"]
    assert 0 <= low <= score["confidence"] <= high <= 1
    assert score["estimative"] in ESTIMATIVE
    assert score["credibility"] in range(1, 7)
    assert score["independent_sources"] >= 0
    assert isinstance(score["summary"], str) and score["summary"]
    assert score["model"] and score["computed_at"]
    evidence = score["evidence"]
    assert len(evidence) == len(claim["attributions"])
    for ev, att in zip(evidence, claim["attributions"], strict=True):
        assert ev["source"] == att["source"]
        assert ev["via"] == att.get("via", [])
        assert ev["stance"] == att.get("stance", "supports")
        assert 0 <= ev["effective_reliability"] <= 1
        assert 0 <= ev["reliability"] <= 1
        if ev["stance"] == "neutral":
            assert ev["weight"] == 0
        elif ev["stance"] == "refutes":
            assert ev["weight"] <= 0
        else:
            assert ev["weight"] >= 0


def test_unauthenticated_write_is_refused(server: Client) -> None:
    r = server("POST", "/v1/claims", {"claims": []}, auth=False)
    assert r.status == 401
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.body["status"] == 401


def test_sources_are_defined(
    server: Client, scenario: dict[str, Any], stored: dict[str, Any]
) -> None:
    r = server("GET", "/v1/sources/eg-sca")
    assert r.status == 200
    source = r.body
    assert source["id"] == "eg-sca" and source["group"] == "gov:eg"
    assert set(source["track_record"]) >= {"confirmed", "refuted", "pending"}
    rel = source["reliability"]
    assert rel["interval"][0] <= rel["mean"] <= rel["interval"][1]
    listed = server("GET", "/v1/sources").body["sources"]
    assert {s["id"] for s in listed} >= set(scenario["sources"])
    assert server("GET", "/v1/sources/no-such-source").status == 404


def test_posted_claims_are_scored(scenario: dict[str, Any], stored: dict[str, Any]) -> None:
    for claim in scenario["claims"]:
        check_score(stored[claim["id"]]["score"], claim)
    conf = {cid: c["score"]["confidence"] for cid, c in stored.items()}
    # Two relays of the canal authority are one piece of evidence, not two.
    echo = stored["ever-given-blocks-canal"]["score"]["evidence"]
    assert echo[1]["weight"] == 0 or echo[0]["weight"] == 0
    assert conf["ever-given-blocks-canal"] > 0.5
    # The ship's manager refutes the blackout: the claim ends below even.
    assert conf["ever-given-blackout"] < 0.5
    # Answers to one question are exclusive.
    assert conf["ever-given-refloat-within-week"] + conf["ever-given-refloat-weeks"] <= 1 + 1e-9


def test_get_one_claim(scenario: dict[str, Any], stored: dict[str, Any], server: Client) -> None:
    claim = scenario["claims"][3]
    r = server("GET", f"/v1/claims/{claim['id']}")
    assert r.status == 200
    got = r.body
    assert got["text"] == claim["text"]
    assert got["status"] == "open"
    assert [a["source"] for a in got["attributions"]] == [
        a["source"] for a in claim["attributions"]
    ]
    assert got["attributions"][1]["count"] == 2
    assert got["score"]["confidence"] == pytest.approx(stored[claim["id"]]["score"]["confidence"])
    check_score(got["score"], claim)
    missing = server("GET", "/v1/claims/no-such-claim")
    assert missing.status == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")


def list_ids(server: Client, **params: Any) -> list[str]:
    """Every claim id the list returns for ``params``, following the cursor."""
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        r = server("GET", "/v1/claims?" + urllib.parse.urlencode(query))
        assert r.status == 200, r.body
        for claim in r.body["claims"]:
            assert "confidence" in claim["score"]
            ids.append(claim["id"])
        cursor = r.body.get("next_cursor")
        if not cursor:
            return ids
    raise AssertionError("the cursor never ended")


def test_list_with_filters(server: Client, stored: dict[str, Any]) -> None:
    assert sorted(list_ids(server, limit=2)) == sorted(stored)
    assert sorted(list_ids(server, tag="cause")) == ["ever-given-blackout", "ever-given-wind"]
    by_bsm = set(list_ids(server, source="bsm"))
    assert {"ever-given-blocks-canal", "ever-given-blackout"} <= by_bsm
    assert by_bsm <= {"ever-given-blocks-canal", "ever-given-blackout", "ever-given-wind"}
    confident = list_ids(server, min_confidence=0.5)
    assert confident
    assert all(stored[cid]["score"]["confidence"] >= 0.5 for cid in confident)
    assert list_ids(server, q="blackout") == ["ever-given-blackout"]


def test_repost_is_idempotent(
    server: Client, scenario: dict[str, Any], stored: dict[str, Any]
) -> None:
    r = server("POST", "/v1/claims", {"claims": scenario["claims"]})
    assert r.status == 200
    assert sorted(list_ids(server)) == sorted(stored)


def test_resolution_feeds_track_record_and_history(
    server: Client, scenario: dict[str, Any], stored: dict[str, Any]
) -> None:
    for cid, resolution in scenario["resolutions"].items():
        r = server("POST", f"/v1/claims/{cid}/resolution", resolution)
        assert r.status == 200, r.body
    claim = server("GET", "/v1/claims/ever-given-refloat-within-week").body
    assert claim["status"] == "confirmed"
    record = server("GET", "/v1/sources/boskalis").body["track_record"]
    assert record["refuted"] >= 1
    r = server("GET", "/v1/claims/ever-given-refloat-within-week/history")
    assert r.status == 200
    history = r.body["history"]
    assert history and all(0 <= h["confidence"] <= 1 for h in history)
    times = [h["computed_at"] for h in history]
    assert times == sorted(times, reverse=True)


def test_health_and_metrics(server: Client) -> None:
    assert server("GET", "/readyz").status == 200
    metrics = server("GET", "/metrics")
    assert metrics.status == 200
    assert "# TYPE" in metrics.body
