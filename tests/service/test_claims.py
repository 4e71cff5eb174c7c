"""Stored claims: batches, idempotent re-posts, listing, reading, added evidence, history."""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.claims import wide_filter_rows
from service.schemas.responses import (
    AddedEvidenceSchema,
    ClaimPageSchema,
    StoredClaimSchema,
    StoredClaimsResponseSchema,
)
from service.store.models import ScoreHistory
from tests.service.helpers import assert_problem, row_counts


def _history(app: Flask, claim_id: str) -> list[str]:
    with Session(app.extensions["credence.engine"]) as session:
        query = select(ScoreHistory.reason).where(ScoreHistory.claim_id == claim_id)
        return list(session.scalars(query.order_by(ScoreHistory.id)))


def test_post_stores_and_scores(app: Flask, client: FlaskClient, scenario: dict[str, Any]) -> None:
    response = client.post("/v1/claims", json={"claims": scenario["claims"]})
    assert response.status_code == 200
    body = response.get_json()
    assert StoredClaimsResponseSchema().validate(body) == {}
    claims = body["claims"]
    assert [c["id"] for c in claims] == [c["id"] for c in scenario["claims"]]
    assert all(c["status"] == "open" and c["score"]["confidence"] > 0 for c in claims)
    assert claims[0]["tags"] == ["nk", "troops"]
    assert claims[0]["attributions"][1]["quote"] == "would not confirm or deny"
    stored = client.get("/v1/claims/kp-troops-in-russia").get_json()
    assert StoredClaimSchema().validate(stored) == {}
    assert stored["score"] == claims[2]["score"]
    assert _history(app, "kp-troops-in-russia") == ["created"]


def test_claims_without_id_get_one(client: FlaskClient) -> None:
    claims = client.post("/v1/claims", json={"claims": [{"text": "a"}, {"text": "b"}]}).get_json()
    ids = [c["id"] for c in claims["claims"]]
    assert len(set(ids)) == 2
    assert all(client.get(f"/v1/claims/{i}").status_code == 200 for i in ids)


def test_ids_the_service_gives_list_in_the_order_claims_were_stored(client: FlaskClient) -> None:
    # Ids begin with their creation time, so that new claims are appended to every
    # index keyed by claim id (bench/results/store_growth.md) and a listing by id
    # shows them oldest first.
    batches = []
    for k in range(3):
        time.sleep(0.002)  # the ids' clock counts milliseconds
        body = {"claims": [{"text": f"claim {k}.{i}"} for i in range(5)]}
        batches.append({c["id"] for c in client.post("/v1/claims", json=body).get_json()["claims"]})
    listed = [c["id"] for c in client.get("/v1/claims").get_json()["claims"]]
    assert [set(listed[5 * k : 5 * k + 5]) for k in range(3)] == batches


def test_repost_updates_the_claim(app: Flask, client: FlaskClient) -> None:
    first = {
        "id": "c1",
        "text": "old",
        "tags": ["a"],
        "attributions": [{"source": "x"}, {"source": "y"}],
    }
    second = {
        "id": "c1",
        "text": "new",
        "tags": ["b"],
        "prior": 0.2,
        "question": "q",
        "attributions": [{"source": "z", "stance": "refutes"}],
    }
    client.post("/v1/claims", json={"claims": [first]})
    counts = row_counts(app)
    response = client.post("/v1/claims", json={"claims": [second]})
    assert response.status_code == 200
    claim = client.get("/v1/claims/c1").get_json()
    assert (claim["text"], claim["tags"], claim["prior"], claim["question"]) == (
        "new",
        ["b"],
        0.2,
        "q",
    )
    assert [a["source"] for a in claim["attributions"]] == ["z"]
    after = row_counts(app)
    assert (
        after["claims"] == counts["claims"] and after["attributions"] == counts["attributions"] - 1
    )
    assert _history(app, "c1") == ["created", "updated"]


