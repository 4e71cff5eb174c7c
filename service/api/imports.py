"""POST /v1/import/stix: a STIX 2.1 bundle's reports and notes stored as claims."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import marshmallow as ma
from flask import g
from flask_smorest import abort

from service.api.blueprint import Blueprint
from service.api.claims import (
    hindsight_warnings,
    removed_warnings,
    settled,
    stored_claim_warnings,
    stored_claims_body,
)
from service.app_state import state
from service.field_errors import flatten_messages
from service.formats.stix_import import BundleError, Imported, bundle_requests
from service.schemas.requests import (
    SLUG_PATTERN,
    SLUG_RE,
    ClaimBatchSchema,
    SourceSchema,
    StixBundleSchema,
    StrictQuerySchema,
)
from service.schemas.responses import StoredClaimsResponseSchema
from service.schemas.warnings import (
    PRIOR_IGNORED,
    InputWarning,
    dotted_field,
    refuse_if_strict,
)
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store.models import Source, utcnow
from service.store.sources import save_sources
from service.web.auth import requires
from service.web.database import get_session
from service.web.observability import SCORES

blp = Blueprint("imports", __name__, url_prefix="/v1", description="Claims from other tools.")

_CLAIM_PATH = "claims."


def _sources(imported: Imported, errors: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """The bundle's source definitions, validated as PUT /v1/sources/{id} validates them."""
    valid = {}
    for source_id, definition in imported.sources.items():
        base = f"source:{source_id}"
        if not SLUG_RE.match(source_id):
            errors.setdefault(imported.locate(base), []).append(
                f"A source id must be a slug: {SLUG_PATTERN}"
            )
            continue
        try:
            valid[source_id] = SourceSchema().load(definition)
        except ma.ValidationError as exc:
            for path, messages in flatten_messages(exc.messages).items():
                errors.setdefault(imported.locate(base, path), []).extend(messages)
    return valid


