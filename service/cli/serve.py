"""``credence serve``: gunicorn in production, Flask's reloader with ``--dev``."""

from __future__ import annotations

import gc
import json
import os
import shutil
import tempfile
from typing import Any

import click
import gunicorn.util
from gunicorn.app.base import BaseApplication
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.cli.common import app_context, settings
from service.store.checkpoints import checkpoint_in_background
from service.store.db import make_engine
from service.store.models import ApiKey
from service.web.auth import is_loopback

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def has_keys(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            query = select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
            return bool(session.scalar(query))
    except SQLAlchemyError:
        return False  # no schema yet: certainly no keys
    finally:
        engine.dispose()


# Settings an older gunicorn (the floor is 22) does not know.
_SINCE_GUNICORN_25 = frozenset({"control_socket_disable"})


class _Gunicorn(BaseApplication):
    """Gunicorn run from code; each worker builds its own app (and database pool)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in _SINCE_GUNICORN_25 and key not in self.cfg.settings:
                continue  # an older gunicorn: nothing to turn off
            self.cfg.set(key, value)

    def load(self) -> Any:
        from service import create_app

        app = create_app()
        # A worker holds ~160,000 long-lived objects once its app is built (modules,
        # the OpenAPI spec, schemas, the scoring model), and the garbage collector's
        # full collection walked them all every ~70 requests of 100 claims: ~80 ms
        # each, 2.5 ms per POST /v1/claims and 1.4 per POST /v1/score under
        # `make bench-http`. Frozen, they are left out of every collection; what
        # requests allocate is still collected.
        gc.collect()
        gc.freeze()
        checkpoint_in_background(app.extensions["credence.engine"])
        return app


# Gunicorn answers requests it cannot parse (request line or headers too long,
# malformed HTTP) itself, with an HTML page; the contract says every error is
# problem+json. Its workers write those pages through ``gunicorn.util.write_error``
# only, so the served process replaces that one function.
_GUNICORN_DETAILS = {
    400: "The request is not valid HTTP.",
    414: "The request line (path and query) is too long.",
    431: "The request headers are too large.",
}


def _write_problem(sock: Any, status: int, reason: str, _message: str) -> None:
    """Gunicorn's error page as problem+json, leaving out its message (it quotes the request)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": reason,
            "status": status,
            "detail": _GUNICORN_DETAILS.get(status, reason),
            "errors": {},
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _metrics_directory() -> str | None:
    """Give the workers a shared, empty prometheus-client multiprocess directory.

    One named by the environment is emptied and kept; otherwise a temporary one
    is made, and returned: the caller removes it when the server stops.
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        return None
    directory = tempfile.mkdtemp(prefix="credence-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    return directory


@click.command()
@click.option("--host", help="Address to listen on [server.host].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [server.port].")
@click.option("--workers", type=click.IntRange(min=1), help="Gunicorn workers [server.workers].")
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
def serve(host: str | None, port: int | None, workers: int | None, dev: bool) -> None:
    """Serve the HTTP API."""
    config = settings()
    host = host or config.server.host
    port = port or config.server.port
    if not is_loopback(host) and not has_keys(config.database.url):
        raise click.ClickException(
            f"refusing to listen on {host}: no API keys exist, so only loopback clients may be "
            "served. Create one with `credence keys create --role admin`, or listen on 127.0.0.1."
        )
    if dev:
        with app_context() as app:
            app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    made = _metrics_directory()
    master = os.getpid()
    gunicorn.util.write_error = _write_problem
    try:
        _Gunicorn(
            {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers or config.server.workers,
                "worker_class": "sync",
                # gunicorn's largest; a 1,000-character `q` can take 9 KB once URL-encoded.
                "limit_request_line": 8190,
                "child_exit": _child_exit,
                # One JSON line per request comes from the app itself.
                "accesslog": None,
                "loglevel": config.server.log_level.lower(),
                # gunicorn >= 25 opens a control socket at one path per user
                # (~/.gunicorn/gunicorn.ctl), which servers side by side would share;
                # the service is run by `credence serve` and signals, not gunicornc.
                "control_socket_disable": True,
            }
        ).run()
    finally:
        # Workers are forked from this frame and leave through it too: the master cleans up.
        if made is not None and os.getpid() == master:
            shutil.rmtree(made, ignore_errors=True)
