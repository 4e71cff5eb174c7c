"""The re-scoring job's score writer: a process of its own that writes the chunks the
job scores, so that writing chunk k overlaps scoring chunk k + 1.

Why a process: a writer thread made the 1 M job slower on SQLite (34 -> 43 s;
PostgreSQL 49 -> 44 s). The sqlite3 module releases the GIL around every step,
so a writer thread waits for the scoring thread to hand the GIL back after each
row it writes. A process has its own interpreter; the job's process scores
while this one checks and writes (SQLite 1 M job: score 5 s, write 7 s of 20).

This module imports little (its interpreter's memory adds to the job's): the
driver, orjson and pickle, no SQLAlchemy, no models, no numpy. Everything it
runs is given by the job: the connection, the SQL of each step
(``service.store.scores.staged_writes``, the job's lock query) and each chunk's
rows, staged and bound as the job's engine would bind them
(``service.store.scores.stage_scores``).

The job sends pickled messages on the writer's standard input (on SQLite from a
thread of its own, so that it scores the next chunk while the writer reads:
``ScoreWriter``): the setup, then one per chunk, then ``None``; the writer
answers once on its standard output, with its counts or its error. Each chunk
is one transaction, as in the job before: lock the chunk's claims, keep the
scores whose claim and stored score are still what the job's snapshot read,
write them with their history rows (naming the sources whose weight moved most,
``largest_changes``) and the job's heartbeat, commit.

On PostgreSQL the writer keeps two connections and gives them chunks in turn:
while the server moves one chunk's staged rows into place and commits it (on a
thread, whose wait for the server releases the GIL), this process locks, checks
and stages the next on the other connection (first 1 M job: writer busy about
7 -> 5 s, the job 0.6 to 1 s shorter; docs/scaling.md). The chunks hold
different claims, so the two transactions never wait for each other's locks,
and a chunk's heartbeat is written only after the chunk before has committed,
so chunks still commit in order. SQLite has one writer at a time and one
connection.

A writer never outlives its job: it exits at the end of its input without
writing what it has not been sent whole (the chunk it was finishing still
commits), and on Linux the kernel kills it when its parent dies
(``PR_SET_PDEATHSIG``) even in the middle of a chunk, whose transaction is then
rolled back. A chunk whose commit had already begun when
the job died may still land; that is safe. Its scores were checked in that
same transaction, under the lock of its claims (PostgreSQL row locks, SQLite's
write lock), against what the job read, so it writes only what the job would
have written had it died a moment later. A job started after the kill reads a
snapshot from before or after that commit, and its own check skips every claim
whose score changed since its snapshot, so no newer score is ever overwritten.
"""

from __future__ import annotations

import functools
import heapq
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import IO, Any, cast

import orjson

from service.jobs.child_process import connect_sqlite, start, tied_to

# History rows name the sources whose weight in the claim changed most.
TOP_CHANGES = 3
# The job's stats name the claims whose confidence it moved most.
TOP_MOVED = 10
# A job that writes nothing for a while still shows it is alive this often.
HEARTBEAT_SECONDS = 5.0

Row = tuple[Any, ...]


class WriterFailed(RuntimeError):
    """The writer process stopped with an error (its message) or died."""


