"""``credence rescore``: relearn source reliabilities and rescore stored claims.

For cron, Kubernetes CronJobs and Airflow: one run per call, or ``--every 15m``
to keep running on a schedule. On a terminal it shows a progress bar; otherwise
(logs of a scheduler) it writes one plain line per step.

Exit status: 0 when the job succeeded, and also when another job was already
running (it is named and nothing is started: the work is being done, so a
scheduler should neither retry nor alert); 1 when the job failed, or before any job
when the store's schema is not this version's (run ``credence migrate``).
"""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import click
from sqlalchemy import Engine

from service.cli.common import settings, store_engine
from service.jobs.lock import job_lock
from service.jobs.rescore import (
    CHUNK_CLAIMS,
    MAX_CHUNK_CLAIMS,
    JobConfig,
    JobRunning,
    claim_job,
    run_job,
)
from service.schemas.catalogue import load_catalogue
from service.scoring_model import configured_model
from service.settings import SCHEDULER_ADDRESS, ConfigError

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class Duration(click.ParamType):
    """``90s``, ``15m``, ``1h30m``: seconds, as a float."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration such as 90s, 15m or 1h30m", param, ctx)
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        total = 3600 * hours + 60 * minutes + seconds
        if total <= 0:
            self.fail("the duration must be positive", param, ctx)
        return float(total)


def _say(message: str) -> None:
    click.echo(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} rescore: {message}", err=True)


class _Progress:
    """A progress bar on a terminal, else a line at every tenth of the work."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0
        self.next_line = 0.0

    def __call__(self, done: int, total: int) -> None:
        if sys.stderr.isatty():
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="rescoring", file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.shown)
            self.shown = done
        elif done >= self.next_line or done == total:
            _say(f"{done}/{total} claims rescored")
            self.next_line = done + max(total / 10, 1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _run_once(engine: Engine, job: JobConfig) -> bool:
    """One job; whether it succeeded (or was not needed because one is running)."""
    lock = job_lock(engine)
    try:
        job_id = claim_job(engine, lock)
    except JobRunning as running:
        _say(f"job {running.job_id or '(starting)'} is already running; not starting another")
        return True
    _say(f"job {job_id} started")
    progress = _Progress()
    try:
        stats = run_job(engine, job, job_id, lock, progress)
    except Exception as exc:
        progress.close()
        _say(f"job {job_id} failed: {type(exc).__name__}: {exc}")
        return False
    progress.close()
    _say(f"job {job_id} succeeded")
    click.echo(json.dumps({"job": job_id, "stats": stats}))
    return True


def _scheduler_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.match(SCHEDULER_ADDRESS, value):
        raise click.BadParameter(f"{value!r} is not a scheduler address such as tcp://host:8786")
    return value


@click.command()
@click.option(
    "--every",
    type=Duration(),
    help="Keep running, one job per period (e.g. 15m, 1h, 90s), until stopped.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, MAX_CHUNK_CLAIMS),
    default=CHUNK_CLAIMS,
    show_default=True,
    help="Claims scored and written per transaction.",
)
@click.option(
    "--dask",
    "dask_scheduler",
    metavar="ADDRESS",
    callback=_scheduler_address,
    help="Run the fit on this Dask scheduler (tcp://scheduler:8786); "
    "default the setting jobs.dask_scheduler, empty for this process.",
)
def rescore(every: float | None, chunk_size: int, dask_scheduler: str | None) -> None:
    """Relearn every source's reliability and rescore the claims that moved.

    One job at a time across every process sharing the database. Exit status 0
    when the job succeeded or another one was already running (it is named),
    1 when it failed; with --every a failed run is logged and the next one
    still happens.
    """
    config = settings()
    try:
        setup = configured_model(config)
        catalogue = load_catalogue(config.sources.catalogue)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    job = JobConfig(
        setup,
        config.learning,
        catalogue,
        chunk_claims=chunk_size,
        dask_scheduler=config.jobs.dask_scheduler if dask_scheduler is None else dask_scheduler,
    )
    # The job needs the settings, the model and the store, not the app: built
    # here, its process never loads the web server's modules (tests/service/test_cli.py).
    with store_engine(config) as engine:
        if every is None:
            if not _run_once(engine, job):
                sys.exit(1)
            return
        while True:
            started = time.monotonic()
            _run_once(engine, job)
            pause = every - (time.monotonic() - started)
            if pause > 0:
                _say(f"next run in {pause:.0f} s")
                time.sleep(pause)
