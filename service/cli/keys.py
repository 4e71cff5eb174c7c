"""``credence keys``: API keys."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from service.cli.common import store_engine
from service.store.db import writer
from service.web.auth import ROLES, create_key, key_prefix, list_keys, revoke_key


@click.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key may do.")
@click.option("--name", help="Who or what the key is for.")
def create(role: str, name: str | None) -> None:
    """Create a key and print it: it is shown this once and stored only hashed."""
    with store_engine() as engine, Session(writer(engine)) as session, session.begin():
        key = create_key(session, role, name)  # type: ignore[arg-type]
    click.echo(key)


@keys.command("list")
def list_() -> None:
    """List keys: prefix, role, name, created, revoked (the secrets are not stored)."""
    with store_engine() as engine, Session(engine) as session:
        rows = list_keys(session)
        for row in rows:
            click.echo(
                "\t".join(
                    (
                        row.prefix,
                        row.role,
                        row.name or "-",
                        row.created_at.isoformat(timespec="seconds"),
                        f"revoked {row.revoked_at.isoformat(timespec='seconds')}"
                        if row.revoked_at
                        else "active",
                    )
                )
            )
    if not rows:
        click.echo("no keys: the service serves loopback clients only", err=True)


@keys.command("revoke")
@click.argument("key")
def revoke(key: str) -> None:
    """Revoke KEY (its prefix, as `keys list` shows it, or the whole key): refused at once."""
    prefix = key_prefix(key)
    with store_engine() as engine, Session(writer(engine)) as session, session.begin():
        revoked = revoke_key(session, prefix)
        active = sum(1 for r in list_keys(session) if r.revoked_at is None)
    if revoked is None:
        raise click.ClickException(f"no key {prefix!r}; `credence keys list` shows them")
    click.echo(f"revoked {prefix}" if revoked else f"{prefix} was already revoked", err=True)
    if active == 0:
        click.echo("no active key remains: the service serves loopback clients only", err=True)
