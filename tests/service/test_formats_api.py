"""Analyst codes on scores and sources, claims as CSV and STIX 2.1, and STIX import."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stix2
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.formats.claim_table import CLAIM_COLUMNS
from service.formats.stix_export import stix_id
from tests.formats.bundles import BLOG, WIRE, foreign_bundle
from tests.service.helpers import assert_problem, auth, figure_answers, row_counts

STIX = "application/stix+json;version=2.1"


@pytest.fixture
def stored(client: FlaskClient, scenario: dict[str, Any]) -> dict[str, Any]:
    for source_id, source in scenario["sources"].items():
        assert client.put(f"/v1/sources/{source_id}", json=source).status_code == 200
    response = client.post("/v1/claims", json={"claims": scenario["claims"]})
    assert response.status_code == 200, response.get_json()
    return {c["id"]: c for c in response.get_json()["claims"]}


def grades(client: FlaskClient) -> dict[str, str]:
    return {
        s["id"]: s["reliability"]["grade"] for s in client.get("/v1/sources").get_json()["sources"]
    }


def test_scores_carry_the_admiralty_code_of_their_best_supporting_source(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    grade = grades(client)
    for claim in stored.values():
        score = claim["score"]
        supporting = {e["source"] for e in score["evidence"] if e["stance"] == "supports"}
        best = min((grade[s] for s in supporting), default="F")
        assert score["admiralty"] == f"{best}{score['credibility']}"
        assert score["tags"] == [
            f'admiralty-scale:source-reliability="{best.lower()}"',
            f'admiralty-scale:information-credibility="{score["credibility"]}"',
        ]
    # kr-nis (C) and ua-president (C) support the third claim; the neutral DoD (B) does not count.
    assert stored["kp-troops-in-russia"]["score"]["admiralty"][0] == "C"
    listed = client.get("/v1/claims").get_json()["claims"]
    assert {c["id"]: c["score"]["admiralty"] for c in listed} == {
        i: c["score"]["admiralty"] for i, c in stored.items()
    }


def test_score_codes_follow_the_priors_of_the_call(client: FlaskClient) -> None:
    claim = {"text": "t", "attributions": [{"source": "nobody-knows"}]}
    plain = client.post("/v1/score", json={"claims": [claim]}).get_json()["scores"][0]
    given = client.post(
        "/v1/score", json={"claims": [claim], "sources": {"nobody-knows": {"grade": "A"}}}
    ).get_json()["scores"][0]
    assert plain["admiralty"][0] == "F" and given["admiralty"][0] == "A"


def test_score_codes_follow_a_redefined_source_at_once(client: FlaskClient) -> None:
    # The process remembers the letter of each belief it graded: a new definition
    # must be graded anew, and an old belief that comes back graded as before.
    claim = {"text": "t", "attributions": [{"source": "wire"}]}
    letters = []
    for grade in "AEA":
        assert client.put("/v1/sources/wire", json={"prior": {"grade": grade}}).status_code == 200
        score = client.post("/v1/score", json={"claims": [claim]}).get_json()["scores"][0]
        letters.append(score["admiralty"][0])
    assert letters == ["A", "E", "A"]


def test_sources_carry_their_misp_tag(client: FlaskClient, stored: dict[str, Any]) -> None:
    source = client.get("/v1/sources/ap").get_json()
    assert source["tags"] == [
        f'admiralty-scale:source-reliability="{source["reliability"]["grade"].lower()}"'
    ]


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0] == list(CLAIM_COLUMNS)
    assert all(len(r) == len(CLAIM_COLUMNS) for r in rows)
    return [dict(zip(CLAIM_COLUMNS, r, strict=True)) for r in rows[1:]]


def test_claims_as_csv_one_flat_row_each(client: FlaskClient, stored: dict[str, Any]) -> None:
    response = client.get("/v1/claims", headers={"Accept": "text/csv"})
    assert "Accept" in response.headers["Vary"]
    rows = csv_rows(response)
    assert [r["id"] for r in rows] == sorted(stored)
    for row in rows:
        score = stored[row["id"]]["score"]
        assert float(row["confidence"]) == score["confidence"]
        assert [float(row["interval_low"]), float(row["interval_high"])] == score["interval"]
        assert row["admiralty"] == score["admiralty"]
        assert int(row["credibility"]) == score["credibility"]
    assert "Link" not in response.headers
    [one] = csv_rows(client.get("/v1/claims/kp-second-deployment", headers={"Accept": "text/csv"}))
    assert one["text"] == stored["kp-second-deployment"]["text"]


def test_a_csv_page_links_the_next(client: FlaskClient, stored: dict[str, Any]) -> None:
    page = client.get("/v1/claims?limit=1", headers={"Accept": "text/csv"})
    link = page.headers["Link"]
    assert link.endswith('>; rel="next"')
    following = client.get(link[1 : link.index(">")], headers={"Accept": "text/csv"})
    assert [r["id"] for r in csv_rows(following)] == [sorted(stored)[1]]


def test_json_stays_the_default(client: FlaskClient, stored: dict[str, Any]) -> None:
    for accept in (None, "*/*", "application/json", "text/html"):
        headers = {"Accept": accept} if accept else {}
        assert client.get("/v1/claims", headers=headers).mimetype == "application/json"


def test_media_type_parameters_do_not_hide_the_type(
    client: FlaskClient, stored: dict[str, Any]
) -> None:
    for accept, mimetype in [
        ("text/csv; charset=utf-8", "text/csv"),
        ("text/csv;header=present", "text/csv"),
        (STIX + ";charset=utf-8", "application/stix+json"),
        ("application/json;q=0.5, text/csv;charset=UTF-8;q=0.9", "text/csv"),
        ("text/csv;q=0.5, application/json;charset=utf-8", "application/json"),
    ]:
        assert client.get("/v1/claims", headers={"Accept": accept}).mimetype == mimetype, accept


def test_claims_as_a_stix_bundle(client: FlaskClient, stored: dict[str, Any]) -> None:
    for accept in (STIX, "application/stix+json"):
        response = client.get("/v1/claims", headers={"Accept": accept})
        assert response.status_code == 200 and response.content_type == STIX
    bundle = stix2.parse(response.get_data(as_text=True), allow_custom=True)
    notes = {o.id: o for o in bundle.objects if o.type == "note"}
    for claim_id, claim in stored.items():
        note = notes[stix_id("note", claim_id)]
        assert note.confidence == round(claim["score"]["confidence"] * 100)
        assert note.content == claim["text"]
    identities = {o.id: o for o in bundle.objects if o.type == "identity"}
    grade = grades(client)
    nis = identities[stix_id("identity", "kr-nis")]
    assert nis.name == "NIS"
    assert nis.x_opencti_reliability.startswith(f"{grade['kr-nis']} - ")
    one = client.get("/v1/claims/kp-second-deployment", headers={"Accept": STIX})
    again = client.get("/v1/claims/kp-second-deployment", headers={"Accept": STIX})
    assert one.get_data() == again.get_data(), "the same claim exports the same bundle"


def test_a_stix_page_links_the_next(client: FlaskClient, stored: dict[str, Any]) -> None:
    seen: list[str] = []
    url: str | None = "/v1/claims?limit=2"
    while url is not None:
        page = client.get(url, headers={"Accept": STIX})
        bundle = stix2.parse(page.get_data(as_text=True), allow_custom=True)
        seen += [o.x_credence_id for o in bundle.objects if o.type == "note"]
        link = page.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == sorted(stored)


@pytest.fixture
def fresh_app(tmp_path: Path, sqlite_template: Path, catalogue_file: Path) -> Callable[[], Flask]:
    """Another store, empty: where an export is imported."""

    def build() -> Flask:
        path = tmp_path / "fresh.db"
        shutil.copy(sqlite_template, path)
        app = create_app(
            {
                "database": {"url": f"sqlite:///{path}"},
                "sources": {"catalogue": str(catalogue_file)},
            }
        )
        app.config["TESTING"] = True
        return app

    return build


def test_stix_round_trip_into_a_fresh_store(
    client: FlaskClient, stored: dict[str, Any], fresh_app: Callable[[], Flask]
) -> None:
    bundle = client.get("/v1/claims", headers={"Accept": STIX}).get_data(as_text=True)
    stix2.parse(bundle, allow_custom=True)
    other = fresh_app().test_client()
    response = other.post("/v1/import/stix", data=bundle, content_type=STIX)
    assert response.status_code == 200, response.get_json()
    imported = {c["id"]: c for c in response.get_json()["claims"]}
    assert set(imported) == set(stored)
    for claim_id, claim in stored.items():
        again = other.get(f"/v1/claims/{claim_id}").get_json()
        for key in ("text", "tags", "prior", "question", "attributions"):
            assert again[key] == claim[key], key
        assert again["score"]["confidence"] == pytest.approx(claim["score"]["confidence"])
        assert again["score"]["admiralty"] == claim["score"]["admiralty"]
    mine = {s["id"]: s for s in client.get("/v1/sources").get_json()["sources"]}
    theirs = {s["id"]: s for s in other.get("/v1/sources").get_json()["sources"]}
    for source_id, source in theirs.items():
        assert source["prior"] == mine[source_id]["prior"], source_id
        assert source["name"] == mine[source_id]["name"], source_id


def test_numeric_answers_read_back_with_their_figures(
    client: FlaskClient, fresh_app: Callable[[], Flask]
) -> None:
    question = {"text": "How many?", "kind": "numeric"}
    assert client.put("/v1/questions/troops", json=question).status_code == 200
    figures = [("kr-nis", {"point": 1500.0}), ("reuters", {"low": 8000.0, "high": 12000.0})]
    answers = figure_answers("troops", figures)
    assert client.post("/v1/claims", json={"claims": answers}).status_code == 200
    bundle = client.get("/v1/claims", headers={"Accept": STIX}).get_data(as_text=True)
    # Into the store it came from (as the same claims) and into a fresh one.
    other = fresh_app().test_client()
    assert other.put("/v1/questions/troops", json=question).status_code == 200
    for target in (client, other):
        response = target.post("/v1/import/stix", data=bundle, content_type=STIX)
        assert response.status_code == 200, response.get_json()
        for i, (_, value) in enumerate(figures):
            assert target.get(f"/v1/claims/n{i}").get_json()["value"] == value
    # A bundle's note in a numeric question without a figure is refused, as by the API.
    note = foreign_bundle(x_credence_id="n9", x_credence_question="troops")
    assert_problem(client.post("/v1/import/stix", json=note), 422, "objects.4.x_credence_value")


def test_import_keeps_the_definitions_it_finds(
    client: FlaskClient, stored: dict[str, Any], fresh_app: Callable[[], Flask]
) -> None:
    bundle = client.get("/v1/claims", headers={"Accept": STIX}).get_data(as_text=True)
    other = fresh_app().test_client()
    assert other.put("/v1/sources/kr-nis", json={"prior": {"grade": "E"}}).status_code == 200
    assert other.post("/v1/import/stix", data=bundle, content_type=STIX).status_code == 200
    assert other.get("/v1/sources/kr-nis").get_json()["prior"] == {"grade": "E"}


def test_foreign_reports_and_notes_are_claims_of_their_authors(
    client: FlaskClient, keys: dict[str, str]
) -> None:
    response = client.post("/v1/import/stix", json=foreign_bundle(), headers=auth(keys["admin"]))
    assert response.status_code == 200, response.get_json()
    report, note = response.get_json()["claims"]
    assert [(a["source"], a["certainty"]) for a in report["attributions"]] == [(WIRE, 0.7)]
    assert report["score"]["admiralty"][0] == "B"
    assert [(a["source"], a["stance"]) for a in note["attributions"]] == [(BLOG, "neutral")]
    source = client.get(f"/v1/sources/{WIRE}", headers=auth(keys["read"])).get_json()
    assert source["prior"] == {"grade": "B"} and source["name"] == "Wire"
    denied = client.post("/v1/import/stix", json=foreign_bundle(), headers=auth(keys["read"]))
    assert_problem(denied, 403)


def test_a_write_key_imports_sources_without_their_priors(
    app: Flask, client: FlaskClient, keys: dict[str, str]
) -> None:
    write = auth(keys["write"])
    before = row_counts(app)
    strict = client.post("/v1/import/stix?strict=true", json=foreign_bundle(), headers=write)
    assert_problem(strict, 422)
    assert row_counts(app) == before
    response = client.post("/v1/import/stix", json=foreign_bundle(), headers=write)
    assert response.status_code == 200, response.get_json()
    ignored = [w for w in response.get_json()["warnings"] if w["code"] == "prior-ignored"]
    assert sorted(w["field"] for w in ignored) == [
        "objects[0].x_opencti_reliability",
        "objects[1].confidence",
    ]
    source = client.get(f"/v1/sources/{WIRE}", headers=auth(keys["read"])).get_json()
    assert source["prior"] is None and source["name"] == "Wire"
    report = response.get_json()["claims"][0]
    assert report["score"]["admiralty"][0] != "B"


def test_an_import_warns_as_post_claims_does_and_strict_refuses(
    app: Flask, client: FlaskClient
) -> None:
    # The note's author is an identity the bundle does not hold: an undefined source.
    stranger = "identity--12345678-1234-4234-8234-123456789abc"
    bundle = foreign_bundle(created_by_ref=stranger)
    before = row_counts(app)
    refused = client.post("/v1/import/stix?strict=true", json=bundle)
    assert_problem(refused, 422, "objects.4.created_by_ref")
    assert row_counts(app) == before
    assert client.post("/v1/import/stix", json=foreign_bundle()).get_json()["warnings"] == []
    response = client.post("/v1/import/stix", json=bundle)
    assert response.status_code == 200, response.get_json()
    warned = {(w["field"], w["code"]) for w in response.get_json()["warnings"]}
    # The note was stored by the import before: its author's attribution was replaced.
    assert warned == {
        ("objects[4].created_by_ref", "undefined-source"),
        ("objects[4].attributions", "attributions-removed"),
    }


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        (foreign_bundle(content=""), "objects.4.content"),
        (foreign_bundle(confidence=300), "objects.4.confidence"),
        (foreign_bundle(created_by_ref="someone"), "objects.4.created_by_ref"),
        (foreign_bundle(x_credence_id="Not A Slug"), "objects.4.x_credence_id"),
        (
            foreign_bundle(
                x_credence_id="c1", x_credence_attributions=[{"source": "ap", "stance": "?"}]
            ),
            "objects.4.x_credence_attributions.0.stance",
        ),
        ({**foreign_bundle(), "type": "report"}, "type"),
        ({**foreign_bundle(), "objects": "none"}, "objects"),
        ({"type": "bundle", "objects": []}, "id"),
    ],
)
def test_bad_bundles_are_refused_naming_the_field(
    app: Flask, client: FlaskClient, bundle: dict[str, Any], field: str
) -> None:
    before = row_counts(app)
    assert_problem(client.post("/v1/import/stix", json=bundle), 422, field)
    assert row_counts(app) == before


def test_the_openapi_document_names_the_media_types(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/v1/claims", "/v1/claims/{claim_id}"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv", STIX} <= set(content)
    assert "/v1/import/stix" in paths
    assert json.dumps(paths["/v1/import/stix"]["post"]).count("bundle") > 0
