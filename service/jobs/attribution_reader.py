"""The re-scoring job's second reader: a process of its own that reads the store's
attributions while the job reads its claims, both in one snapshot (SQLite).

Why: the read is the job's longest phase with one core idle. At 1 M attributions
on SQLite the claims took 1.5-1.7 s and then the attributions 2.6-3.3 s, each a
step of SQLite's and a Python step per batch on the job's one thread. A thread
would not do: the ``sqlite3`` module releases the GIL around each row's step, and
a reading thread then waits for the other to hand the GIL back after every row
(as the score writer found, ``score_writer``). PostgreSQL's server already reads
on a core of its own: there the job reads alone. A reader of PostgreSQL in the
job's exported snapshot (``pg_export_snapshot``, ``SET TRANSACTION SNAPSHOT``)
was tried and gained nothing (docs/scaling.md, session 25).

One snapshot: SQLite in WAL mode gives each read transaction the database as it
was when the transaction first read. The job takes the write lock (``BEGIN
IMMEDIATE``) on a connection of its own, its read transaction reads, this
process's read transaction reads, and the job lets the lock go: no commit can
fall between the two reads, so both see the same store, however busy. Writers
wait the few milliseconds that takes. Should the two disagree all the same, the
job's check of the attributions against the claims' counts fails the job, as a
store changed under one read did before.

This module imports little (the process starts while the job waits for it): the
driver, numpy and ``driver_rows``, no SQLAlchemy, no models, no scoring model.
The job sends pickled messages on this process's standard input: the setup (how
to connect, the stances' signs), then ``go`` with the job's time once it holds
the lock and has read. This process answers on its standard output: ``ready``
once it has connected (the job takes the lock only then, so writers wait for a
round trip between two processes, not for this one to start), ``started`` once
its snapshot is taken, then the ``Attributions`` (a pickled header with the
entities and the arrays' sizes, then each array's bytes, which the job reads
into arrays of its own: no second copy of them), or its error.
"""

from __future__ import annotations

import gc
import io
import pickle
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, cast

import numpy as np

from service.jobs.child_process import connect_sqlite, start, tied_to
from service.jobs.driver_rows import ATTRIBUTION_ARRAYS, Attributions, read_attributions

if TYPE_CHECKING:
    from sqlalchemy import Connection


class ReaderFailed(RuntimeError):
    """The second reader stopped with an error (its message) or died."""


class AttributionReader:
    """The job's end of a second reader process (``attribution_reader``)."""

    def __init__(self, process: Any, setup: Mapping[str, Any]) -> None:
        self._process = process
        self._setup = setup
        self._input = cast(IO[bytes], process.stdin)
        self._output = cast(io.BufferedReader, process.stdout)

    def share_snapshot(self, connection: Connection, now: datetime) -> None:
        """Take the reader's snapshot at the same point as the read transaction of
        ``connection``, which must not have read yet: under the store's write lock,
        ``connection`` reads, then the reader does (and goes on to read the
        attributions' ages at ``now``)."""
        self._answer()  # "ready": started and connected, so the lock is held a moment only
        lock = connect_sqlite(self._setup)
        try:
            lock.execute("BEGIN IMMEDIATE")
            connection.exec_driver_sql("SELECT 1 FROM attributions LIMIT 1").all()
            self._send(("go", now))
            self._answer()  # "started": its snapshot is taken
            lock.execute("ROLLBACK")
        finally:
            lock.close()

    def attributions(self) -> Attributions:
        """What the reader read (waits for it)."""
        header = self._answer()
        arrays = {}
        for name in ATTRIBUTION_ARRAYS:
            array = np.empty(header["sizes"][name], dtype=header["dtypes"][name])
            view = array.data.cast("B")
            filled = 0
            while filled < view.nbytes:
                got = self._output.readinto(view[filled:])
                if not got:
                    raise ReaderFailed("the second reader stopped in the middle of its answer")
                filled += got
            arrays[name] = array
        return Attributions(entities=header["entities"], **arrays)

    def _send(self, message: Any) -> None:
        try:
            pickle.dump(message, self._input, protocol=pickle.HIGHEST_PROTOCOL)
            self._input.flush()
        except OSError:  # a broken pipe: the reader has stopped, and says why
            self._answer()
            raise

    def _answer(self) -> Any:
        try:
            answer = pickle.load(self._output)
        except EOFError:
            raise ReaderFailed(
                f"the second reader died (exit status {self._process.wait()})"
            ) from None
        if isinstance(answer, dict) and "error" in answer:
            raise ReaderFailed(answer["error"])
        return answer

    def stop(self) -> None:
        """End the reader, whatever it was doing; returns once it has."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._input.close()
        self._output.close()


@contextmanager
def attribution_reader(
    connect: Mapping[str, Any] | None, signs: Mapping[str, int]
) -> Iterator[AttributionReader | None]:
    """A second reader of the store ``connect`` names (``service.store.db.process_connection``;
    stances read by their ``signs``), stopped when the block is left; None unless
    that is a SQLite file (see the module's docstring for PostgreSQL; a store in
    memory no other process can open)."""
    if connect is None or connect["dialect"] != "sqlite":
        yield None
        return
    setup = {**connect, "signs": signs}
    reader = AttributionReader(start(__name__), setup)
    try:
        reader._send(setup)
        yield reader
    finally:
        reader.stop()


def _main(parent: int) -> None:
    """The reader process: the job's messages on standard input, its answers on standard output."""
    if not tied_to(parent):
        return
    # As in the job (``rescore._collector_paused``): a batch's rows are tuples freed by
    # their counts, which the collector would walk again and again meanwhile (the
    # reader's CPU at 1 M attributions 3.2-4.0 s with it, 2.7-3.4 without).
    gc.disable()
    source, answer = sys.stdin.buffer, sys.stdout.buffer
    try:
        setup = pickle.load(source)
        connection = connect_sqlite(setup)
        pickle.dump("ready", answer)
        answer.flush()
        _, now = pickle.load(source)  # "go"
        connection.execute("BEGIN")
        # The read that takes this transaction's snapshot, while the job holds the lock.
        connection.execute("SELECT 1 FROM attributions LIMIT 1").fetchall()
        pickle.dump("started", answer)
        answer.flush()
        (m,) = connection.execute("SELECT count(*) FROM attributions").fetchone()
        attributions = read_attributions(connection, "sqlite", m, now, setup["signs"])
        connection.close()
        arrays = {name: getattr(attributions, name) for name in ATTRIBUTION_ARRAYS}
        header = {
            "entities": attributions.entities,
            "sizes": {name: array.size for name, array in arrays.items()},
            "dtypes": {name: array.dtype.str for name, array in arrays.items()},
        }
        pickle.dump(header, answer, protocol=pickle.HIGHEST_PROTOCOL)
        for array in arrays.values():
            answer.write(np.ascontiguousarray(array).data.cast("B"))
        answer.flush()
    except BaseException as exc:
        pickle.dump({"error": f"{type(exc).__name__}: {exc}"}, answer)
        answer.flush()
        raise


if __name__ == "__main__":
    _main(int(sys.argv[1]))
