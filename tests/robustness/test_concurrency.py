"""16 clients write overlapping batches (same ids, same sources) to a real server
(gunicorn, two workers) while re-scoring jobs run back to back.

Afterwards every acknowledged write is there exactly once: the claim is listed
once, holds the attributions and tags of one version a client wrote (the last
acknowledged one), and has one history row per acknowledged write of it. No
request failed with a 5xx or a dropped connection, every job succeeded, and the
writers finished (a deadlock would leave them blocked; the bound is generous and
is not a timing assertion).
"""

from __future__ import annotations

from sqlalchemy import func, select

from service.store.models import ScoreHistory
from tests.robustness.conftest import Deployment
from tests.robustness.load import check_store, run_load
from tests.robustness.report import record

CLIENTS = 16
ROUNDS = 16
BATCH = 10


def test_overlapping_writers_during_rescoring(live: Deployment) -> None:
    outcome = run_load(live.client, clients=CLIENTS, rounds=ROUNDS, batch=BATCH, rescore=True)
    record(
        "concurrency",
        live.backend,
        {"clients": CLIENTS, "rounds": ROUNDS, "batch": BATCH, **outcome.figures()},
    )
    assert not outcome.transport_errors, outcome.transport_errors[:5]
    assert outcome.server_errors == 0, outcome.statuses
    assert not outcome.problems, outcome.problems[:5]
    # Every batch was acknowledged: concurrent writers are serialised, not refused.
    assert outcome.statuses[200] == CLIENTS * ROUNDS, outcome.statuses
    assert sum(len(w) for w in outcome.acked.values()) == CLIENTS * ROUNDS * BATCH
    assert outcome.jobs["failed"] == 0 and outcome.jobs["succeeded"] >= 1, outcome.jobs

    check_store(live.client, outcome)
    engine = live.engine()
    try:
        with engine.connect() as connection:
            history = dict(
                connection.execute(
                    select(ScoreHistory.claim_id, func.count())
                    .where(ScoreHistory.reason.in_(("created", "updated")))
                    .group_by(ScoreHistory.claim_id)
                ).all()
            )
    finally:
        engine.dispose()
    # Exactly once: one history row per acknowledged write of each claim.
    assert history == {claim_id: len(w) for claim_id, w in outcome.acked.items()}
