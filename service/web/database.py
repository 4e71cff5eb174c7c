"""The app's database: one engine per app (``service.store.db.make_engine``), one
session per request."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.store.db import make_engine, writer


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["credence.engine"] = engine
    # Made once: ``execution_options`` builds a new engine object at each call, ~4 % of
    # a 1-claim POST /v1/score's CPU when every writing request made its own.
    app.extensions["credence.writer"] = writer(engine)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["credence.engine"]
    return engine


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown.

    Requests other than GET and HEAD write, so on SQLite they take the write
    lock when their transaction begins.
    """
    if "db_session" not in g:
        writes = request.method not in ("GET", "HEAD")
        engine = current_app.extensions["credence.writer" if writes else "credence.engine"]
        g.db_session = Session(engine, expire_on_commit=False)
    session: Session = g.db_session
    return session


def discard_session() -> None:
    """Roll back and close the request's session; the next ``get_session`` opens another."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _close_session(_exc: BaseException | None) -> None:
    discard_session()
