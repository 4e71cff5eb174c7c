"""Access: every endpoint under every role, loopback-only without keys, hashed keys."""

from __future__ import annotations

import hashlib
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.models import ApiKey
from tests.service.helpers import assert_problem, auth

CLAIM = {"claims": [{"id": "c", "text": "t", "attributions": [{"source": "wire"}]}]}

# (method, path, body, least role)
ENDPOINTS = [
    ("POST", "/v1/score", CLAIM, "read"),
    ("GET", "/v1/claims", None, "read"),
    ("GET", "/v1/claims/c", None, "read"),
    ("POST", "/v1/claims", CLAIM, "write"),
    ("POST", "/v1/claims/c/attributions", {"attributions": [{"source": "ap"}]}, "write"),
    ("GET", "/v1/sources", None, "read"),
    ("GET", "/v1/sources/wire", None, "read"),
    ("PUT", "/v1/sources/wire", {"prior": {"grade": "A"}}, "admin"),
]
RANK = {"read": 0, "write": 1, "admin": 2}


@pytest.mark.parametrize(("method", "path", "body", "least"), ENDPOINTS)
def test_roles(
    client: FlaskClient, keys: dict[str, str], method: str, path: str, body: object, least: str
) -> None:
    client.post("/v1/claims", json=CLAIM, headers=auth(keys["write"]))
    assert_problem(client.open(path, method=method, json=body), 401)
    assert_problem(client.open(path, method=method, json=body, headers=auth("Bearer crd_x_y")), 401)
    for role, header in keys.items():
        response = client.open(path, method=method, json=body, headers=auth(header))
        if RANK[role] >= RANK[least]:
            assert response.status_code == 200, (role, response.get_json())
        else:
            assert_problem(response, 403)


def test_401_asks_for_a_bearer_key(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/claims", headers={"Authorization": "Basic abc"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_no_keys_serves_loopback_only(client: FlaskClient) -> None:
    assert client.get("/v1/claims").status_code == 200
    remote = client.get("/v1/claims", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert_problem(remote, 403)
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_keys_are_stored_hashed(app: Flask, keys: dict[str, str]) -> None:
    secret = keys["admin"].removeprefix("Bearer ")
    with Session(app.extensions["credence.engine"]) as session:
        rows = list(session.scalars(select(ApiKey)))
    assert len(rows) == 3
    assert all(secret not in (r.secret_hash, r.prefix) for r in rows)
    assert hashlib.sha256(secret.encode()).hexdigest() in {r.secret_hash for r in rows}


def test_a_new_key_is_seen_by_a_running_app(client: FlaskClient, new_key: object) -> None:
    assert client.get("/v1/claims").status_code == 200  # no keys yet
    key = new_key("read")  # type: ignore[operator]
    assert_problem(client.get("/v1/claims"), 401)
    assert client.get("/v1/claims", headers=auth(f"Bearer {key}")).status_code == 200


def test_secrets_never_reach_logs_or_errors(
    client: FlaskClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credence")
    secret = keys["read"].removeprefix("Bearer ")
    response = client.put("/v1/sources/x", json={}, headers=auth(keys["read"]))
    assert secret not in response.get_data(as_text=True)
    assert caplog.records and all(
        secret not in r.getMessage() + str(r.__dict__) for r in caplog.records
    )
