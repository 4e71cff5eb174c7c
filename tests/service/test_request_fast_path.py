"""The request schemas' fast path loads exactly what marshmallow loads, or defers to it.

``ClaimBatchSchema``, ``ScoreRequestSchema`` and ``AttributionBatchSchema`` check
a body in one plain-Python pass and fall back to marshmallow's own load for
anything they cannot vouch for. Whatever the body, the result (or the error
messages) must be those of marshmallow's load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.http import make_claims
from service import create_app
from service.schemas.requests import (
    AttributionBatchSchema,
    ClaimBatchSchema,
    ScoreRequestSchema,
    _FastLoad,
)

SCHEMAS = [ClaimBatchSchema(), ScoreRequestSchema(), AttributionBatchSchema()]


@pytest.fixture(scope="module")
def app_context() -> Iterator[Flask]:
    # Loading needs the settings (limits, unnamed prefix), not a database.
    app = create_app({"database": {"url": "sqlite://"}, "limits": {"text_max_chars": 80}})
    with app.app_context():
        yield app


def outcome(load: Any, body: Any) -> tuple[str, str]:
    """What a load gives, with types and key order (1 and 1.0 differ)."""
    try:
        return "ok", repr(load(body))
    except ma.ValidationError as exc:
        return "error", repr(exc.messages)


def assert_same(schema: _FastLoad, body: Any) -> None:
    marshmallow = outcome(super(_FastLoad, schema).load, body)
    assert outcome(schema.load, body) == marshmallow


slugs: st.SearchStrategy[Any] = st.sampled_from(
    ["s", "wire", "anon:officials", "a", "b", "Bad Id", "", "x" * 129, 7, None]
)
numbers: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([0, 1, 2, 0.5, 1.0, -1, 10_000, 10_001, True, False, "0.5", None, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
)
any_attribution: st.SearchStrategy[Any] = st.fixed_dictionaries(
    {"source": slugs},
    optional={
        "stance": st.sampled_from(["supports", "refutes", "neutral", "maybe", None, 1]),
        "via": st.one_of(st.lists(slugs, max_size=4), st.sampled_from(["s", None, {}])),
        "certainty": numbers,
        "count": numbers,
        "observed_at": st.sampled_from(
            ["2024-03-01T10:00:00Z", "2024-03-01T10:00:00", "2024-03-01", "yesterday", None, 5]
        ),
        "url": st.one_of(st.text(max_size=3), st.sampled_from([None, 1, "u" * 2_049])),
        "quote": st.one_of(st.text(max_size=3), st.sampled_from([None, "q" * 10_001])),
        "colour": st.just("red"),
    },
)
valid_attribution: st.SearchStrategy[Any] = st.fixed_dictionaries(
    {"source": st.sampled_from(["s", "wire", "anon:officials"])},
    optional={
        "stance": st.sampled_from(["supports", "refutes", "neutral"]),
        "via": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True),
        "certainty": st.sampled_from([1, 0.7, 1.0, 0.01]),
        "count": st.sampled_from([1]),
        "observed_at": st.just("2024-03-01T10:00:00+02:00"),
        "url": st.just("https://example.org/a"),
        "quote": st.just("said"),
    },
)
attributions: st.SearchStrategy[Any] = st.lists(
    st.one_of(valid_attribution, any_attribution), max_size=3
)
claim: st.SearchStrategy[Any] = st.fixed_dictionaries(
    {
        "text": st.one_of(
            st.text(min_size=1, max_size=5), st.sampled_from(["", " \n", 5, None, "x" * 81])
        )
    },
    optional={
        "id": slugs,
        "prior": numbers,
        "attributions": st.one_of(attributions, st.sampled_from(["none", None])),
        "question": slugs,
        "tags": st.one_of(
            st.lists(st.sampled_from(["a", "b", "", "t" * 129, 5]), max_size=3),
            st.just("tag"),
        ),
        "colour": st.just("red"),
    },
)
valid_claim: st.SearchStrategy[Any] = st.fixed_dictionaries(
    {"text": st.text(min_size=1, max_size=5)},
    optional={
        "id": st.sampled_from(["c-1", "c-2", "c-3"]),
        "prior": st.sampled_from([0.5, 0.01, 0.99]),
        "attributions": st.lists(valid_attribution, max_size=3),
        "question": st.just("q"),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
    },
)
sources: st.SearchStrategy[Any] = st.dictionaries(
    slugs.filter(lambda s: isinstance(s, str)),
    st.sampled_from(
        [
            {"grade": "B"},
            {"grade": "Z"},
            {"alpha": 1, "beta": 2},
            {"prior": {"reliability": 0.7, "strength": 5}},
            {"group": "g", "name": "n"},
            {"colour": 1},
        ]
    ),
    max_size=2,
)
bodies: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries(
        {"claims": st.lists(claim, max_size=4)},
        optional={"sources": sources, "extra": st.just(1)},
    ),
    st.fixed_dictionaries(
        {"claims": st.lists(st.one_of(valid_claim, claim), max_size=3)},
        optional={"sources": sources},
    ),
    st.fixed_dictionaries({"claims": st.lists(valid_claim, max_size=3)}),
    st.fixed_dictionaries({"attributions": attributions}),
    st.sampled_from([[], {}, "x", None, {"claims": "all"}, {"claims": [None, 1]}]),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_fast_path_agrees_with_marshmallow(app_context: Flask, body: Any) -> None:
    for schema in SCHEMAS:
        assert_same(schema, body)


def test_limits_agree(app_context: Flask) -> None:
    body = {"claims": [{"text": "x" * 81, "attributions": [{"source": "s"}]}]}
    for schema in SCHEMAS:
        assert_same(schema, body)


def test_benchmark_bodies_take_the_fast_path(
    app_context: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [json.loads(json.dumps({"claims": make_claims(n, None)})) for n in (1, 100)]
    expected = [super(_FastLoad, ScoreRequestSchema()).load(b) for b in bodies]

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("marshmallow's load was called")

    monkeypatch.setattr(ma.Schema, "load", refuse)
    assert [ScoreRequestSchema().load(b) for b in bodies] == expected


def test_scoring_requests_skip_marshmallow_load(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the HTTP stack too: webargs hands the body to the fast path."""
    body = {"claims": make_claims(10, None)}
    expected = client.post("/v1/score", json=body).get_json()["scores"]

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("marshmallow's load was called")

    monkeypatch.setattr(ma.Schema, "load", refuse)
    scores = client.post("/v1/score", json=body).get_json()["scores"]
    assert [s["confidence"] for s in scores] == [s["confidence"] for s in expected]
