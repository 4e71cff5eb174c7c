"""The job learns a structure and calibration, stores them, and the online scorer uses them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.models import LearnedModelRow
from tests.learning.common import engine_of, post_claims, run_rescore, stored_scores

LABELS = ("cat", "dog", "fox")


def crowd(n_questions: int = 120, seed: int = 3) -> list[dict[str, Any]]:
    """Questions answered by five of twenty workers, stored as a new user would:
    one claim per answer given, its text the answer, sharing the question."""
    rng = random.Random(seed)
    skill = [rng.uniform(0.45, 0.9) for _ in range(20)]
    claims = []
    for q in range(n_questions):
        truth = rng.randrange(3)
        picks: dict[int, list[dict[str, Any]]] = {}
        for worker in rng.sample(range(20), 5):
            label = truth if rng.random() < skill[worker] else rng.choice([0, 1, 2])
            picks.setdefault(label, []).append({"source": f"w{worker}"})
        for label, attributions in sorted(picks.items()):
            claims.append(
                {
                    "id": f"q{q}-{LABELS[label]}",
                    "text": LABELS[label],
                    "question": f"q{q}",
                    "attributions": attributions,
                }
            )
    return claims


def test_a_job_stores_what_it_chose_and_online_scores_agree(
    app: Flask, client: FlaskClient
) -> None:
    claims = crowd()
    post_claims(client, claims)
    stats = run_rescore(app)
    fit = stats["fit"]
    assert fit["structure"] in fit["candidates"]
    assert fit["criterion"] == "held-out answers"
    assert fit["temperature"] > 0 and isinstance(fit["converged"], bool)
    assert fit["iterations"] >= 1 and fit["model_written"] is True
    with Session(engine_of(app)) as session:
        stored_model = session.scalars(select(LearnedModelRow.model)).one()
    assert stored_model["structure"] == fit["structure"]
    assert stored_model["classes"] == sorted(LABELS)

    # POST /v1/score of a stored question gives what the job wrote.
    stored = stored_scores(app)
    question = [c for c in claims if c["question"] == "q7"]
    response = client.post("/v1/score", json={"claims": question})
    assert response.status_code == 200, response.get_data(as_text=True)
    for sent, score in zip(question, response.get_json()["scores"], strict=True):
        assert abs(score["confidence"] - stored[sent["id"]]["confidence"]) < 1e-9

    # A second job over the same store keeps the model and rewrites nothing.
    again = run_rescore(app)
    assert again["fit"]["model_written"] is False
    assert again["claims_changed"] == 0


@pytest.mark.parametrize("lone", [False, True], ids=["empty store", "one source a claim"])
def test_a_job_the_store_told_nothing_writes_no_model(
    app: Flask, client: FlaskClient, lone: bool
) -> None:
    """A scheduled job on a fresh store (empty, or each claim one source's word) leaves
    claims scored as before it: its fit is the priors', no model."""
    if lone:
        lone_claims = [
            {"id": f"c{i}", "text": f"Claim {i}.", "attributions": [{"source": f"s{i % 5}"}]}
            for i in range(200)
        ]
        post_claims(client, lone_claims)
    question = [c for c in crowd(n_questions=3) if c["question"] == "q1"]

    def scores() -> list[tuple[float, str]]:
        response = client.post("/v1/score", json={"claims": question})
        return [(s["confidence"], s["summary"]) for s in response.get_json()["scores"]]

    before = scores()
    stats = run_rescore(app)
    assert stats["fit"]["informed"] is False and stats["fit"]["model_written"] is False
    with Session(engine_of(app)) as session:
        assert session.scalars(select(LearnedModelRow)).first() is None
    assert scores() == before
    # The same crowd, answered by many: now the job learns, writes its model, and
    # the question's scores move.
    post_claims(client, crowd())
    assert run_rescore(app)["fit"]["model_written"] is True
    assert scores() != before


def yes_no_statements(n_claims: int = 300, seed: int = 5) -> list[dict[str, Any]]:
    """Statements each supported or refuted by five of twenty sources, half of whom
    support nearly everything (sensitivity 0.95, specificity 0.3; the others 0.85)."""
    rng = random.Random(seed)
    claims = []
    for i in range(n_claims):
        true = rng.random() < 0.5
        attributions = []
        for source in rng.sample(range(20), 5):
            sensitivity, specificity = (0.95, 0.3) if source % 2 == 0 else (0.85, 0.85)
            supports = rng.random() < sensitivity if true else rng.random() > specificity
            stance = "supports" if supports else "refutes"
            attributions.append({"source": f"s{source}", "stance": stance})
        claims.append({"id": f"c{i:03d}", "text": f"Statement {i}.", "attributions": attributions})
    return claims


def test_a_job_that_learns_a_coin_per_stance_scores_online_as_it_wrote(
    app: Flask, client: FlaskClient
) -> None:
    claims = yes_no_statements()
    post_claims(client, claims)
    fit = run_rescore(app)["fit"]
    assert fit["structure"].startswith("two coins")
    with Session(engine_of(app)) as session:
        stored_model = session.scalars(select(LearnedModelRow.model)).one()
    sensitivity, specificity = stored_model["stances"]["s0"]  # a yes-sayer
    assert sensitivity > specificity + 0.3
    stored = stored_scores(app)
    response = client.post("/v1/score", json={"claims": claims[:20]})
    assert response.status_code == 200, response.get_data(as_text=True)
    for sent, score in zip(claims[:20], response.get_json()["scores"], strict=True):
        assert abs(score["confidence"] - stored[sent["id"]]["confidence"]) < 1e-9
    assert run_rescore(app)["claims_changed"] == 0


def test_claims_imported_from_stix_are_scored_with_the_learned_model(
    app: Flask, client: FlaskClient
) -> None:
    claims = crowd()
    post_claims(client, claims)
    run_rescore(app)
    stored = stored_scores(app)
    exported = client.get(
        "/v1/claims?question=q7", headers={"Accept": "application/stix+json;version=2.1"}
    )
    assert exported.status_code == 200
    # The question's claims arrive again as a STIX bundle, under new ids and a new question: the
    # import scores them with the model the job stored, as it scored the originals.
    bundle = exported.get_data(as_text=True).replace('"q7', '"again-q7')
    response = client.post(
        "/v1/import/stix", data=bundle, content_type="application/stix+json;version=2.1"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    scores = {c["id"]: c["score"] for c in response.get_json()["claims"]}
    originals = [c["id"] for c in claims if c["question"] == "q7"]
    assert sorted(scores) == sorted(f"again-{i}" for i in originals)
    for claim_id in originals:
        again = scores[f"again-{claim_id}"]["confidence"]
        assert abs(again - stored[claim_id]["confidence"]) < 1e-9


def test_a_fit_that_did_not_converge_says_so(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(learning={"max_iter": 1, "tolerance": 1e-12})
    post_claims(app.test_client(), crowd(n_questions=40))
    stats = run_rescore(app)
    assert stats["fit"]["converged"] is False
    assert stats["fit"]["iterations"] == 1
    assert any("did not converge" in r.getMessage() for r in caplog.records)
