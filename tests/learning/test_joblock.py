"""The job lock: exclusive across processes, and gone when its holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from service.jobs.lock import job_lock
from service.store.db import make_engine

HOLDER = """
import sys, time
from service.store.db import make_engine
from service.jobs.lock import job_lock
lock = job_lock(make_engine(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_lock_is_exclusive_and_released(database_url: str) -> None:
    engine = make_engine(database_url)
    first, second = job_lock(engine), job_lock(engine)
    assert not first.is_held()
    assert first.acquire()
    assert first.is_held() and second.is_held()
    assert not second.acquire()
    first.release()
    assert not second.is_held()
    assert second.acquire()
    second.release()
    engine.dispose()


def test_a_killed_holder_releases_the_lock(database_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    engine = make_engine(database_url)
    lock = job_lock(engine)
    assert lock.is_held() and not lock.acquire()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 10
    while lock.is_held() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.acquire()
    lock.release()
    engine.dispose()
