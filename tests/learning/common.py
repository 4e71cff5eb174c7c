"""Helpers of the learning-loop tests: stores to work on, jobs to run, scores to check."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from scoring.claims import SETTLED_PRIOR
from service.app_state import AppState
from service.jobs.lock import job_lock
from service.jobs.rescore import JobConfig, Progress, claim_job, run_job
from service.store.claims import stored_claims
from service.store.db import writer
from service.store.models import Claim, Resolution, Score
from service.store.source_beliefs import read_book


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["credence.engine"]
    return engine


def app_state(app: Flask) -> AppState:
    state: AppState = app.extensions["credence"]
    return state


def job_setup(app: Flask, chunk_claims: int = 2_000) -> JobConfig:
    state = app_state(app)
    return JobConfig(
        state.setup,
        state.settings.learning,
        state.sources.catalogue,
        chunk_claims=chunk_claims,
    )


def run_rescore(
    app: Flask, chunk_claims: int = 2_000, progress: Progress | None = None
) -> dict[str, Any]:
    """One job, run here and now; its stats."""
    engine = engine_of(app)
    lock = job_lock(engine)
    job_id = claim_job(engine, lock)
    return run_job(engine, job_setup(app, chunk_claims), job_id, lock, progress)


def wait_for_job(client: FlaskClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").get_json()["job"]
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def random_claims(
    n_claims: int, n_sources: int, seed: int = 7, per_claim: int = 3, prefix: str = "c"
) -> list[dict[str, Any]]:
    """Claims of random sources taking random sides; every tenth pair shares a question."""
    rng = random.Random(seed)
    claims = []
    for i in range(n_claims):
        sources = rng.sample(range(n_sources), per_claim)
        claim: dict[str, Any] = {
            "id": f"{prefix}{i:06d}",
            "text": f"statement {i}",
            "attributions": [
                {"source": f"s{s:03d}", "stance": rng.choice(("supports", "supports", "refutes"))}
                for s in sources
            ],
        }
        if i % 10 in (0, 1):
            claim["question"] = f"q{i // 10}"
        claims.append(claim)
    return claims


def post_claims(client: FlaskClient, claims: Sequence[dict[str, Any]], batch: int = 1_000) -> None:
    for start in range(0, len(claims), batch):
        response = client.post("/v1/claims", json={"claims": list(claims[start : start + batch])})
        assert response.status_code == 200, response.get_data(as_text=True)


def resolve_directly(app: Flask, outcomes: dict[str, str]) -> None:
    """Resolutions written straight into the store (as an import would), without the
    endpoint's incremental update: for tests of the job, fast on big stores."""
    now = datetime.now(UTC)
    with Session(writer(engine_of(app))) as session, session.begin():
        forecasts = dict(
            session.execute(
                select(Score.claim_id, Score.confidence).where(Score.claim_id.in_(list(outcomes)))
            ).all()
        )
        session.execute(
            insert(Resolution),
            [
                {
                    "claim_id": claim_id,
                    "outcome": outcome,
                    "resolved_at": now - timedelta(days=30),
                    "note": None,
                    "forecast": forecasts[claim_id],
                    "created_at": now,
                }
                for claim_id, outcome in outcomes.items()
            ],
        )
        for outcome in ("confirmed", "refuted"):
            ids = [c for c, o in outcomes.items() if o == outcome]
            session.execute(
                update(Claim).where(Claim.id.in_(ids)).values(status=outcome, updated_at=now)
            )


def stored_scores(app: Flask) -> dict[str, dict[str, Any]]:
    with Session(engine_of(app)) as session:
        return {
            row.claim_id: {
                "confidence": row.confidence,
                "low": row.low,
                "high": row.high,
                "credibility": row.credibility,
                "evidence": row.evidence,
                "computed_at": row.computed_at,
                "job_id": row.job_id,
            }
            for row in session.scalars(select(Score))
        }


def fresh_confidences(app: Flask) -> dict[str, float]:
    """Every open claim scored now with the reliabilities and the learned model the store
    holds (resolved claims count in scoring their questions, by their outcomes)."""
    state = app_state(app)
    engine = engine_of(app)
    with engine.connect() as connection:
        book = read_book(connection, state.sources.catalogue, state.setup)
    with Session(engine) as session:
        status = dict(session.execute(select(Claim.id, Claim.status).order_by(Claim.id)).all())
        claims = stored_claims(session, list(status))
    answers = [
        claims[i] if s == "open" else replace(claims[i], prior=SETTLED_PRIOR[s == "confirmed"])
        for i, s in status.items()
    ]
    scores = state.setup.scorer.score(answers, book.beliefs, book.model)
    return {
        s.claim_id: s.confidence
        for s in scores
        if s.claim_id in status and status[s.claim_id] == "open"
    }


def assert_nothing_stale(app: Flask) -> None:
    """Every open claim's stored score is what the current reliabilities give, within
    the job's tolerance (resolved claims' scores are left alone)."""
    tolerance = app_state(app).settings.learning.rescore_min_change
    stored = stored_scores(app)
    fresh = fresh_confidences(app)
    assert stored.keys() >= fresh.keys()
    worst = max(abs(stored[c]["confidence"] - fresh[c]) for c in fresh)
    assert worst <= tolerance + 1e-9, worst
