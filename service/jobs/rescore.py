"""The re-scoring job: relearn every source's reliability, then rescore the claims
whose scores can have changed.

Safe to kill at any point and safe beside a serving API:

- One job at a time (``service.jobs.lock``); a job row left ``queued`` or
  ``running`` while the lock is free belongs to a dead job and is marked
  failed whenever the service looks (``reap_dead_jobs``).
- The store is read in one snapshot; nothing is written while reading.
- Learned reliabilities are written first, in one transaction that bumps the
  ``reliabilities`` counter, so from then on the API scores new writes with
  them. Scores are then written in small transactions, each score row replaced
  whole: a kill leaves every claim with its old or its new score. A writer
  process writes them (``service.jobs.score_writer``) while the job scores the
  next chunk; it dies with the job.
- A claim is stale when a source or relay it names changed (definition or
  learned belief) after its score was computed, when it has no score, or when
  its score came from another model version; stale claims are rescored with
  their question siblings, and only scores that moved are written, so a rerun
  after a kill finishes exactly the unwritten part.
- Resolved claims' scores are left alone: they say the outcome, and the
  forecast calibration judges is their resolution's. A resolved claim still
  counts in scoring its question's open answers.
- A claim written by the API after the snapshot is left alone (optimistic
  check on its ``updated_at`` and its score's ``computed_at``): it was scored
  with the reliabilities current at its write.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import heapq
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session

import scoring
from scoring.claims import SETTLED_PRIOR, STANCE_SIGN, question_units
from scoring.columns import ClaimColumns
from scoring.confidence import DrawTable
from scoring.learned import LearnedModel
from scoring.numeric import NUMERIC_MODEL, ErrorScale, QuestionKinds, QuestionScorer
from scoring.params import SourceBelief
from scoring.rows import Entities
from service.jobs.attribution_reader import attribution_reader
from service.jobs.dask_engine import DaskEngine, dask_engine, mapped
from service.jobs.learning import (
    FitOutcome,
    LearningSettings,
    learn_error_scales,
    learn_reliabilities,
    moved,
)
from service.jobs.lock import JobLock, job_lock
from service.jobs.score_writer import TOP_MOVED, ScoreWriter, score_writer
from service.jobs.snapshot import (
    NO_VERSION,
    Snapshot,
    StoredScores,
    epoch,
    micros,
    read_snapshot,
)
from service.scoring_model import ScoringModel
from service.store import change_counters
from service.store.bulk import prepare_columns, run_many
from service.store.checkpoints import VALVE_PAGES
from service.store.claims import stored_score_column
from service.store.db import process_connection, slices, upsert_statement, writer
from service.store.models import (
    Base,
    Job,
    LearnedModelRow,
    ReliabilityHistory,
    SourceReliability,
    utcnow,
)
from service.store.questions import error_scale_values, question_scorer
from service.store.scores import (
    STAGED_CONFIDENCE,
    STAGED_EVIDENCE,
    bind_time,
    stage_scores,
    staged_writes,
    table_values,
)
from service.store.source_beliefs import Learned, SourceBook, SourceDefinition, build_book

log = logging.getLogger(__name__)

KIND = "rescore"
REASON = "rescore"
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
ACTIVE = (QUEUED, RUNNING)
DEAD_JOB_ERROR = "the job's process stopped before it finished (killed or crashed)"

# Claims scored and written per transaction: small enough that the API's
# writers never wait long for the job, large enough to amortise a round trip.
CHUNK_CLAIMS = 2_000
# Ids of a chunk go into one IN (...) list: SQLite binds at most 32,766 values.
MAX_CHUNK_CLAIMS = 20_000

_RELIABILITIES = Base.metadata.tables[SourceReliability.__tablename__]
_HISTORY_INSERT = insert(ReliabilityHistory)

Progress = Callable[[int, int], None]
"""Called with (claims done, claims to do) after each chunk."""


@dataclass(frozen=True)
class JobConfig:
    """Everything a job needs besides the database: the model and the learning settings."""

    setup: ScoringModel
    learning: LearningSettings
    catalogue: Mapping[str, SourceDefinition]
    chunk_claims: int = CHUNK_CLAIMS
    dask_scheduler: str = ""
    """The Dask scheduler the fit runs on (``service.jobs.dask_engine``); empty: here."""


class JobRunning(Exception):
    """Another job holds the lock; ``job_id`` is its id (None if its row is not written yet)."""

    def __init__(self, job_id: str | None) -> None:
        super().__init__(f"re-scoring job {job_id or '(starting)'} is already running")
        self.job_id = job_id


def reap_dead_jobs(engine: Engine, lock: JobLock) -> list[str]:
    """Mark failed the active job rows whose process died; their ids.

    The rows are read before the lock is probed: a job takes the lock before
    writing its row, so a row seen active while the lock is free is dead, and
    a job started after the read is not among the rows touched.
    """
    with engine.connect() as connection:
        active = list(connection.scalars(select(Job.id).where(Job.status.in_(ACTIVE))))
    if not active or lock.is_held():
        return []
    with Session(writer(engine)) as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id.in_(active), Job.status.in_(ACTIVE))
            .values(status=FAILED, error=DEAD_JOB_ERROR, finished_at=utcnow())
        )
    log.warning("marked dead re-scoring jobs failed: %s", ", ".join(active))
    return active


def active_job_id(engine: Engine, attempts: int = 20) -> str | None:
    """The id of the job holding the lock; waits briefly for a job that has the
    lock but has not written its row yet."""
    for attempt in range(attempts):
        with engine.connect() as connection:
            job_id = connection.scalar(
                select(Job.id).where(Job.status.in_(ACTIVE)).order_by(Job.created_at.desc())
            )
        if job_id is not None or attempt + 1 == attempts:
            return job_id
        time.sleep(0.05)
    return None


def claim_job(engine: Engine, lock: JobLock) -> str:
    """Take the lock and write a queued job row; its id.

    Raises
    ------
    JobRunning
        When another job holds the lock.
    """
    if not lock.acquire():
        raise JobRunning(active_job_id(engine))
    try:
        job_id = uuid.uuid4().hex
        with Session(writer(engine)) as session, session.begin():
            # The lock is ours, so any other active row is a dead job's.
            session.execute(
                update(Job)
                .where(Job.status.in_(ACTIVE))
                .values(status=FAILED, error=DEAD_JOB_ERROR, finished_at=utcnow())
            )
            session.add(
                Job(
                    id=job_id,
                    kind=KIND,
                    status=QUEUED,
                    created_at=utcnow(),
                    owner=f"{socket.gethostname()}:{os.getpid()}",
                    stats={},
                )
            )
    except BaseException:
        lock.release()
        raise
    return job_id


def _set_job(engine: Engine, job_id: str, **values: Any) -> None:
    with Session(writer(engine)) as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(**values))


# --- running --------------------------------------------------------------------


def run_job(
    engine: Engine,
    job: JobConfig,
    job_id: str,
    lock: JobLock,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the claimed job ``job_id`` to its end and release ``lock``; its stats.

    The job row ends ``succeeded`` with its stats, or ``failed`` with the error
    (which is then raised again).
    """
    try:
        _set_job(engine, job_id, status=RUNNING, started_at=utcnow(), heartbeat_at=utcnow())
        stats = _Rescore(engine, job, job_id, progress).run()
        _set_job(engine, job_id, status=SUCCEEDED, finished_at=utcnow(), stats=stats)
        return stats
    except BaseException as exc:
        log.exception("re-scoring job %s failed", job_id)
        _set_job(
            engine,
            job_id,
            status=FAILED,
            finished_at=utcnow(),
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    finally:
        lock.release()


def start_in_background(
    engine: Engine, job: JobConfig, finished: Callable[[str, float], None] | None = None
) -> str:
    """Claim a job and run it on a daemon thread of this process; its id.

    The caller returns at once; if the process dies mid-job the row is marked
    failed the next time the service looks. ``finished`` is called with the job's
    final status and its seconds when it ends (the service's metrics).

    Raises
    ------
    JobRunning
    """
    lock = job_lock(engine)
    job_id = claim_job(engine, lock)

    def target() -> None:
        started, status = time.perf_counter(), FAILED
        # Errors are on the job row and in the log; nothing else to do with them here.
        with contextlib.suppress(Exception):
            run_job(engine, job, job_id, lock)
            status = SUCCEEDED
        if finished is not None:
            finished(status, time.perf_counter() - started)

    threading.Thread(target=target, name=f"rescore-{job_id}", daemon=True).start()
    return job_id


@dataclass
class _Timer:
    totals: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.totals[name] = self.totals.get(name, 0.0) + now - started
        return now


class _Rescore:
    def __init__(
        self, engine: Engine, job: JobConfig, job_id: str, progress: Progress | None
    ) -> None:
        self.engine = engine
        self.job = job
        self.job_id = job_id
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.moved_most: dict[str, list[dict[str, Any]]] = {
            "claims_moved_most": [],
            "sources_moved_most": [],
        }
        """What the job moved most (``_sources_moved_most``, the writer's ``moved_most``)."""
        self.timer = _Timer()
        self.errors: dict[str, ErrorScale] = {}
        """Error scales the chunks are scored with: the snapshot's and the job's."""
        self.cluster: DaskEngine | None = None
        """Where the fit and the scoring run, when not in this process."""

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        with _collector_paused(), dask_engine(self.job.dask_scheduler) as self.cluster:
            with attribution_reader(process_connection(self.engine), STANCE_SIGN) as reader:
                snapshot = read_snapshot(
                    self.engine, self.job.catalogue, self.job.setup, utcnow(), reader
                )
            mark = self.timer.add("read", started)
            return self._learn_and_rescore(snapshot, started, mark)

    def _learn_and_rescore(self, snapshot: Snapshot, started: float, mark: float) -> dict[str, Any]:
        fit = learn_reliabilities(snapshot, self.job.setup, self.job.learning, self.cluster)
        _release_free_heap()
        mark = self.timer.add("fit", mark)

        current = snapshot.book
        changed = [
            source_id
            for source_id, belief in fit.beliefs.items()
            if moved(
                current.belief(source_id, self.job.setup).belief,
                belief,
                self.job.learning.rescore_min_change,
            )
        ]
        # A new structure or calibration moves every score: the model is
        # written (and everything rescored) only when it moved noticeably;
        # otherwise the stored one stays, and so do the scores made with it.
        # A fit the store told nothing (empty, or every claim one source's word)
        # is no model: claims keep the plain scoring a fresh store has.
        model_moved = fit.model.stats["informed"] and fit.model.moved_from(snapshot.book.model)
        model = fit.model if model_moved else snapshot.book.model
        written, written_at, self.based_on = self._write_reliabilities(
            snapshot, fit, changed, fit.model if model_moved else None
        )
        learned = {**snapshot.learned, **{s: Learned(fit.beliefs[s]) for s in written}}
        beliefs = build_book(snapshot.book.definitions, learned, self.job.setup).beliefs
        self.moved_most["sources_moved_most"] = _sources_moved_most(
            snapshot.book, beliefs, self.job.setup
        )
        mark = self.timer.add("write", mark)
        # Error scales weigh answers by these reliabilities, the ones the job leaves: fitted
        # on the snapshot's, they would move again in the next job whenever this one moved
        # a reliability. Written after the reliabilities, so that a source's first learned
        # row is its new belief, not the snapshot's.
        errors = learn_error_scales(snapshot, beliefs, self.job.setup, self.job.learning)
        mark = self.timer.add("fit", mark)
        moved_errors = self._write_error_scales(snapshot, errors)
        self.errors = {**snapshot.errors, **errors}
        changed_at = snapshot.source_changed_at()
        changed_at.update(dict.fromkeys(written, epoch(written_at)))
        stale = self._stale_claims(snapshot, changed_at)
        if model_moved:
            stale = list(range(len(snapshot.ids)))
        elif moved_errors:
            # A moved error scale moves every numeric answer its source gave: rescore them all.
            stale = sorted(set(stale) | set(snapshot.columns.value))
        self.timer.add("write", mark)

        self.counts.update(
            claims_read=len(snapshot.ids),
            attributions_read=snapshot.n_attributions,
            sources_fitted=len(fit.beliefs),
            sources_moved=len(changed),
            sources_written=len(written),
            error_scales_written=moved_errors,
            claims_stale=len(stale),
            claims_rescored=0,
            claims_changed=0,
            claims_skipped=0,
        )
        self.fit_info = {**fit.stats, "model_written": model_moved}
        if self.cluster is not None:
            self.fit_info["cluster"] = self.cluster.stats_
        self._heartbeat()
        done = 0
        chunks = list(_chunks(snapshot, stale, self.job.chunk_claims))
        scorer = question_scorer(self.job.setup.scorer.with_model(model))
        # Scored on the cluster when there is one, compared and written here.
        # Every entity's draws are made once a job (once a worker, which fills
        # its own table), not once a chunk that names it.
        scored = mapped(
            self.cluster,
            _scores,
            chunks,
            _settled(snapshot),
            scorer,
            beliefs,
            snapshot.kinds,
            self.errors,
            DrawTable(
                scorer.claims.params.interval_samples,
                Entities.of(snapshot.columns.entities, beliefs, scorer.claims.params),
            ),
        )
        with score_writer(self._writer_setup()) as out:
            for chunk in chunks:
                mark = time.perf_counter()
                scores = next(scored)
                self.timer.add("score", mark)
                moved_scores = self._score_chunk(snapshot, chunk, scores)
                done += len(chunk)
                self._write_chunk(out, snapshot, moved_scores, done, len(stale))
                # The collector is paused (_collector_paused): the chunk's cycles,
                # and any other thread's, are freed here, once a chunk. The chunk's
                # scores are let go first: a pass costs what it has to traverse, and
                # a chunk's live scores and their evidence made it cost about
                # as much as the arithmetic of the chunk's fit (70 ms a chunk at 1 M).
                del scores, moved_scores
                gc.collect(1)
            mark = time.perf_counter()
            writer_counts = out.finish()
            self.timer.add("write", mark)
        self.timer.totals["writer"] = writer_counts.pop("seconds")
        self.moved_most["claims_moved_most"] = writer_counts.pop("claims_moved_most")
        self.counts.update(writer_counts)
        self.timer.totals["total"] = time.perf_counter() - started
        return self._stats()

    def _stats(self) -> dict[str, Any]:
        return {
            **self.counts,
            **self.moved_most,
            "fit": self.fit_info,
            "timings": {name: round(seconds, 3) for name, seconds in self.timer.totals.items()},
        }

    def _heartbeat(self) -> None:
        with Session(writer(self.engine)) as session, session.begin():
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(heartbeat_at=utcnow(), stats=self._stats())
            )

    def _write_reliabilities(
        self,
        snapshot: Snapshot,
        fit: FitOutcome,
        changed: Sequence[str],
        model: LearnedModel | None,
    ) -> tuple[set[str], datetime, int]:
        """Write the moved beliefs (each also as a row of its source's history) and the
        model (when given) and bump the counter in one transaction; the sources written,
        when, and the counter value the job's scores are based on.

        A source whose learned row changed since the snapshot (a resolution
        during the job) keeps that row: it already counts the newer record,
        and the next job refits it. The scores are based on the counter value
        of this write only when nothing else moved the counter since the
        snapshot; otherwise on the snapshot's, so that the next job takes
        another look at them.
        """
        now = utcnow()
        beliefs = fit.beliefs
        written: set[str] = set()
        if not changed and model is None:
            return written, now, snapshot.reliabilities_version
        table = _RELIABILITIES
        with Session(writer(self.engine)) as session, session.begin():
            version = change_counters.bump(session, change_counters.RELIABILITIES)
            if model is not None:
                session.execute(
                    insert(LearnedModelRow).values(
                        job_id=self.job_id,
                        created_at=now,
                        reliabilities_version=version,
                        model=model.to_json(),
                    )
                )
            current: dict[str, datetime] = {}
            for chunk in slices(changed, MAX_CHUNK_CLAIMS):
                query = select(table.c.source_id, table.c.updated_at).where(
                    table.c.source_id.in_(chunk)
                )
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update()
                current.update((source_id, at) for source_id, at in session.execute(query))
            updates = [
                s
                for s in changed
                if s in snapshot.learned_at and current.get(s) == snapshot.learned_at[s]
            ]
            inserts = [s for s in changed if s not in snapshot.learned_at and s not in current]

            def row(source_id: str) -> dict[str, Any]:
                belief = beliefs[source_id]
                prior = fit.priors.get(source_id, self.job.setup.unknown)
                return {
                    "alpha": belief.alpha,
                    "beta": belief.beta,
                    "prior_alpha": prior.alpha,
                    "prior_beta": prior.beta,
                    "job_id": self.job_id,
                    "updated_at": now,
                    "reliabilities_version": version,
                }

            if updates:
                session.execute(
                    update(table)
                    .where(table.c.source_id == bindparam("b_source_id"))
                    .values({c: bindparam(c) for c in row(updates[0])}),
                    [{**row(s), "b_source_id": s} for s in updates],
                )
            written.update(updates)
            if inserts:
                # A resolution may add a row meanwhile (PostgreSQL); it then stays, and
                # only the rows inserted are written (in the stats and the history).
                written.update(
                    session.scalars(
                        upsert_statement(session, table)
                        .on_conflict_do_nothing()
                        .returning(table.c.source_id),
                        [{**row(s), "source_id": s} for s in inserts],
                    )
                )
            # Column by column through the bulk writer: at 10 M attributions a job writes
            # 100,000 beliefs, 2.0-2.4 s as SQLAlchemy's executemany on PostgreSQL.
            history = sorted(written)
            run_many(
                session,
                prepare_columns(
                    session.get_bind().dialect,
                    _HISTORY_INSERT,
                    {
                        "source_id": history,
                        "job_id": [self.job_id] * len(history),
                        "alpha": [beliefs[s].alpha for s in history],
                        "beta": [beliefs[s].beta for s in history],
                        "created_at": [now] * len(history),
                    },
                ),
            )
        alone = version == snapshot.reliabilities_version + 1
        return written, now, version if alone else snapshot.reliabilities_version

    def _write_error_scales(self, snapshot: Snapshot, errors: Mapping[str, ErrorScale]) -> int:
        """Write the error scales that moved by more than ``rescore_min_change`` (relative).

        A source without a learned row gets one holding its current belief, so
        that its error scale has a home. Returns how many were written.
        """
        tolerance = self.job.learning.rescore_min_change
        moved = [s for s, e in errors.items() if _error_moved(snapshot.errors.get(s), e, tolerance)]
        if not moved:
            return 0
        table = _RELIABILITIES
        now = utcnow()
        with Session(writer(self.engine)) as session, session.begin():
            for source_id in sorted(moved):
                belief = snapshot.book.belief(source_id, self.job.setup).belief
                values = error_scale_values(errors[source_id])
                session.execute(
                    upsert_statement(session, table)
                    .values(
                        source_id=source_id,
                        alpha=belief.alpha,
                        beta=belief.beta,
                        # Without a learned row, the belief is the source's prior.
                        prior_alpha=belief.alpha,
                        prior_beta=belief.beta,
                        job_id=self.job_id,
                        updated_at=now,
                        **values,
                    )
                    .on_conflict_do_update(index_elements=[table.c.source_id], set_=values)
                )
        return len(moved)

    def _stale_claims(self, snapshot: Snapshot, changed_at: Mapping[str, float]) -> list[int]:
        """Positions of the claims whose scores can have changed, with their question siblings.

        A score is stale when it has none or another model's, when a source or
        relay it names changed after it was computed, or when one's learned
        belief was written at a higher ``reliabilities`` counter value than the
        beliefs it was computed from (a process that scored with beliefs it had
        not reloaded yet).
        """
        c, stored = snapshot.columns, snapshot.scores
        missing = np.iinfo(np.int64).min
        changed = np.array([changed_at.get(e, float("-inf")) for e in c.entities])
        written_by = np.array(
            [snapshot.learned_version.get(e, missing) for e in c.entities], dtype=np.int64
        )
        # Per attribution, then per relay: whether the source or relay changed after
        # the claim's score was computed, or was written from newer beliefs.
        computed = stored.computed_at / 1e6
        basis = np.where(
            stored.reliabilities_version == NO_VERSION, np.iinfo(np.int64).max,
            stored.reliabilities_version,
        )  # fmt: skip
        claim = c.claim_of_attribution()
        relay_claim = claim[np.repeat(np.arange(c.n_attributions), np.diff(c.via_start))]
        named_changed = np.zeros(c.n_claims, dtype=bool)
        for entity, of_claim in ((c.source, claim), (c.via, relay_claim)):
            hit = (changed[entity] > computed[of_claim]) | (written_by[entity] > basis[of_claim])
            named_changed[of_claim[hit]] = True
        known = np.array([m in (scoring.MODEL, NUMERIC_MODEL) for m in stored.models] + [False])
        current = stored.present & known[stored.model]
        stale = snapshot.is_open & (~current | named_changed)
        questions = np.unique(c.question[stale & (c.question >= 0)])
        if questions.size:
            stale |= np.isin(c.question, questions)
        return np.flatnonzero(stale).tolist()

    def _score_chunk(
        self, snapshot: Snapshot, chunk: Sequence[int], scores: scoring.ScoreTable
    ) -> dict[int, dict[str, Any]]:
        """``score_values`` of the chunk's open claims whose new ``scores`` moved, by position.

        A score whose figures stayed but whose summary changed (a source renamed)
        moved too: those scores' stored summaries are read now, not in the snapshot.
        A score rewritten since the snapshot may be read newer here; the writer
        skips such a claim anyway.
        """
        started = time.perf_counter()
        tolerance = self.job.learning.rescore_min_change
        is_open = snapshot.is_open
        stored = snapshot.scores
        moved: list[int] = []
        stayed: list[int] = []
        for k, i in enumerate(chunk):
            if is_open[i]:
                (moved if _differs(stored, i, scores, k, tolerance) else stayed).append(k)
        if stayed:
            ids = [snapshot.ids[chunk[k]] for k in stayed]
            with self.engine.connect() as connection:
                summaries = stored_score_column(connection, ids, "summary")
            renamed = [
                k
                for k, claim_id in zip(stayed, ids, strict=True)
                if summaries.get(claim_id) != scores.summary[k]
            ]
            moved = sorted(moved + renamed)
        changed = dict(
            zip([chunk[k] for k in moved], table_values(scores, moved, utcnow()), strict=True)
        )
        self.timer.add("score", started)
        self.counts["claims_rescored"] += len(chunk)
        return changed

    def _writer_setup(self) -> dict[str, Any]:
        """What the writer process needs (``score_writer``): how to connect, the SQL of
        each step, and the staged rows' last columns but their changes."""
        # With SQLite's default (1,000 pages) nearly every chunk's commit took the
        # log past it and checkpointed, syncing the file: at 10 M attributions 42 s
        # of the writer's ~100 s under cProfile. Past VALVE_PAGES, as a served
        # worker's, it checkpoints every ten chunks or so (writer busy 82 -> 66 s).
        connect = process_connection(self.engine, f"PRAGMA wal_autocheckpoint = {VALVE_PAGES}")
        if connect is None:
            raise ValueError("a re-scoring job needs a database file: its writer is a process")
        dialect = self.engine.dialect.name
        return {
            **connect,
            "statements": {**staged_writes(dialect), "heartbeat": _heartbeat_statement(dialect)},
            "lock": _current_rows(dialect),
            "evidence": STAGED_EVIDENCE,
            "confidence": STAGED_CONFIDENCE,
            "job_id": self.job_id,
            "beliefs_version": self.based_on,
            "reason": REASON,
        }

    def _write_chunk(
        self,
        out: ScoreWriter,
        snapshot: Snapshot,
        changed: Mapping[int, dict[str, Any]],
        done: int,
        total: int,
    ) -> None:
        """Hand a chunk's moved scores to the writer, which writes them in one transaction
        while the next chunk is scored, then report ``done`` of ``total`` (so a few chunks
        ahead of what is committed: on SQLite one queued for the writer and one it is
        writing, on PostgreSQL one it is staging and the one before committing)."""
        mark = time.perf_counter()
        # The snapshot's times of the chunk's claims, taken out of its arrays at once
        # as Python ints: a numpy scalar a claim cost more than the check itself.
        positions = np.fromiter(changed, dtype=np.intp, count=len(changed))
        stored = snapshot.scores
        read_at = {
            values["claim_id"]: (updated, computed if present else None)
            for values, updated, computed, present in zip(
                changed.values(),
                snapshot.updated_at[positions].tolist(),
                stored.computed_at[positions].tolist(),
                stored.present[positions].tolist(),
                strict=True,
            )
        }
        dialect = self.engine.dialect
        rows = stage_scores(dialect, list(changed.values()))
        heartbeat = (bind_time(dialect)(utcnow()), self._stats())
        out.write(rows, [read_at[row[0]] for row in rows], heartbeat)
        self.timer.add("write", mark)
        if self.progress is not None:
            self.progress(done, total)


