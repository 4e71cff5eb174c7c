"""Questions over HTTP: numeric questions' figures, estimates, resolutions and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.schemas.responses import (
    QuestionPageSchema,
    ScoresResponseSchema,
    StoredQuestionSchema,
)
from service.store.models import Claim, Question, Resolution, SourceReliability
from tests.learning.common import engine_of, run_rescore
from tests.service.helpers import assert_problem, row_counts

SOURCES = {
    "kr-nis": {"group": "gov:kr", "prior": {"grade": "C"}},
    "kr-media": {"group": "media:kr", "prior": {"reliability": 0.85, "strength": 20}},
    "ua-president": {"group": "gov:ua", "prior": {"grade": "C"}},
    "axios": {"group": "media:us", "prior": {"grade": "B"}},
    "ap": {"group": "media:us", "prior": {"grade": "B"}},
}


def troops(question: str = "kp-troops") -> list[dict[str, Any]]:
    return [
        {
            "id": "kp-1500",
            "text": "North Korea shipped about 1,500 special forces to Russia.",
            "question": question,
            "value": {"point": 1500},
            "attributions": [
                {"source": "kr-nis", "via": ["kr-media"]},
                {"source": "kr-nis", "via": ["ap"]},
            ],
        },
        {
            "id": "kp-10000",
            "text": "North Korea is readying 10,000 troops to deploy to Russia.",
            "question": question,
            "value": {"point": 10000},
            "attributions": [{"source": "ua-president", "via": ["axios"]}],
        },
    ]


def define_sources(client: FlaskClient) -> None:
    for source_id, definition in SOURCES.items():
        assert client.put(f"/v1/sources/{source_id}", json=definition).status_code == 200


def test_a_numeric_question_reports_its_camps(client: FlaskClient) -> None:
    define_sources(client)
    put = client.put(
        "/v1/questions/kp-troops",
        json={"text": "How many troops?", "kind": "numeric", "unit": "troops"},
    )
    assert put.status_code == 200, put.get_json()
    assert client.post("/v1/claims", json={"claims": troops()}).status_code == 200
    body = client.get("/v1/questions/kp-troops").get_json()
    assert StoredQuestionSchema().validate(body) == {}
    assert body["kind"] == "numeric" and body["scale"] == "log" and body["defined"]
    estimate = body["estimate"]
    assert [round(m["value"], -2) for m in estimate["modes"]] == [1500, 10000]
    assert estimate["interval"][0] <= estimate["median"] <= estimate["interval"][1]
    assert estimate["summary"].startswith("Two camps: about 1,500 troops (kr-nis via kr-media)")
    answers = {a["id"]: a for a in body["answers"]}
    assert answers["kp-1500"]["value"] == {"point": 1500}
    assert answers["kp-1500"]["score"]["model"]["name"] == "credence-numeric"
    stored = client.get("/v1/claims/kp-1500").get_json()
    assert stored["value"] == {"point": 1500}
    # The echo through AP is counted once.
    assert stored["score"]["evidence"][1]["weight"] == 0
    page = client.get("/v1/questions").get_json()
    assert QuestionPageSchema().validate(page) == {}
    assert [q["id"] for q in page["questions"]] == ["kp-troops"]


def test_a_page_of_questions_reads_as_each_question_alone(client: FlaskClient) -> None:
    # A page's questions are read and scored together: each document, numeric
    # estimate included, is the one its own GET gives.
    define_sources(client)
    claims = troops("kp-troops") + [
        {**claim, "id": f"{claim['id']}-b", "question": "kp-troops-b"} for claim in troops()
    ]
    claims += [
        {
            "id": f"who-{k}",
            "text": f"Answer {k}.",
            "question": "who",
            "attributions": [{"source": source}],
        }
        for k, source in enumerate(("axios", "ap", "kr-media"))
    ]
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    page = client.get("/v1/questions?limit=2").get_json()
    rest = client.get(f"/v1/questions?cursor={page['next_cursor']}").get_json()
    listed = page["questions"] + rest["questions"]
    assert [q["id"] for q in listed] == ["kp-troops", "kp-troops-b", "who"]
    for question in listed:
        alone = client.get(f"/v1/questions/{question['id']}").get_json()
        assert question == alone
    assert listed[0]["estimate"] is not None and listed[2]["estimate"] is None
    assert [a["id"] for a in listed[2]["answers"]] == ["who-0", "who-1", "who-2"]


def test_score_returns_the_estimates_of_numeric_questions(app: Flask, client: FlaskClient) -> None:
    before = row_counts(app)
    response = client.post(
        "/v1/score",
        json={"claims": [*troops("undefined-q"), {"text": "plain"}], "sources": SOURCES},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert ScoresResponseSchema().validate(body) == {}
    assert [q["id"] for q in body["questions"]] == ["undefined-q"]
    assert len(body["questions"][0]["estimate"]["modes"]) == 2
    assert [s["model"]["name"] for s in body["scores"]] == [
        "credence-numeric",
        "credence-numeric",
        "credence-logodds",
    ]
    assert row_counts(app) == before


def test_bad_values_are_refused_naming_the_field(app: Flask, client: FlaskClient) -> None:
    client.put("/v1/questions/who", json={"kind": "choice"})
    before = row_counts(app)
    one = troops()[0]
    cases = [
        ({k: v for k, v in one.items() if k != "question"}, "claims.0.value"),
        ({**one, "value": {"low": 5, "high": 2}}, "claims.0.value.high"),
        ({**one, "value": {"point": 5, "low": 2}}, "claims.0.value.point"),
        ({**one, "value": {}}, "claims.0.value.point"),
        ({**one, "value": {"point": "12"}}, "claims.0.value.point"),
        ({**one, "value": {"point": 0}}, "claims.0.value"),
        ({**one, "question": "who"}, "claims.0.value"),
    ]
    for claim, field in cases:
        assert_problem(client.post("/v1/claims", json={"claims": [claim]}), 422, field)
        assert_problem(client.post("/v1/score", json={"claims": [claim]}), 422, field)
    # Non-finite numbers (Python's JSON reads NaN and Infinity).
    for literal in ("NaN", "Infinity", "1e999"):
        raw = '{"claims": [{"text": "x", "question": "q", "value": {"point": ' + literal + "}}]}"
        response = client.post("/v1/claims", data=raw, content_type="application/json")
        assert response.status_code in (400, 422)
    # A numeric question's answer needs a value.
    bare = {"id": "bare", "text": "No figure.", "question": "kp-troops"}
    assert_problem(
        client.post("/v1/claims", json={"claims": [troops()[0], bare]}), 422, "claims.1.value"
    )
    assert row_counts(app) == before


def test_question_definitions_are_checked(client: FlaskClient) -> None:
    assert_problem(client.put("/v1/questions/q", json={"kind": "odd"}), 422, "kind")
    assert_problem(
        client.put("/v1/questions/q", json={"kind": "numeric", "tolerance": 2}), 422, "tolerance"
    )
    assert_problem(
        client.put("/v1/questions/q", json={"kind": "choice", "scale": "log"}), 422, "scale"
    )
    assert client.post("/v1/claims", json={"claims": troops("q")}).status_code == 200
    assert_problem(client.put("/v1/questions/q", json={"kind": "choice"}), 422, "kind")
    assert client.get("/v1/questions/nothing").status_code == 404


def test_resolving_a_numeric_question_judges_each_answer(client: FlaskClient) -> None:
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    client.post("/v1/claims", json={"claims": troops()})
    forecast = client.get("/v1/claims/kp-1500").get_json()["score"]["confidence"]
    response = client.post("/v1/questions/kp-troops/resolution", json={"value": 1700})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["resolution"]["value"] == 1700
    statuses = {a["id"]: a["status"] for a in body["answers"]}
    assert statuses == {"kp-1500": "confirmed", "kp-10000": "refuted"}
    resolved = client.get("/v1/claims/kp-1500").get_json()
    assert resolved["resolution"]["forecast"] == forecast
    # The confirmed figure's source gained a hit.
    nis = client.get("/v1/sources/kr-nis").get_json()
    assert nis["track_record"]["confirmed"] == 1
    calibration = client.get("/v1/calibration").get_json()
    assert sum(b["count"] for b in calibration["bins"]) == 2
    assert_problem(client.post("/v1/questions/kp-troops/resolution", json={"value": 1700}), 409)
    # Withdrawn, everything is open again and the hit is taken back; then resolved anew.
    assert client.delete("/v1/questions/kp-troops/resolution").status_code == 204
    reopened = client.get("/v1/questions/kp-troops").get_json()
    assert reopened["resolution"] is None
    assert {a["status"] for a in reopened["answers"]} == {"open"}
    assert client.get("/v1/sources/kr-nis").get_json()["track_record"]["confirmed"] == 0
    assert_problem(client.delete("/v1/questions/kp-troops/resolution"), 404)
    again = client.post("/v1/questions/kp-troops/resolution", json={"value": 9000})
    assert {a["id"]: a["status"] for a in again.get_json()["answers"]} == {
        "kp-1500": "refuted",
        "kp-10000": "confirmed",
    }
    client.post("/v1/claims", json={"claims": [{"id": "c", "text": "x", "question": "who"}]})
    assert_problem(client.post("/v1/questions/who/resolution", json={"value": 3}), 422, "value")


def test_figures_get_warnings_and_strict_mode_refuses_them(app: Flask, client: FlaskClient) -> None:
    # kr-media and the others are not defined: a warning each, a 422 in strict mode.
    claims = troops("undefined-q")
    loose = client.post("/v1/score", json={"claims": claims})
    assert loose.status_code == 200, loose.get_json()
    fields = {w["field"] for w in loose.get_json()["warnings"]}
    assert "claims[0].attributions[0].source" in fields
    assert loose.get_json()["questions"][0]["id"] == "undefined-q"
    before = row_counts(app)
    strict = client.post("/v1/claims?strict=true", json={"claims": claims})
    assert_problem(strict, 422)
    assert row_counts(app) == before


def test_a_resolved_numeric_question_reads_as_resolved(client: FlaskClient) -> None:
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    client.post("/v1/claims", json={"claims": troops()})
    client.post("/v1/questions/kp-troops/resolution", json={"value": 1700})
    confirmed = client.get("/v1/claims/kp-1500").get_json()["score"]
    refuted = client.get("/v1/claims/kp-10000").get_json()["score"]
    assert (confirmed["confidence"], confirmed["credibility"]) == (1.0, 1)
    assert (refuted["confidence"], refuted["credibility"]) == (0.0, 5)
    assert confirmed["summary"].startswith("Confirmed on ")
    # Redefining the question rescores its answers, which stay resolved.
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.3})
    assert client.get("/v1/claims/kp-10000").get_json()["score"]["confidence"] == 0.0
    # Withdrawn, they are scored as open figures again.
    client.delete("/v1/questions/kp-troops/resolution")
    reopened = client.get("/v1/claims/kp-1500").get_json()["score"]
    assert 0.0 < reopened["confidence"] < 1.0
    assert reopened["model"]["name"] == "credence-numeric"


def test_a_figure_stored_after_the_resolution_is_judged_by_it(client: FlaskClient) -> None:
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    client.post("/v1/claims", json={"claims": troops()})
    client.post("/v1/questions/kp-troops/resolution", json={"value": 1700, "note": "NIS briefing"})
    late = [
        {
            "id": f"ap-{figure}",
            "text": f"About {figure:,} troops.",
            "question": "kp-troops",
            "value": {"point": figure},
            "attributions": [{"source": "ap"}],
        }
        for figure in (1600, 12000)
    ]
    response = client.post("/v1/claims", json={"claims": late})
    assert response.status_code == 200, response.get_json()
    body = {c["id"]: c for c in response.get_json()["claims"]}
    assert {i: c["status"] for i, c in body.items()} == {
        "ap-1600": "confirmed",
        "ap-12000": "refuted",
    }
    # As the answers the resolution found: its note, their open score as forecast.
    resolution = body["ap-12000"]["resolution"]
    assert resolution["note"] == "NIS briefing"
    assert 0.0 < resolution["forecast"] < 0.5
    stored = client.get("/v1/claims/ap-12000").get_json()
    assert (stored["status"], stored["resolution"]) == ("refuted", resolution)
    assert stored["score"] == body["ap-12000"]["score"]
    record = client.get("/v1/sources/ap").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (1, 1)
    # A confirmed answer re-posted with another figure is judged again.
    moved = {**troops()[0], "value": {"point": 20000}}
    again = client.post("/v1/claims", json={"claims": [moved]}).get_json()["claims"][0]
    assert again["status"] == "refuted"
    assert again["resolution"]["forecast"] < 0.5
    record = client.get("/v1/sources/kr-nis").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (0, 1)
    # Withdrawn, every answer is open again, the late ones too.
    assert client.delete("/v1/questions/kp-troops/resolution").status_code == 204
    reopened = client.get("/v1/questions/kp-troops").get_json()
    assert {a["status"] for a in reopened["answers"]} == {"open"}
    record = client.get("/v1/sources/ap").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (0, 0)


def test_an_answer_that_leaves_its_question_leaves_its_judgement(client: FlaskClient) -> None:
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    client.put("/v1/questions/kp-brigades", json={"kind": "numeric", "tolerance": 0.2})
    client.post("/v1/claims", json={"claims": troops()})
    client.post("/v1/questions/kp-troops/resolution", json={"value": 1700})
    confirmed = troops()[0]
    assert client.get(f"/v1/claims/{confirmed['id']}").get_json()["status"] == "confirmed"

    def record() -> tuple[int, int, int]:
        counts = client.get("/v1/sources/kr-nis").get_json()["track_record"]
        return counts["confirmed"], counts["refuted"], counts["pending"]

    assert record() == (1, 0, 0)
    # Re-posted into an open question: kp-troops' value no longer judges it.
    moved = {**confirmed, "question": "kp-brigades"}
    posted = client.post("/v1/claims", json={"claims": [moved]}).get_json()["claims"][0]
    stored = client.get(f"/v1/claims/{confirmed['id']}").get_json()
    for claim in (posted, stored):
        assert (claim["status"], claim["resolution"]) == ("open", None)
    assert record() == (0, 0, 1)
    # Into a question resolved since, it is judged by that one's value.
    client.post("/v1/questions/kp-brigades/resolution", json={"value": 9000})
    assert client.get(f"/v1/claims/{confirmed['id']}").get_json()["status"] == "refuted"
    back = client.post("/v1/claims", json={"claims": [confirmed]}).get_json()["claims"][0]
    assert back["status"] == "confirmed" and back["resolution"]["outcome"] == "confirmed"
    assert record() == (1, 0, 0)
    # Without its figure it is a claim like any other, open until someone resolves it.
    plain = {k: v for k, v in confirmed.items() if k not in ("question", "value")}
    posted = client.post("/v1/claims", json={"claims": [plain]}).get_json()["claims"][0]
    assert posted["status"] == "open" and record() == (0, 0, 1)
    # Withdrawing kp-troops' resolution leaves the claim that left it alone.
    resolved = client.post(f"/v1/claims/{confirmed['id']}/resolution", json={"outcome": "refuted"})
    assert resolved.status_code == 200
    assert client.delete("/v1/questions/kp-troops/resolution").status_code == 204
    assert client.get(f"/v1/claims/{confirmed['id']}").get_json()["status"] == "refuted"


def _recorded_an_hour_earlier(app: Flask, question_id: str) -> None:
    """Time passes: the question's value, its answers and their outcomes are taken as
    stored and recorded an hour before they were."""
    with Session(engine_of(app)) as session, session.begin():
        question = session.get(Question, question_id)
        assert question is not None and question.value_recorded_at is not None
        question.value_recorded_at -= timedelta(hours=1)
        for resolution in session.scalars(
            select(Resolution).where(Resolution.question == question_id)
        ):
            resolution.created_at -= timedelta(hours=1)
            claim = session.get(Claim, resolution.claim_id)
            assert claim is not None
            claim.created_at -= timedelta(hours=1)


def _resolved_an_hour_ago(app: Flask, client: FlaskClient) -> tuple[str, list[dict[str, Any]]]:
    """``troops()`` said three hours ago, and kp-troops' value (1,700) recorded an hour
    ago: when they were said, and the answers."""
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    said = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    answers = troops()
    for answer in answers:
        answer["attributions"] = [{**a, "observed_at": said} for a in answer["attributions"]]
    client.post("/v1/claims", json={"claims": answers})
    client.post("/v1/questions/kp-troops/resolution", json={"value": 1700})
    _recorded_an_hour_earlier(app, "kp-troops")
    return said, answers


def _hits_and_misses(app: Flask, source_id: str) -> tuple[float, float]:
    """What resolutions added to the source's prior: (hits, misses), decayed."""
    with Session(engine_of(app)) as session:
        row = session.get(SourceReliability, source_id)
        assert row is not None and row.prior_alpha is not None and row.prior_beta is not None
        return row.alpha - row.prior_alpha, row.beta - row.prior_beta


