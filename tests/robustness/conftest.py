"""Fixtures of the robustness tests: real servers (gunicorn) on a fresh store of each backend.

A deployment is a migrated database (a SQLite file, or a PostgreSQL schema of
its own in the test database), one key of each role, and ``credence serve``
with two workers on a free loopback port. PostgreSQL deployments exist when
CREDENCE_TEST_DATABASE_URL is set, like the rest of the suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from service.store.db import make_engine
from tests.conftest import BACKENDS, PG_URL
from tests.live_server import Client, create_key, credence, live_server, server_env


@dataclass
class Deployment:
    backend: str
    url: str
    env: dict[str, str]
    keys: dict[str, str]
    client: Client
    log: Path

    def engine(self) -> Engine:
        return make_engine(self.url)


@contextmanager
def pg_schema(base_url: str = PG_URL) -> Iterator[str]:
    """A PostgreSQL schema of its own, as a URL whose search_path points at it."""
    schema = f"credence_robust_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, migrated store of ``backend``: its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory}/credence.db"
        credence("migrate", env=server_env(url))
        yield url
        return
    with pg_schema() as url:
        credence("migrate", env=server_env(url))
        yield url


@contextmanager
def deployment(backend: str, directory: Path, workers: int = 2) -> Iterator[Deployment]:
    with database(backend, directory) as url:
        env = server_env(url)
        keys = {role: create_key(env, role) for role in ("read", "write", "admin")}
        log = directory / "server.log"
        with live_server(env, log, workers=workers, key=keys["admin"]) as client:
            yield Deployment(backend, url, env, keys, client, log)


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A server of each backend, shared by the tests of a module."""
    with deployment(request.param, tmp_path_factory.mktemp(f"live-{request.param}")) as dep:
        yield dep