def _sources_moved_most(
    before: SourceBook, after: Mapping[str, SourceBelief], setup: ScoringModel
) -> list[dict[str, Any]]:
    """The sources whose reliability (the mean claims are scored with) the job moved
    most, largest move first: ``{"source", "before", "after"}``."""
    moves = []
    for source_id, belief in after.items():
        old, new = before.belief(source_id, setup).belief.mean, belief.belief.mean
        if old != new:
            moves.append((abs(new - old), source_id, old, new))
    return [
        {"source": source_id, "before": old, "after": new}
        for _, source_id, old, new in heapq.nlargest(TOP_MOVED, moves)
    ]


@functools.cache
def _current_rows(dialect: str) -> str:
    """A chunk's claims as they are now, locked until the chunk commits (PostgreSQL row
    locks; SQLite's write transaction locks the whole file already): each one's
    ``updated_at`` and its score's ``computed_at`` (microseconds, as the snapshot
    has them), evidence and confidence. Run by the writer process (``score_writer``).

    Its ids are one parameter: a JSON array read by ``json_each`` on SQLite, an
    array on PostgreSQL.

    Not an expanding ``IN`` list: SQLAlchemy renders one of a chunk's thousands
    of ids anew each chunk, and PostgreSQL then parses and plans as many
    parameters, which cost about as much as the lookup itself. The evidence
    comes as its JSON text.
    """
    if dialect == "sqlite":
        listed, evidence, lock = "IN (SELECT value FROM json_each(?))", "s.evidence", ""
    else:
        listed, evidence, lock = "= ANY(%s)", "s.evidence::text", " FOR UPDATE OF c"
    return (
        f"SELECT c.id, {micros(dialect, 'c.updated_at')}, {micros(dialect, 's.computed_at')}, "
        f"{evidence}, s.confidence FROM claims c LEFT JOIN scores s ON s.claim_id = c.id "
        f"WHERE c.id {listed} ORDER BY c.id{lock}"
    )


