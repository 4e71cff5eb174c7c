"""Claims and their sources as a STIX 2.1 bundle, built and checked by the OASIS ``stix2`` library.

Each source an attribution names (as the original source or a relay) is an
``identity`` carrying ``x_opencti_reliability`` ("B - Usually reliable"); each
claim is a ``note`` by the Credence ``identity`` whose ``confidence`` is the
score x 100, rounded, whose ``object_refs`` are its sources, whose ``labels``
are its tags and whose ``external_references`` are its attributions' URLs.
What STIX has no field for (stances, relays, certainty, priors) travels in
``x_credence_*`` properties, so ``stix_import`` reads a bundle back as it was.

Ids are UUIDv5 of the claim and source ids, and timestamps are the store's, so
exporting the same data twice gives the same bundle.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from stix2 import v21

from service.formats.admiralty import UNJUDGED, opencti_reliability

# Namespace of the UUIDv5 ids: fixed, so an id never changes between exports.
NAMESPACE = uuid.UUID("6f1c3b1e-2d0a-5c52-9b1e-6372656465ce")
CREDENCE_NAME = "Credence"
MEDIA_TYPE = "application/stix+json;version=2.1"

# STIX identity classes (an open vocabulary) for the source kinds that name one.
_IDENTITY_CLASSES = {
    "individual": "individual",
    "official": "individual",
    "group": "group",
    "system": "system",
    "class": "class",
    "organization": "organization",
}


def stix_id(kind: str, name: str) -> str:
    """``<kind>--<uuid5>`` of a Credence id: the same id on every export."""
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{name}')}"


CREDENCE_IDENTITY = stix_id("identity", CREDENCE_NAME)
# The Credence identity never changes, so neither do its timestamps.
CREDENCE_SINCE = datetime(2024, 1, 1, tzinfo=UTC)


def _time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _identity(source_id: str, source: Mapping[str, Any], first_seen: datetime) -> v21.Identity:
    kind = source.get("kind")
    created = source.get("created_at")
    modified = source.get("updated_at") or created
    return v21.Identity(
        id=stix_id("identity", source_id),
        name=source.get("name") or source_id,
        identity_class=_IDENTITY_CLASSES.get(kind, "organization") if kind else "unknown",
        created=_time(created) if created else first_seen,
        modified=_time(modified) if modified else first_seen,
        allow_custom=True,
        x_opencti_reliability=opencti_reliability(source.get("grade") or UNJUDGED),
        x_credence_id=source_id,
        x_credence_kind=kind,
        x_credence_group=source.get("group"),
        x_credence_prior=source.get("prior"),
    )


def _attribution(document: Mapping[str, Any]) -> dict[str, Any]:
    # observed_at stays: it dates the evidence. Nothing else of the stored form is dropped.
    return {k: v for k, v in document.items() if v is not None}


def _note(claim: Mapping[str, Any]) -> v21.Note:
    attributions = claim.get("attributions") or []
    sources = list(dict.fromkeys(s for a in attributions for s in (a["source"], *a["via"])))
    score = claim.get("score")
    references = [
        {
            "source_name": a["source"],
            "url": a["url"],
            **({"description": a["quote"]} if a.get("quote") else {}),
        }
        for a in attributions
        if a.get("url")
    ]
    optional: dict[str, Any] = {}
    if score is not None:
        optional["confidence"] = round(score["confidence"] * 100)
        optional["abstract"] = score["summary"]
        optional["x_credence_score"] = {
            k: score[k]
            for k in (
                "confidence",
                "interval",
                "estimative",
                "credibility",
                "admiralty",
                "independent_sources",
            )
            if k in score
        }
    if claim.get("tags"):
        optional["labels"] = list(claim["tags"])
    if references:
        optional["external_references"] = references
    return v21.Note(
        id=stix_id("note", claim["id"]),
        content=claim["text"],
        object_refs=[stix_id("identity", s) for s in sources] or [CREDENCE_IDENTITY],
        created_by_ref=CREDENCE_IDENTITY,
        created=_time(claim["created_at"]),
        modified=_time(claim["updated_at"]),
        allow_custom=True,
        x_credence_id=claim["id"],
        x_credence_status=claim["status"],
        x_credence_question=claim.get("question"),
        x_credence_prior=claim.get("prior"),
        x_credence_value=claim.get("value"),
        x_credence_attributions=[_attribution(a) for a in attributions],
        **optional,
    )


def claims_bundle(
    claims: Sequence[Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]]
) -> str:
    """A STIX 2.1 bundle (JSON text) of full claim documents and the sources they name.

    Parameters
    ----------
    claims : sequence of mapping
        Claim documents with ``attributions`` and ``score`` (as ``GET /v1/claims/{id}``).
    sources : mapping of str to mapping
        By source id: ``name``, ``kind``, ``group``, ``prior``, ``grade`` (the current
        reliability letter), ``created_at``, ``updated_at``; any may be missing. A
        source without timestamps is dated by the first claim here that names it.
    """
    first_seen: dict[str, datetime] = {}
    for claim in claims:
        created = _time(claim["created_at"])
        for a in claim.get("attributions") or []:
            for source_id in (a["source"], *a["via"]):
                if source_id not in first_seen or created < first_seen[source_id]:
                    first_seen[source_id] = created
    notes = [_note(c) for c in claims]
    credence = v21.Identity(
        id=CREDENCE_IDENTITY,
        name=CREDENCE_NAME,
        identity_class="system",
        description="Source-reliability scoring: each note's confidence is its score x 100.",
        created=CREDENCE_SINCE,
        modified=CREDENCE_SINCE,
    )
    identities = [
        _identity(source_id, sources.get(source_id, {}), first_seen[source_id])
        for source_id in sorted(first_seen)
    ]
    objects: list[Any] = [credence, *identities, *notes]
    bundle_id = f"bundle--{uuid.uuid5(NAMESPACE, ' '.join(o.id for o in objects))}"
    bundle = v21.Bundle(objects=objects, id=bundle_id, allow_custom=True)
    text: str = bundle.serialize()
    return text
