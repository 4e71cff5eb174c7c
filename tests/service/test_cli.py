"""The credence command line, through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.cli import main
from service.store.db import make_engine
from service.store.models import Base, Claim, Job, Question, Resolution, SourceReliability
from service.store.schema_migrations import upgrade
from tests.live_server import CREDENCE, credence, server_env
from tests.service.helpers import row_counts, write_lines


def test_migrate_is_idempotent(run: Any) -> None:
    result = run("migrate")
    assert result.exit_code == 0, result.output


def test_keys_create_prints_a_working_key(run: Any, app: Flask) -> None:
    result = run("keys", "create", "--role", "write", "--name", "ci")
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    client = app.test_client()
    assert client.get("/v1/claims").status_code == 401
    ok = client.post("/v1/claims", json={"claims": []}, headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    assert run("keys", "create", "--role", "root").exit_code == 2


def test_config_show_hides_passwords(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENCE_DATABASE_URL", "postgresql+psycopg://u:hunter2@db/credence")
    monkeypatch.setenv("CREDENCE_PORT", "9000")
    result = run("config", "show")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["server"]["port"] == 9000
    assert "hunter2" not in result.output


def test_invalid_config_names_the_key(
    run: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CREDENCE_SCORING_INTERVAL_LEVEL", "1.5")
    result = run("config", "show")
    assert result.exit_code == 1 and "scoring.interval_level" in result.output
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nprot = 80\n")
    monkeypatch.delenv("CREDENCE_SCORING_INTERVAL_LEVEL")
    monkeypatch.setenv("CREDENCE_CONFIG", str(config))
    for command in (["config", "show"], ["migrate"], ["serve"], ["export"]):
        result = run(*command)
        assert result.exit_code == 1 and "server.prot" in result.output, (command, result.output)


def test_import_then_export(run: Any, app: Flask, tmp_path: Path) -> None:
    rows = [
        {
            "type": "source",
            "id": "kr-nis",
            "name": "NIS",
            "group": "gov:kr",
            "prior": {"grade": "C"},
        },
        {
            "type": "claim",
            "id": "c1",
            "text": "one",
            "tags": ["t"],
            "attributions": [{"source": "kr-nis", "via": ["kr-media"]}],
        },
        {"type": "claim", "id": "c2", "text": "two", "prior": 0.3},
    ]
    result = run("import", str(write_lines(tmp_path / "in.jsonl", rows)))
    assert result.exit_code == 0, result.output
    claim = app.test_client().get("/v1/claims/c1").get_json()
    assert claim["score"]["evidence"][0]["reliability"] == pytest.approx(0.65)
    exported = [json.loads(line) for line in run("export").output.splitlines()]
    assert [r["type"] for r in exported] == ["source", "claim", "claim"]
    assert exported[0] == rows[0]
    assert exported[1]["attributions"][0]["via"] == ["kr-media"]


def test_import_csv(run: Any, app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "type,id,text,prior,attributions\n"
        'claim,c1,"one, with a comma",0.4,"[{""source"": ""ap""}]"\n'
        "claim,c2,two,,\n"
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/v1/claims/c1").get_json()["prior"] == 0.4


def test_a_bad_row_names_its_line_and_stores_nothing_of_its_batch(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    before = row_counts(app)
    rows = [
        {"type": "source", "id": "s1", "prior": {"grade": "B"}},
        {"type": "claim", "id": "c1", "text": "one"},
        {
            "type": "claim",
            "id": "c2",
            "text": "two",
            "attributions": [{"source": "s1", "certainty": 7}],
        },
    ]
    result = run("import", str(write_lines(tmp_path / "in.jsonl", rows)))
    assert result.exit_code == 1
    assert "line 3" in result.output and "attributions.0.certainty" in result.output
    assert row_counts(app) == before
    (tmp_path / "broken.jsonl").write_text('{"type": "claim", "text": "a"}\n{"type": \n')
    result = run("import", str(tmp_path / "broken.jsonl"))
    assert result.exit_code == 1 and "line 2" in result.output
    assert row_counts(app) == before


def test_import_commits_earlier_batches(run: Any, app: Flask, tmp_path: Path) -> None:
    rows = [{"type": "claim", "id": f"c{i}", "text": "t"} for i in range(4)] + [{"type": "nope"}]
    result = run("import", "--batch-size", "2", str(write_lines(tmp_path / "in.jsonl", rows)))
    assert result.exit_code == 1 and "line 5" in result.output
    assert row_counts(app)["claims"] == 4


def test_serve_refuses_a_public_address_without_keys(run: Any) -> None:
    result = run("serve", "--host", "0.0.0.0", "--port", "1")
    assert result.exit_code == 1 and "no API keys" in result.output


def test_import_resolutions_as_the_endpoint_does(run: Any, app: Flask, tmp_path: Path) -> None:
    rows = [
        {"type": "claim", "id": "c1", "text": "one", "attributions": [{"source": "s1"}]},
        {"type": "claim", "id": "c2", "text": "two", "attributions": [{"source": "s2"}]},
        {"type": "resolution", "claim_id": "c1", "outcome": "confirmed", "note": "seen"},
    ]
    result = run("import", str(write_lines(tmp_path / "in.jsonl", rows)))
    assert result.exit_code == 0, result.output
    client = app.test_client()
    claim = client.get("/v1/claims/c1").get_json()
    assert claim["status"] == "confirmed"
    # The score reads as resolved; the forecast is the open score it replaced.
    assert claim["score"]["confidence"] == 1.0
    history = client.get("/v1/claims/c1/history").get_json()["history"]
    assert [h["reason"] for h in history] == ["resolution", "created"]
    assert claim["resolution"]["forecast"] == history[1]["confidence"]
    # The track record moved as the endpoint moves it: a hit for s1 alone.
    with Session(app.extensions["credence.engine"]) as session:
        learned = session.execute(select(SourceReliability.source_id, SourceReliability.alpha))
        assert [(s, round(a, 3)) for s, a in learned] == [("s1", 3.2)]
    exported = [json.loads(line) for line in run("export").output.splitlines()]
    assert exported[1]["type"] == "resolution" and exported[1]["claim_id"] == "c1"
    assert exported[1]["forecast"] == claim["resolution"]["forecast"]
    # The forecast an export records is kept, not recomputed with the importing model.
    resolution: dict[str, Any] = {"type": "resolution", "claim_id": "c9", "outcome": "refuted"}
    kept = [
        {"type": "claim", "id": "c9", "text": "nine", "attributions": [{"source": "s1"}]},
        {**resolution, "forecast": 0.125},
    ]
    assert run("import", str(write_lines(tmp_path / "kept.jsonl", kept))).exit_code == 0
    assert client.get("/v1/claims/c9").get_json()["resolution"]["forecast"] == 0.125
    for wrong in (1.5, "high", True):
        row = {**resolution, "claim_id": "c2", "forecast": wrong}
        result = run("import", str(write_lines(tmp_path / "bad-forecast.jsonl", [row])))
        assert result.exit_code == 1 and "line 1: forecast:" in result.output

    before = row_counts(app)
    bad = [
        {"type": "claim", "id": "c3", "text": "three"},
        {"type": "resolution", "claim_id": "c2", "outcome": "refuted"},
        {"type": "resolution", "claim_id": "c1", "outcome": "refuted"},
    ]
    result = run("import", str(write_lines(tmp_path / "bad.jsonl", bad)))
    assert result.exit_code == 1
    assert "line 3" in result.output and "already confirmed" in result.output
    assert row_counts(app) == before
    missing = [{"type": "resolution", "claim_id": "nope", "outcome": "sure"}]
    result = run("import", str(write_lines(tmp_path / "missing.jsonl", missing)))
    assert result.exit_code == 1 and "line 1" in result.output and "outcome" in result.output

    # The export imported again into the same store: its resolutions are there already.
    export = tmp_path / "export.jsonl"
    export.write_text(run("export").output)
    result = run("import", "--batch-size", "1", str(export))
    assert result.exit_code == 0, result.output
    assert row_counts(app) == before


def test_import_warns_of_undefined_sources_and_strict_refuses(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    rows = [
        # "wire" is in the catalogue; "blog" is defined by the file, after its claim.
        {"type": "claim", "id": "c1", "text": "one", "attributions": [{"source": "wiree"}]},
        {"type": "claim", "id": "c2", "text": "two", "attributions": [{"source": "blog"}]},
        {
            "type": "claim",
            "id": "c3",
            "text": "three",
            "attributions": [{"source": "wire", "via": ["wiree", "relay-x"]}],
        },
        {"type": "source", "id": "blog", "name": "Blog"},
    ]
    file = write_lines(tmp_path / "in.jsonl", rows)
    before = row_counts(app)
    for check in ([], ["--check"]):
        refused = run("import", "--strict", *check, str(file))
        assert refused.exit_code == 1
        assert "3 undefined sources and relays; nothing was stored (--strict)" in refused.output
        assert row_counts(app) == before
    result = run("import", str(file))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: line 1: undefined-source: wiree is not defined (neither through the API nor "
        "in the catalogue); the source is scored with the unknown-source prior. Did you mean wire?",
        "warning: line 3: undefined-relay: wiree is not defined (neither through the API nor "
        "in the catalogue); the relay is scored with the unknown-source prior. Did you mean wire?",
        "warning: line 3: undefined-relay: relay-x is not defined (neither through the API nor "
        "in the catalogue); the relay is scored with the unknown-source prior",
    ]


def test_numeric_questions_come_in_and_go_out(run: Any, app: Flask, tmp_path: Path) -> None:
    question = {
        "type": "question",
        "id": "troops",
        "kind": "numeric",
        "unit": "troops",
        "scale": "log",
        "resolution": {"value": 1600.0, "resolved_at": "2026-11-01T00:00:00+00:00"},
    }
    answers = [
        {
            "type": "claim",
            "id": "a",
            "text": "about 1,500",
            "question": "troops",
            "value": {"point": 1500.0},
            "tags": [],
            "attributions": [{"source": "gov-a"}],
        },
        {
            "type": "claim",
            "id": "b",
            "text": "at least 9,000",
            "question": "troops",
            "value": {"low": 9000.0},
            "tags": [],
            "attributions": [{"source": "wire"}],
        },
    ]
    result = run("import", str(write_lines(tmp_path / "in.jsonl", [question, *answers])))
    assert result.exit_code == 0, result.output
    stored = app.test_client().get("/v1/questions/troops").get_json()
    assert stored["kind"] == "numeric" and stored["resolution"]["value"] == 1600
    assert stored["estimate"]["modes"]
    # Answers without resolution rows of their own are judged by the question's, at the end.
    statuses = {a["id"]: a["status"] for a in stored["answers"]}
    assert statuses == {"a": "confirmed", "b": "refuted"}
    exported = [json.loads(line) for line in run("export").output.splitlines()]
    assert [r for r in exported if r["type"] == "question"] == [question]
    claims = [r for r in exported if r["type"] == "claim"]
    assert [r["value"] for r in claims] == [{"point": 1500}, {"low": 9000}]
    # A value that does not fit its question is a bad row: nothing of its batch is stored.
    before = row_counts(app)
    bad = {"type": "claim", "id": "z", "text": "z", "question": "troops"}
    result = run("import", str(write_lines(tmp_path / "bad.jsonl", [bad])))
    assert result.exit_code != 0 and "line 1: value" in result.output
    assert row_counts(app) == before


def test_commands_on_a_store_of_an_older_schema_say_to_migrate(tmp_path: Path) -> None:
    """After an upgrade of Credence, before `credence migrate`: each command that works
    on the store stops before touching it and says what to do."""
    url = f"sqlite:///{tmp_path}/credence.db"
    env = server_env(url)
    engine = make_engine(url)
    upgrade(engine, "0007")
    nothing = write_lines(tmp_path / "nothing.jsonl", [])
    commands = [["rescore"], ["export"], ["import", str(nothing)], ["keys", "list"]]
    for command in commands:
        done = subprocess.run(
            [str(CREDENCE), *command], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, (command, done.stderr)
        assert "schema is at 0007, not" in done.stderr, (command, done.stderr)
        assert "run `credence migrate`" in done.stderr
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Job)) == 0
    credence("migrate", env=env)
    assert json.loads(credence("rescore", env=env).splitlines()[-1])["stats"]["claims_read"] == 0
    engine.dispose()


def test_migrate_on_an_unreachable_database_says_so_in_one_line() -> None:
    env = server_env("postgresql+psycopg://postgres@127.0.0.1:1/test")
    done = subprocess.run(
        [str(CREDENCE), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: The database is not reachable:"), done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_port_past_65535() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "80000"])
    assert result.exit_code == 2 and "80000 is not in the range" in result.output


def test_rescore_loads_no_web_server(tmp_path: Path) -> None:
    """A scheduled job's process imports neither the app nor the server: they were a
    quarter of its memory (``credence`` imports a command when it runs)."""
    env = server_env(f"sqlite:///{tmp_path}/credence.db")
    credence("migrate", env=env)
    code = (
        "import sys\n"
        "from service.cli import main\n"
        "main(['rescore'], standalone_mode=False)\n"
        "print(*sorted(sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    job, modules = done.stdout.splitlines()[-2:]
    assert json.loads(job)["stats"]["claims_read"] == 0
    web = {"flask", "gunicorn", "alembic", "pygments", "prometheus_client", "service.app"}
    assert web.isdisjoint(modules.split())


def test_an_imported_answers_own_resolution_row_is_kept(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    question = {
        "type": "question",
        "id": "troops",
        "kind": "numeric",
        "resolution": {"value": 1600.0, "note": "the question's"},
    }
    answers = [
        {
            "type": "claim",
            "id": claim_id,
            "text": claim_id,
            "question": "troops",
            "value": {"point": figure},
            "attributions": [{"source": "wire"}],
        }
        for claim_id, figure in (("a", 1500.0), ("b", 9000.0))
    ]
    # As an export writes it: the answer's resolution after the claims (a later batch).
    own = {"type": "resolution", "claim_id": "a", "outcome": "confirmed", "note": "a's own"}
    path = write_lines(tmp_path / "restore.jsonl", [question, *answers, own])
    result = run("import", "--batch-size", "1", str(path))
    assert result.exit_code == 0, result.output
    client = app.test_client()
    a, b = (client.get(f"/v1/claims/{i}").get_json() for i in "ab")
    assert (a["status"], a["resolution"]["note"]) == ("confirmed", "a's own")
    assert (b["status"], b["resolution"]["note"]) == ("refuted", "the question's")


def test_an_imported_resolved_claims_track_records_follow_its_attributions(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    claim = {"type": "claim", "id": "c", "text": "t", "attributions": [{"source": "old-1"}]}
    resolution = {"type": "resolution", "claim_id": "c", "outcome": "confirmed"}
    assert run("import", str(write_lines(tmp_path / "a.jsonl", [claim, resolution]))).exit_code == 0
    moved = {**claim, "attributions": [{"source": "new-1"}]}
    assert run("import", str(write_lines(tmp_path / "b.jsonl", [moved]))).exit_code == 0
    client = app.test_client()
    unknown = app.extensions["credence"].setup.unknown.mean
    reliability = {
        s: client.get(f"/v1/sources/{s}").get_json()["reliability"]["mean"]
        for s in ("old-1", "new-1")
    }
    assert reliability["old-1"] == pytest.approx(unknown)
    assert reliability["new-1"] > unknown + 0.01


def _answer_row(figure: float) -> dict[str, Any]:
    """An import's claim row: answer ``a`` of numeric question ``q``, by ``wire``."""
    return {
        "type": "claim",
        "id": "a",
        "text": "a",
        "question": "q",
        "value": {"point": figure},
        "attributions": [{"source": "wire"}],
    }


