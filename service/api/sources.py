"""Sources: define one or many (admin), read one or all with track record and reliability."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from marshmallow import RAISE

from service.api.blueprint import Blueprint
from service.app_state import AppState, state
from service.schemas.requests import PageQuerySchema, SourceBatchSchema, SourceSchema
from service.schemas.responses import (
    SourceListSchema,
    SourcePageSchema,
    StoredSourceSchema,
    source_documents,
)
from service.store import questions as question_store
from service.store import sources as source_store
from service.store.models import utcnow
from service.web.auth import requires
from service.web.database import get_session
from service.web.pagination import decode_cursor, encode_cursor, page_limit
from service.web.problems import not_found

blp = Blueprint("sources", __name__, url_prefix="/v1", description="Sources and their reliability.")


def _documents(app: AppState, source_ids: Sequence[str]) -> list[dict[str, Any]]:
    session = get_session()
    records = source_store.track_records(session, source_ids)
    errors = question_store.learned_error_scales(session, source_ids)
    return source_documents(app.book, app.setup, records, source_ids, errors)


@blp.route("/sources", methods=["GET"])
@blp.arguments(PageQuerySchema(), location="query", unknown=RAISE)
@blp.alt_response(200, schema=SourcePageSchema, success=True, description="One page, by id.")
@requires("read")
def list_sources(args: dict[str, Any]) -> dict[str, Any]:
    """Defined sources (through the API or the shipped catalogue) and learned ones, by id."""
    app = state()
    limit = page_limit(args.get("limit"), app.settings.limits.page_max)
    known = sorted(set(app.book.definitions) | app.book.learned)
    after = decode_cursor(args.get("cursor"))
    start = 0 if after is None else bisect.bisect_right(known, after)
    chunk = known[start : start + limit]
    more = start + limit < len(known)
    return {
        "sources": _documents(app, chunk),
        "next_cursor": encode_cursor(chunk[-1]) if more and chunk else None,
    }


@blp.route("/sources/<slug:source_id>", methods=["GET"])
@blp.alt_response(200, schema=StoredSourceSchema, success=True, description="The source.")
@requires("read")
def get_source(source_id: str) -> dict[str, Any]:
    """A defined or learned source; others are unknown (404) and score with the unknown prior."""
    app = state()
    if source_id not in app.book.definitions and source_id not in app.book.learned:
        not_found(f"No source {source_id!r}.")
    return _documents(app, [source_id])[0]


@blp.route("/sources/<slug:source_id>", methods=["PUT"])
@blp.arguments(SourceSchema())
@blp.alt_response(200, schema=StoredSourceSchema, success=True, description="As stored.")
@requires("admin")
def put_source(body: dict[str, Any], source_id: str) -> dict[str, Any]:
    """Define or redefine a source; it replaces any catalogue entry of the same id."""
    app = state()
    session = get_session()
    source_store.save_sources(session, {source_id: body}, utcnow())
    session.commit()
    app.refresh()
    return _documents(app, [source_id])[0]


@blp.route("/sources", methods=["POST"])
@blp.arguments(SourceBatchSchema())
@blp.alt_response(
    200, schema=SourceListSchema, success=True, description="As stored, in request order."
)
@requires("admin")
def post_sources(body: dict[str, Any]) -> dict[str, Any]:
    """Define or redefine up to 10,000 sources at once, as `PUT /v1/sources/{id}` does each.

    All are stored or none (a 422 names every bad field).
    """
    app = state()
    session = get_session()
    definitions = {item.pop("id"): item for item in body["sources"]}
    source_store.save_sources(session, definitions, utcnow())
    session.commit()
    app.refresh()
    return {"sources": _documents(app, list(definitions))}
