"""Access: every endpoint x {no key, bad key, read, write, admin}, on each backend.

The table covers every route of the app (checked against its URL map, so a new
endpoint fails here until it is listed); the console's pages, which take their
key from a cookie, have their own table in tests/console/test_access.py. A key
is stored as its SHA-256 only and checked with ``hmac.compare_digest``; no
secret shows in any log line, response body or header while the table runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.store.models import ApiKey
from service.web import auth as service_auth
from service.web.observability import JsonFormatter
from tests.formats.bundles import foreign_bundle
from tests.service.helpers import assert_problem

CLAIM = {"claims": [{"id": "c", "text": "t", "attributions": [{"source": "wire"}]}]}
CREDENTIALS = ("none", "bad-format", "bad-secret", "read", "write", "admin")
RANK = {"read": 0, "write": 1, "admin": 2}

# (method, path, body, least role or None for public, status for an allowed caller)
TABLE: list[tuple[str, str, Any, str | None, int]] = [
    ("GET", "/healthz", None, None, 200),
    ("GET", "/readyz", None, None, 200),
    ("GET", "/metrics", None, None, 200),
    ("GET", "/openapi.json", None, None, 200),
    ("POST", "/v1/score", CLAIM, "read", 200),
    ("POST", "/v1/claims", CLAIM, "write", 200),
    ("GET", "/v1/claims", None, "read", 200),
    ("GET", "/v1/claims/c", None, "read", 200),
    ("POST", "/v1/claims/c/attributions", {"attributions": [{"source": "ap"}]}, "write", 200),
    ("GET", "/v1/sources", None, "read", 200),
    ("GET", "/v1/sources/wire", None, "read", 200),
    ("PUT", "/v1/sources/wire", {"prior": {"grade": "A"}}, "admin", 200),
    ("POST", "/v1/sources", {"sources": [{"id": "wire", "prior": {"grade": "A"}}]}, "admin", 200),
    (
        "POST",
        "/v1/resolutions",
        {"resolutions": [{"claim_id": "c", "outcome": "confirmed"}]},
        "admin",
        200,
    ),
    ("POST", "/v1/claims/c/resolution", {"outcome": "confirmed"}, "admin", 200),
    ("DELETE", "/v1/claims/c/resolution", None, "admin", 204),
    ("GET", "/v1/claims/c/history", None, "read", 200),
    ("POST", "/v1/rescore", None, "admin", 202),
    ("GET", "/v1/jobs/{job}", None, "read", 200),
    ("GET", "/v1/jobs", None, "read", 200),
    ("GET", "/v1/calibration", None, "read", 200),
    ("POST", "/v1/import/stix", foreign_bundle(), "write", 200),
    ("GET", "/v1/questions", None, "read", 200),
    ("GET", "/v1/questions/q", None, "read", 200),
    ("PUT", "/v1/questions/q", {"kind": "numeric"}, "admin", 200),
    ("POST", "/v1/questions/q/resolution", {"value": 5}, "admin", 200),
    ("DELETE", "/v1/questions/q/resolution", None, "admin", 204),
]


class Captured(logging.Handler):
    """Every record of the service's loggers, formatted as it would be written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.__dict__))


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("credence"), logging.getLogger("werkzeug")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _headers(credential: str, keys: dict[str, str]) -> dict[str, str]:
    if credential == "none":
        return {}
    if credential == "bad-format":
        return {"Authorization": "Bearer not-a-key"}
    if credential == "bad-secret":
        # A real key's prefix with another secret: found, then refused by the digest check.
        prefix = keys["admin"].split("_")[1]
        return {"Authorization": f"Bearer crd_{prefix}_{'x' * 43}"}
    return {"Authorization": f"Bearer {keys[credential]}"}


def _prepare(client: FlaskClient, admin: dict[str, str], method: str, path: str) -> None:
    """What an allowed call needs: the claim, the question, and for a withdrawal a resolution."""
    client.post("/v1/claims", json=CLAIM, headers=admin)
    client.put("/v1/questions/q", json={"kind": "numeric"}, headers=admin)
    if method == "DELETE" and path.endswith("/resolution"):
        client.post("/v1/claims/c/resolution", json={"outcome": "confirmed"}, headers=admin)
        client.post("/v1/questions/q/resolution", json={"value": 5}, headers=admin)
    if method == "POST" and path.endswith(("/resolution", "/resolutions")):
        client.delete("/v1/claims/c/resolution", headers=admin)
        client.delete("/v1/questions/q/resolution", headers=admin)


def test_the_table_covers_every_route(app: Flask) -> None:
    examples = {
        "<slug:claim_id>": "c",
        "<slug:source_id>": "wire",
        "<slug:question_id>": "q",
        "<job_id:job_id>": "{job}",
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("console."):
            continue
        path = rule.rule
        for variable, example in examples.items():
            path = path.replace(variable, example)
        routes |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    listed = {(method, path) for method, path, *_ in TABLE}
    assert routes == listed


@pytest.mark.parametrize(
    ("method", "path", "body", "least", "allowed"), TABLE, ids=[f"{m} {p}" for m, p, *_ in TABLE]
)
def test_every_endpoint_under_every_credential(
    app: Flask,
    client: FlaskClient,
    keys: dict[str, str],
    captured: Captured,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    body: Any,
    least: str | None,
    allowed: int,
) -> None:
    secrets = {role: header.removeprefix("Bearer ") for role, header in keys.items()}
    admin = {"Authorization": keys["admin"]}
    if "{job}" in path:
        job = client.post("/v1/rescore", headers=admin).get_json()["job"]["id"]
        path = path.replace("{job}", job)
    compared: list[int] = []
    original: Callable[[Any, Any], bool] = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append(1)
        return original(a, b)

    monkeypatch.setattr(service_auth.hmac, "compare_digest", spy)
    seen: list[str] = []
    for credential in CREDENTIALS:
        _prepare(client, admin, method, path)
        compared.clear()
        response = client.open(
            path, method=method, json=body, headers=_headers(credential, secrets)
        )
        seen.append(response.get_data(as_text=True) + str(dict(response.headers)))
        label = (credential, response.status_code, response.get_data(as_text=True)[:300])
        if least is None:
            assert response.status_code == allowed, label
        elif credential in ("none", "bad-format", "bad-secret"):
            assert_problem(response, 401)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            # A key with a stored prefix is refused by the constant-time comparison.
            assert bool(compared) == (credential == "bad-secret"), label
        elif RANK[credential] < RANK[least]:
            assert_problem(response, 403)
        else:
            assert response.status_code == allowed, label
            assert compared, "a valid key was accepted without hmac.compare_digest"
    everything = "\n".join(seen + captured.lines)
    assert captured.lines, "no log line was captured"
    for secret in secrets.values():
        assert secret not in everything
        assert secret.split("_", 2)[2] not in everything


def test_keys_are_stored_as_digests_only(app: Flask, keys: dict[str, str]) -> None:
    secrets = [header.removeprefix("Bearer ") for header in keys.values()]
    engine = app.extensions["credence.engine"]
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(select(ApiKey.__table__))]
        digests = set(connection.scalars(select(ApiKey.secret_hash)))
    assert len(rows) == len(secrets)
    stored = repr(rows)
    for secret in secrets:
        assert secret not in stored and secret.split("_", 2)[2] not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() in digests