def test_a_repost_that_changes_nothing_adds_no_history(app: Flask, client: FlaskClient) -> None:
    claim = {
        "id": "c1",
        "text": "The canal is blocked.",
        "tags": ["suez"],
        "attributions": [{"source": "ap"}, {"source": "reuters", "via": ["bbc"]}],
    }
    created = client.post("/v1/claims", json={"claims": [claim]}).get_json()["claims"][0]
    # A connector's daily sync: the same claim, again and again.
    for _ in range(3):
        again = client.post("/v1/claims", json={"claims": [claim]}).get_json()["claims"][0]
        assert again["score"] == created["score"]
    assert client.get("/v1/claims/c1").get_json()["score"] == created["score"]
    assert _history(app, "c1") == ["created"]
    # What moves the evidence or the score is recorded, as before.
    moved = {**claim, "attributions": [{"source": "ap"}]}
    changed = client.post("/v1/claims", json={"claims": [moved]}).get_json()["claims"][0]
    assert changed["score"]["confidence"] != created["score"]["confidence"]
    assert _history(app, "c1") == ["created", "updated"]
    client.post("/v1/claims", json={"claims": [{**moved, "prior": 0.2}]})
    assert _history(app, "c1") == ["created", "updated", "updated"]


def test_a_repost_keeps_when_each_stance_was_first_observed(client: FlaskClient) -> None:
    said = "2024-05-01T08:00:00+00:00"
    stated = [{"source": "ap"}, {"source": "reuters", "observed_at": said}]
    claim = {"id": "c1", "text": "The canal is blocked.", "attributions": stated}
    first = client.post("/v1/claims", json={"claims": [claim]}).get_json()["claims"][0]
    observed = {a["source"]: a["observed_at"] for a in first["attributions"]}
    assert observed["reuters"] == said
    # A sync without times, an edit of the weight, and a new source.
    synced = [{"source": "ap"}, {"source": "reuters", "certainty": 0.5}, {"source": "afp"}]
    again = {**claim, "attributions": synced}
    time.sleep(0.01)
    answered = client.post("/v1/claims", json={"claims": [again]}).get_json()["claims"][0]
    for read in (answered, client.get("/v1/claims/c1").get_json()):
        times = {a["source"]: a["observed_at"] for a in read["attributions"]}
        assert times["ap"] == observed["ap"] and times["reuters"] == said
        assert times["afp"] > observed["ap"]
    # A stance the source did not take before is observed anew, as is a given time.
    turned = {"source": "ap", "stance": "refutes"}
    later = {"source": "reuters", "observed_at": "2024-06-01T08:00:00+00:00"}
    turned_claim = {**claim, "attributions": [turned, later]}
    posted = client.post("/v1/claims", json={"claims": [turned_claim]}).get_json()
    stamps = [a["observed_at"] for a in posted["claims"][0]["attributions"]]
    assert stamps[0] > observed["ap"] and stamps[1] == later["observed_at"]


def test_a_claim_read_back_posts_back(client: FlaskClient) -> None:
    """What GET answers for a claim's request fields (nulls included) is a valid claim:
    read, change, write."""
    sent = {"id": "c1", "text": "A claim.", "attributions": [{"source": "wire"}]}
    assert client.post("/v1/claims", json={"claims": [sent]}).status_code == 200
    read = client.get("/v1/claims/c1").get_json()
    assert read["prior"] is None and read["question"] is None and read["value"] is None
    fields = ("id", "text", "prior", "question", "value", "tags", "attributions")
    again = {k: read[k] for k in fields} | {"text": "A changed claim."}
    # An attribution's document is its request fields (url and quote only when given).
    again["attributions"] = [a | {"url": None, "quote": None} for a in read["attributions"]]
    response = client.post("/v1/claims", json={"claims": [again]})
    assert response.status_code == 200, response.get_json()
    stored = client.get("/v1/claims/c1").get_json()
    assert stored["text"] == "A changed claim." and stored["prior"] is None
    assert (
        client.post("/v1/claims", json={"claims": [{"id": "c2", "text": None}]}).status_code == 422
    )


