"""Requests that lose a race on PostgreSQL are run again.

Two transactions that lock rows in opposite orders deadlock, and PostgreSQL
aborts one of them (SQLSTATE 40P01; a serialization failure, 40001, is the
same kind of loss). The aborted request has written nothing: its session is
rolled back and the request runs again on a new one, so that the client sees
one answer and concurrent clients lose nothing. A request that loses every
attempt is answered as an unavailable database is (503 with Retry-After).
SQLite takes its write lock when a writing request begins, so it never deadlocks.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.exc import DBAPIError

from service.web.database import discard_session

log = logging.getLogger("credence.app")

LOST_RACE = frozenset({"40P01", "40001"})
"""SQLSTATEs of a transaction aborted for another's sake: deadlock, serialization failure."""
ATTEMPTS = 3


def lost_race(error: BaseException) -> bool:
    original = getattr(error, "orig", None) or error
    return getattr(original, "sqlstate", None) in LOST_RACE


def retried(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view``, run again (up to ``ATTEMPTS`` times in all) when it loses a race."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, ATTEMPTS):
            try:
                return view(*args, **kwargs)
            except (DBAPIError, psycopg.Error) as error:
                if not lost_race(error):
                    raise
                discard_session()
                log.info("request retried", extra={"fields": {"attempt": attempt}})
        return view(*args, **kwargs)

    return run


def init_app(app: Flask) -> None:
    """Wrap every view registered so far (call it once the blueprints are)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = retried(view)