class ScoreWriter:
    """The job's end of a writer process (``score_writer``).

    With ``run_ahead``, messages go down the pipe from a thread of the job's own
    (``_pump``): the job pickles a chunk and goes on scoring the next while the writer
    is still busy with the one before (writing to the pipe releases the GIL). Written
    directly, the job waits for the writer to read each chunk: on SQLite that cost the
    1 M job 1.3 s of its 6.5 s score phase while the writer sat idle 1.8 s between
    chunks, and running ahead made the job faster in 7 of 9 pairs (by 1.5 s, the
    median of the nine; docs/scaling.md). On PostgreSQL, whose writer already stages
    a chunk while the one before commits, the job running ahead took the CPU the
    writer and the server needed (1.1 s faster in one pair, 1.7-3.5 s slower in
    three): there the job writes directly.
    """

    def __init__(self, process: subprocess.Popen[bytes], *, run_ahead: bool) -> None:
        self._process = process
        self._input = cast(IO[bytes], process.stdin)
        self._output = cast(IO[bytes], process.stdout)
        self._broken = False
        # One pickled message waits here while the pump writes the one before: the job
        # runs at most that far ahead of the writer. None tells the pump to stop.
        self._outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self._pump_thread: threading.Thread | None = None
        if run_ahead:
            # A daemon: should the job exit without stopping its writer, the pump
            # does not hold it.
            self._pump_thread = threading.Thread(
                target=self._pump, name="score-writer-pump", daemon=True
            )
            self._pump_thread.start()

    def send(self, message: Any) -> None:
        """Hand the writer a message; waits while the one before is still queued (or,
        without ``run_ahead``, until the writer has read this one).

        Raises
        ------
        WriterFailed
            The writer has stopped (running ahead, noticed at the message after the
            one it refused).
        """
        if not self._broken:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            if self._pump_thread is not None:
                self._outbox.put(data)
            else:
                self._write(data)
        if self._broken:
            raise WriterFailed(self._answer().get("error", ""))

    def _write(self, data: bytes) -> None:
        try:
            self._input.write(data)
            self._input.flush()
        except OSError:  # a broken pipe: the writer has stopped
            self._broken = True

    def _pump(self) -> None:
        """Write the queued messages down the pipe in order, until told to stop; once
        the writer is gone, drop them, so that the job never waits for it."""
        while (data := self._outbox.get()) is not None:
            if not self._broken:
                self._write(data)

    def _close_input(self, *, drop: bool) -> None:
        """Stop the pump once it has written what it holds (and, unless ``drop``, what
        is queued), then close the pipe: the writer reads its end."""
        if self._pump_thread is not None and self._pump_thread.is_alive():
            if drop:
                with suppress(queue.Empty):
                    self._outbox.get_nowait()
            self._outbox.put(None)
            self._pump_thread.join()
        with suppress(OSError):
            self._input.close()

    def write(
        self, rows: Sequence[Row], read_at: Sequence[tuple[int, int | None]], heartbeat: Any
    ) -> None:
        """Write a chunk: ``rows`` (``stage_scores``), each claim's ``updated_at`` and its
        stored score's ``computed_at`` as the job read them, and the job's heartbeat
        (its time, bound, and its stats, without the writer's counts)."""
        self.send((rows, read_at, heartbeat))

    def finish(self) -> dict[str, Any]:
        """Wait for the last chunk; the writer's counts (``claims_changed``,
        ``claims_skipped``) and its busy seconds (``seconds``).

        Raises
        ------
        WriterFailed
        """
        self.send(None)
        self._close_input(drop=False)
        answer = self._answer()
        if "error" in answer:
            raise WriterFailed(answer["error"])
        return answer

    def _answer(self) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = pickle.load(self._output)
        except EOFError:
            answer = {"error": f"the score writer died (exit status {self._process.wait()})"}
        self._process.wait()
        return answer

    def stop(self) -> None:
        """End the writer without waiting for more chunks: a chunk still queued is
        dropped, the writer finishes the chunks it was sent whole and exits. Returns
        once it has."""
        self._close_input(drop=True)
        self._process.wait()
        self._output.close()


@contextmanager
def score_writer(setup: Mapping[str, Any]) -> Iterator[ScoreWriter]:
    """A writer process for the job that ``setup`` describes (see ``_Writer``), stopped
    when the block is left; the job's own lock stays held until it has stopped."""
    process = start(__name__)
    writer = ScoreWriter(process, run_ahead=setup["dialect"] != "postgresql")
    try:
        writer.send(dict(setup))
        yield writer
    finally:
        writer.stop()


