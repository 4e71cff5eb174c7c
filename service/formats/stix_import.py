"""A STIX 2.1 bundle as request bodies: its reports and notes as claims, their authors as sources.

Each ``note`` (its ``content``) and ``report`` (its ``name``, then its
``description``) becomes a claim, and the ``identity`` that created it
(``created_by_ref``) a source supporting it, with the object's ``confidence`` as
the attribution's certainty (0 is on record without taking a side: neutral) and
its first external reference's URL as the attribution's, observed when the report
was ``published`` (else when the object was ``created``). A source's prior comes
from the identity's ``x_opencti_reliability`` (an Admiralty grade), else from its
``confidence`` (a reliability worth ``CONFIDENCE_STRENGTH`` observations). Claim
and source ids are the STIX ids; the object's ``labels`` are the claim's tags.

Objects exported by Credence (``stix_export``; they carry ``x_credence_id``) are
read back as they were: ids, attributions with stances and relays, priors and
questions come from their ``x_credence_*`` properties.

Other object types are ignored. Every object read is checked by the ``stix2``
library; problems are reported by field path (``objects.3.content``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import stix2
from stix2.exceptions import ExtraPropertiesError, InvalidValueError, MissingPropertiesError

from service.formats.admiralty import grade_of_opencti

CLAIM_TYPES = ("note", "report")
# How many observations an identity's STIX confidence is worth as a prior: as
# much as the Admiralty grades C-E in config/default.toml.
CONFIDENCE_STRENGTH = 10.0

Errors = dict[str, list[str]]


@dataclass
class Imported:
    """The request bodies read from a bundle.

    ``sources`` maps a source id to its definition (the body of PUT
    /v1/sources/{id}); ``claims`` are claims as in POST /v1/claims. ``where``
    maps request paths (``claims.0``, ``claims.0.text``; a source's as
    ``source:<id>``, ``source:<id>.prior``) to the bundle paths they were read
    from (``objects.3``, ``objects.3.content``), so that what the request schemas
    find later names the bundle's field (``locate``).
    """

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[dict[str, Any]] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)

    def locate(self, base: str, path: str = "") -> str:
        """The bundle path of ``path`` under ``base`` (``claims.0``, ``source:<id>``): its
        longest prefix that was read from the bundle, with the rest kept."""
        parts = path.split(".") if path else []
        for cut in range(len(parts), -1, -1):
            key = ".".join((base, *parts[:cut]))
            if key in self.where:
                return ".".join((self.where[key], *parts[cut:]))
        return ".".join((base, *parts))


class BundleError(ValueError):
    """A bundle that cannot be read; ``errors`` maps field paths to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


def _checked(path: str, obj: Mapping[str, Any], errors: Errors) -> bool:
    """Whether stix2 reads ``obj`` as valid STIX 2.1; if not, its problems go to ``errors``."""
    confidence = obj.get("confidence")
    if confidence is not None and (type(confidence) is not int or not 0 <= confidence <= 100):
        # stix2 takes any integer; STIX 2.1 allows 0 to 100.
        errors.setdefault(f"{path}.confidence", []).append("An integer from 0 to 100.")
        return False
    try:
        stix2.parse(dict(obj), allow_custom=True, version="2.1")
        return True
    except MissingPropertiesError as exc:
        for prop in exc.properties:
            errors.setdefault(f"{path}.{prop}", []).append("Missing data for required field.")
    except ExtraPropertiesError as exc:
        for prop in exc.properties:
            errors.setdefault(f"{path}.{prop}", []).append("Not a property of this type.")
    except InvalidValueError as exc:
        errors.setdefault(f"{path}.{exc.prop_name}", []).append(exc.reason)
    except Exception as exc:
        # Anything else stix2 cannot read is no STIX object either: a 422, never a 500.
        errors.setdefault(path, []).append(str(exc) or type(exc).__name__)
    return False


def _credence_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("x_credence_id")
    return value if isinstance(value, str) else None