def _claims(imported: Imported, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The bundle's claims, validated as POST /v1/claims validates them."""
    try:
        claims: list[dict[str, Any]] = ClaimBatchSchema().load({"claims": imported.claims})[
            "claims"
        ]
        return claims
    except ma.ValidationError as exc:
        _add_claim_errors(imported, flatten_messages(exc.messages), errors)
        return []


def _add_claim_errors(
    imported: Imported, found: dict[str, list[str]], errors: dict[str, list[str]]
) -> None:
    """``found``, errors of the claims by request path (``claims.3.value``), added to
    ``errors`` by the bundle path they came from."""
    for path, messages in found.items():
        errors.setdefault(_bundle_path(imported, path), []).extend(messages)


def _bundle_path(imported: Imported, path: str) -> str:
    """The bundle's field that the request path ``path`` (``claims.3.value``) came from."""
    if not path.startswith(_CLAIM_PATH):
        return "objects"  # the batch as a whole, e.g. too many claims
    index, _, rest = path.removeprefix(_CLAIM_PATH).partition(".")
    return imported.locate(f"claims.{index}", rest)


@blp.route("/import/stix", methods=["POST"])
@blp.arguments(
    StixBundleSchema(),
    content_type="application/stix+json;version=2.1",
    description="A STIX 2.1 bundle (sent as application/stix+json or application/json).",
)
@blp.alt_response(
    200,
    schema=StoredClaimsResponseSchema,
    success=True,
    description="Stored and scored, as POST /v1/claims.",
)
@blp.arguments(StrictQuerySchema(), location="query", unknown=None)
@requires("write")
def import_stix(bundle: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Store a STIX 2.1 bundle's reports and notes as claims, and score them.

    Each note (its `content`) or report (its `name` and `description`) is a claim
    supported by the identity that created it (`created_by_ref`), with the
    object's `confidence` as the attribution's certainty; that identity is a
    source whose prior is its `x_opencti_reliability` grade, else its
    `confidence`. Bundles exported by this service read back as they were.

    Sources already defined (through the API or the shipped catalogue) keep their
    definitions: an import adds sources, it never redefines one. A new source
    takes its prior from the bundle only when the key has the admin role, which
    defining sources needs (`PUT /v1/sources`); with the write role it is
    defined without one, and a `prior-ignored` warning names the property (in
    strict mode, a 422). Errors name the
    bundle's fields (`objects.3.content`); a bundle with any error stores nothing.
    `warnings` and `?strict=true` are as for POST /v1/claims (a note whose author
    the bundle does not define, ...), naming the bundle's fields too.
    """
    try:
        imported = bundle_requests(bundle)
    except BundleError as exc:
        abort(422, errors=exc.errors)
    errors: dict[str, list[str]] = {}
    sources = _sources(imported, errors)
    claims = _claims(imported, errors)
    session = get_session()
    # As POST /v1/claims: a numeric question's answers carry figures, a choice's none.
    _add_claim_errors(
        imported, question_store.value_errors(session, claims, with_stored=True), errors
    )
    if errors:
        abort(422, errors=errors)
    app = state()
    new = {
        source_id: definition
        for source_id, definition in sources.items()
        if source_id not in app.book.definitions
    }
    ignored = _ignored_priors(imported, new) if g.role != "admin" else []
    # Scored before the write lock, the new sources with their own priors (as
    # POST /v1/score scores given priors; a new source with a group and no prior
    # gets its group's pooled prior from the next request or re-scoring job on).
    beliefs = app.book.with_overrides(new, app.setup)
    now = utcnow()
    scorer = app.setup.scorer.with_model(app.book.model)
    batch = claim_store.prepare_claims(claims, scorer=scorer, beliefs=beliefs, now=now)
    save_sources(
        session,
        {
            source_id: definition
            for source_id, definition in new.items()
            if session.get(Source, source_id) is None
        },
        now,
    )
    question_store.lock_questions(session, [c.get("question") for c in claims])
    stored = claim_store.store_claims(
        session,
        batch,
        scorer=scorer,
        beliefs=beliefs,
        beliefs_version=app.sources.version,
    )
    stored = settled(session, stored)
    warnings = ignored + _warnings(imported, claims, stored, {*app.book.definitions, *sources})
    # Strict: the transaction is rolled back when the session closes.
    refuse_if_strict(warnings, query.get("strict", app.settings.api.strict))
    session.commit()
    SCORES.labels("import").inc(len(stored))
    return {
        **stored_claims_body(stored, app.setup.grader(beliefs)),
        "warnings": [w.document() for w in warnings],
    }


def _ignored_priors(imported: Imported, new: dict[str, dict[str, Any]]) -> list[InputWarning]:
    """Take the priors out of ``new`` sources' definitions; a warning for each.

    A write key that could give a source any prior could make its own blog
    near infallible: priors are the admin role's, as everywhere else.
    """
    warnings = []
    for source_id, definition in sorted(new.items()):
        if definition.pop("prior", None) is not None:
            warnings.append(
                InputWarning(
                    _warning_field(imported.locate(f"source:{source_id}", "prior")),
                    PRIOR_IGNORED,
                    f"Source {source_id!r} is defined without this prior: setting a "
                    "source's prior needs the admin role.",
                )
            )
    return warnings


def _warnings(
    imported: Imported,
    claims: list[dict[str, Any]],
    stored: list[claim_store.StoredClaim],
    defined: set[str],
) -> list[InputWarning]:
    """POST /v1/claims's warnings of the bundle's claims, each naming the bundle's field."""
    found = stored_claim_warnings(get_session(), claims, stored, defined)
    found += removed_warnings(claims, stored)
    found += hindsight_warnings(claims, stored)
    return [
        replace(w, field=_warning_field(_bundle_path(imported, dotted_field(w.field))))
        for w in found
    ]


def _warning_field(path: str) -> str:
    """A bundle path (``objects.4.created_by_ref``) as the API names warnings' fields:
    ``objects[4].created_by_ref``."""
    return re.sub(r"\.(\d+)", r"[\1]", path)
