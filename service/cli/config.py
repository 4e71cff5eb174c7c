"""``credence config``: the effective settings."""

from __future__ import annotations

import json

import click
from sqlalchemy import make_url

from service.cli.common import settings


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
def show() -> None:
    """Print the effective settings (defaults, CREDENCE_CONFIG, environment) as JSON."""
    effective = settings().raw
    url = make_url(effective["database"]["url"])
    # A password in the database URL is a secret: never printed.
    effective["database"]["url"] = url.render_as_string(hide_password=True)
    click.echo(json.dumps(effective, indent=2, default=str))