def _heartbeat_statement(dialect: str) -> str:
    """The writer's heartbeat: the job row's ``heartbeat_at`` and ``stats``, by its id."""
    mark = "%s" if dialect == "postgresql" else "?"
    return f"UPDATE {Job.__tablename__} SET heartbeat_at = {mark}, stats = {mark} WHERE id = {mark}"


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without the garbage collector's automatic passes, restoring them after.

    A job holds millions of live objects (the snapshot) and allocates more in
    every chunk; the automatic passes then rescan the survivors over and over
    (about a third of a job's time) while finding almost no garbage. Objects
    are still freed by reference counting, and the job collects the young
    generations itself once a chunk.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _release_free_heap() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing), once the fit's arrays are freed and before the score writer starts.

    glibc serves an array from ``mmap`` (returned when freed) only above a threshold
    that it raises to the size of each such array freed, up to 32 MiB. After the
    first, a 1 M store's row arrays (~8 MB each) come from the heap, and their pages
    stay with the job when freed: the 1 M first job, job and writer together, peaked
    at 318 MB against 286 MB with this call (same store, one run each).
    """
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _differs(
    stored: StoredScores, i: int, scores: scoring.ScoreTable, k: int, tolerance: float
) -> bool:
    """Whether new score ``k`` of ``scores`` differs from claim ``i``'s stored one enough
    to be written."""
    if (
        not stored.present[i]
        or stored.models[stored.model[i]] != scores.model[k]
        or stored.credibility[i] != scores.credibility[k]
    ):
        return True
    low, high = scores.interval[k]
    return bool(
        abs(stored.confidence[i] - scores.confidence[k]) > tolerance
        or abs(stored.low[i] - low) > tolerance
        or abs(stored.high[i] - high) > tolerance
    )


def _scores(
    chunk: Sequence[int],
    columns: ClaimColumns,
    scorer: QuestionScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    kinds: QuestionKinds,
    errors: Mapping[str, ErrorScale],
    table: DrawTable,
) -> scoring.ScoreTable:
    """The new scores of the claims at positions ``chunk`` of ``columns`` (on a worker of
    the cluster when there is one: the columns are sent once, a chunk as positions), with
    ``table`` holding the draws of ``columns``' entities."""
    return scorer.score_columns(
        columns, chunk, beliefs, kinds=kinds, errors=errors, table=table
    ).table


