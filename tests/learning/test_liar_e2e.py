"""End to end on a small generated equivalent of the LIAR data set: speakers with
different truth rates, in party groups; statements imported as claims by their
speakers, verdicts as resolutions; the job learns who tells the truth."""

from __future__ import annotations

import random

import numpy as np
from flask import Flask
from flask.testing import FlaskClient

from scoring import metrics
from tests.learning.common import post_claims, wait_for_job

# LIAR's six verdicts and the usual binary reading: half-true and better is true.
TRUE_LABELS = ("true", "mostly-true", "half-true")
FALSE_LABELS = ("barely-true", "false", "pants-fire")


def _dataset(seed: int = 5) -> tuple[dict[str, float], list[dict[str, str]]]:
    rng = random.Random(seed)
    rates = {}
    for i in range(24):
        # Honest and dishonest speakers in both parties.
        rates[f"sp-{i:02d}"] = 0.85 if i % 2 else 0.2
    statements = []
    for speaker, rate in rates.items():
        for j in range(rng.randint(12, 20)):
            true = rng.random() < rate
            label = rng.choice(TRUE_LABELS if true else FALSE_LABELS)
            statements.append({"id": f"{speaker}-s{j:02d}", "speaker": speaker, "label": label})
    return rates, statements


def test_speakers_with_false_records_end_up_less_reliable(app: Flask, client: FlaskClient) -> None:
    rates, statements = _dataset()
    for i, speaker in enumerate(rates):
        party = "party:dem" if i % 4 < 2 else "party:rep"
        response = client.put(f"/v1/sources/{speaker}", json={"name": speaker, "group": party})
        assert response.status_code == 200
    post_claims(
        client,
        [
            {
                "id": s["id"],
                "text": f"statement {s['id']}",
                "tags": ["liar"],
                "attributions": [{"source": s["speaker"], "stance": "supports"}],
            }
            for s in statements
        ],
    )
    # Most verdicts are known (the track record); the rest stay open and are scored.
    held_out = [s for s in statements if int(s["id"][-2:]) >= 10]
    for s in statements:
        if s not in held_out:
            outcome = "confirmed" if s["label"] in TRUE_LABELS else "refuted"
            response = client.post(f"/v1/claims/{s['id']}/resolution", json={"outcome": outcome})
            assert response.status_code == 200

    job_id = client.post("/v1/rescore").get_json()["job"]["id"]
    job = wait_for_job(client, job_id)
    assert job["status"] == "succeeded", job
    assert job["stats"]["claims_changed"] > 0

    reliability = {
        speaker: client.get(f"/v1/sources/{speaker}").get_json()["reliability"]["mean"]
        for speaker in rates
    }
    honest = [reliability[s] for s, r in rates.items() if r > 0.5]
    liars = [reliability[s] for s, r in rates.items() if r < 0.5]
    assert max(liars) < min(honest)
    assert np.mean(honest) - np.mean(liars) > 0.3

    # The loop closes: held-out statements are scored by what their speakers' records say.
    confidence = {
        s["id"]: client.get(f"/v1/claims/{s['id']}").get_json()["score"]["confidence"]
        for s in held_out
    }
    truth = [float(s["label"] in TRUE_LABELS) for s in held_out]
    assert metrics.roc_auc(truth, [confidence[s["id"]] for s in held_out]) > 0.75
    calibration = client.get("/v1/calibration?tag=liar").get_json()
    assert calibration["count"] == len(statements) - len(held_out)
