"""``credence serve`` leaves nothing behind: its prometheus multiprocess directory is
removed when it stops, and gunicorn's per-user control socket is not opened (two
servers side by side would share ~/.gunicorn/gunicorn.ctl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import serve
from tests.live_server import credence, live_server, server_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    url = f"sqlite:///{tmp_path}/credence.db"
    base = server_env(url, HOME=str(home), TMPDIR=str(scratch))
    for name in ("XDG_RUNTIME_DIR", serve.MULTIPROC_ENV):
        base.pop(name, None)
    credence("migrate", env=base)
    return base


def _metrics_dirs(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["TMPDIR"]).glob("credence-metrics-*"))


def _control_sockets(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["HOME"]).rglob("*.ctl"))


def test_two_servers_leave_nothing_behind(env: dict[str, str], tmp_path: Path) -> None:
    with (
        live_server(env, tmp_path / "a.log", workers=2) as a,
        live_server(env, tmp_path / "b.log", workers=1) as b,
    ):
        assert a("GET", "/metrics").status == 200
        assert b("GET", "/metrics").status == 200
        # One directory each while they run, and no control socket.
        assert len(_metrics_dirs(env)) == 2
        assert _control_sockets(env) == []
    assert _metrics_dirs(env) == []
    assert _control_sockets(env) == []
    log = (tmp_path / "a.log").read_text()
    assert "Control server" not in log and "gunicorn.ctl" not in log


def test_a_named_directory_is_emptied_and_kept(env: dict[str, str], tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR from the environment belongs to the caller: kept."""
    named = tmp_path / "metrics"
    named.mkdir()
    (named / "stale.db").write_bytes(b"old")
    env = env | {serve.MULTIPROC_ENV: str(named)}
    with live_server(env, tmp_path / "server.log", workers=1) as client:
        assert client("GET", "/metrics").status == 200
        assert not (named / "stale.db").exists()
    assert named.is_dir()
    assert _metrics_dirs(env) == []
