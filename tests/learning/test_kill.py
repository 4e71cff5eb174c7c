"""kill -9 in the middle of a job: no claim is left with half a score, the job is
reported failed, and a rerun finishes the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.jobs.rescore import DEAD_JOB_ERROR
from service.store.models import Job, ScoreHistory
from tests.learning.common import (
    assert_nothing_stale,
    engine_of,
    post_claims,
    random_claims,
    resolve_directly,
    run_rescore,
    stored_scores,
    wait_for_job,
)

CREDENCE = str(Path(sys.executable).parent / "credence")


def _cli_env(database_url: str, catalogue_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CREDENCE_DATABASE_URL": database_url,
        "CREDENCE_SOURCES_CATALOGUE": str(catalogue_file),
    }


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (any of its threads), from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def _running_job(app: Flask) -> tuple[str, dict[str, Any]] | None:
    with engine_of(app).connect() as connection:
        row = connection.execute(select(Job.id, Job.stats).where(Job.status == "running")).first()
    return (row[0], row[1]) if row else None


def test_kill_mid_job(
    app: Flask, client: FlaskClient, database_url: str, catalogue_file: Path, tmp_path: Path
) -> None:
    claims = random_claims(4_000, n_sources=60, seed=11)
    post_claims(client, claims)
    resolve_directly(
        app,
        {c["id"]: ("confirmed" if i % 2 else "refuted") for i, c in enumerate(claims[:800:2])},
    )
    before = stored_scores(app)
    env = _cli_env(database_url, catalogue_file)

    log = tmp_path / "rescore.log"
    job = subprocess.Popen(
        [CREDENCE, "rescore", "--chunk-size", "20"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    # Kill only once some chunks have committed: the stats of the job row are
    # written in each chunk's transaction.
    deadline = time.monotonic() + 120
    job_id = None
    while time.monotonic() < deadline and job.poll() is None:
        running = _running_job(app)
        if running and running[1].get("claims_changed", 0) > 0:
            job_id = running[0]
            break
        time.sleep(0.005)
    assert job_id is not None, f"the job ended before it could be killed: {log.read_text()}"
    writers = _children(job.pid)
    assert writers, "the job writes its scores through a writer process"
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    # Its writer dies with it: a writer that went on would write a dead job's chunks.
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in writers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(_alive(pid) for pid in writers)

    with Session(engine_of(app)) as session:
        stored_job = session.get(Job, job_id)
        assert stored_job is not None and stored_job.status == "running"
    # The service notices on its next look.
    reported = wait_for_job(client, job_id, timeout=10)
    assert reported["status"] == "failed"
    assert reported["error"] == DEAD_JOB_ERROR

    after = stored_scores(app)
    assert after.keys() == before.keys()
    with Session(engine_of(app)) as session:
        written = {
            row.claim_id: row
            for row in session.scalars(select(ScoreHistory).where(ScoreHistory.job_id == job_id))
        }
    old = new = 0
    for claim_id, score in after.items():
        assert score["low"] <= score["confidence"] <= score["high"]
        assert len(score["evidence"]) == 3
        if score["job_id"] == job_id:
            # A new score, whole: the history row of its transaction says the same.
            history = written[claim_id]
            assert (history.confidence, history.low, history.high, history.computed_at) == (
                score["confidence"],
                score["low"],
                score["high"],
                score["computed_at"],
            )
            new += 1
        else:
            assert score == before[claim_id]
            assert claim_id not in written
            old += 1
    assert new > 0 and old > 0

    rerun = subprocess.run(
        [CREDENCE, "rescore"], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    stats = json.loads(rerun.stdout.strip().splitlines()[-1])["stats"]
    assert stats["claims_changed"] > 0
    assert stats["sources_written"] == 0
    assert_nothing_stale(app)
    assert run_rescore(app)["claims_changed"] == 0


def test_cli_reports_a_running_job(app: Flask, database_url: str, catalogue_file: Path) -> None:
    from service.jobs.lock import job_lock
    from service.jobs.rescore import claim_job

    engine = engine_of(app)
    lock = job_lock(engine)
    job_id = claim_job(engine, lock)
    try:
        result = subprocess.run(
            [CREDENCE, "rescore"],
            env=_cli_env(database_url, catalogue_file),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        lock.release()
    assert result.returncode == 0
    assert f"job {job_id} is already running" in result.stderr
    assert result.stdout == ""
