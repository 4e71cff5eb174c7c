"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from service import create_app
from service.cli import main


@pytest.fixture(scope="module")
def app_context() -> Iterator[Flask]:
    """An app's context without a database: what loading a request schema needs."""
    app = create_app({"database": {"url": "sqlite://"}})
    with app.app_context():
        yield app


@pytest.fixture
def run(database_url: str, catalogue_file: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``credence`` with its arguments, on the test database, through click's CliRunner."""
    monkeypatch.setenv("CREDENCE_DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENCE_SOURCES_CATALOGUE", str(catalogue_file))

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke
