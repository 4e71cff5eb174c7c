"""POST/DELETE /v1/claims/{id}/resolution and GET /v1/claims/{id}/history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.schemas.responses import HistoryResponseSchema, StoredClaimSchema
from service.store.models import Counter, Resolution, SourceReliability
from tests.learning.common import engine_of, run_rescore
from tests.service.helpers import assert_problem, auth, row_counts

CLAIM = {
    "id": "c1",
    "text": "It happened.",
    "tags": ["t"],
    "attributions": [
        {"source": "yes-1", "stance": "supports"},
        {"source": "yes-1", "stance": "supports", "via": ["relay"]},
        {"source": "no-1", "stance": "refutes"},
        {"source": "shrug", "stance": "neutral"},
    ],
}


def _learned(app: Flask) -> dict[str, tuple[float, float]]:
    with Session(engine_of(app)) as session:
        rows = session.execute(
            select(SourceReliability.source_id, SourceReliability.alpha, SourceReliability.beta)
        )
        return {s: (a, b) for s, a, b in rows}


def _counter(app: Flask) -> int:
    with Session(engine_of(app)) as session:
        return session.scalar(select(Counter.value).where(Counter.name == "reliabilities")) or 0


def _reliability(client: FlaskClient, source: str) -> float:
    mean: float = client.get(f"/v1/sources/{source}").get_json()["reliability"]["mean"]
    return mean


def test_resolution_keeps_the_forecast_and_feeds_track_records(
    app: Flask, client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    assert client.put("/v1/sources/yes-1", json={"name": "Yes"}).status_code == 200
    score = client.post("/v1/claims", json={"claims": [CLAIM]}).get_json()["claims"][0]["score"]
    other = make_app().test_client()  # another process, with its own cache
    yes_before = _reliability(other, "yes-1")
    counter = _counter(app)

    response = client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed", "note": "AP"})
    assert response.status_code == 200, response.get_data(as_text=True)
    claim = response.get_json()
    assert StoredClaimSchema().validate(claim) == {}
    assert claim["status"] == "confirmed"
    assert claim["resolution"]["forecast"] == score["confidence"]
    assert claim["resolution"]["note"] == "AP"
    # The score reads as resolved; the forecast it had stays in the resolution.
    assert claim["score"]["confidence"] == 1.0
    assert claim["score"]["interval"] == [1.0, 1.0]
    assert claim["score"]["credibility"] == 1
    assert _counter(app) == counter + 1

    learned = _learned(app)
    # One hit for the source that supported (once, though it came by two channels),
    # one miss for the one that refuted; nothing for the neutral one or the relay.
    assert set(learned) == {"yes-1", "no-1"}
    unknown = app.extensions["credence"].setup.unknown
    assert learned["yes-1"] == (unknown.alpha + 1, unknown.beta)
    assert learned["no-1"] == (unknown.alpha, unknown.beta + 1)
    assert _reliability(other, "yes-1") > yes_before


def test_withdrawing_reverses_the_track_records(app: Flask, client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    client.post(
        "/v1/claims/c1/resolution",
        json={"outcome": "refuted", "resolved_at": "2020-01-01T00:00:00Z"},
    )
    resolved = _learned(app)
    unknown = app.extensions["credence"].setup.unknown
    # An old resolution counts less (decayed by its age at the time it was recorded).
    assert unknown.beta < resolved["yes-1"][1] < unknown.beta + 1
    response = client.delete("/v1/claims/c1/resolution")
    assert response.status_code == 204
    for alpha, beta in _learned(app).values():
        assert abs(alpha - unknown.alpha) < 1e-9 and abs(beta - unknown.beta) < 1e-9
    claim = client.get("/v1/claims/c1").get_json()
    assert claim["status"] == "open" and claim["resolution"] is None
    assert_problem(client.delete("/v1/claims/c1/resolution"), 404)


def test_a_resolved_claims_track_records_follow_its_attributions(
    app: Flask, client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    client.post(
        "/v1/claims/c1/resolution",
        json={"outcome": "confirmed", "resolved_at": "2020-01-01T00:00:00Z"},
    )
    unknown = app.extensions["credence"].setup.unknown
    hit = _learned(app)["yes-1"][0] - unknown.alpha  # decayed: an old outcome
    # Re-posted: yes-1 now only through its relay (still its side), no-1 gone, new-1 supports.
    moved = {
        **CLAIM,
        "attributions": [
            {"source": "yes-1", "via": ["relay"]},
            {"source": "new-1"},
            {"source": "shrug", "stance": "neutral"},
        ],
    }
    assert client.post("/v1/claims", json={"claims": [moved]}).status_code == 200
    learned = _learned(app)
    assert learned["yes-1"] == (unknown.alpha + hit, unknown.beta)
    assert learned["no-1"] == (unknown.alpha, unknown.beta)
    assert learned["new-1"] == (unknown.alpha + hit, unknown.beta)
    # Seen by another process at once, as any change of the track records.
    assert _reliability(make_app().test_client(), "new-1") > unknown.mean
    # Evidence added to the resolved claim counts too (observed before the outcome was
    # recorded; what was said after is no forecast, see below).
    added = client.post("/v1/claims/c1/attributions", json={"attributions": [{"source": "late-1"}]})
    assert added.status_code == 200, added.get_json()
    assert _learned(app)["late-1"] == (unknown.alpha + hit, unknown.beta)
    # Withdrawn, every source is back where it started, the ones added since included.
    assert client.delete("/v1/claims/c1/resolution").status_code == 204
    for alpha, beta in _learned(app).values():
        assert abs(alpha - unknown.alpha) < 1e-9 and abs(beta - unknown.beta) < 1e-9


def _recorded_an_hour_earlier(app: Flask, claim_id: str) -> None:
    """Time passes: the claim's outcome is taken as recorded an hour before it was."""
    with Session(engine_of(app)) as session, session.begin():
        resolution = session.get(Resolution, claim_id)
        assert resolution is not None
        resolution.created_at -= timedelta(hours=1)