def _source(
    identity: Mapping[str, Any], path: str, errors: Errors
) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition an identity stands for, and by definition field the property it came from."""
    source_id = _credence_id(identity)
    if source_id is not None:
        # Exported by Credence: its own properties say exactly what was defined.
        keys = {"kind": "x_credence_kind", "group": "x_credence_group", "prior": "x_credence_prior"}
        if identity["name"] != source_id:  # the export names an unnamed source by its id
            keys["name"] = "name"
        definition = {k: identity[v] for k, v in keys.items() if v in identity}
        return definition, {k: f"{path}.{v}" for k, v in keys.items()}
    definition = {"name": identity["name"]}
    origins = {"name": f"{path}.name"}
    if identity.get("identity_class"):
        definition["kind"] = identity["identity_class"]
        origins["kind"] = f"{path}.identity_class"
    reliability = identity.get("x_opencti_reliability")
    if reliability is not None:
        letter = grade_of_opencti(reliability) if isinstance(reliability, str) else None
        if letter is None:
            errors.setdefault(f"{path}.x_opencti_reliability", []).append(
                'An Admiralty letter A-F, e.g. "B - Usually reliable".'
            )
        definition["prior"] = {"grade": letter}
    elif identity.get("confidence") is not None:
        # 0 and 100 are certainties no Beta prior holds: the nearest ones that do.
        confidence = min(max(int(identity["confidence"]), 1), 99)
        definition["prior"] = {"reliability": confidence / 100, "strength": CONFIDENCE_STRENGTH}
    if "prior" in definition:
        # Every part of a prior read from one property is that property.
        prop = "x_opencti_reliability" if reliability is not None else "confidence"
        for key in ("", *(f".{k}" for k in definition["prior"])):
            origins[f"prior{key}"] = f"{path}.{prop}"
    return definition, origins


def _claim(
    obj: Mapping[str, Any], author: str | None, path: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The claim a note or report states, and by claim field the property it came from."""
    own_id = _credence_id(obj)
    claim: dict[str, Any] = {"id": own_id or obj["id"].lower()}
    origins = {"id": f"{path}.x_credence_id" if own_id else f"{path}.id"}
    if obj["type"] == "note":
        claim["text"] = obj["content"]
        origins["text"] = f"{path}.content"
    else:
        claim["text"] = "\n\n".join(p for p in (obj["name"], obj.get("description")) if p)
        origins["text"] = f"{path}.name"
    if obj.get("labels"):
        claim["tags"] = list(obj["labels"])
        origins["tags"] = f"{path}.labels"
    if own_id is not None:
        for key in ("question", "prior", "value", "attributions"):
            # Named even when absent: a claim's missing value is its missing property.
            origins[key] = f"{path}.x_credence_{key}"
            if obj.get(f"x_credence_{key}") is not None:
                claim[key] = obj[f"x_credence_{key}"]
        claim.setdefault("attributions", [])
        return claim, origins
    claim["attributions"] = []
    if author is not None:
        attribution: dict[str, Any] = {"source": author}
        origins["attributions.0.source"] = f"{path}.created_by_ref"
        confidence = obj.get("confidence")
        if confidence == 0:
            attribution["stance"] = "neutral"
        elif confidence is not None:
            attribution["certainty"] = confidence / 100
            origins["attributions.0.certainty"] = f"{path}.confidence"
        # When the statement was made: a report's publication, else the object's creation
        # (the import's own time would make a year-old report read as today's).
        when = "published" if obj["type"] == "report" and obj.get("published") else "created"
        if obj.get(when) is not None:
            attribution["observed_at"] = obj[when]
            origins["attributions.0.observed_at"] = f"{path}.{when}"
        references = obj.get("external_references", ())
        url = next((r["url"] for r in references if r.get("url")), None)
        if url is not None:
            attribution["url"] = url
            origins["attributions.0.url"] = f"{path}.external_references"
        claim["attributions"].append(attribution)
    return claim, origins


def _named_sources(attributions: Any) -> set[str]:
    named: set[str] = set()
    for a in attributions if isinstance(attributions, list) else ():
        if isinstance(a, Mapping):
            via = a.get("via")
            chain = (a.get("source"), *(via if isinstance(via, list) else ()))
            named.update(s for s in chain if isinstance(s, str))
    return named


def bundle_requests(bundle: Any) -> Imported:
    """The sources and claims of a STIX 2.1 bundle (its JSON, parsed).

    Only identities that an imported claim names (as its author, or in its
    attributions) become sources.

    Raises
    ------
    BundleError
        Naming every offending field: ``type``, ``objects``, ``objects.3.content``,
        ``objects.5.x_opencti_reliability`` ...
    """
    if not isinstance(bundle, Mapping):
        raise BundleError({"body": ["A STIX 2.1 bundle: a JSON object."]})
    errors: Errors = {}
    if bundle.get("type") != "bundle":
        errors["type"] = ['Must be "bundle".']
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        errors["objects"] = ["A list of STIX objects."]
        raise BundleError(errors)
    identities: dict[str, tuple[str, Mapping[str, Any]]] = {}
    statements: list[tuple[str, Mapping[str, Any]]] = []
    for i, obj in enumerate(objects):
        path = f"objects.{i}"
        if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
            errors.setdefault(f"{path}.type", []).append("Every object needs a type.")
        elif obj["type"] in ("identity", *CLAIM_TYPES) and _checked(path, obj, errors):
            if obj["type"] == "identity":
                identities[obj["id"]] = (path, obj)
            else:
                statements.append((path, obj))
    source_ids = {stix: _credence_id(obj) or stix.lower() for stix, (_, obj) in identities.items()}
    imported = Imported()
    claim_paths: dict[str, str] = {}
    named: set[str] = set()
    for path, obj in statements:
        author = obj.get("created_by_ref")
        author_id = source_ids.get(author, author.lower()) if author is not None else None
        claim, origins = _claim(obj, author_id, path)
        if claim["id"] in claim_paths:
            errors.setdefault(path, []).append(f"The same claim as {claim_paths[claim['id']]}.")
            continue
        claim_paths[claim["id"]] = path
        base = f"claims.{len(imported.claims)}"
        imported.where[base] = path
        imported.where.update({f"{base}.{k}": v for k, v in origins.items()})
        imported.claims.append(claim)
        named |= _named_sources(claim["attributions"])
    for stix, (path, obj) in identities.items():
        source_id = source_ids[stix]
        if source_id in named:
            definition, origins = _source(obj, path, errors)
            imported.sources[source_id] = definition
            imported.where[f"source:{source_id}"] = path
            imported.where.update({f"source:{source_id}.{k}": v for k, v in origins.items()})
    if errors:
        raise BundleError(errors)
    return imported
