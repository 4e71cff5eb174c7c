"""Responses written by orjson read exactly as Flask's own provider would write them."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from service.web.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    when: datetime


class Tag(str):
    pass


VALUES: list[Any] = [
    {"scores": [{"confidence": 0.123456789, "interval": [1e-05, 1e16], "note": None}]},
    {"text": "héllo — ✓", "n": -0, "big": 2**63, "bool": True},
    {1: "int key", "nested": {"list": [1, 2.5, "x", None, [], {}]}},
    [{"when": datetime(2024, 3, 1, 10, 0, tzinfo=UTC)}, date(2024, 3, 1)],
    {"amount": Decimal("1.10"), "id": uuid.UUID(int=7)},
    {"point": Point(1, datetime(2024, 3, 1, tzinfo=UTC))},
    {"tag": Tag("t"), "huge": 10**30},
]


@pytest.fixture(scope="module")
def flask_app() -> Flask:
    return Flask("test")


@pytest.fixture
def providers(flask_app: Flask) -> tuple[OrjsonProvider, DefaultJSONProvider]:
    # The providers hold the app by a weak reference.
    fast, default = OrjsonProvider(flask_app), DefaultJSONProvider(flask_app)
    fast.sort_keys = default.sort_keys = False
    return fast, default


@pytest.mark.parametrize("value", VALUES)
def test_same_document_as_flask(
    flask_app: Flask, providers: tuple[OrjsonProvider, DefaultJSONProvider], value: Any
) -> None:
    fast, default = providers
    assert json.loads(fast.dumps(value)) == json.loads(default.dumps(value))
    with flask_app.test_request_context():
        ours, flasks = fast.response(value), default.response(value)
    assert ours.mimetype == flasks.mimetype == "application/json"
    assert ours.get_data().endswith(b"\n")
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())  # type: ignore[attr-defined]


def test_what_orjson_does_not_write_like_flask_goes_to_flask(
    providers: tuple[OrjsonProvider, DefaultJSONProvider],
) -> None:
    fast, default = providers
    # Flask writes dates as HTTP dates, Decimal as a string, str subclasses as strings.
    for value in VALUES[3:]:
        assert fast.dumps(value) == default.dumps(value)
