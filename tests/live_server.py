"""A real ``credence serve`` (gunicorn) on a free loopback port, and a urllib client.

Used by the end-to-end tests and the robustness tests: the server runs in its own
process group (gunicorn and its workers stop together), logs to a file the tests
can read, and is driven over HTTP with the standard library only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREDENCE = Path(sys.executable).with_name("credence")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Client:
    base: str
    key: str | None

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: bool = True,
        key: str | None = None,
        timeout: float = 30,
    ) -> Response:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        bearer = key or (self.key if auth else None)
        if bearer:
            req.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw, status, headers = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, headers = exc.read(), exc.code, dict(exc.headers)
        ctype = headers.get("Content-Type", "")
        parsed = json.loads(raw) if raw and "json" in ctype else raw.decode()
        return Response(status, headers, parsed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server on ``database_url``: no CREDENCE_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDENCE_")}
    return env | {"CREDENCE_DATABASE_URL": database_url} | extra


def credence(*args: str, env: Mapping[str, str]) -> str:
    done = subprocess.run(
        [str(CREDENCE), *args], env=dict(env), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"credence {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def create_key(env: Mapping[str, str], role: str) -> str:
    """A new key of ``role``, as ``credence keys create`` prints it."""
    found = re.search(r"crd_[\w-]+", credence("keys", "create", "--role", role, env=env))
    assert found, "credence keys create printed no key"
    return found.group(0)


@contextmanager
def live_server(
    env: Mapping[str, str],
    log: Path,
    *,
    workers: int = 2,
    key: str | None = None,
    preexec_fn: Any = None,
) -> Iterator[Client]:
    """``credence serve`` on a migrated database until the block ends; its client."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(CREDENCE),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gunicorn and its workers in one group, stopped together
            preexec_fn=preexec_fn,
        )
    try:
        client = Client(f"http://127.0.0.1:{port}", key)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited:\n{log.read_text()}"
            try:
                if client("GET", "/healthz", auth=False, timeout=5).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no /healthz in 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield client
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
