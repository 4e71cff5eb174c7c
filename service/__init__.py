"""Credence's HTTP service: the Flask app, its storage and its command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The application factory (see ``service.app.create_app``).

    Imported on call so that ``credence serve`` can point prometheus-client at a
    multiprocess directory before the metrics are defined.
    """
    from service.app import create_app as factory

    return factory(overrides)
