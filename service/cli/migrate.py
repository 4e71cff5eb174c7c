"""``credence migrate``: bring the database schema to the newest revision."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from service.cli.common import settings
from service.store.db import make_engine
from service.store.schema_migrations import upgrade


@click.command()
def migrate() -> None:
    """Upgrade the database to the migrations' head (idempotent)."""
    engine = make_engine(settings().database.url)
    try:
        upgrade(engine)
    except OperationalError as exc:
        # Refused, unknown database, no such directory: one line, as the other commands.
        raise click.ClickException(f"The database is not reachable: {exc.orig}") from None
    finally:
        engine.dispose()
    click.echo("database is at the newest schema")