def test_a_failed_batch_stores_nothing(app: Flask, client: FlaskClient) -> None:
    client.post("/v1/claims", json={"claims": [{"id": "keep", "text": "kept"}]})
    before = row_counts(app)
    bad = {
        "claims": [
            {"id": "new-one", "text": "fine"},
            {"id": "keep", "text": "changed"},
            {"text": "x", "attributions": [{"source": "s", "certainty": 0}]},
        ]
    }
    assert_problem(client.post("/v1/claims", json=bad), 422, "claims.2.attributions.0.certainty")
    assert row_counts(app) == before
    assert client.get("/v1/claims/keep").get_json()["text"] == "kept"
    assert client.get("/v1/claims/new-one").status_code == 404


def test_duplicate_ids_in_a_batch_are_refused(client: FlaskClient) -> None:
    body = {"claims": [{"id": "d", "text": "a"}, {"id": "d", "text": "b"}]}
    assert_problem(client.post("/v1/claims", json=body), 422, "claims.1.id")


def test_question_siblings_are_rescored(app: Flask, client: FlaskClient) -> None:
    one = {
        "id": "n-1500",
        "text": "1,500",
        "question": "how-many",
        "attributions": [{"source": "wire"}],
    }
    client.post("/v1/claims", json={"claims": [one]})
    alone = client.get("/v1/claims/n-1500").get_json()["score"]["confidence"]
    other = {
        "id": "n-10000",
        "text": "10,000",
        "question": "how-many",
        "attributions": [{"source": "wire"}],
    }
    client.post("/v1/claims", json={"claims": [other]})
    shared = client.get("/v1/claims/n-1500").get_json()["score"]["confidence"]
    assert shared < alone
    assert _history(app, "n-1500") == ["created", "sibling"]


