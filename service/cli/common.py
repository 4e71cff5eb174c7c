"""What the commands share: settings and the store, with config errors as clean exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from service.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from flask import Flask


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def app_context() -> Iterator[Flask]:
    """A configured app and its context, for commands that work on the store."""
    from service import create_app

    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    with app.app_context():
        yield app
