"""Warnings on valid but suspicious input, strict mode, and names in summaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.schemas.responses import (
    AddedEvidenceSchema,
    ScoresResponseSchema,
    StoredClaimsResponseSchema,
)
from service.schemas.warnings import claim_warnings
from tests.service.helpers import row_counts

SOURCES = {
    "kr-nis": {"name": "NIS", "group": "gov:kr", "prior": {"grade": "C"}},
    "kr-media": {"name": "South Korean media", "prior": {"grade": "B"}},
}
# Two typos: kr-nls via kr-mdia.
TYPOS: dict[str, Any] = {
    "claims": [
        {
            "id": "c1",
            "text": "About 1,500 special forces were shipped.",
            "attributions": [
                {"source": "kr-nis", "via": ["kr-media"]},
                {"source": "kr-nls", "via": ["kr-mdia"]},
            ],
        }
    ]
}


@pytest.fixture
def defined(client: FlaskClient) -> FlaskClient:
    for source_id, definition in SOURCES.items():
        assert client.put(f"/v1/sources/{source_id}", json=definition).status_code == 200
    return client


def _codes(warnings: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(w["field"], w["code"]) for w in warnings]


def _strict_refusal(response: Any, *fields: str) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert set(body["errors"]) == set(fields)
    errors: dict[str, list[str]] = body["errors"]
    return errors


@pytest.mark.parametrize("path", ["/v1/score", "/v1/claims"])
def test_typos_are_warned_about_by_field(defined: FlaskClient, path: str) -> None:
    response = defined.post(path, json=TYPOS)
    assert response.status_code == 200
    body = response.get_json()
    schema = ScoresResponseSchema() if path == "/v1/score" else StoredClaimsResponseSchema()
    assert schema.validate(body) == {}
    warnings = body["warnings"]
    assert _codes(warnings) == [
        ("claims[0].attributions[1].source", "undefined-source"),
        ("claims[0].attributions[1].via[0]", "undefined-relay"),
    ]
    assert warnings[0]["detail"].startswith("kr-nls is not defined")
    assert "unknown-source prior" in warnings[0]["detail"]
    assert warnings[0]["detail"].endswith("Did you mean kr-nis?")
    assert warnings[1]["detail"].endswith("Did you mean kr-media?")


@pytest.mark.parametrize("path", ["/v1/score", "/v1/claims"])
def test_strict_mode_refuses_the_typos_and_stores_nothing(
    app: Flask, defined: FlaskClient, path: str
) -> None:
    before = row_counts(app)
    errors = _strict_refusal(
        defined.post(f"{path}?strict=true", json=TYPOS),
        "claims.0.attributions.1.source",
        "claims.0.attributions.1.via.0",
    )
    assert errors["claims.0.attributions.1.source"][0].startswith("undefined-source: kr-nls")
    assert row_counts(app) == before
    assert defined.get("/v1/claims/c1").status_code == 404
    # Clean input passes in strict mode, with no warnings.
    clean = {
        "claims": [{**TYPOS["claims"][0], "attributions": TYPOS["claims"][0]["attributions"][:1]}]
    }
    response = defined.post(f"{path}?strict=true", json=clean)
    assert response.status_code == 200 and response.get_json()["warnings"] == []


def test_the_strict_setting_is_the_default_a_request_overrides(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(api={"strict": True}).test_client()
    for source_id, definition in SOURCES.items():
        client.put(f"/v1/sources/{source_id}", json=definition)
    _strict_refusal(
        client.post("/v1/score", json=TYPOS),
        "claims.0.attributions.1.source",
        "claims.0.attributions.1.via.0",
    )
    assert client.post("/v1/score?strict=false", json=TYPOS).status_code == 200
    assert client.post("/v1/score?strict=maybe", json=TYPOS).status_code == 422
    assert client.post("/v1/score?strict=true&x=1", json=TYPOS).get_json()["errors"] == {
        "x": ["Unknown field."]
    }


def test_call_sources_and_the_catalogue_count_as_defined(client: FlaskClient) -> None:
    body = {
        "claims": [{"text": "t", "attributions": [{"source": "wire"}, {"source": "mine"}]}],
        "sources": {"mine": {"grade": "B"}},
    }
    assert client.post("/v1/score?strict=true", json=body).get_json()["warnings"] == []


def test_duplicates_and_lone_answers(defined: FlaskClient) -> None:
    direct = {"source": "kr-nis"}
    body = {
        "claims": [
            {"text": "a", "question": "how-many", "attributions": [direct, {"source": "kr-media"}]},
            {"text": "b", "question": "how-many-typo", "attributions": [direct, direct]},
        ]
    }
    warnings = defined.post("/v1/score", json=body).get_json()["warnings"]
    assert _codes(warnings) == [
        ("claims[0].question", "lone-answer"),
        ("claims[1].attributions[1]", "duplicate-attribution"),
        ("claims[1].question", "lone-answer"),
    ]
    assert "claims[1].attributions[0]" in warnings[1]["detail"]
    # Stored, the first question gets a second answer: the store counts.
    other = {
        "claims": [{"id": "a2", "text": "x", "question": "how-many", "attributions": [direct]}]
    }
    assert defined.post("/v1/claims", json=other).get_json()["warnings"] == [
        {
            "field": "claims[0].question",
            "code": "lone-answer",
            "detail": "no other claim answers question how-many: its answers compete with none",
        }
    ]
    first = {"claims": [{**body["claims"][0], "id": "a1"}]}
    assert defined.post("/v1/claims", json=first).get_json()["warnings"] == []


def test_a_second_claim_giving_an_answer_a_question_has_is_warned_about(
    app: Flask, defined: FlaskClient
) -> None:
    # Crowd answers loaded one row at a time: each worker's "yes" as a claim of its own.
    def answer(text: str, source: str, **fields: Any) -> dict[str, Any]:
        return {"text": text, "question": "q", "attributions": [{"source": source}], **fields}

    body = {"claims": [answer("yes", "kr-nis"), answer("no", "kr-media"), answer("yes", "wire")]}
    for path in ("/v1/score", "/v1/claims"):
        warnings = defined.post(path, json=body).get_json()["warnings"]
        assert _codes(warnings) == [("claims[2].text", "duplicate-answer")], path
        assert warnings[0]["detail"].startswith("claims[0] gives the same answer to question q")

    # Against the store: the first stored claim by id that gives it, not the claim itself.
    stored = defined.get("/v1/claims?question=q").get_json()["claims"]
    assert sorted(c["text"] for c in stored) == ["no", "yes", "yes"]
    first_yes = min(c["id"] for c in stored if c["text"] == "yes")
    mine = {"claims": [answer("yes", "kr-media", id="mine")]}
    for _ in range(2):  # stored, then re-posted: never its own duplicate
        warnings = defined.post("/v1/claims", json=mine).get_json()["warnings"]
        assert _codes(warnings) == [("claims[0].text", "duplicate-answer")]
        assert warnings[0]["detail"].startswith(f"stored claim {first_yes} gives")
    other = {"claims": [answer("maybe", "kr-media", id="other")]}
    assert defined.post("/v1/claims", json=other).get_json()["warnings"] == []

    # Figures of a numeric question may repeat: equal figures agree there.
    figures = {
        "claims": [
            {**answer("1,500", source, question="n"), "value": {"point": 1500}}
            for source in ("kr-nis", "kr-media")
        ]
    }
    assert defined.post("/v1/claims", json=figures).get_json()["warnings"] == []

    before = row_counts(app)
    twice = {"claims": [answer("yes", source, question="s") for source in ("kr-nis", "wire")]}
    _strict_refusal(defined.post("/v1/claims?strict=true", json=twice), "claims.1.text")
    assert row_counts(app) == before


def test_claim_warnings_name_the_stored_answer_before_the_batch() -> None:
    claims = [
        {"text": "yes", "question": "q", "attributions": []},
        {"text": "yes", "question": "q", "attributions": []},
        {"text": "yes", "question": "r", "attributions": []},
    ]
    warnings = claim_warnings(claims, set(), {"q": 3, "r": 2}, {("q", "yes"): "older"})
    assert [(w.field, w.code, w.detail.split(" gives")[0]) for w in warnings] == [
        ("claims[0].text", "duplicate-answer", "stored claim older"),
        ("claims[1].text", "duplicate-answer", "stored claim older"),
    ]


def test_adding_evidence_the_claim_has_is_warned_about(app: Flask, defined: FlaskClient) -> None:
    defined.post("/v1/claims", json={"claims": [{"id": "c", "text": "t"}]})
    again = {"attributions": [{"source": "kr-nis", "via": ["kr-media"]}]}
    first = defined.post("/v1/claims/c/attributions", json=again)
    assert AddedEvidenceSchema().validate(first.get_json()) == {}
    assert first.get_json()["warnings"] == []
    second = defined.post("/v1/claims/c/attributions", json=again).get_json()
    assert _codes(second["warnings"]) == [("attributions[0]", "duplicate-attribution")]
    assert "stored attribution #1" in second["warnings"][0]["detail"]

    before = row_counts(app)
    typo = {"attributions": [{"source": "kr-nsi"}]}
    errors = _strict_refusal(
        defined.post("/v1/claims/c/attributions?strict=true", json=typo), "attributions.0.source"
    )
    assert "Did you mean kr-nis?" in errors["attributions.0.source"][0]
    assert row_counts(app) == before


def test_a_repost_that_removes_attributions_is_warned_about(
    app: Flask, defined: FlaskClient
) -> None:
    claim = {"id": "c", "text": "t", "attributions": [{"source": "kr-nis"}]}
    defined.post("/v1/claims", json={"claims": [claim]})
    defined.post("/v1/claims/c/attributions", json={"attributions": [{"source": "kr-media"}]})
    before = row_counts(app)
    _strict_refusal(
        defined.post("/v1/claims?strict=true", json={"claims": [claim]}), "claims.0.attributions"
    )
    assert row_counts(app) == before
    assert len(defined.get("/v1/claims/c").get_json()["attributions"]) == 2

    warnings = defined.post("/v1/claims", json={"claims": [claim]}).get_json()["warnings"]
    assert _codes(warnings) == [("claims[0].attributions", "attributions-removed")]
    assert "removed 1 of its attributions (kr-media supports)" in warnings[0]["detail"]


def test_summaries_use_names_and_evidence_keeps_ids(defined: FlaskClient) -> None:
    claim = {
        "id": "c",
        "text": "t",
        "attributions": [
            {"source": "kr-nis", "via": ["kr-media"]},
            {"source": "wire", "stance": "refutes"},
            {"source": "nobody", "stance": "neutral"},
        ],
    }
    for path in ("/v1/score", "/v1/claims"):
        body = defined.post(path, json={"claims": [claim]}).get_json()
        score = body["scores"][0] if path == "/v1/score" else body["claims"][0]["score"]
        assert "supported by NIS via South Korean media" in score["summary"]
        # "wire" is named in the test catalogue; "nobody" is not defined.
        assert "refuted by A wire agency" in score["summary"]
        assert score["summary"].endswith("nobody neutral.")
        assert [(e["source"], e["via"]) for e in score["evidence"]] == [
            ("kr-nis", ["kr-media"]),
            ("wire", []),
            ("nobody", []),
        ]
    # A name given for one call is used in that call only.
    named = {"claims": [claim], "sources": {"nobody": {"name": "Nobody at all"}}}
    summary = defined.post("/v1/score", json=named).get_json()["scores"][0]["summary"]
    assert summary.endswith("Nobody at all neutral.")


def test_an_id_undefined_as_relay_and_as_source_is_named_as_each() -> None:
    def attribution(source: str, *via: str) -> dict[str, Any]:
        return {
            "source": source,
            "stance": "supports",
            "via": list(via),
            "certainty": 1.0,
            "count": 1,
        }

    claims = [{"text": "t", "attributions": [attribution("a", "x"), attribution("x")]}]
    warnings = claim_warnings(claims, {"a"})
    assert [(w.field, w.code) for w in warnings] == [
        ("claims[0].attributions[0].via[0]", "undefined-relay"),
        ("claims[0].attributions[1].source", "undefined-source"),
    ]
    assert "the relay is scored" in warnings[0].detail
    assert "the source is scored" in warnings[1].detail