def test_a_figure_given_after_the_value_was_recorded_earns_nothing(
    app: Flask, client: FlaskClient
) -> None:
    said, answers = _resolved_an_hour_ago(app, client)
    # AP reports the known figure now, and one it gave before the value was known.
    late = [
        {
            "text": f"About {figure:,} troops.",
            "question": "kp-troops",
            "value": {"point": figure},
            "attributions": [{"source": "ap", **when}],
        }
        for figure, when in ((1700, {}), (12000, {"observed_at": said}))
    ]
    response = client.post("/v1/claims", json={"claims": late})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [c["status"] for c in body["claims"]] == ["confirmed", "refuted"]
    assert [(w["field"], w["code"]) for w in body["warnings"]] == [
        ("claims[0].attributions[0]", "hindsight")
    ]
    hits, misses = _hits_and_misses(app, "ap")
    assert hits == 0 and 0.99 < misses <= 1
    record = client.get("/v1/sources/ap").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (0, 1)
    # Calibration judges forecasts: the answers stored before the value was recorded.
    assert client.get("/v1/calibration").get_json()["count"] == len(answers)
    assert client.get("/v1/calibration?source=ap").get_json()["count"] == 0
    assert client.get("/v1/calibration?source=kr-nis").get_json()["count"] == 1
    # Strict mode refuses the hindsight, and stores nothing.
    refused = client.post(
        "/v1/claims?strict=true", json={"claims": [{**late[0], "id": "ap-again"}]}
    )
    assert_problem(refused, 422)
    assert client.get("/v1/claims/ap-again").status_code == 404
    # The job learns from the same: AP's record is the miss it forecast.
    run_rescore(app)
    assert _hits_and_misses(app, "ap")[0] == 0