def test_an_imported_figure_changed_after_its_question_resolved_is_judged_again(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    question = {"type": "question", "id": "q", "kind": "numeric", "resolution": {"value": 105.0}}
    answer = _answer_row(98.0)
    assert run("import", str(write_lines(tmp_path / "1.jsonl", [question, answer]))).exit_code == 0
    client = app.test_client()
    assert client.get("/v1/claims/a").get_json()["status"] == "confirmed"
    moved = {**answer, "value": {"point": 50.0}}
    assert run("import", str(write_lines(tmp_path / "2.jsonl", [moved]))).exit_code == 0
    assert client.get("/v1/claims/a").get_json()["status"] == "refuted"
    record = client.get("/v1/sources/wire").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (0, 1)


def test_an_import_loads_figures_as_history_beside_a_value_recorded_before(
    run: Any, app: Flask, tmp_path: Path
) -> None:
    """An import is a load of what was said: its figures for a question whose value was
    recorded through the API an hour ago still earn their sources a record, where the
    same figures posted now would be hindsight."""
    client = app.test_client()
    client.put("/v1/questions/q", json={"kind": "numeric", "tolerance": 0.1})
    assert client.post("/v1/questions/q/resolution", json={"value": 105.0}).status_code == 200
    with Session(app.extensions["credence.engine"]) as session, session.begin():
        question = session.get(Question, "q")
        assert question is not None and question.value_recorded_at is not None
        question.value_recorded_at -= timedelta(hours=1)
    answer = _answer_row(104.0)
    assert run("import", str(write_lines(tmp_path / "a.jsonl", [answer]))).exit_code == 0
    assert client.get("/v1/claims/a").get_json()["status"] == "confirmed"
    record = client.get("/v1/sources/wire").get_json()["track_record"]
    assert (record["confirmed"], record["refuted"]) == (1, 0)
    # Posted through the API, the same figure is hindsight.
    posted = {k: v for k, v in answer.items() if k != "type"} | {"id": "b"}
    posted["attributions"] = [{"source": "other"}]
    body = client.post("/v1/claims", json={"claims": [posted]}).get_json()
    assert body["claims"][0]["status"] == "confirmed"
    assert [w["code"] for w in body["warnings"] if w["code"] == "hindsight"] == ["hindsight"]


def _empty(app: Flask) -> None:
    """Every stored row deleted: the store another machine starts with."""
    with app.extensions["credence.engine"].begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def test_an_export_restored_elsewhere_keeps_when_outcomes_were_recorded(
    run: Any, app: Flask, make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Moved to another store (SQLite to PostgreSQL, say), a store keeps what its track
    records and calibration were judged by: when each claim was stored, when each
    outcome and each question's value were recorded."""
    client = app.test_client()
    said = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    claim = {
        "id": "c1",
        "text": "It happened.",
        "attributions": [{"source": "early", "observed_at": said}],
    }
    assert client.post("/v1/claims", json={"claims": [claim]}).status_code == 200
    assert client.post("/v1/claims/c1/resolution", json={"outcome": "confirmed"}).status_code == 200
    client.put("/v1/questions/q", json={"kind": "numeric", "tolerance": 0.1})
    assert client.post("/v1/questions/q/resolution", json={"value": 105.0}).status_code == 200
    # Time passes: stored two hours ago, the outcome and the value recorded one hour ago.
    with Session(app.extensions["credence.engine"]) as session, session.begin():
        stored, resolution, question = (
            session.get(Claim, "c1"),
            session.get(Resolution, "c1"),
            session.get(Question, "q"),
        )
        assert stored and resolution and question and question.value_recorded_at
        stored.created_at -= timedelta(hours=2)
        resolution.created_at -= timedelta(hours=1)
        question.value_recorded_at -= timedelta(hours=1)
    # An outlet that reports the outcome once it is known: no forecast.
    late = {"attributions": [{"source": "late"}]}
    assert client.post("/v1/claims/c1/attributions", json=late).status_code == 200

    def judged(app: Flask) -> tuple[Any, ...]:
        client = app.test_client()
        # A source that never learned anything is not defined (404).
        records = [client.get(f"/v1/sources/{s}").get_json() for s in ("early", "late")]
        counted = client.get("/v1/calibration").get_json()["count"]
        return *(r.get("track_record", {}).get("confirmed") for r in records), counted

    before = judged(app)
    assert before == (1, None, 1)
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    _empty(app)
    restored = run(
        "import",
        str(
            write_lines(
                tmp_path / "export.jsonl",
                [json.loads(line) for line in exported.output.splitlines()],
            )
        ),
    )
    assert restored.exit_code == 0, restored.output
    elsewhere = make_app()
    assert judged(elsewhere) == before
    # The value's record came too: a figure posted now is hindsight, as it was before.
    answer = {"id": "a", "text": "a", "question": "q", "value": {"point": 104.0}}
    body = elsewhere.test_client().post("/v1/claims", json={"claims": [{**answer, **late}]})
    assert "hindsight" in {w["code"] for w in body.get_json()["warnings"]}


def test_an_imported_record_time_is_a_past_time(run: Any, app: Flask, tmp_path: Path) -> None:
    before = row_counts(app)
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for row, named in (
        ({"type": "claim", "id": "c", "text": "t", "created_at": "yesterday"}, "created_at"),
        ({"type": "claim", "id": "c", "text": "t", "created_at": soon}, "future"),
        (
            {
                "type": "question",
                "id": "q",
                "kind": "numeric",
                "resolution": {"value": 1.0, "recorded_at": 7},
            },
            "resolution.recorded_at",
        ),
    ):
        result = run("import", str(write_lines(tmp_path / "in.jsonl", [row])))
        assert result.exit_code == 1 and "line 1" in result.output and named in result.output
    assert row_counts(app) == before