def test_list_filters_and_pages(client: FlaskClient, scenario: dict[str, Any]) -> None:
    answers = [
        {"id": f"n-{n}", "text": f"{n} were sent.", "question": "how-many"} for n in (1500, 10000)
    ]
    client.post("/v1/claims", json={"claims": scenario["claims"] + answers})

    def ids(query: str) -> list[str]:
        response = client.get(f"/v1/claims?{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert ClaimPageSchema().validate(body) == {}
        assert all("attributions" not in c and "evidence" not in c["score"] for c in body["claims"])
        return [c["id"] for c in body["claims"]]

    assert ids("") == sorted(c["id"] for c in scenario["claims"] + answers)
    assert ids("question=how-many") == ["n-10000", "n-1500"]
    assert ids("question=how-many&q=1500") == ["n-1500"]
    assert ids("tag=troops") == ["kp-sof-1500-shipped"]
    assert ids("source=ua-president") == ["kp-troops-in-russia"]
    assert ids("q=SECOND") == ["kp-second-deployment"]
    assert ids("status=confirmed") == []
    assert ids("min_confidence=0.99") == []
    assert len(ids("min_confidence=0&max_confidence=1")) == 5
    first = client.get("/v1/claims?limit=3").get_json()
    second = client.get(f"/v1/claims?limit=3&cursor={first['next_cursor']}").get_json()
    assert [c["id"] for c in first["claims"] + second["claims"]] == ids("")
    assert second["next_cursor"] is None


def test_text_search_folds_the_case_of_any_letter(client: FlaskClient) -> None:
    texts = {"at": "Österreich schließt die Grenze", "pl": "ŁÓDŹ reports", "en": "Oslo says"}
    claims = [{"id": i, "text": t} for i, t in texts.items()]
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200

    def ids(q: str) -> list[str]:
        return [
            c["id"] for c in client.get("/v1/claims", query_string={"q": q}).get_json()["claims"]
        ]

    assert ids("österreich") == ids("ÖSTERREICH") == ids("Österreich") == ["at"]
    assert ids("łódź") == ["pl"]
    assert ids("OSLO") == ids("oslo") == ["en"]


def _graded_claims(client: FlaskClient, copies: int) -> dict[str, float]:
    """``copies`` times twelve claims of one source each (grades A, B and E, supporting
    or refuting, certain or hedged), stored; each claim's confidence by id."""
    for grade in "ABE":
        client.put(f"/v1/sources/grade-{grade.lower()}", json={"prior": {"grade": grade}})
    patterns = [
        (grade, stance, certainty)
        for grade in "abe"
        for stance in ("supports", "refutes")
        for certainty in (1.0, 0.55)
    ]
    claims = [
        {
            "id": f"c-{copy:02d}-{k:02d}",
            "text": f"Claim {k}.",
            "attributions": [
                {"source": f"grade-{grade}", "stance": stance, "certainty": certainty}
            ],
        }
        for copy in range(copies)
        for k, (grade, stance, certainty) in enumerate(patterns)
    ]
    stored = client.post("/v1/claims", json={"claims": claims}).get_json()["claims"]
    confidence = {c["id"]: c["score"]["confidence"] for c in stored}
    assert len(set(confidence.values())) > 6
    return confidence


def _listed(client: FlaskClient, query: str, limit: int = 1000) -> list[str]:
    """Every claim id ``GET /v1/claims?query`` lists, page after page."""
    found: list[str] = []
    cursor = ""
    while True:
        response = client.get(f"/v1/claims?{query}&limit={limit}{cursor}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        found += [c["id"] for c in body["claims"]]
        if body["next_cursor"] is None:
            return found
        cursor = f"&cursor={body['next_cursor']}"


def test_confidence_bounds_keep_exactly_the_claims_within(client: FlaskClient) -> None:
    # The query finds rows by whole percents and then compares exact values: a bound
    # equal to a stored confidence, or a hair inside or outside it, must still cut there.
    confidence = _graded_claims(client, 1)

    def ids(query: str) -> set[str]:
        return set(_listed(client, query))

    for value in confidence.values():
        for bound in (value, math.nextafter(value, 0.0), math.nextafter(value, 1.0)):
            at_least = {i for i, c in confidence.items() if c >= bound}
            at_most = {i for i, c in confidence.items() if c <= bound}
            assert ids(f"min_confidence={bound!r}") == at_least
            assert ids(f"max_confidence={bound!r}") == at_most
            assert ids(f"min_confidence={bound!r}&max_confidence={value!r}") == {
                i for i in at_least if confidence[i] <= value
            }


def test_wide_and_narrow_confidence_bands_page_alike(client: FlaskClient) -> None:
    # On SQLite a band holding wide_filter_rows scores is read in id order, a narrower
    # one through the index: paged one claim at a time, either lists its claims in id
    # order (PostgreSQL's planner chooses for itself; the listing is the same).
    confidence = _graded_claims(client, 5)
    wide = wide_filter_rows(len(confidence), 1)
    values = sorted(set(confidence.values()))
    counts = []
    for least, most in ((0.0, 1.0), (values[1], values[-2]), (values[-1], 1.0)):
        within = sorted(i for i, c in confidence.items() if least <= c <= most)
        query = f"min_confidence={least!r}&max_confidence={most!r}"
        assert _listed(client, query, limit=1) == within
        counts.append(len(within))
    assert counts[2] < wide <= counts[1] < counts[0]
    # Every claim is open: on SQLite the status is tested claim by claim, not through
    # its index.
    assert _listed(client, "status=open", limit=1) == sorted(confidence)


def test_sources_and_tags_on_many_or_few_claims_page_alike(client: FlaskClient) -> None:
    # On SQLite a source (or tag) on wide_filter_rows claims is tested claim by claim
    # in id order, one on fewer through its index: either lists exactly its claims,
    # once each, in id order, with other filters still applied.
    n = 60
    claims = [
        {
            "id": f"c-{k:03d}",
            "text": f"Claim {k}.",
            # The wire twice on some claims (relayed once): still listed once.
            "attributions": [{"source": "wire"}]
            + ([{"source": "wire", "via": ["relay"]}] if k % 7 == 0 else [])
            + ([{"source": "gov-a"}] if k % 20 == 0 else []),
            "tags": ["common"] + (["rare"] if k % 20 == 3 else []),
        }
        for k in range(n)
    ]
    claims.append({"id": "z-alone", "text": "Not the wire's.", "attributions": []})
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    assert (
        client.post("/v1/claims/c-005/resolution", json={"outcome": "confirmed"}).status_code == 200
    )
    every = [c["id"] for c in claims[:n]]
    assert len(every[::20]) < wide_filter_rows(len(claims), 1) <= len(every)
    assert _listed(client, "source=wire", limit=1) == every
    assert _listed(client, "source=gov-a", limit=1) == every[::20]
    assert _listed(client, "tag=common", limit=1) == every
    assert _listed(client, "tag=rare", limit=1) == every[3::20]
    assert _listed(client, "source=wire&status=confirmed", limit=1) == ["c-005"]
    assert _listed(client, "source=wire&tag=rare", limit=1) == every[3::20]
    assert _listed(client, "source=nobody", limit=1) == []


def test_list_refuses_bad_paging(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/claims?limit=1001"), 422, "limit")
    assert_problem(client.get("/v1/claims?limit=0"), 422, "limit")
    assert_problem(client.get("/v1/claims?cursor=%%%"), 422, "cursor")
    # Made up: base64 of text that names no id ({"x":1}), for every list.
    for path in ("/v1/claims", "/v1/sources", "/v1/questions"):
        assert_problem(client.get(f"{path}?cursor=eyJ4IjoxfQ"), 422, "cursor")
    assert_problem(client.get("/v1/claims?min_confidence=2"), 422, "min_confidence")
    assert_problem(client.get("/v1/claims?colour=red"), 422, "colour")
    assert_problem(client.get("/v1/claims?question=Not%20A%20Slug"), 422, "question")


def test_unknown_claim_is_404(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/claims/nope"), 404)
    assert_problem(client.post("/v1/claims/nope/attributions", json={"attributions": []}), 404)


def test_added_attributions_rescore_at_once(app: Flask, client: FlaskClient) -> None:
    client.post(
        "/v1/claims",
        json={"claims": [{"id": "c", "text": "t", "attributions": [{"source": "wire"}]}]},
    )
    before = client.get("/v1/claims/c").get_json()["score"]["confidence"]
    response = client.post(
        "/v1/claims/c/attributions", json={"attributions": [{"source": "gov-a"}]}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert AddedEvidenceSchema().validate(body) == {}
    assert body["confidence"] > before
    claim = client.get("/v1/claims/c").get_json()
    assert [a["source"] for a in claim["attributions"]] == ["wire", "gov-a"]
    assert claim["score"]["confidence"] == body["confidence"]
    assert _history(app, "c") == ["created", "attributions"]


def test_attribution_limit_counts_stored_ones(make_app: Any) -> None:
    client = make_app(limits={"attributions_per_claim": 2}).test_client()
    client.post(
        "/v1/claims", json={"claims": [{"id": "c", "text": "t", "attributions": [{"source": "a"}]}]}
    )
    body = {"attributions": [{"source": "b"}, {"source": "c"}]}
    assert_problem(client.post("/v1/claims/c/attributions", json=body), 422, "attributions")
    assert_problem(
        client.post(
            "/v1/claims/c/attributions", json={"attributions": [{"source": "b", "via": ["b"]}]}
        ),
        422,
        "attributions.0.via",
    )