def largest_changes(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The sources whose weight in a claim changed most, largest first.

    Weights are summed per source (one source may appear through several
    channels); a source new to the claim has before-values of 0 and None.
    """

    def by_source(evidence: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for e in evidence:
            weight, _ = totals.get(e["source"], (0.0, 0.0))
            totals[e["source"]] = (weight + e["weight"], e["reliability"])
        return totals

    old, new = by_source(before), by_source(after)
    entries: list[dict[str, Any]] = []
    for source_id in sorted(old.keys() | new.keys()):
        w0, r0 = old.get(source_id, (0.0, None))
        w1, r1 = new.get(source_id, (0.0, None))
        if w0 != w1 or r0 != r1:
            entries.append(
                {
                    "source": source_id,
                    "weight_before": w0,
                    "weight_after": w1,
                    "reliability_before": r0,
                    "reliability_after": r1,
                }
            )
    entries.sort(key=lambda e: -abs(e["weight_after"] - e["weight_before"]))
    return entries[:TOP_CHANGES]


# --- the writer process ------------------------------------------------------------


class _Writer:
    """Writes a job's chunks on one connection of its own.

    ``setup`` holds ``dialect`` ("sqlite" or "postgresql"), how to connect
    (``database``, ``pragmas`` and ``timeout`` for SQLite; ``conninfo`` for
    PostgreSQL), ``statements`` (``staged_writes``), ``lock`` (the chunk's
    claims as they are now, locked: id, ``updated_at``, ``computed_at``,
    evidence, confidence), ``heartbeat`` (heartbeat time, stats, job id),
    ``evidence`` and ``confidence`` (the positions of a staged row's evidence and
    confidence) and ``job_id``, ``beliefs_version``,
    ``reason`` (the staged rows' last columns but one).
    """

    def __init__(self, setup: Mapping[str, Any]) -> None:
        self.setup = setup
        self.statements: Mapping[str, str] = setup["statements"]
        self.counts = {"claims_changed": 0, "claims_skipped": 0}
        # The claims written that moved most: (|change|, claim id, before, after), a min-heap.
        self.moved: list[tuple[float, str, float, float]] = []
        self.last_heartbeat = time.monotonic()
        self.postgresql = setup["dialect"] == "postgresql"
        # The transaction of the chunk before, finishing on its own connection (PostgreSQL).
        self.finishing: Future[None] | None = None
        if self.postgresql:
            # Two connections taking chunks in turn: while the server moves one chunk's
            # staged rows into place and commits, this process checks and stages the
            # next on the other (see the module's docstring).
            self.connections = [self._connect_postgresql() for _ in range(2)]
            # The staging table's column types tell the binary COPY how to pack each
            # value (JSON goes as text); both connections' tables are alike.
            self.types = [
                "text" if kind == "json" else kind
                for (kind,) in self.connections[0].execute(self.statements["types"])
            ]
            self.finisher = ThreadPoolExecutor(max_workers=1)
        else:
            connection = connect_sqlite(setup)
            # SQLite has one writer at a time: a second connection would wait for the first.
            self.connections = [connection]

    def _connect_postgresql(self) -> Any:
        import psycopg

        connection = psycopg.connect(self.setup["conninfo"])
        # A chunk's commit does not wait for its WAL to reach the disk: the job
        # marks itself succeeded with a commit that does, after the last chunk,
        # and flushing the log to it flushes every chunk's commit before it. A
        # server crash before then fails the job, and the next one rescores
        # whatever scores it lost (they are still the old model's).
        connection.execute("SET synchronous_commit = off")
        # The staging table lives as long as the connection.
        connection.execute(self.statements["staging"])
        connection.commit()
        return connection

    def chunk(
        self, rows: Sequence[Row], read_at: Sequence[tuple[int, int | None]], heartbeat: Row
    ) -> None:
        """Write one chunk in one transaction (a chunk without rows only heartbeats,
        every ``HEARTBEAT_SECONDS``).

        On PostgreSQL the transaction is finished (rows moved from the staging
        table, heartbeat, commit) on a thread while the next chunk is checked
        and staged on the other connection; chunks still commit in order.
        """
        if not rows and time.monotonic() - self.last_heartbeat <= HEARTBEAT_SECONDS:
            return
        connection = self.connections[0]
        self.connections.reverse()
        self._begin(connection)
        staged = self._write(connection, rows, read_at) if rows else False
        at, stats = heartbeat
        stats.update(self.counts, claims_moved_most=self.moved_most())
        finish = functools.partial(
            self._finish, connection, staged, (at, orjson.dumps(stats).decode())
        )
        self.wait()
        if self.postgresql:
            self.finishing = self.finisher.submit(finish)
        else:
            finish()
        self.last_heartbeat = time.monotonic()

    def moved_most(self) -> list[dict[str, Any]]:
        """The claims whose confidence this job moved most so far, largest move first:
        ``{"claim_id", "before", "after"}`` (a claim without a score before is not one)."""
        return [
            {"claim_id": claim_id, "before": before, "after": after}
            for _, claim_id, before, after in sorted(self.moved, reverse=True)
        ]

    def _note_move(self, claim_id: str, before: float | None, after: float) -> None:
        if before is None:
            return
        entry = (abs(after - before), claim_id, before, after)
        if len(self.moved) < TOP_MOVED:
            heapq.heappush(self.moved, entry)
        elif entry > self.moved[0]:
            heapq.heapreplace(self.moved, entry)

    def wait(self) -> None:
        """Wait for the chunk before to commit; raises what its transaction raised."""
        if self.finishing is not None:
            finishing, self.finishing = self.finishing, None
            finishing.result()

    def _begin(self, connection: Any) -> None:
        # SQLite: take the write lock at once, as the job's engine does (service.store.db).
        if not self.postgresql:
            connection.execute("BEGIN IMMEDIATE")

    def _write(
        self, connection: Any, rows: Sequence[Row], read_at: Sequence[tuple[int, int | None]]
    ) -> bool:
        """Lock the chunk's claims, keep the rows whose claim is as the job read it and
        write them (PostgreSQL: stage them); whether any was kept."""
        ids = [row[0] for row in rows]
        listed = ids if self.postgresql else orjson.dumps(ids).decode()
        current = {
            claim_id: (updated, computed, evidence, confidence)
            for claim_id, updated, computed, evidence, confidence in connection.execute(
                self.setup["lock"], (listed,)
            )
        }
        # A claim written by the API since the job's snapshot keeps its score.
        kept = []
        confidence = self.setup["confidence"]
        for row, (updated, computed) in zip(rows, read_at, strict=True):
            now = current.get(row[0])
            if now is not None and now[0] == updated and now[1] == computed:
                kept.append((row, now[2]))
                self._note_move(row[0], now[3], row[confidence])
        del current
        self.counts["claims_skipped"] += len(rows) - len(kept)
        self.counts["claims_changed"] += len(kept)
        if not kept:
            return False
        setup = self.setup
        tail = (setup["job_id"], setup["beliefs_version"], setup["reason"])
        evidence = setup["evidence"]
        # Rows made as the driver takes them, not kept: a chunk's staged rows are
        # most of this process's memory.
        staged = (
            (
                *row,
                *tail,
                orjson.dumps(
                    largest_changes(orjson.loads(old or "[]"), orjson.loads(row[evidence]))
                ).decode(),
            )
            for row, old in kept
        )
        cursor = connection.cursor()
        try:
            if self.postgresql:
                with cursor.copy(self.statements["copy"]) as copy:
                    copy.set_types(self.types)
                    for row in staged:
                        copy.write_row(row)
            else:
                # The score upsert names only the score's columns, the history insert all.
                cursor.executemany(self.statements["scores"], (row + tail[:2] for row, _ in kept))
                cursor.executemany(self.statements["history"], staged)
        finally:
            cursor.close()
        return True

    def _finish(self, connection: Any, staged: bool, heartbeat: tuple[Any, str]) -> None:
        """Move a chunk's staged rows into place (PostgreSQL), heartbeat and commit."""
        if staged and self.postgresql:
            connection.execute(self.statements["scores"])
            connection.execute(self.statements["history"])
        connection.execute(self.statements["heartbeat"], (*heartbeat, self.setup["job_id"]))
        connection.commit()


def _main(parent: int) -> None:
    """The writer process: the job's messages on standard input, its answer on standard output."""
    if not tied_to(parent):
        return
    source, answer = sys.stdin.buffer, sys.stdout.buffer
    try:
        writer = _Writer(pickle.load(source))
        busy = 0.0
        while True:
            try:
                message = pickle.load(source)
            except EOFError:
                # The job stopped, or died: the chunk it sent last still commits, but
                # nothing more is written.
                writer.wait()
                return
            if message is None:
                break
            started = time.perf_counter()
            writer.chunk(*message)
            del message
            busy += time.perf_counter() - started
        started = time.perf_counter()
        writer.wait()
        busy += time.perf_counter() - started
    except BaseException as exc:
        pickle.dump({"error": f"{type(exc).__name__}: {exc}"}, answer)
        answer.flush()
        raise
    pickle.dump(
        {**writer.counts, "claims_moved_most": writer.moved_most(), "seconds": busy}, answer
    )
    answer.flush()


if __name__ == "__main__":
    _main(int(sys.argv[1]))
