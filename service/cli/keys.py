"""``credence keys``: API keys."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from service.cli.common import settings
from service.store.db import make_engine, writer
from service.web.auth import ROLES, create_key


@click.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key may do.")
@click.option("--name", help="Who or what the key is for.")
def create(role: str, name: str | None) -> None:
    """Create a key and print it: it is shown this once and stored only hashed."""
    engine = make_engine(settings().database.url)
    try:
        with Session(writer(engine)) as session, session.begin():
            key = create_key(session, role, name)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    click.echo(key)
