"""Requests that lose a race on PostgreSQL: a deadlock is run again, not answered 503."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from service.store.models import Question
from service.store.questions import lock_questions


def test_a_request_a_deadlock_aborts_is_run_again(
    app: Flask, client: FlaskClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes its write lock as a request begins: no deadlock")
    claims = [{"id": i, "text": i, "attributions": [{"source": "wire"}]} for i in ("a", "b")]
    assert client.post("/v1/claims", json={"claims": claims}).status_code == 200
    answers: list[Any] = []
    with app.extensions["credence.engine"].connect() as other:
        # Another writer holds b; the batch locks a, then waits for b.
        other.execute(text("SELECT id FROM claims WHERE id = 'b' FOR UPDATE"))
        body = {"resolutions": [{"claim_id": i, "outcome": "confirmed"} for i in ("a", "b")]}
        request = threading.Thread(
            target=lambda: answers.append(client.post("/v1/resolutions", json=body))
        )
        request.start()
        time.sleep(0.5)
        # Then it wants a: a deadlock. The batch began waiting first, so PostgreSQL's
        # check (deadlock_timeout after a wait begins) finds it first and aborts it.
        other.execute(text("SELECT id FROM claims WHERE id = 'a' FOR UPDATE"))
        other.rollback()
        request.join(timeout=30)
    [answer] = answers
    assert answer.status_code == 200, answer.get_json()
    statuses = {i: client.get(f"/v1/claims/{i}").get_json()["status"] for i in ("a", "b")}
    assert statuses == {"a": "confirmed", "b": "confirmed"}


def test_an_answer_stored_while_its_question_is_withdrawn_stays_open(
    app: Flask, client: FlaskClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writes one request at a time")
    client.put("/v1/questions/q", json={"kind": "numeric"})
    client.post(
        "/v1/claims",
        json={"claims": [{"id": "a", "text": "a", "question": "q", "value": {"point": 100}}]},
    )
    client.post("/v1/questions/q/resolution", json={"value": 100})
    late = {"id": "late", "text": "late", "question": "q", "value": {"point": 101}}
    with app.extensions["credence.engine"].connect() as other:
        # A withdrawal in progress: the question's lock taken, as every writer of its
        # answers takes it first, and the question marked open, not yet committed.
        lock_questions(Session(bind=other), ["q"])
        other.execute(text("UPDATE questions SET resolved_value = NULL WHERE id = 'q'"))
        answer = _posted_meanwhile(client, other, late)
    assert answer.status_code == 200, answer.get_json()
    # Stored after the withdrawal ended: not judged by a resolution that is gone.
    assert answer.get_json()["claims"][0]["status"] == "open"
    assert client.get("/v1/claims/late").get_json()["status"] == "open"


def test_an_answer_stored_while_its_undefined_question_is_resolved_is_judged(
    app: Flask, client: FlaskClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writes one request at a time")
    first = {"id": "a", "text": "a", "question": "uq", "value": {"point": 100}}
    client.post("/v1/claims", json={"claims": [first]})
    late = {"id": "late", "text": "late", "question": "uq", "value": {"point": 101}}
    with app.extensions["credence.engine"].connect() as other:
        # A resolution in progress of a question no row defines yet: its lock taken and
        # its row written, not yet committed (there was no row to lock before).
        session = Session(bind=other)
        lock_questions(session, ["uq"])
        now = datetime.now(UTC)
        session.add(
            Question(
                id="uq",
                kind="numeric",
                resolved_value=100.0,
                resolved_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        answer = _posted_meanwhile(client, other, late)
    assert answer.status_code == 200, answer.get_json()
    # Stored after the resolution: judged by it, not left open beside it.
    assert answer.get_json()["claims"][0]["status"] == "confirmed"


def _posted_meanwhile(client: FlaskClient, other: Connection, claim: dict[str, Any]) -> Any:
    """The answer to posting ``claim`` while ``other`` holds its locks, then commits."""
    answers: list[Any] = []
    request = threading.Thread(
        target=lambda: answers.append(client.post("/v1/claims", json={"claims": [claim]}))
    )
    request.start()
    time.sleep(0.5)  # the request is waiting by then
    other.commit()
    request.join(timeout=30)
    [answer] = answers
    return answer