def test_a_stance_taken_after_the_outcome_was_recorded_earns_nothing(
    app: Flask, client: FlaskClient
) -> None:
    said = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    early = {"source": "early", "observed_at": said}
    claim: dict[str, Any] = {"id": "c1", "text": "It happened.", "attributions": [early]}
    assert client.post("/v1/claims", json={"claims": [claim]}).status_code == 200
    client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"})
    _recorded_an_hour_earlier(app, "c1")
    unknown = app.extensions["credence"].setup.unknown
    hit = _learned(app)["early"][0] - unknown.alpha
    assert hit > 0.99
    # Outlets that report the confirmation once it is known, added or re-posted.
    added = client.post("/v1/claims/c1/attributions", json={"attributions": [{"source": "late-1"}]})
    assert added.status_code == 200
    warned = [(w["field"], w["code"]) for w in added.get_json()["warnings"]]
    assert ("attributions[0]", "hindsight") in warned
    reposted = {**claim, "attributions": [*claim["attributions"], {"source": "late-2"}]}
    warned = client.post("/v1/claims", json={"claims": [reposted]}).get_json()["warnings"]
    hindsight = [w for w in warned if w["code"] == "hindsight"]
    assert [w["field"] for w in hindsight] == ["claims[0].attributions[1]"]
    assert "late-2" in hindsight[0]["detail"]
    # The next sync restates it: it was warned of when it came.
    warned = client.post("/v1/claims", json={"claims": [reposted]}).get_json()["warnings"]
    assert "hindsight" not in {w["code"] for w in warned}
    assert "late-1" not in _learned(app) and "late-2" not in _learned(app)
    # A stance said before the record counts, however late it reaches the store.
    before = {"source": "before-1", "stance": "refutes", "observed_at": said}
    client.post("/v1/claims/c1/attributions", json={"attributions": [before]})
    assert _learned(app)["before-1"] == (unknown.alpha, unknown.beta + hit)
    # The job learns from the same stances: "early" and "before-1" are judged by the
    # outcome, the late outlets keep the unknown source's prior.
    run_rescore(app)
    assert "late-2" not in _learned(app)
    assert _reliability(client, "early") > unknown.mean > _reliability(client, "before-1")
    # Still unknown: it scores with the unknown source's prior.
    assert client.get("/v1/sources/late-2").status_code == 404
    # Withdrawn, the late outlet still owes nothing.
    assert client.delete("/v1/claims/c1/resolution").status_code == 204
    assert "late-2" not in _learned(app)


