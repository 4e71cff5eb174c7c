"""The re-scoring job and numeric questions: error scales learned, numeric answers rescored."""

from __future__ import annotations

import math
import random

from flask import Flask
from flask.testing import FlaskClient

from tests.learning.common import run_rescore


def test_the_job_learns_error_scales_from_resolved_questions(
    app: Flask, client: FlaskClient
) -> None:
    rng = random.Random(5)
    spread = {"careful": 0.03, "steady": 0.05, "careless": 0.5}
    for q in range(12):
        truth = rng.uniform(100, 10_000)
        claims = [
            {
                "id": f"q{q}-{source}",
                "text": f"{source}'s figure",
                "question": f"q{q}",
                "value": {"point": round(truth * math.exp(rng.gauss(0, sigma)), 1)},
                "attributions": [{"source": source}],
            }
            for source, sigma in spread.items()
        ]
        assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
        if q < 8:
            resolved = client.post(f"/v1/questions/q{q}/resolution", json={"value": truth})
            assert resolved.status_code == 200, resolved.get_json()
    assert client.get("/v1/sources/careful").get_json()["error_scale"] is None
    stats = run_rescore(app)
    assert stats["error_scales_written"] == 3
    careful = client.get("/v1/sources/careful").get_json()["error_scale"]
    careless = client.get("/v1/sources/careless").get_json()["error_scale"]
    assert careful["scale"] < careless["scale"]
    assert careful["strength"] > 6
    assert 0.5 < careful["informative"] < 1
    # Open answers were rescored with the learned scales; reruns settle.
    open_answer = client.get("/v1/claims/q11-careful").get_json()["score"]
    assert open_answer["model"]["name"] == "credence-numeric"
    # The first run moved reliabilities too, and fitted the scales with the ones it left:
    # a rerun moves nothing.
    settled = run_rescore(app)
    assert settled["error_scales_written"] == 0
    assert settled["claims_changed"] == 0
