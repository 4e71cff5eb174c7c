"""Access to every console route x {no key, bad key, read, write, admin}.

The console takes its key from a cookie, not a header: without one (or with a
bad one) a page sends the browser to the key form; with a key of too low a role
it is refused as the matching API operation would be. The table covers every
console route (checked against the app's URL map).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.console.guard import CSRF_COOKIE, KEY_COOKIE
from service.web.auth import Role

CREDENTIALS = ("none", "bad", "read", "write", "admin")
RANK = {"read": 0, "write": 1, "admin": 2}
FORM = {
    "/claims/c/attributions": {"source": "ap"},
    "/claims/c/resolution": {"outcome": "confirmed"},
    "/sources": {"id": "new-source", "name": "New"},
    "/sources/wire": {"name": "Wire"},
}
# (method, path, least role or None for open to all, status for an allowed caller)
TABLE: list[tuple[str, str, str | None, int]] = [
    ("GET", "/", "read", 200),
    ("GET", "/claims.csv", "read", 200),
    ("GET", "/claims/c", "read", 200),
    ("POST", "/claims/c/attributions", "write", 302),
    ("POST", "/claims/c/resolution", "admin", 302),
    ("GET", "/questions", "read", 200),
    ("GET", "/questions/q", "read", 200),
    ("GET", "/sources", "read", 200),
    ("POST", "/sources", "admin", 302),
    ("GET", "/sources/new", "read", 200),
    ("GET", "/sources/wire", "read", 200),
    ("POST", "/sources/wire", "admin", 302),
    ("GET", "/calibration", "read", 200),
    ("GET", "/jobs", "read", 200),
    ("POST", "/jobs", "admin", 302),
    ("GET", "/jobs/{job}", "read", 200),
    ("GET", "/login", None, 200),
    ("POST", "/login", None, 401),  # no key in the form
    ("POST", "/logout", None, 302),
    ("GET", "/docs", None, 200),
    ("GET", "/docs/swagger-ui/swagger-ui.css", None, 200),
    ("GET", "/console/static/console.css", None, 200),
]


def test_the_table_covers_every_console_route(app: Flask) -> None:
    examples = {
        "<slug:claim_id>": "c",
        "<slug:question_id>": "q",
        "<slug:source_id>": "wire",
        "<job_id:job_id>": "{job}",
        "<path:filename>": "",
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console."):
            continue
        path = rule.rule
        for variable, example in examples.items():
            path = path.replace(variable, example)
        routes |= {(m, path) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    listed = {(m, re.sub(r"(swagger-ui/|static/).+", r"\1", p)) for m, p, *_ in TABLE}
    assert routes == listed


@pytest.mark.parametrize(
    ("method", "path", "least", "allowed"), TABLE, ids=[f"{m} {p}" for m, p, *_ in TABLE]
)
def test_every_console_route_under_every_credential(
    app: Flask,
    client: FlaskClient,
    new_key: Callable[[Role], str],
    method: str,
    path: str,
    least: str | None,
    allowed: int,
) -> None:
    secrets = {role: new_key(role) for role in ("read", "write", "admin")}
    admin = {"Authorization": f"Bearer {secrets['admin']}"}
    claim = {"id": "c", "text": "t", "question": "q", "attributions": [{"source": "wire"}]}
    assert client.post("/v1/claims", json={"claims": [claim]}, headers=admin).status_code == 200
    if "{job}" in path:
        job = client.post("/v1/rescore", headers=admin).get_json()["job"]["id"]
        path = path.replace("{job}", job)
    for credential in CREDENTIALS:
        browser = app.test_client()
        if credential != "none":
            browser.set_cookie(KEY_COOKIE, secrets.get(credential, "crd_abc_def"))
        browser.set_cookie(CSRF_COOKIE, "token")
        client.delete("/v1/claims/c/resolution", headers=admin)
        response = browser.open(
            path, method=method, data={"csrf_token": "token", **FORM.get(path, {})}
        )
        label = (credential, response.status_code, response.get_data(as_text=True)[:300])
        if least is None:
            assert response.status_code == allowed, label
        elif credential in ("none", "bad"):
            assert response.status_code == 302, label
            assert response.headers["Location"].startswith("/login"), label
        elif RANK[credential] < RANK[least]:
            assert response.status_code == 403, label
        else:
            assert response.status_code == allowed, label
        for secret in secrets.values():
            assert secret not in response.get_data(as_text=True)
            assert secret not in response.headers.get("Location", "")
    # A job started here ends before the database is emptied for the next test.
    deadline = time.monotonic() + 60
    while any(
        j["status"] in ("queued", "running")
        for j in client.get("/v1/jobs", headers=admin).get_json()["jobs"]
    ):
        assert time.monotonic() < deadline, "a job did not end in 60 s"
        time.sleep(0.05)
