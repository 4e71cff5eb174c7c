"""The MISP enrichment module (integrations/misp) against a real server: its handler
scores an attribute's text and answers with admiralty-scale tags and a comment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.misp import credence_score
from tests.live_server import Client, create_key, credence, live_server, server_env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, str]]:
    tmp = tmp_path_factory.mktemp("misp")
    env = server_env(f"sqlite:///{tmp}/credence.db")
    credence("migrate", env=env)
    admin = create_key(env, "admin")
    reader = create_key(env, "read")
    with live_server(env, tmp / "server.log", workers=1, key=admin) as client:
        for source_id, grade in (("wire", "B"), ("blog", "E")):
            r = client("PUT", f"/v1/sources/{source_id}", {"prior": {"grade": grade}})
            assert r.status == 200, r.body
        yield client, reader


def ask(client: Client, key: str | None, **request: Any) -> Any:
    config = {"url": client.base, "apikey": key, **request.pop("config", {})}
    return credence_score.handler(
        json.dumps({"module": "credence_score", "config": config, **request})
    )


def test_tagged_sources_score_the_attribute(server: tuple[Client, str]) -> None:
    client, key = server
    attribute = {
        "type": "text",
        "value": "The port is closed.",
        "uuid": "5f0c6a9e-1f7c-4f0e-9d7b-2a8c6e4b1d3f",
        "Tag": [{"name": 'credence:source="wire"'}, {"name": 'credence:source="blog"'}],
    }
    answer = ask(client, key, text="The port is closed.", attribute=attribute)
    [result] = answer["results"]
    expected = client(
        "POST",
        "/v1/score",
        {
            "claims": [
                {
                    "text": "The port is closed.",
                    "attributions": [{"source": "wire"}, {"source": "blog"}],
                }
            ]
        },
    ).body["scores"][0]
    assert result["tags"] == expected["tags"]
    assert result["tags"][0] == 'admiralty-scale:source-reliability="b"'
    assert result["comment"] == f"Credence {expected['admiralty']}: {expected['summary']}"
    assert result["values"] == ["The port is closed."] and result["types"] == ["text"]


def test_configured_sources_serve_untagged_attributes(server: tuple[Client, str]) -> None:
    client, key = server
    answer = ask(client, key, comment="Ships wait.", config={"sources": "blog"})
    assert answer["results"][0]["tags"][0] == 'admiralty-scale:source-reliability="e"'
    nothing = ask(client, key, comment="Ships wait.")
    assert nothing["results"][0]["tags"][0] == 'admiralty-scale:source-reliability="f"'


def test_errors_come_back_as_misp_errors(server: tuple[Client, str]) -> None:
    client, _ = server
    assert "401" in ask(client, "crd_bad_key", text="x")["error"]
    unconfigured = credence_score.handler(json.dumps({"text": "x", "config": {}}))
    assert isinstance(unconfigured, dict) and "url" in unconfigured["error"]
    assert "text" in ask(client, None, ip="1.2.3.4")["error"]
    assert credence_score.handler(False) is False


def test_module_interface() -> None:
    assert credence_score.introspection()["input"] == ["text", "comment"]
    info = credence_score.version()
    assert info["config"] == ["url", "apikey", "sources"]
    assert "expansion" in info["module-type"]
