"""Probes, metrics, request ids and the per-request log line."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from service.store.schema_migrations import head_revision
from service.web.observability import JsonFormatter
from tests.learning.common import wait_for_job
from tests.service.helpers import assert_problem


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz(app: Flask, client: FlaskClient) -> None:
    assert client.get("/readyz").get_json()["migrations"] == "current"
    engine = app.extensions["credence.engine"]
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        assert_problem(client.get("/readyz"), 503)
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(f"UPDATE alembic_version SET version_num = '{head_revision()}'")
            )


def test_readyz_without_a_database(make_app: Any, tmp_path: Any) -> None:
    app = make_app(database={"url": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    assert_problem(app.test_client().get("/readyz"), 503)


def test_metrics_count_requests_and_scores(client: FlaskClient) -> None:
    client.post("/v1/score", json={"claims": [{"text": "t"}, {"text": "u"}]})
    response = client.get("/metrics")
    assert response.headers["Content-Type"].count("charset") == 1
    body = response.get_data(as_text=True)
    assert 'credence_http_requests_total{endpoint="score.score",method="POST",status="200"}' in body
    assert "credence_http_request_duration_seconds_bucket" in body
    assert 'credence_scores_computed_total{origin="score"}' in body
    assert "credence_job_duration_seconds" in body


def test_metrics_time_the_jobs_this_process_ran(client: FlaskClient) -> None:
    def finished() -> float:
        body = client.get("/metrics").get_data(as_text=True)
        line = 'credence_job_duration_seconds_count{kind="rescore",status="succeeded"} '
        found = [row for row in body.splitlines() if row.startswith(line)]
        return float(found[0].removeprefix(line)) if found else 0.0

    before = finished()
    job_id = client.post("/v1/rescore").get_json()["job"]["id"]
    wait_for_job(client, job_id)
    deadline = time.monotonic() + 10  # the thread observes just after the row is written
    while finished() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert finished() == before + 1


def test_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers[
        "X-Request-ID"
    ]
    assert made and made != "bad id <script>"


def test_one_json_line_per_request(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="credence.access")
    client.get("/v1/claims?limit=5", headers={"X-Request-ID": "r-1"})
    [record] = [r for r in caplog.records if r.name == "credence.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r-1"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/claims", 200)
    assert line["duration_ms"] >= 0


def test_openapi_and_docs(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    for path in (
        "/v1/score",
        "/v1/claims",
        "/v1/claims/{claim_id}",
        "/v1/claims/{claim_id}/attributions",
        "/v1/sources",
        "/v1/sources/{source_id}",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"]
    assert "ScoreRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200
