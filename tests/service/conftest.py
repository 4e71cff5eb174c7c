"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from service import create_app


@pytest.fixture(scope="module")
def app_context() -> Iterator[Flask]:
    """An app's context without a database: what loading a request schema needs."""
    app = create_app({"database": {"url": "sqlite://"}})
    with app.app_context():
        yield app
