"""POST /v1/rescore and GET /v1/jobs: started in the background, one at a time, and
a dead job reported failed."""

from __future__ import annotations

import re
import threading
import time

from flask import Flask
from flask.testing import FlaskClient

from service.jobs.lock import job_lock
from service.jobs.rescore import DEAD_JOB_ERROR, JobRunning, claim_job, run_job
from service.schemas.responses import JobResponseSchema, JobsResponseSchema
from tests.learning.common import (
    engine_of,
    job_setup,
    post_claims,
    random_claims,
    wait_for_job,
)
from tests.service.helpers import assert_problem, auth


def test_rescore_runs_in_the_background(app: Flask, client: FlaskClient) -> None:
    post_claims(client, random_claims(300, n_sources=20))
    client.post("/v1/claims/c000002/resolution", json={"outcome": "refuted"})
    response = client.post("/v1/rescore")
    assert response.status_code == 202
    body = response.get_json()
    assert JobResponseSchema().validate(body) == {}
    job_id = body["job"]["id"]
    assert body["job"]["status"] in ("queued", "running", "succeeded")
    assert response.headers["Location"].endswith(f"/v1/jobs/{job_id}")
    # The API keeps answering while the job runs.
    assert client.get("/v1/claims/c000001").status_code == 200
    job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["stats"]["claims_read"] == 300
    assert job["stats"]["claims_changed"] > 0
    assert set(job["stats"]["timings"]) >= {"read", "fit", "write", "total"}
    assert job["started_at"] and job["finished_at"] and job["error"] is None
    listing = client.get("/v1/jobs").get_json()
    assert JobsResponseSchema().validate(listing) == {}
    assert [j["id"] for j in listing["jobs"]] == [job_id]
    assert_problem(client.get(f"/v1/jobs/{'0' * 32}"), 404)
    assert_problem(client.get("/v1/jobs/nope"), 422, "id")  # not a job id at all


def test_a_second_start_reports_the_running_job(app: Flask, client: FlaskClient) -> None:
    engine = engine_of(app)
    lock = job_lock(engine)  # a job of another process
    job_id = claim_job(engine, lock)
    try:
        response = client.post("/v1/rescore")
        body = assert_problem(response, 409)
        assert job_id in body["detail"]
        assert response.headers["Location"].endswith(f"/v1/jobs/{job_id}")
        assert client.get(f"/v1/jobs/{job_id}").get_json()["job"]["status"] == "queued"
    finally:
        lock.release()


def test_concurrent_starts_run_one_job(app: Flask) -> None:
    engine = engine_of(app)
    barrier = threading.Barrier(4)
    started: list[str] = []
    refused: list[str | None] = []
    locks = []

    def start() -> None:
        lock = job_lock(engine)
        barrier.wait()
        try:
            started.append(claim_job(engine, lock))
            locks.append(lock)
        except JobRunning as running:
            refused.append(running.job_id)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 1 and len(refused) == 3
    assert refused == started * 3
    for lock in locks:
        lock.release()


def test_a_dead_job_is_reported_failed(app: Flask, client: FlaskClient) -> None:
    engine = engine_of(app)
    lock = job_lock(engine)
    job_id = claim_job(engine, lock)
    assert client.get(f"/v1/jobs/{job_id}").get_json()["job"]["status"] == "queued"
    lock.release()  # the process died: the lock is gone, the row still says queued
    job = client.get(f"/v1/jobs/{job_id}").get_json()["job"]
    assert job["status"] == "failed"
    assert job["error"] == DEAD_JOB_ERROR
    assert job["finished_at"] is not None


def test_jobs_need_roles(client: FlaskClient, keys: dict[str, str]) -> None:
    assert_problem(client.post("/v1/rescore", headers=auth(keys["write"])), 403)
    assert_problem(client.post("/v1/rescore"), 401)
    response = client.post("/v1/rescore", headers=auth(keys["admin"]))
    assert response.status_code == 202
    job_id = response.get_json()["job"]["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()["job"]
        if job["status"] == "succeeded":
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded"


def test_jobs_page_newest_first_to_the_oldest(app: Flask, client: FlaskClient) -> None:
    made = [run_rescore_id(app) for _ in range(23)]
    seen: list[str] = []
    url: str | None = "/v1/jobs?limit=10"
    while url is not None:
        page = client.get(url).get_json()
        assert JobsResponseSchema().validate(page) == {}
        seen += [j["id"] for j in page["jobs"]]
        url = f"/v1/jobs?limit=10&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert seen == made[::-1]
    assert_problem(client.get("/v1/jobs?cursor=eyJ4IjoxfQ"), 422, "cursor")
    # The console's list links the older ones after its 20 newest.
    html = client.get("/jobs").get_data(as_text=True)
    assert made[-1][:12] in html and made[0][:12] not in html and "Older jobs" in html
    link = re.search(r'href="([^"]+)" rel="next">Older jobs', html)
    assert link is not None
    older = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert made[0][:12] in older and made[-1][:12] not in older


def run_rescore_id(app: Flask) -> str:
    """One job, run now on the store as it is; its id."""
    engine = engine_of(app)
    lock = job_lock(engine)
    job_id = claim_job(engine, lock)
    run_job(engine, job_setup(app), job_id, lock)
    return job_id
