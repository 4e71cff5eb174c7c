"""Request ids, one JSON log line per request, and Prometheus metrics.

Metrics live in prometheus-client's global registry. Under gunicorn with
several workers, set PROMETHEUS_MULTIPROC_DIR (``credence serve`` does) so that
``/metrics`` adds up every worker.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "credence_http_requests_total",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "credence_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
SCORES = Counter(
    "credence_scores_computed_total",
    "Claims scored by requests, by what asked for it (score, claims, attributions, import).",
    ["origin"],
)
JOB_DURATION = Histogram(
    "credence_job_duration_seconds",
    "Duration of the jobs this process ran in the background, by kind and final status.",
    ["kind", "status"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 3600),
)

REQUEST_ID_HEADER = "X-Request-ID"
# A client's request id is echoed only when it is short and plain, so it can go
# into a log line without quoting or injection worries.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("credence.access")


# json.dumps(entry, default=str) would build a new encoder for every line.
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``extra={"fields": {...}}`` is merged in."""

    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        # The time is to the second: formatted once a second, not once a line.
        second, when = self._second
        if second != int(record.created):
            when = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = (int(record.created), when)
        entry: dict[str, Any] = {
            "time": when,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the ``credence`` loggers (once per process)."""
    logger = logging.getLogger("credence")
    logger.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", _metrics)


def _start() -> None:
    g.started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


# Labelled children of REQUESTS and LATENCY by label values: ``labels()`` takes a lock
# and checks its arguments on every call. As many entries as the metrics have series.
_series: dict[tuple[str, ...], Any] = {}


def _requests_total(endpoint: str, method: str, status: str) -> Any:
    child = _series.get(("requests", endpoint, method, status))
    if child is None:
        child = _series["requests", endpoint, method, status] = REQUESTS.labels(
            endpoint, method, status
        )
    return child


def _latency(endpoint: str, method: str) -> Any:
    child = _series.get(("latency", endpoint, method))
    if child is None:
        child = _series["latency", endpoint, method] = LATENCY.labels(endpoint, method)
    return child


def _finish(response: Response) -> Response:
    # Every request pays this, so the request and g are looked up once, not per field.
    req = request._get_current_object()  # type: ignore[attr-defined]
    ctx = g._get_current_object()
    now = time.perf_counter()
    elapsed = now - getattr(ctx, "started", now)
    endpoint = req.endpoint or "unmatched"
    method = req.method
    status = response.status_code
    _requests_total(endpoint, method, str(status)).inc()
    _latency(endpoint, method).observe(elapsed)
    request_id = getattr(ctx, "request_id", None) or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    if access_log.isEnabledFor(logging.INFO):
        # Never the Authorization header or the body: only what identifies the request.
        access_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": request_id,
                    "method": method,
                    "path": req.path,
                    "endpoint": endpoint,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "remote": req.remote_addr,
                    "role": getattr(ctx, "role", None),
                    "bytes_in": req.content_length,
                }
            },
        )
    return response


def _metrics() -> Response:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    # content_type, not mimetype: CONTENT_TYPE_LATEST names its charset already.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
