"""``credence keys list`` and ``credence keys revoke``: a revoked key is refused at once."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.service.helpers import assert_problem, auth


def listed(run: Any) -> dict[str, list[str]]:
    result = run("keys", "list")
    assert result.exit_code == 0, result.output
    return {line.split("\t")[0]: line.split("\t")[1:] for line in result.stdout.splitlines()}


def test_list_shows_each_key_without_its_secret(run: Any) -> None:
    assert listed(run) == {}
    write = run("keys", "create", "--role", "write", "--name", "ci").stdout.strip()
    read = run("keys", "create", "--role", "read").stdout.strip()
    keys = listed(run)
    prefix = write.split("_")[1]
    assert set(keys) == {prefix, read.split("_")[1]}
    assert keys[prefix][:2] == ["write", "ci"] and keys[prefix][-1] == "active"
    assert write.split("_", 2)[2] not in run("keys", "list").output


def test_a_revoked_key_is_refused_at_once(run: Any, app: Flask) -> None:
    client = app.test_client()
    admin = run("keys", "create", "--role", "admin").stdout.strip()
    write = run("keys", "create", "--role", "write").stdout.strip()
    assert client.get("/v1/claims", headers=auth(f"Bearer {write}")).status_code == 200

    result = run("keys", "revoke", write.split("_")[1])
    assert result.exit_code == 0, result.output
    assert_problem(client.get("/v1/claims", headers=auth(f"Bearer {write}")), 401)
    assert client.get("/v1/claims", headers=auth(f"Bearer {admin}")).status_code == 200
    assert listed(run)[write.split("_")[1]][-1].startswith("revoked ")

    again = run("keys", "revoke", write)  # the whole key names it too
    assert again.exit_code == 0 and "already revoked" in again.output
    start = "_".join(write.split("_")[:2])  # and its printed start, crd_<prefix>
    assert "already revoked" in run("keys", "revoke", start).output


def test_revoking_the_last_key_refuses_it_still(run: Any, app: Flask) -> None:
    client = app.test_client()
    only = run("keys", "create", "--role", "admin").stdout.strip()
    result = run("keys", "revoke", only)
    assert "loopback clients only" in result.output
    # No key is active, so loopback clients without one are served; the revoked key is not.
    assert_problem(client.get("/v1/claims", headers=auth(f"Bearer {only}")), 401)
    assert client.get("/v1/claims").status_code == 200


def test_revoking_an_unknown_key_fails(run: Any) -> None:
    result = run("keys", "revoke", "0123456789ab")
    assert result.exit_code == 1 and "no key '0123456789ab'" in result.output