def test_a_figure_corrected_after_the_value_was_recorded_is_no_forecast(
    app: Flask, client: FlaskClient
) -> None:
    _resolved_an_hour_ago(app, client)
    missed = _hits_and_misses(app, "ua-president")
    assert missed[0] == 0 and 0.99 < missed[1] <= 1
    # The sync re-posts the 10,000 answer as the outlet now gives it: the known figure,
    # the same attribution, no time. Its source said this now, not three hours ago.
    corrected = {**troops()[1], "value": {"point": 1700}}
    body = client.post("/v1/claims", json={"claims": [corrected]}).get_json()
    assert body["claims"][0]["status"] == "confirmed"
    assert [(w["field"], w["code"]) for w in body["warnings"] if w["code"] == "hindsight"] == [
        ("claims[0].attributions[0]", "hindsight")
    ]
    # Neither the miss of the figure it no longer gives nor a hit for the one it
    # gives now: online as the job counts it.
    assert _hits_and_misses(app, "ua-president") == pytest.approx((0, 0), abs=1e-9)
    run_rescore(app)
    assert _hits_and_misses(app, "ua-president") == pytest.approx((0, 0), abs=1e-9)
    # Re-posted unchanged, it keeps the time it was stored with.
    again = client.post("/v1/claims", json={"claims": [corrected]}).get_json()
    assert "hindsight" not in {w["code"] for w in again["warnings"]}


def test_a_resolved_numeric_questions_answers_are_its_to_judge(client: FlaskClient) -> None:
    define_sources(client)
    client.put("/v1/questions/kp-troops", json={"kind": "numeric", "tolerance": 0.2})
    client.post("/v1/claims", json={"claims": troops()})
    client.post("/v1/questions/kp-troops/resolution", json={"value": 1700})
    # Claim by claim, an answer's outcome cannot be made to contradict the value.
    assert_problem(client.delete("/v1/claims/kp-10000/resolution"), 409)
    body = {"resolutions": [{"claim_id": "kp-10000", "outcome": "confirmed"}]}
    refused = assert_problem(client.post("/v1/resolutions", json=body), 409)
    assert "resolutions.0.claim_id" in refused["errors"]
    assert "withdraw the question's resolution" in refused["detail"].lower()
    assert client.get("/v1/claims/kp-10000").get_json()["status"] == "refuted"
    # The question's own withdrawal reopens them, and then they are anyone's to resolve.
    assert client.delete("/v1/questions/kp-troops/resolution").status_code == 204
    resolved = client.post("/v1/claims/kp-10000/resolution", json={"outcome": "confirmed"})
    assert resolved.status_code == 200, resolved.get_json()
