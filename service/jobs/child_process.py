"""What the re-scoring job's helper processes (its score writer, its second reader)
share: they die with the job, and connect to a SQLite store as the job's engine does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3


def tied_to(parent: int) -> bool:
    """Have the kernel kill this process when the job's thread that started it ends
    (Linux); whether ``parent`` is still this process's parent, as it must be for the
    process to go on."""
    if sys.platform == "linux":
        # The kernel signals when the thread that started this process ends: the
        # job's thread, which stops this process before it ends anyway.
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    # Otherwise the job died before the line above could tie this process to it.
    return os.getppid() == parent


def start(module: str) -> subprocess.Popen[bytes]:
    """``python -m module`` as this process's child, talking over its standard input
    and output; the module's main takes this process's id (``tied_to``)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def connect_sqlite(setup: Mapping[str, Any]) -> sqlite3.Connection:
    """A connection to the SQLite store ``setup`` names (``database``), set as the job's
    engine sets its own (``service.store.db.make_engine``: each of ``pragmas``,
    ``timeout`` seconds' wait for a lock), beginning no transaction of its own."""
    import sqlite3  # here, not above: a writer of a PostgreSQL store never needs it

    connection = sqlite3.connect(setup["database"], timeout=setup["timeout"], isolation_level=None)
    for pragma in setup["pragmas"]:
        connection.execute(pragma)
    return connection
