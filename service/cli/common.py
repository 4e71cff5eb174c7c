"""What the commands share: settings and the store, with config errors as clean exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import DBAPIError

from service.settings import ConfigError, Settings, load_settings
from service.store.db import make_engine
from service.store.schema_version import schema_problem

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import Engine


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def app_context() -> Iterator[Flask]:
    """A configured app and its context, for commands that work on the store (whose
    schema must be current)."""
    from service import create_app

    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    require_current_schema(app.extensions["credence.engine"])
    with app.app_context():
        yield app


def require_current_schema(engine: Engine) -> None:
    """Stop, saying what to do, unless the store's schema is the one this code is
    written for: a command run after an upgrade of Credence but before `credence
    migrate` would otherwise fail part way with the database's own error."""
    try:
        with engine.connect() as connection:
            problem = schema_problem(connection)
    except DBAPIError as exc:
        raise click.ClickException(f"The database is not reachable: {exc.orig}") from None
    if problem is not None:
        raise click.ClickException(problem)


@contextmanager
def store_engine(config: Settings | None = None) -> Iterator[Engine]:
    """An engine on the store of ``config`` (default: the settings), once its schema is
    found current (``require_current_schema``); disposed when the block ends."""
    engine = make_engine((config or settings()).database.url)
    try:
        require_current_schema(engine)
        yield engine
    finally:
        engine.dispose()