def test_a_redefined_prior_takes_the_old_ones_place_under_the_record(
    app: Flask, client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    grades = app.extensions["credence"].setup.grades
    a, b, e = (grades.prior(letter) for letter in "ABE")
    assert a is not None and b is not None and e is not None
    assert client.put("/v1/sources/yes-1", json={"prior": {"grade": "A"}}).status_code == 200
    client.post("/v1/claims", json={"claims": [CLAIM]})
    client.post("/v1/claims/c1/resolution", json={"outcome": "refuted"})
    assert _learned(app)["yes-1"] == pytest.approx((a.alpha, a.beta + 1))
    # Downgraded: the record (one miss) stays, on the new prior, here and in another process.
    assert client.put("/v1/sources/yes-1", json={"prior": {"grade": "E"}}).status_code == 200
    on_e = e.alpha / (e.alpha + e.beta + 1)
    assert _reliability(client, "yes-1") == pytest.approx(on_e)
    assert _reliability(make_app().test_client(), "yes-1") == pytest.approx(on_e)
    # A job's belief is rebased alike: what it learned beyond the prior it fitted with stays.
    assert client.put("/v1/sources/fit-1", json={"prior": {"grade": "A"}}).status_code == 200
    open_claims = [
        {"id": f"o{i}", "text": f"Open {i}.", "attributions": [{"source": "fit-1"}, {"source": w}]}
        for i, w in enumerate(["w1", "w2", "w3", "w1", "w2"])
    ]
    assert client.post("/v1/claims", json={"claims": open_claims}).status_code == 200
    run_rescore(app)
    with Session(engine_of(app)) as session:
        row = session.get(SourceReliability, "fit-1")
        assert row is not None and row.job_id is not None
        assert (row.prior_alpha, row.prior_beta) == pytest.approx((a.alpha, a.beta))
        learned_alpha, learned_beta = row.alpha - a.alpha, row.beta - a.beta
    assert client.put("/v1/sources/fit-1", json={"prior": {"grade": "B"}}).status_code == 200
    rebased = (b.alpha + learned_alpha) / (b.strength + learned_alpha + learned_beta)
    assert _reliability(client, "fit-1") == pytest.approx(rebased)


def test_resolution_errors(app: Flask, client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]})
    assert_problem(client.post("/v1/claims/nope/resolution", json={"outcome": "confirmed"}), 404)
    assert_problem(client.delete("/v1/claims/nope/resolution"), 404)
    counts = row_counts(app)
    assert_problem(client.post("/v1/claims/c1/resolution", json={"outcome": "yes"}), 422, "outcome")
    assert_problem(client.post("/v1/claims/c1/resolution", json={}), 422, "outcome")
    assert_problem(
        client.post("/v1/claims/c1/resolution", json={"outcome": "refuted", "by": "me"}), 422, "by"
    )
    assert_problem(
        client.post(
            "/v1/claims/c1/resolution",
            json={"outcome": "refuted", "resolved_at": "2999-01-01T00:00:00Z"},
        ),
        422,
        "resolved_at",
    )
    assert row_counts(app) == counts
    assert client.post("/v1/claims/c1/resolution", json={"outcome": "refuted"}).status_code == 200
    assert_problem(client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"}), 409)


def test_one_confirmed_answer_per_question(client: FlaskClient) -> None:
    answers = [
        {"id": f"a{i}", "text": str(i), "question": "how-many", "attributions": []}
        for i in range(3)
    ]
    client.post("/v1/claims", json={"claims": answers})
    assert client.post("/v1/claims/a0/resolution", json={"outcome": "confirmed"}).status_code == 200
    assert client.post("/v1/claims/a1/resolution", json={"outcome": "refuted"}).status_code == 200
    assert_problem(client.post("/v1/claims/a2/resolution", json={"outcome": "confirmed"}), 409)


def test_a_questions_answers_sum_to_at_most_one_as_they_are_resolved(
    app: Flask, client: FlaskClient
) -> None:
    sources = [["wire"], ["agency"], ["agency", "paper"]]
    answers = [
        {"id": f"a{i}", "text": f"Answer {i}.", "question": "who",
         "attributions": [{"source": s} for s in named]}
        for i, named in enumerate(sources)
    ]  # fmt: skip

    def confidences() -> list[float]:
        return [client.get(f"/v1/claims/a{i}").get_json()["score"]["confidence"] for i in range(3)]

    assert client.post("/v1/claims", json={"claims": answers}).status_code == 200
    opened = confidences()
    # A refuted answer leaves the others the share it had.
    assert client.post("/v1/claims/a2/resolution", json={"outcome": "refuted"}).status_code == 200
    refuted = confidences()
    assert refuted[2] == 0 and refuted[0] > opened[0] and refuted[1] > opened[1]
    assert sum(refuted) <= 1
    # A confirmed answer leaves the others next to nothing: it is the answer.
    assert client.post("/v1/claims/a0/resolution", json={"outcome": "confirmed"}).status_code == 200
    confirmed = confidences()
    assert confirmed[0] == 1 and confirmed[1] < 1e-6 and sum(confirmed) <= 1 + 1e-6
    history = client.get("/v1/claims/a1/history").get_json()["history"]
    assert [h["reason"] for h in history] == ["sibling", "sibling", "created"]
    # A job scores them as the API did: nothing for it to rewrite.
    assert run_rescore(app)["claims_changed"] == 0
    # Withdrawn, the confirmation no longer rules the other answer out.
    assert client.delete("/v1/claims/a0/resolution").status_code == 204
    assert confidences()[1] > 0.01


def test_a_source_only_claims_name_reads_as_learned(client: FlaskClient) -> None:
    claim = {"id": "c1", "text": "It happened.", "attributions": [{"source": "nowhere-1"}]}
    assert client.post("/v1/claims", json={"claims": [claim]}).status_code == 200
    assert client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"}).status_code == 200
    source = client.get("/v1/sources/nowhere-1").get_json()
    assert source["origin"] == "learned" and source["created_at"] is None
    assert source["reliability"]["learned"] is True
    assert client.put("/v1/sources/nowhere-1", json={"name": "Now defined"}).status_code == 200
    assert client.get("/v1/sources/nowhere-1").get_json()["origin"] == "api"


def test_resolutions_need_the_admin_role(client: FlaskClient, keys: dict[str, str]) -> None:
    client.post("/v1/claims", json={"claims": [CLAIM]}, headers=auth(keys["write"]))
    body = {"outcome": "confirmed"}
    response = client.post("/v1/claims/c1/resolution", json=body, headers=auth(keys["write"]))
    assert_problem(response, 403)
    assert_problem(client.delete("/v1/claims/c1/resolution", headers=auth(keys["write"])), 403)
    assert client.get("/v1/claims/c1/history", headers=auth(keys["read"])).status_code == 200
    response = client.post("/v1/claims/c1/resolution", json=body, headers=auth(keys["admin"]))
    assert response.status_code == 200


def test_history_newest_first_with_what_changed(app: Flask, client: FlaskClient) -> None:
    claims: list[dict[str, Any]] = [
        {"id": f"h{i}", "text": str(i), "attributions": [{"source": "w"}, {"source": "v"}]}
        for i in range(6)
    ]
    client.post("/v1/claims", json={"claims": claims})
    client.post("/v1/claims/h0/attributions", json={"attributions": [{"source": "u"}]})
    for i in range(1, 6):
        client.post(f"/v1/claims/h{i}/resolution", json={"outcome": "refuted"})
    stats = run_rescore(app)
    assert stats["claims_changed"] > 0

    body = client.get("/v1/claims/h0/history").get_json()
    assert HistoryResponseSchema().validate(body) == {}
    history = body["history"]
    assert [h["reason"] for h in history] == ["rescore", "attributions", "created"]
    newest = history[0]
    assert newest["job_id"] is not None and history[1]["job_id"] is None
    assert newest["confidence"] < history[1]["confidence"]
    assert 1 <= len(newest["changes"]) <= 3
    top = newest["changes"][0]
    assert top["source"] in {"w", "v"}
    assert top["reliability_after"] < top["reliability_before"]
    times = [h["computed_at"] for h in history]
    assert times == sorted(times, reverse=True)
    assert client.get("/v1/claims/h0").get_json()["score"]["confidence"] == newest["confidence"]
    assert_problem(client.get("/v1/claims/nope/history"), 404)
