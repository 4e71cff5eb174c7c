"""GET /v1/calibration: scores and bins of the forecasts against the outcomes."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from scoring import metrics
from service.schemas.responses import CalibrationSchema
from tests.service.helpers import assert_problem


def _resolve(client: FlaskClient, claim_id: str, outcome: str, at: str) -> float:
    response = client.post(
        f"/v1/claims/{claim_id}/resolution", json={"outcome": outcome, "resolved_at": at}
    )
    assert response.status_code == 200
    forecast: float = response.get_json()["resolution"]["forecast"]
    return forecast


def test_calibration_with_filters(app: Flask, client: FlaskClient) -> None:
    claims = [
        {
            "id": "a",
            "text": "a",
            "tags": ["x"],
            "attributions": [{"source": "wire"}, {"source": "wire", "via": ["relay"]}],
        },
        {"id": "b", "text": "b", "tags": ["x"], "attributions": [{"source": "gov-a"}]},
        {"id": "c", "text": "c", "attributions": [{"source": "wire", "stance": "refutes"}]},
        {"id": "d", "text": "d", "attributions": [{"source": "wire", "stance": "neutral"}]},
        {"id": "open", "text": "e", "attributions": [{"source": "wire"}]},
    ]
    client.post("/v1/claims", json={"claims": claims})
    f = {
        "a": _resolve(client, "a", "confirmed", "2024-01-01T00:00:00Z"),
        "b": _resolve(client, "b", "refuted", "2024-06-01T00:00:00Z"),
        "c": _resolve(client, "c", "confirmed", "2025-01-01T00:00:00Z"),
        "d": _resolve(client, "d", "refuted", "2025-06-01T00:00:00Z"),
    }
    y = {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}

    body = client.get("/v1/calibration").get_json()
    assert CalibrationSchema().validate(body) == {}
    ids = list(f)
    forecasts, outcomes = [f[i] for i in ids], [y[i] for i in ids]
    assert body["count"] == 4 and body["confirmed"] == 2 and body["refuted"] == 2
    assert abs(body["brier_score"] - metrics.brier_score(outcomes, forecasts)) < 1e-12
    assert abs(body["log_loss"] - metrics.log_loss(outcomes, forecasts)) < 1e-12
    ece = metrics.expected_calibration_error(outcomes, forecasts)
    assert abs(body["expected_calibration_error"] - ece) < 1e-12
    assert sum(b["count"] for b in body["bins"]) == 4
    for b in body["bins"]:
        assert b["lower"] <= b["predicted"] <= b["upper"]

    # "wire" took a side on a (twice: counted once) and c; on d it was neutral.
    assert client.get("/v1/calibration?source=wire").get_json()["count"] == 2
    assert client.get("/v1/calibration?tag=x").get_json()["count"] == 2
    since = client.get("/v1/calibration?since=2024-12-31T00:00:00Z").get_json()
    assert since["count"] == 2
    assert since["filters"]["since"].startswith("2024-12-31")
    both = client.get("/v1/calibration?tag=x&since=2024-03-01T00:00:00Z").get_json()
    assert both["count"] == 1
    assert both["brier_score"] == f["b"] ** 2
    assert len(client.get("/v1/calibration?bins=1").get_json()["bins"]) == 1


def test_calibration_of_nothing(client: FlaskClient) -> None:
    body = client.get("/v1/calibration?source=nobody").get_json()
    assert body["count"] == 0
    assert body["brier_score"] is None and body["log_loss"] is None
    assert body["expected_calibration_error"] is None and body["bins"] == []


def test_calibration_rejects_bad_filters(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/calibration?since=yesterday"), 422, "since")
    assert_problem(client.get("/v1/calibration?bins=0"), 422, "bins")
    assert_problem(client.get("/v1/calibration?source=Bad%20Id"), 422, "source")
    assert_problem(client.get("/v1/calibration?colour=red"), 422, "colour")
