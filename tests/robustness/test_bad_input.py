"""Bad input, one row each: the documented 4xx as problem+json naming the field, and
the store exactly as it was (every row of every table compared before and after).

Runs on each backend, on a store that already holds claims, sources and scores,
so that a refused update of a stored claim would show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.formats.bundles import foreign_bundle
from tests.robustness.store import snapshot
from tests.service.helpers import assert_problem

STORED = "stored-claim"
JUDGED = "judged-figure"
"""An answer of a resolved numeric question: its value, not a request, gives its outcome."""


def claims(*claim: dict[str, Any]) -> str:
    return json.dumps({"claims": list(claim)})


def claim(**fields: Any) -> dict[str, Any]:
    return {"id": STORED, "text": "An update of the stored claim.", **fields}


def attributed(**attribution: Any) -> str:
    return claims(claim(attributions=[{"source": "wire", **attribution}]))


@dataclass
class Bad:
    name: str
    body: str | bytes
    status: int
    fields: tuple[str, ...] = ()
    method: str = "POST"
    path: str = "/v1/claims"
    content_type: str | None = "application/json"
    also_score: bool = True
    """Send it to POST /v1/score too (same body rules)."""
    extra: dict[str, Any] = field(default_factory=dict)


A = "claims.0.attributions.0."
LOOKALIKES = {
    "cyrillic": "\u0441laim",  # Cyrillic es
    "fullwidth": "\uff43laim",
    "dotless-i": "cla\u0131m",
    "zero-width": "cl\u200baim",
}
VALID = claims(claim(attributions=[{"source": "wire"}]))
VALID_EVIDENCE = json.dumps({"attributions": [{"source": "wire"}]})
CONFIRMED = json.dumps({"outcome": "confirmed"})

CASES = [
    # Not JSON at all, or not all of it.
    Bad("malformed", '{"claims": [', 400),
    Bad("not-json", "claims=all", 400),
    Bad("truncated", VALID[: len(VALID) // 2], 400),
    Bad("trailing-garbage", VALID + "}", 400),
    Bad("nul-byte", "\x00", 400),
    Bad("invalid-utf8", b'{"claims": [{"text": "\xff\xfe"}]}', 400),
    Bad("lone-surrogate", claims(claim()).replace("update", "\\ud800"), 400),
    Bad("utf16", claims(claim()).encode("utf-16"), 400),
    Bad("nested-deeply", '{"claims": ' + "[" * 5000 + "]" * 5000 + "}", 400),
    # JSON, but not said so.
    Bad("text-plain", VALID, 415, content_type="text/plain"),
    Bad("form", VALID, 415, content_type="application/x-www-form-urlencoded"),
    Bad("no-content-type", VALID, 415, content_type=None),
    Bad("xml", "<claims/>", 415, content_type="application/xml"),
    # Wrong types.
    Bad("body-is-list", "[]", 422, ("body",)),
    Bad("claims-is-string", '{"claims": "all"}', 422, ("claims",)),
    Bad("claims-missing", "{}", 422, ("claims",)),
    Bad("text-is-number", claims(claim(text=5)), 422, ("claims.0.text",)),
    Bad("text-is-null", claims(claim(text=None)), 422, ("claims.0.text",)),
    Bad("text-is-blank", claims(claim(text=" \t\n")), 422, ("claims.0.text",)),
    Bad("text-is-empty", claims(claim(text="")), 422, ("claims.0.text",)),
    Bad("attributions-is-object", claims(claim(attributions={})), 422, ("claims.0.attributions",)),
    Bad("tags-is-string", claims(claim(tags="nk")), 422, ("claims.0.tags",)),
    Bad("count-is-float", attributed(source="anon:officials", count=2.5), 422, (A + "count",)),
    Bad("count-is-string", attributed(source="anon:officials", count="3"), 422, (A + "count",)),
    Bad("certainty-is-bool", attributed(certainty=True), 422, (A + "certainty",)),
    Bad("via-is-string", attributed(via="kr-media"), 422, (A + "via",)),
    # Numbers given as strings or booleans are not numbers.
    Bad("prior-is-string", claims(claim(prior="0.5")), 422, ("claims.0.prior",)),
    Bad("prior-is-bool", claims(claim(prior=True)), 422, ("claims.0.prior",)),
    Bad("certainty-is-string", attributed(certainty="1"), 422, (A + "certainty",)),
    Bad("count-is-bool", attributed(source="anon:officials", count=True), 422, (A + "count",)),
    # NUL characters, which PostgreSQL cannot store in text.
    Bad("text-nul", claims(claim(text="a\u0000b")), 422, ("claims.0.text",)),
    Bad("tag-nul", claims(claim(tags=["\u0000"])), 422, ("claims.0.tags.0",)),
    Bad("quote-nul", attributed(quote="said\u0000"), 422, (A + "quote",)),
    Bad("url-nul", attributed(url="https://x.org/\u0000"), 422, (A + "url",)),
    Bad(
        "observed-at-nul",
        attributed(observed_at="2024-03-01T10:00:00Z\u0000"),
        422,
        (A + "observed_at",),
    ),
    # NaN and Infinity, as JSON literals (not valid JSON, but Python reads them).
    *(
        Bad(f"{literal}-{name}", body, 422, (path,))
        for literal in ("NaN", "Infinity", "-Infinity")
        for name, body, path in [
            (
                "certainty",
                '{"claims": [{"text": "t", "attributions": [{"source": "wire", "certainty": '
                + literal
                + "}]}]}",
                A + "certainty",
            ),
            ("prior", '{"claims": [{"text": "t", "prior": ' + literal + "}]}", "claims.0.prior"),
        ]
    ),
    # Counts.
    Bad("count-negative", attributed(source="anon:officials", count=-1), 422, (A + "count",)),
    Bad("count-zero", attributed(source="anon:officials", count=0), 422, (A + "count",)),
    Bad("count-huge", attributed(source="anon:officials", count=10**30), 422, (A + "count",)),
    Bad("count-named-source", attributed(count=3), 422, (A + "count",)),
    # Priors and certainties out of range.
    *(
        Bad(f"prior-{value}", claims(claim(prior=value)), 422, ("claims.0.prior",))
        for value in (0, 1, 1.5, -0.1)
    ),
    *(
        Bad(f"certainty-{value}", attributed(certainty=value), 422, (A + "certainty",))
        for value in (0, 1.0001, -1)
    ),
    # Unknown stances and fields.
    Bad("stance-unknown", attributed(stance="maybe"), 422, (A + "stance",)),
    Bad("stance-case", attributed(stance="Supports"), 422, (A + "stance",)),
    Bad("field-in-attribution", attributed(colour="red"), 422, (A + "colour",)),
    Bad("field-in-claim", claims(claim(colour="red")), 422, ("claims.0.colour",)),
    Bad("field-at-top", '{"claims": [], "colour": "red"}', 422, ("colour",)),
    # Ids that break the slug rule: claim ids, sources, relays, questions.
    *(
        Bad(f"id-{name}", claims(claim(id=bad)), 422, ("claims.0.id",))
        for name, bad in [
            ("traversal", "../x"),
            ("traversal-deep", "../../etc/passwd"),
            ("sql", "x'; DROP TABLE claims; --"),
            ("sql-comment", "a--b/*c*/"),
            ("upper", "Claim"),
            ("space", "a b"),
            ("empty", ""),
            ("10kb", "a" * 10_240),
            ("129-chars", "a" * 129),
            *((f"lookalike-{k}", v) for k, v in LOOKALIKES.items()),
        ]
    ),
    Bad("source-traversal", attributed(source="../x"), 422, (A + "source",)),
    Bad("source-sql", attributed(source="wire' OR '1'='1"), 422, (A + "source",)),
    Bad("source-lookalike", attributed(source="\u0441nn"), 422, (A + "source",)),
    Bad("via-traversal", attributed(via=["..", "x"]), 422, (A + "via.0",)),
    Bad("question-10kb", claims(claim(question="q" * 10_240)), 422, ("claims.0.question",)),
    # Sizes.
    Bad("text-100k", claims(claim(text="x" * 100_000)), 422, ("claims.0.text",)),
    Bad("text-empty", claims(claim(text="")), 422, ("claims.0.text",)),
    Bad("claims-10001", claims(*({"text": "t"} for _ in range(10_001))), 422, ("claims",)),
    Bad(
        "attributions-1001",
        claims(claim(attributions=[{"source": "wire"}] * 1_001)),
        422,
        ("claims.0.attributions",),
    ),
    Bad("tags-65", claims(claim(tags=[f"t{i}" for i in range(65)])), 422, ("claims.0.tags",)),
    Bad("body-over-limit", claims(claim(text="x" * 5_000_000)), 413),
    # Relay chains that loop back.
    Bad("via-is-source", attributed(via=["wire"]), 422, (A + "via",)),
    Bad("via-loops-back", attributed(via=["kr-media", "ap", "wire"]), 422, (A + "via",)),
    Bad("via-repeats", attributed(via=["ap", "kr-media", "ap"]), 422, (A + "via",)),
    # The same id twice in one batch: one write would silently lose.
    Bad("duplicate-ids", claims(claim(), claim()), 422, ("claims.1.id",)),
    # Strict mode: what is otherwise a warning (contract 1.1) is refused, naming the field.
    *(
        Bad(f"strict-{name}", body, 422, (path,), path="/v1/claims?strict=true", also_score=both)
        for name, body, path, both in [
            ("undefined-source", attributed(source="wrie"), A + "source", True),
            ("undefined-relay", attributed(via=["kr-mdia"]), A + "via.0", True),
            (
                "duplicate-attribution",
                claims(claim(attributions=[{"source": "wire"}, {"source": "wire"}])),
                "claims.0.attributions.1",
                True,
            ),
            (
                "lone-answer",
                claims(claim(question="q1-typo", attributions=[{"source": "wire"}])),
                "claims.0.question",
                True,
            ),
            (
                "duplicate-answer",
                claims(
                    claim(question="q-dup", attributions=[{"source": "wire"}]),
                    {"text": claim()["text"], "question": "q-dup"},
                ),
                "claims.1.text",
                True,
            ),
            # The stored claim also has kr-nis via kr-media: a re-post without it drops it.
            ("attributions-removed", VALID, "claims.0.attributions", False),
        ]
    ),
    Bad(
        "strict-attributions-duplicate",
        VALID_EVIDENCE,
        422,
        ("attributions.0",),
        path=f"/v1/claims/{STORED}/attributions?strict=true",
        also_score=False,
    ),
    Bad("strict-not-boolean", VALID, 422, ("strict",), path="/v1/claims?strict=maybe"),
    Bad("strict-misspelt", VALID, 422, ("stric",), path="/v1/claims?stric=true"),
    # Other writes: evidence for a stored claim, source definitions.
    *(
        Bad(
            f"attributions-{name}",
            json.dumps({"attributions": [{"source": "wire", **attribution}]}),
            422,
            (f"attributions.0.{path}",),
            path=f"/v1/claims/{STORED}/attributions",
            also_score=False,
        )
        for name, attribution, path in [
            ("certainty", dict[str, Any](certainty=2.0), "certainty"),
            ("loop", {"via": ["wire"]}, "via"),
            ("stance", {"stance": "maybe"}, "stance"),
            ("count", {"count": 2}, "count"),
        ]
    ),
    Bad(
        "attributions-malformed",
        '{"attributions": [',
        400,
        path=f"/v1/claims/{STORED}/attributions",
        also_score=False,
    ),
    *(
        Bad(
            f"source-id-{name}",
            '{"prior": {"grade": "A"}}',
            status,
            ("id",) if status == 422 else (),
            method="PUT",
            path=f"/v1/sources/{bad}",
            also_score=False,
        )
        for name, bad, status in [
            ("sql", "x'%3B%20DROP%20TABLE%20sources%3B--", 422),
            ("lookalike", "\u0441nn", 422),
            ("10kb", "a" * 10_240, 422),
            ("upper", "CNN", 422),
            # "../x" is resolved by the URL itself; what is left is another path.
            ("traversal", "..%2Fx", 404),
        ]
    ),
    # Path ids that break their rule: 422 naming id on every method (see test_path_ids).
    *(
        Bad(
            f"path-id-{name}",
            body,
            422,
            ("id",),
            method=method,
            path=path,
            also_score=False,
        )
        for name, method, path, body in [
            ("attributions", "POST", "/v1/claims/Stored-Claim/attributions", VALID_EVIDENCE),
            ("resolution", "POST", "/v1/claims/stored%20claim/resolution", CONFIRMED),
            ("withdraw", "DELETE", "/v1/claims/%27%3B--/resolution", ""),
            ("nul", "POST", "/v1/claims/stored-claim%00/resolution", CONFIRMED),
            ("10kb", "POST", f"/v1/claims/{'a' * 10_240}/attributions", VALID_EVIDENCE),
            ("source-note", "PUT", "/v1/sources/wire%0A", '{"notes": "n"}'),
        ]
    ),
    Bad(
        "source-notes-nul",
        '{"notes": "a\\u0000"}',
        422,
        ("notes",),
        method="PUT",
        path="/v1/sources/wire",
        also_score=False,
    ),
    Bad(
        "resolution-note-nul",
        '{"outcome": "confirmed", "note": "\\u0000"}',
        422,
        ("note",),
        path=f"/v1/claims/{STORED}/resolution",
        also_score=False,
    ),
    *(
        Bad(
            f"source-prior-{name}",
            json.dumps({"prior": prior}),
            422,
            (path,),
            method="PUT",
            path="/v1/sources/wire",
            also_score=False,
        )
        for name, prior, path in [
            ("reliability-1", {"reliability": 1, "strength": 5}, "prior.reliability"),
            ("alpha-negative", {"alpha": -1, "beta": 2}, "prior.alpha"),
            ("grade-g", {"grade": "G"}, "prior.grade"),
            ("two-forms", {"grade": "A", "alpha": 2, "beta": 2}, "prior.grade"),
            ("unknown-key", {"mean": 0.5}, "prior.mean"),
        ]
    ),
    # The 1.1 operations: batch writes, STIX import, numeric questions.
    Bad(
        "sources-batch-grade",
        json.dumps({"sources": [{"id": "ok"}, {"id": "bad", "prior": {"grade": "G"}}]}),
        422,
        ("sources.1.prior.grade",),
        path="/v1/sources",
        also_score=False,
    ),
    Bad(
        "resolutions-batch-unknown-claim",
        json.dumps(
            {
                "resolutions": [
                    {"claim_id": STORED, "outcome": "confirmed"},
                    {"claim_id": "nope", "outcome": "refuted"},
                ]
            }
        ),
        404,
        ("resolutions.1.claim_id",),
        path="/v1/resolutions",
        also_score=False,
    ),
    Bad(
        "stix-not-a-bundle",
        json.dumps({"type": "report", "id": "x"}),
        422,
        ("type",),
        path="/v1/import/stix",
        also_score=False,
    ),
    Bad(
        "prior-past-a-million",
        json.dumps({"prior": {"reliability": 0.5, "strength": 1e308}}),
        422,
        ("prior.strength",),
        method="PUT",
        path="/v1/sources/wire",
        also_score=False,
    ),
    Bad(
        "time-before-year-one-in-utc",
        attributed(observed_at="0001-01-01T00:00:00+01:00"),
        422,
        (A + "observed_at",),
    ),
    Bad(
        "stix-strict-undefined-author",
        json.dumps(foreign_bundle(created_by_ref="identity--12345678-1234-4234-8234-123456789abc")),
        422,
        ("objects.4.created_by_ref",),
        path="/v1/import/stix?strict=true",
        also_score=False,
    ),
    Bad(
        "jobs-cursor-made-up",
        "",
        422,
        ("cursor",),
        method="GET",
        path="/v1/jobs?cursor=eyJ4IjoxfQ",
        content_type=None,
        also_score=False,
    ),
    Bad(
        "value-without-question",
        claims(claim(value={"point": 1500})),
        422,
        ("claims.0.value",),
    ),
    Bad(
        "value-low-above-high",
        claims(claim(question="troops", value={"low": 2000, "high": 1000})),
        422,
        ("claims.0.value.high",),
    ),
    Bad(
        "resolutions-batch-answer-its-question-judges",
        json.dumps(
            {
                "resolutions": [
                    {"claim_id": STORED, "outcome": "confirmed"},
                    {"claim_id": JUDGED, "outcome": "confirmed"},
                ]
            }
        ),
        409,
        ("resolutions.1.claim_id",),
        path="/v1/resolutions",
        also_score=False,
    ),
    Bad(
        "withdraw-answer-its-question-judges",
        "",
        409,
        method="DELETE",
        path=f"/v1/claims/{JUDGED}/resolution",
        content_type=None,
        also_score=False,
    ),
    Bad(
        "question-kind",
        json.dumps({"text": "How many?", "kind": "guess"}),
        422,
        ("kind",),
        method="PUT",
        path="/v1/questions/troops",
        also_score=False,
    ),
]


def _requests(case: Bad) -> list[tuple[str, str]]:
    targets = [(case.method, case.path)]
    path, query = case.path.partition("?")[::2]
    if case.also_score and path == "/v1/claims":
        targets.append(("POST", f"/v1/score?{query}" if query else "/v1/score"))
    return targets


@pytest.fixture
def stored_app(app: Flask, client: FlaskClient) -> Flask:
    """An app whose store holds a claim with evidence, a defined source, scores, and an
    answer of a resolved numeric question."""
    r = client.put("/v1/sources/wire", json={"prior": {"grade": "B"}, "group": "media:wire"})
    assert r.status_code == 200, r.get_json()
    body = {
        "claims": [
            {
                "id": STORED,
                "text": "The stored claim.",
                "tags": ["kept"],
                "attributions": [{"source": "wire"}, {"source": "kr-nis", "via": ["kr-media"]}],
            },
            {"id": "other", "text": "Another.", "question": "q1"},
            {"id": JUDGED, "text": "About 1,500.", "question": "troops", "value": {"point": 1500}},
        ]
    }
    r = client.post("/v1/claims", json=body)
    assert r.status_code == 200, r.get_json()
    r = client.post("/v1/questions/troops/resolution", json={"value": 10_000})
    assert r.status_code == 200, r.get_json()
    return app


def _send(client: FlaskClient, method: str, path: str, case: Bad) -> Any:
    data = case.body.encode() if isinstance(case.body, str) else case.body
    return client.open(path, method=method, data=data, content_type=case.content_type)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_and_stores_nothing(
    stored_app: Flask, client: FlaskClient, case: Bad
) -> None:
    engine = stored_app.extensions["credence.engine"]
    before = snapshot(engine)
    for method, path in _requests(case):
        response = _send(client, method, path, case)
        assert_problem(response, case.status, *case.fields)
        assert snapshot(engine) == before, f"{method} {path} changed the store"


def _echo() -> dict[str, Any]:
    return {
        "id": "echo",
        "text": "The canal is blocked.",
        "attributions": [
            {"source": "eg-sca", "via": ["reuters"]},
            {"source": "eg-sca", "via": ["ap"]},
        ],
    }


def test_one_source_through_two_relays_is_valid(client: FlaskClient) -> None:
    """The echo case: two relays of one original source are accepted (and merged as one)."""
    scored = client.post("/v1/score", json={"claims": [_echo()]})
    assert scored.status_code == 200, scored.get_json()
    stored = client.post("/v1/claims", json={"claims": [_echo()]})
    assert stored.status_code == 200, stored.get_json()
    evidence = stored.get_json()["claims"][0]["score"]["evidence"]
    assert [e["via"] for e in evidence] == [["reuters"], ["ap"]]
    # One piece of evidence, not two: the second relay adds no weight.
    assert sorted(e["weight"] == 0 for e in evidence) == [False, True]
    assert client.get("/v1/claims/echo").status_code == 200
