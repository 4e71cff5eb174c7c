"""STIX 2.1 bundles: what the export writes stix2 reads, and the import reads back."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.formats.stix_export import CREDENCE_IDENTITY, claims_bundle, stix_id
from service.formats.stix_import import BundleError, bundle_requests
from tests.formats.bundles import BLOG, WIRE, foreign_bundle

T0 = "2021-03-24T10:00:00+00:00"
T1 = "2021-03-24T11:30:00.250000+00:00"

slugs = st.from_regex(r"\A[a-z0-9][a-z0-9._:-]{0,20}\Z")
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1)
attributions = st.fixed_dictionaries(
    {
        "source": slugs,
        "via": st.lists(slugs, max_size=2),
        "stance": st.sampled_from(["supports", "refutes", "neutral"]),
        "certainty": st.floats(0.01, 1),
        "count": st.just(1),
        "observed_at": st.just(T0),
    },
    optional={"url": st.just("https://example.org/a?b=1"), "quote": texts},
)
claims = st.fixed_dictionaries(
    {
        "text": texts,
        "prior": st.none() | st.floats(0.01, 0.99),
        "question": st.none() | slugs,
        "tags": st.lists(
            st.text(st.characters(codec="ascii"), min_size=1), max_size=3, unique=True
        ),
        "attributions": st.lists(attributions, max_size=4),
        "confidence": st.floats(0, 1),
    }
)
priors = st.none() | st.sampled_from([{"grade": "B"}, {"alpha": 3.0, "beta": 1.5}])


def document(claim_id: str, drawn: dict[str, Any]) -> dict[str, Any]:
    """A claim as GET /v1/claims/{id} serves it."""
    confidence = drawn["confidence"]
    return {
        "id": claim_id,
        "text": drawn["text"],
        "prior": drawn["prior"],
        "question": drawn["question"],
        "tags": sorted(drawn["tags"]),
        "status": "open",
        "resolution": None,
        "score": {
            "confidence": confidence,
            "interval": [confidence / 2, (1 + confidence) / 2],
            "estimative": "likely",
            "credibility": 3,
            "admiralty": "C3",
            "independent_sources": 1.0,
            "summary": "A sentence.",
        },
        "created_at": T0,
        "updated_at": T1,
        "attributions": drawn["attributions"],
    }


def request_form(doc: dict[str, Any]) -> dict[str, Any]:
    """What POST /v1/claims would be given to store ``doc`` again."""
    form = {"id": doc["id"], "text": doc["text"], "attributions": doc["attributions"]}
    for key in ("prior", "question"):
        if doc[key] is not None:
            form[key] = doc[key]
    if doc["tags"]:
        form["tags"] = doc["tags"]
    return form


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims, min_size=1, max_size=4), st.dictionaries(slugs, priors, max_size=4))
def test_export_then_import_gives_the_same_claims_and_priors(
    drawn: list[dict[str, Any]], defined: dict[str, Any]
) -> None:
    docs = [document(f"claim-{i}", d) for i, d in enumerate(drawn)]
    sources = {
        sid: {"name": f"Source {sid}", "kind": "news-agency", "prior": prior, "grade": "B"}
        for sid, prior in defined.items()
    }
    text = claims_bundle(docs, sources)
    parsed = stix2.parse(text, allow_custom=True)
    notes = [o for o in parsed.objects if o.type == "note"]
    assert [n.confidence for n in notes] == [round(d["score"]["confidence"] * 100) for d in docs]
    assert claims_bundle(docs, sources) == text, "re-export is not stable"

    imported = bundle_requests(json.loads(text))
    assert imported.claims == [request_form(d) for d in docs]
    named = {s for d in docs for a in d["attributions"] for s in (a["source"], *a["via"])}
    assert set(imported.sources) == named
    for sid, definition in imported.sources.items():
        prior = defined.get(sid)
        assert definition.get("prior") == prior
        assert definition.get("name") == (f"Source {sid}" if sid in defined else None)


def test_identities_carry_opencti_reliability_and_notes_their_urls() -> None:
    doc = document(
        "c1",
        {
            "text": "Ships wait",
            "prior": None,
            "question": None,
            "tags": [],
            "confidence": 0.8401,
            "attributions": [
                {
                    "source": "sca",
                    "via": ["ap"],
                    "stance": "supports",
                    "certainty": 1.0,
                    "count": 1,
                    "observed_at": T0,
                    "url": "https://ap.example/1",
                    "quote": "q",
                },
            ],
        },
    )
    bundle = json.loads(claims_bundle([doc], {"sca": {"name": "Canal authority", "grade": "C"}}))
    by_id = {o["id"]: o for o in bundle["objects"]}
    sca = by_id[stix_id("identity", "sca")]
    assert sca["x_opencti_reliability"] == "C - Fairly reliable"
    assert sca["name"] == "Canal authority"
    assert by_id[stix_id("identity", "ap")]["x_opencti_reliability"] == (
        "F - Reliability cannot be judged"
    )
    note = by_id[stix_id("note", "c1")]
    assert note["confidence"] == 84
    assert note["created_by_ref"] == CREDENCE_IDENTITY
    assert note["external_references"] == [
        {"source_name": "sca", "url": "https://ap.example/1", "description": "q"}
    ]
    assert set(note["object_refs"]) == {stix_id("identity", "sca"), stix_id("identity", "ap")}


def test_reports_and_notes_become_claims_of_their_authors() -> None:
    imported = bundle_requests(foreign_bundle())
    wire, blog = WIRE, BLOG
    assert imported.claims == [
        {
            "id": "report--aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            "text": "Port closed\n\nThe port closed on Monday.",
            "tags": ["ports"],
            "attributions": [
                {
                    "source": wire,
                    "certainty": 0.7,
                    # When the report was published, not when it was imported.
                    "observed_at": "2024-02-01T00:00:00Z",
                    "url": "https://wire.example/1",
                }
            ],
        },
        {
            "id": "note--aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff",
            "text": "The port reopened.",
            "attributions": [
                {"source": blog, "stance": "neutral", "observed_at": "2024-02-01T00:00:00Z"}
            ],
        },
    ]
    assert imported.sources == {
        wire: {"name": "Wire", "kind": "organization", "prior": {"grade": "B"}},
        blog: {"name": "Blog", "prior": {"reliability": 0.3, "strength": 10.0}},
    }
    assert imported.locate("claims.0", "attributions.0.certainty") == "objects.3.confidence"
    assert imported.locate("claims.1", "text") == "objects.4.content"
    assert imported.locate("claims.0", "attributions.0.observed_at") == "objects.3.published"
    assert imported.locate(f"source:{wire}", "prior.grade") == "objects.0.x_opencti_reliability"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(type="report"), "type"),
        (lambda b: b.update(objects={}), "objects"),
        (lambda b: b["objects"][4].pop("content"), "objects.4.content"),
        (lambda b: b["objects"][3].update(confidence=101), "objects.3.confidence"),
        (
            lambda b: b["objects"][0].update(x_opencti_reliability="Z - Maybe"),
            "objects.0.x_opencti_reliability",
        ),
        (lambda b: b["objects"][4].update(created_by_ref="nobody"), "objects.4.created_by_ref"),
        (lambda b: b["objects"].append(7), "objects.6.type"),
        (lambda b: b["objects"].append(dict(b["objects"][4])), "objects.6"),
    ],
)
def test_bad_bundles_name_the_field(change: Any, field: str) -> None:
    bundle = foreign_bundle()
    change(bundle)
    with pytest.raises(BundleError) as raised:
        bundle_requests(bundle)
    assert field in raised.value.errors, raised.value.errors


def test_a_body_that_is_no_object_is_refused() -> None:
    with pytest.raises(BundleError) as raised:
        bundle_requests([1, 2])
    assert list(raised.value.errors) == ["body"]
