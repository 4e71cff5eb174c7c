"""Re-scoring jobs: start one (admin), follow it (read).

A started job runs on a background thread of the serving process, so the
request returns at once; only one job runs at a time across every process
sharing the database (see ``service.jobs.rescore``).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import abort
from marshmallow import RAISE
from sqlalchemy import and_, or_, select

from service.api.blueprint import Blueprint
from service.app_state import state
from service.jobs.lock import job_lock
from service.jobs.rescore import (
    ACTIVE,
    KIND,
    JobConfig,
    JobRunning,
    reap_dead_jobs,
    start_in_background,
)
from service.schemas.requests import JobsQuerySchema
from service.schemas.responses import JobResponseSchema, JobsResponseSchema, job_document
from service.store.models import Job
from service.web.auth import requires
from service.web.database import get_engine, get_session
from service.web.observability import JOB_DURATION
from service.web.pagination import decode_cursor, encode_cursor
from service.web.problems import not_found

blp = Blueprint("jobs", __name__, url_prefix="/v1", description="Re-scoring jobs.")


def _reap_if_active(jobs: list[Job]) -> bool:
    """Mark dead jobs failed when any of ``jobs`` claims to be active; whether it did."""
    if not any(job.status in ACTIVE for job in jobs):
        return False
    engine = get_engine()
    return bool(reap_dead_jobs(engine, job_lock(engine)))


@blp.route("/rescore", methods=["POST"])
@blp.alt_response(202, schema=JobResponseSchema, success=True, description="The job, queued.")
@requires("admin")
def start_rescore() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a job that relearns every source's reliability and rescores stored claims.

    Returns at once with the queued job and its `Location`; follow it with
    `GET /v1/jobs/{id}`. 409 when a job is already running (its id is in
    `detail` and in `Location`).
    """
    app = state()
    setup = JobConfig(
        app.setup,
        app.settings.learning,
        app.sources.catalogue,
        dask_scheduler=app.settings.jobs.dask_scheduler,
    )
    try:
        job_id = start_in_background(
            get_engine(),
            setup,
            lambda status, seconds: JOB_DURATION.labels(KIND, status).observe(seconds),
        )
    except JobRunning as running:
        headers = {}
        if running.job_id is not None:
            headers["Location"] = url_for("jobs.get_job", job_id=running.job_id)
        abort(409, message=str(running), headers=headers)
    job = get_session().get(Job, job_id)
    assert job is not None
    location = url_for("jobs.get_job", job_id=job_id)
    return {"job": job_document(job)}, 202, {"Location": location}


@blp.route("/jobs/<job_id:job_id>", methods=["GET"])
@blp.alt_response(200, schema=JobResponseSchema, success=True, description="The job.")
@requires("read")
def get_job(job_id: str) -> dict[str, Any]:
    """A job's status, counts and timings (`stats`) and error, if it failed.

    A job whose process died is reported `failed` from the first look after.
    """
    session = get_session()
    job = session.get(Job, job_id)
    if job is None:
        not_found(f"No job {job_id!r}.")
    if _reap_if_active([job]):
        # A new transaction: this one's snapshot predates the reaping.
        session.rollback()
        job = session.get(Job, job_id)
        assert job is not None
    return {"job": job_document(job)}


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobsQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(200, schema=JobsResponseSchema, success=True, description="Newest first.")
@requires("read")
def list_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """The most recent jobs, newest first; `next_cursor` names the older ones' page."""
    session = get_session()
    limit = args["limit"]
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    after = decode_cursor(args.get("cursor"))
    last = None if after is None else session.get(Job, after)
    if after is not None and last is None:
        abort(422, errors={"cursor": ["Not a valid cursor."]})
    if last is not None:
        # Older than the page's last job: by creation, then id among jobs made at once.
        query = query.where(
            or_(
                Job.created_at < last.created_at,
                and_(Job.created_at == last.created_at, Job.id < last.id),
            )
        )
    jobs = list(session.scalars(query))
    if _reap_if_active(jobs):
        session.rollback()
        jobs = list(session.scalars(query))
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return {
        "jobs": [job_document(job) for job in jobs],
        "next_cursor": encode_cursor(jobs[-1].id) if more else None,
    }
