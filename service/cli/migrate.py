"""``credence migrate``: bring the database schema to the newest revision."""

from __future__ import annotations

import click

from service.cli.common import settings
from service.store.db import make_engine
from service.store.schema_migrations import upgrade


@click.command()
def migrate() -> None:
    """Upgrade the database to the migrations' head (idempotent)."""
    engine = make_engine(settings().database.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo("database is at the newest schema")
