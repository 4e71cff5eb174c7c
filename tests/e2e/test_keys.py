"""A key revoked with ``credence keys revoke`` is refused by every gunicorn worker at once."""

from __future__ import annotations

from pathlib import Path

from tests.live_server import create_key, credence, live_server, server_env


def test_revoked_key_is_refused_by_every_worker(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path}/credence.db")
    credence("migrate", env=env)
    admin = create_key(env, "admin")
    reader = create_key(env, "read")
    with live_server(env, tmp_path / "server.log", workers=2, key=admin) as client:
        # Each request is a new connection: both workers serve some of them.
        assert {client("GET", "/v1/claims", key=reader).status for _ in range(12)} == {200}
        credence("keys", "revoke", reader, env=env)
        assert {client("GET", "/v1/claims", key=reader).status for _ in range(12)} == {401}
        assert client("GET", "/v1/claims").status == 200
