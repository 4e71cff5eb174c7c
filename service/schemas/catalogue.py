"""The shipped source catalogue (``config/sources.toml``), validated by the rules of
``PUT /v1/sources/{id}``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import marshmallow as ma

from service.field_errors import flatten_messages
from service.schemas.requests import SLUG_RE, SourceSchema
from service.settings import ConfigError
from service.store.source_beliefs import SourceDefinition


def load_catalogue(path: Path) -> dict[str, SourceDefinition]:
    """The shipped catalogue: TOML tables ``[sources."<id>"]``; none if the file is absent.

    Raises
    ------
    ConfigError
        Naming the bad entry's key, e.g. ``sources."ap".prior.grade``.
    """
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("sources", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"source catalogue {path} is not valid TOML: {exc}") from None
    schema = SourceSchema()
    catalogue = {}
    for source_id, entry in table.items():
        where = f'{path.name}: sources."{source_id}"'
        if not SLUG_RE.match(source_id):
            raise ConfigError(f"{where}: the id is not a valid slug")
        try:
            loaded = schema.load(entry)
        except ma.ValidationError as exc:
            problems = flatten_messages(exc.messages)
            raise ConfigError(
                "; ".join(f"{where}.{key}: {' '.join(m)}" for key, m in problems.items())
            ) from None
        catalogue[source_id] = SourceDefinition(id=source_id, **loaded)
    return catalogue
