"""Faults under load: the PostgreSQL server restarted, the SQLite disk full or read-only.

The PostgreSQL test runs its own cluster (initdb into a temporary directory, a
free port, as the ``postgres`` user when run as root), never the shared server:
it stops that cluster mid-load and starts it again. Requests in flight must fail
cleanly (503 problem+json, never a 500 or a dropped connection), the service must
recover by itself, and every acknowledged write must be there afterwards.

The SQLite tests put the database on a small tmpfs (a real ENOSPC, as root
ignores file permissions) and open it read-only through a URI: writes get a
problem+json 507 or 503 that says why, reads go on, and ``PRAGMA
integrity_check`` is ``ok`` afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import Response, create_key, credence, live_server, server_env
from tests.robustness.load import check_store, run_load
from tests.robustness.report import record

PROBLEM = "application/problem+json"


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert found, "PostgreSQL server binaries (initdb) are not installed"
    return found[-1].parent


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    user: str | None

    def ctl(self, *args: str) -> None:
        cmd = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.ctl("-l", str(self.data / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A private PostgreSQL cluster of this test module."""
    from tests.live_server import free_port

    # Not under pytest's temporary root, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="credence-pg-"))
    data = root / "data"
    data.mkdir()
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        entry = pwd.getpwnam(user)
        for path in (root, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        root.chmod(0o755)
    bin_dir = _pg_bin()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(
        ["runuser", "-u", user, "--", *initdb] if user else initdb,
        check=True,
        capture_output=True,
        timeout=120,
    )
    pg = Cluster(bin_dir, data, free_port(), user)
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _is_problem(r: Response, *statuses: int) -> bool:
    return (
        r.status in statuses
        and r.headers.get("Content-Type", "").startswith(PROBLEM)
        and isinstance(r.body, dict)
        and r.body.get("status") == r.status
        and bool(r.body.get("detail"))
    )


def test_postgresql_restart_under_load(
    cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = server_env(cluster.url)
    credence("migrate", env=env)
    key = create_key(env, "admin")
    outage: list[Response] = []

    def restart() -> None:
        time.sleep(0.5)  # writers are writing
        cluster.stop()
        # While the database is down, the service answers, and says so.
        outage.append(client("GET", "/v1/claims"))
        outage.append(client("POST", "/v1/claims", {"claims": [{"text": "during"}]}))
        outage.append(client("GET", "/readyz"))
        time.sleep(1.0)
        cluster.start()

    with live_server(env, tmp_path / "server.log", workers=2, key=key) as client:
        outcome = run_load(
            client,
            clients=16,
            rounds=12,
            batch=10,
            rescore=False,
            during=restart,
            retry=lambda r: r.status == 503,
        )
        record("faults", "postgresql-restart", outcome.figures())
        # In flight and during the outage: 503 problem+json, nothing else.
        assert [r.status for r in outage] == [503, 503, 503], [r.body for r in outage]
        assert all(_is_problem(r, 503) for r in outage)
        assert not outcome.transport_errors, outcome.transport_errors[:5]
        assert set(outcome.statuses) <= {200, 503}, outcome.statuses
        assert not outcome.problems, outcome.problems[:5]
        # Recovered by itself: every batch was acknowledged in the end, and nothing is lost.
        assert outcome.statuses[200] == 16 * 12, outcome.statuses
        assert client("GET", "/readyz").status == 200
        check_store(client, outcome)
        record(
            "faults",
            "postgresql-restart",
            {**outcome.figures(), "outage_statuses": [r.status for r in outage]},
        )


# --- SQLite -------------------------------------------------------------------


def _integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: the database's disk, which fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def _big_batch(n: int) -> dict[str, object]:
    return {
        "claims": [
            {"id": f"big-{n:03d}-{i:02d}", "text": f"{n} {i} " + "x" * 9_000} for i in range(20)
        ]
    }


def test_sqlite_disk_full(small_disk: Path, tmp_path: Path) -> None:
    path = small_disk / "credence.db"
    env = server_env(f"sqlite:///{path}")
    credence("migrate", env=env)
    key = create_key(env, "write")
    acked: list[str] = []
    refused: list[Response] = []
    with live_server(env, tmp_path / "server.log", workers=2, key=key) as client:
        for n in range(100):  # 180 KB a batch: the 3 MB disk is full well before
            r = client("POST", "/v1/claims", _big_batch(n))
            if r.status == 200:
                acked += [c["id"] for c in r.body["claims"]]
                continue
            refused.append(r)
            if len(refused) >= 3:
                break
        record(
            "faults",
            "sqlite-disk-full",
            {
                "acknowledged_claims": len(acked),
                "refusals": [r.status for r in refused],
                "detail": refused[0].body.get("detail") if refused else None,
            },
        )
        assert refused, "the disk never filled up"
        assert all(_is_problem(r, 507) for r in refused), [(r.status, r.body) for r in refused]
        assert "storage" in refused[0].body["detail"]
        # Reads go on, and what was acknowledged is there.
        for claim_id in acked[:: max(len(acked) // 10, 1)] + acked[-1:]:
            assert client("GET", f"/v1/claims/{claim_id}").status == 200
        assert client("GET", "/readyz").status == 200
    # Not corrupted: in place (the disk still full), and once the files are moved to a
    # disk with room, where the store takes writes again.
    assert _integrity(path) == "ok"
    for part in small_disk.glob("credence.db*"):
        shutil.copy(part, tmp_path / part.name)
    moved = tmp_path / "credence.db"
    assert _integrity(moved) == "ok"
    with live_server(server_env(f"sqlite:///{moved}"), tmp_path / "moved.log", key=key) as client:
        assert client("POST", "/v1/claims", _big_batch(999)).status == 200
        assert client("GET", f"/v1/claims/{acked[0]}").status == 200
    assert _integrity(moved) == "ok"


def test_sqlite_read_only(tmp_path: Path) -> None:
    path = tmp_path / "credence.db"
    env = server_env(f"sqlite:///{path}")
    credence("migrate", env=env)
    key = create_key(env, "admin")
    with live_server(env, tmp_path / "rw.log", key=key) as client:
        assert client("POST", "/v1/claims", {"claims": [{"id": "kept", "text": "t"}]}).status == 200
    read_only = server_env(f"sqlite:///file:{path}?mode=ro&uri=true")
    with live_server(read_only, tmp_path / "ro.log", key=key) as client:
        writes = [
            client("POST", "/v1/claims", {"claims": [{"id": "new", "text": "t"}]}),
            client("PUT", "/v1/sources/wire", {"prior": {"grade": "A"}}),
            client("POST", "/v1/claims/kept/attributions", {"attributions": [{"source": "a"}]}),
        ]
        record("faults", "sqlite-read-only", {"statuses": [w.status for w in writes]})
        assert all(_is_problem(w, 503) for w in writes), [(w.status, w.body) for w in writes]
        assert all("read-only" in w.body["detail"] for w in writes)
        assert client("GET", "/v1/claims/kept").status == 200
        assert client("GET", "/v1/claims/new").status == 404
    assert _integrity(path) == "ok"