def _settled(snapshot: Snapshot) -> ClaimColumns:
    """The snapshot's claims as the chunks are scored: each resolved claim with the
    prior of its outcome (``SETTLED_PRIOR``), which its question's open answers are
    scored beside, as the API scores them (``store.claims``). The fit learned from the
    outcomes themselves, on the claims as stored."""
    outcome = snapshot.outcome
    prior = np.where(outcome == 1, SETTLED_PRIOR[True], snapshot.columns.prior)
    prior[outcome == 0] = SETTLED_PRIOR[False]
    return replace(snapshot.columns, prior=prior)


def _chunks(snapshot: Snapshot, positions: Sequence[int], size: int) -> Iterator[list[int]]:
    """Claim positions in chunks of about ``size``, never splitting a question."""
    chunk: list[int] = []
    codes = snapshot.columns.question[np.asarray(positions, dtype=np.intp)].tolist()
    for unit in question_units(None if q < 0 else q for q in codes):
        if chunk and len(chunk) + len(unit) > size:
            yield chunk
            chunk = []
        chunk.extend(positions[j] for j in unit)
    if chunk:
        yield chunk


def _error_moved(before: ErrorScale | None, after: ErrorScale, tolerance: float) -> bool:
    """Whether an error scale changed by more than ``tolerance`` (relative, or absolute for
    the chance of an informative figure)."""
    if before is None or before.informative is None or after.informative is None:
        return True
    return (
        abs(after.scale / before.scale - 1) > tolerance
        or abs(after.strength / before.strength - 1) > tolerance
        or abs(after.informative.mean - before.informative.mean) > tolerance
    )
