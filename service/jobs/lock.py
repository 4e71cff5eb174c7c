"""One re-scoring job at a time across every process and machine sharing a database.

The lock lives where the database lives, and the operating system or the
database server drops it when its holder dies, so a ``kill -9`` never leaves
it stuck:

- PostgreSQL: a session-level advisory lock held on a dedicated connection
  for the job's life; the server releases it when that session ends.
- SQLite (one machine by nature): ``flock`` on a lock file beside the database
  file; the kernel releases it when the process's descriptors close.

A job row that says ``running`` while its lock is free therefore belongs to a
dead job; ``is_held`` lets the service find those.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

from service.store.db import sqlite_file

LOCK_NAME = "credence.rescore"
_ACQUIRE_ATTEMPTS = 5


class JobLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; never waits. True if it is now ours."""

    def release(self) -> None:
        """Give the lock back; a no-op if it is not ours."""

    def is_held(self) -> bool:
        """Whether anyone (this process included) holds the lock now."""


def job_lock(engine: Engine, name: str = LOCK_NAME) -> JobLock:
    """The lock named ``name`` for the database behind ``engine``."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name)
    if engine.dialect.name == "sqlite":
        database = sqlite_file(engine)
        if database is None:
            return ProcessLock(f"{engine.url}:{name}")
        return FileLock(f"{database}.{name}.lock")
    raise ValueError(f"no job lock for database dialect {engine.dialect.name!r}")


class AdvisoryLock:
    """``pg_try_advisory_lock`` held by a connection that is kept open for the job."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._name = name
        self._connection: Connection | None = None

    def _key(self, connection: Connection) -> int:
        # Keyed by schema too, so deployments (or test runs) in different schemas
        # of one database do not block each other.
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        digest = hashlib.blake2b(f"{schema}/{self._name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    def acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key(connection)}
            ).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self._key(connection)}
            )
        finally:
            # Closing returns the connection to the pool; invalidating it ends the
            # session, which drops the lock even if the unlock above failed.
            connection.invalidate()
            connection.close()

    def is_held(self) -> bool:
        if self._connection is not None:
            return True
        # Read pg_locks rather than try-and-release: a probe must never hold the
        # lock, not even for a moment, or it could make a real start fail.
        with self._engine.connect() as connection:
            key = self._key(connection)
            held = connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1)"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            ).scalar_one()
        return bool(held)


class FileLock:
    """An exclusive ``flock`` on a file; per open file, so it also excludes
    other threads of this process that open the file themselves."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for the job's life
        # A probe (``is_held``) holds the lock for a few microseconds; retrying
        # briefly keeps it from being mistaken for a running job.
        for attempt in range(_ACQUIRE_ATTEMPTS):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if attempt + 1 < _ACQUIRE_ATTEMPTS:
                    time.sleep(0.01)
                continue
            self._file = handle
            return True
        handle.close()
        return False

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def is_held(self) -> bool:
        if self._file is not None:
            return True
        with open(self.path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


class ProcessLock:
    """For an in-memory SQLite database, which only one process can see."""

    def __init__(self, key: str) -> None:
        with _process_locks_guard:
            self._lock = _process_locks.setdefault(key, threading.Lock())
        self._mine = False

    def acquire(self) -> bool:
        if not self._mine:
            self._mine = self._lock.acquire(blocking=False)
        return self._mine

    def release(self) -> None:
        if self._mine:
            self._mine = False
            self._lock.release()

    def is_held(self) -> bool:
        return self._lock.locked()
