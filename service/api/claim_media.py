"""Claims in other media types than JSON: ``text/csv`` and STIX 2.1, by the request's ``Accept``.

``GET /v1/claims`` and ``GET /v1/claims/{id}`` answer JSON unless ``Accept`` prefers
one of these; a CSV or STIX page names the next one in a ``Link: <...>; rel="next"``
header.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import marshmallow as ma
from flask import Response, after_this_request, request
from werkzeug.datastructures import MIMEAccept

from service.app_state import AppState
from service.formats.claim_table import CLAIM_COLUMNS, claims_csv
from service.formats.stix_export import MEDIA_TYPE as STIX
from service.formats.stix_export import claims_bundle
from service.schemas.responses import iso_time

JSON = "application/json"
CSV = "text/csv"
_STIX_ANY = "application/stix+json"


def media_doc(json_schema: type[ma.Schema]) -> dict[str, Any]:
    """The 200 response of an operation that also answers CSV and STIX, for ``blp.doc``
    (which replaces the content ``alt_response`` documents, so JSON is named again)."""
    return {
        "responses": {
            "200": {
                "content": {
                    JSON: {"schema": json_schema},
                    **_OTHER_MEDIA,
                }
            }
        }
    }


_OTHER_MEDIA: dict[str, Any] = {
    CSV: {
        "schema": {
            "type": "string",
            "description": "A header row, then one row per claim: "
            + ", ".join(CLAIM_COLUMNS)
            + '. A page that has a next one names it in a `Link: <...>; rel="next"` header.',
        }
    },
    STIX: {
        "schema": {
            "type": "object",
            "description": "A STIX 2.1 bundle: an `identity` per source (with "
            "`x_opencti_reliability`), a `note` per claim whose `confidence` is the score "
            'x 100, rounded. A page that has a next one names it in a `Link: <...>; rel="next"` '
            "header.",
        }
    },
}


def _vary(response: Response) -> Response:
    response.vary.add("Accept")
    return response


def preferred() -> str:
    """The media type to answer with: JSON unless ``Accept`` prefers CSV or STIX.

    The response, whichever it is, says that it varies with ``Accept`` (for caches).
    """
    after_this_request(_vary)
    # Parameters (``charset=utf-8``, ``header=present``, STIX's ``version=2.1``) do not
    # choose among these types; werkzeug would let ``text/csv; charset=utf-8`` match no
    # offer and answer JSON.
    accept = MIMEAccept(
        (value.split(";", 1)[0].strip(), quality) for value, quality in request.accept_mimetypes
    )
    best = accept.best_match([JSON, CSV, _STIX_ANY], default=JSON)
    return STIX if best == _STIX_ANY else best


def csv_response(documents: Sequence[dict[str, Any]], next_url: str | None = None) -> Response:
    return _linked(Response(claims_csv(documents), mimetype=CSV), next_url)


def _linked(response: Response, next_url: str | None) -> Response:
    """``response`` naming the next page, if any, in its ``Link`` header."""
    if next_url is not None:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def _source_info(app: AppState, source_ids: set[str]) -> dict[str, dict[str, Any]]:
    grade_of = app.grader()
    info = {}
    for source_id in source_ids:
        definition = app.book.definitions.get(source_id)
        entry: dict[str, Any] = {"grade": grade_of(source_id)}
        if definition is not None:
            entry |= {
                "name": definition.name,
                "kind": definition.kind,
                "group": definition.group,
                "prior": dict(definition.prior) if definition.prior else None,
                "created_at": iso_time(definition.created_at),
                "updated_at": iso_time(definition.updated_at),
            }
        info[source_id] = entry
    return info


def stix_response(
    app: AppState, documents: Sequence[dict[str, Any]], next_url: str | None = None
) -> Response:
    """A bundle of full claim documents (with attributions) and the sources they name."""
    named = {
        s for d in documents for a in d.get("attributions", ()) for s in (a["source"], *a["via"])
    }
    bundle = claims_bundle(documents, _source_info(app, named))
    return _linked(Response(bundle, content_type=STIX), next_url)
