"""Stored claims: create or update in batches, list, read, add evidence."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from flask_smorest import abort
from marshmallow import RAISE
from sqlalchemy import ColumnElement, Float, exists, func, literal, literal_column, select
from sqlalchemy.orm import Session, selectinload

from service.api import claim_media
from service.api.blueprint import Blueprint
from service.app_state import state
from service.schemas.requests import (
    AttributionBatchSchema,
    ClaimBatchSchema,
    ClaimQuerySchema,
    StrictQuerySchema,
)
from service.schemas.responses import (
    AddedEvidenceSchema,
    ClaimPageSchema,
    GradeOf,
    StoredClaimSchema,
    StoredClaimsResponseSchema,
    claim_document,
    score_document,
    stored_claim_document,
)
from service.schemas.warnings import (
    InputWarning,
    attribution_warnings,
    claim_warnings,
    hindsight_warning,
    refuse_if_strict,
    removed_warning,
)
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store.db import UNICODE_LOWER
from service.store.models import (
    Attribution,
    Claim,
    ClaimTag,
    Score,
    confidence_percent,
    utcnow,
)
from service.store.resolutions import (
    follow_attributions,
    follow_stored,
    in_hindsight,
    judge_answers,
)
from service.store.scores import stored_score_values
from service.web.auth import requires
from service.web.database import get_session
from service.web.observability import SCORES
from service.web.pagination import decode_cursor, encode_cursor, page_limit
from service.web.problems import not_found

blp = Blueprint("claims", __name__, url_prefix="/v1", description="Stored claims and their scores.")


@blp.route("/claims", methods=["POST"])
@blp.arguments(ClaimBatchSchema())
@blp.arguments(StrictQuerySchema(), location="query", unknown=None)
@blp.alt_response(
    200, schema=StoredClaimsResponseSchema, success=True, description="Stored and scored."
)
@requires("write")
def create_claims(body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Store a batch (a claim with a known id replaces that claim) and score it.

    A re-posted claim is replaced whole (its history entry lists the attributions
    added and removed; a re-post that changes neither them nor the score adds
    none). An answer to a numeric question already resolved is
    confirmed or refuted by its figure at once, as the resolution judged the
    others. `warnings` lists valid input that is probably not what was
    meant (an undefined source, a removed attribution, ...); `?strict=true` refuses
    it with 422 and stores nothing.
    """
    app = state()
    claims = body["claims"]
    errors = question_store.value_errors(get_session(), claims, with_stored=True)
    if errors:
        abort(422, errors=errors)
    # Scored, and a batch outside any question warned about, before the session (and
    # on SQLite the write lock) is taken; answers' warnings count the stored answers.
    questions = [c["question"] for c in claims if c.get("question") is not None]
    warnings = [] if questions else claim_warnings(claims, app.book.definitions, {})
    scorer = app.setup.scorer.with_model(app.book.model)
    batch = claim_store.prepare_claims(
        claims, scorer=scorer, beliefs=app.book.beliefs, now=utcnow()
    )
    session = get_session()
    question_store.lock_questions(session, [c.get("question") for c in claims])
    stored = claim_store.store_claims(
        session,
        batch,
        scorer=scorer,
        beliefs=app.book.beliefs,
        beliefs_version=app.sources.version,
    )
    if questions:
        warnings = stored_claim_warnings(session, claims, stored, app.book.definitions)
    warnings += removed_warnings(claims, stored)
    stored = settled(session, stored)
    warnings += hindsight_warnings(claims, stored)
    # Strict: the transaction is rolled back when the session closes.
    refuse_if_strict(warnings, query.get("strict", app.settings.api.strict))
    session.commit()
    SCORES.labels("claims").inc(len(stored))
    return {
        **stored_claims_body(stored, app.grader()),
        "warnings": [w.document() for w in warnings],
    }


def settled(
    session: Session, stored: list[claim_store.StoredClaim]
) -> list[claim_store.StoredClaim]:
    """``stored`` once the resolutions it touches follow it: a resolved claim whose
    attributions changed moves its hits and misses to the sides it takes now
    (``follow_attributions``), and an answer to a numeric question already resolved
    is judged (``judge_answers``) and read back resolved. The beliefs they moved
    are read by the next request, as every request reads the beliefs first."""
    context, now = state().resolution_context(), utcnow()
    follow_stored(session, stored, context, now)
    # Figures, and answers a question judged, which may have left it.
    answers = [
        s.id
        for s in stored
        if s.claim.get("value") is not None or (s.resolution and s.resolution.question)
    ]
    judged = judge_answers(session, answers, context, now) if answers else []
    if not judged:
        return stored
    rows = claim_store.load_claims(session, judged, full=False)
    return [
        s._replace(
            status=row.status,
            updated_at=row.updated_at,
            resolution=row.resolution,
            score=stored_score_values(row.score),
        )
        if (row := rows.get(s.id)) is not None and row.score is not None
        else s
        for s in stored
    ]


def stored_claim_warnings(
    session: Session,
    claims: Sequence[Mapping[str, Any]],
    stored: Sequence[claim_store.StoredClaim],
    defined: Collection[str],
) -> list[InputWarning]:
    """``claim_warnings`` of a batch just stored (``stored``), its answers counted
    with their questions' stored answers."""
    questions = [c["question"] for c in claims if c.get("question") is not None]
    sizes = claim_store.question_sizes(session, questions) if questions else None
    same = claim_store.stored_answers(session, claims, {s.id for s in stored})
    return claim_warnings(claims, defined, sizes, same)


def removed_warnings(
    claims: Sequence[Mapping[str, Any]], stored: Sequence[claim_store.StoredClaim]
) -> list[InputWarning]:
    """A warning for each claim of the batch whose re-post removed attributions."""
    index = {c["id"]: i for i, c in enumerate(claims) if "id" in c}
    return [
        removed_warning(index[s.id], removed)
        for s in stored
        if (removed := [c for c in s.changes if c["change"] == claim_store.REMOVED])
    ]


def hindsight_warnings(
    claims: Sequence[Mapping[str, Any]], stored: Sequence[claim_store.StoredClaim]
) -> list[InputWarning]:
    """A warning for each attribution a claim of the batch gained that earns nothing
    because it was observed after the claim's outcome was recorded
    (``store.resolutions.sides_taken``); one a re-post restates was warned of when
    it came."""
    # The request's place of each stored claim: a repeated id is stored once, where it
    # first came, with its last claim (``prepare_claims``).
    last: dict[object, int] = {}
    for i, c in enumerate(claims):
        last[c.get("id") or object()] = i
    warnings = []
    for i, s in zip(last.values(), stored, strict=True):
        if s.resolution is None:
            continue
        attributions = s.claim["attributions"]
        # A new figure is a new statement of every source that gives it.
        added = (
            range(len(attributions))
            if s.refigured
            else claim_store.added_positions(s.replaced, attributions)
        )
        for j in added:
            a = attributions[j]
            if in_hindsight(a.get("observed_at") or s.updated_at, s.resolution.created_at):
                field = f"claims[{i}].attributions[{j}]"
                warnings.append(hindsight_warning(field, a["source"], s.resolution.created_at))
    return warnings


def stored_claims_body(stored: list[claim_store.StoredClaim], grade_of: GradeOf) -> dict[str, Any]:
    """The answer of a batch just stored: ``{"claims": [...]}`` in request order."""
    return {
        "claims": [
            stored_claim_document(
                s.id,
                s.claim,
                s.score,
                grade_of=grade_of,
                status=s.status,
                created_at=s.created_at,
                updated_at=s.updated_at,
                resolution=s.resolution,
            )
            for s in stored
        ]
    }


@blp.route("/claims", methods=["GET"])
@blp.arguments(ClaimQuerySchema(), location="query", unknown=RAISE)
@blp.alt_response(200, schema=ClaimPageSchema, success=True, description="One page, by id.")
@blp.doc(**claim_media.media_doc(ClaimPageSchema))
@requires("read")
def list_claims(args: dict[str, Any]) -> dict[str, Any] | Response:
    """List claims by id; filters combine with AND. `q` matches text, case-insensitively;
    `question` keeps the answers of one question.

    `Accept: text/csv` answers one flat row per claim, `Accept:
    application/stix+json;version=2.1` a STIX 2.1 bundle of the page's claims.
    """
    limit = page_limit(args.get("limit"), state().settings.limits.page_max)
    query = select(Claim).order_by(Claim.id).limit(limit + 1)
    after = decode_cursor(args.get("cursor"))
    if after is not None:
        query = query.where(Claim.id > after)
    if "source" in args:
        query = query.where(_spoken_to(Attribution, Attribution.source_id, args["source"], limit))
    if "tag" in args:
        query = query.where(_spoken_to(ClaimTag, ClaimTag.tag, args["tag"], limit))
    if "question" in args:
        query = query.where(Claim.question == args["question"])
    if "status" in args:
        status = args["status"]
        common = _holds_many(Claim.status == status, limit)
        # A common status is tested claim by claim in id order (SQLite, 190,000 open
        # claims of 200,000: 43 ms a page through ix_claims_status and a sort of every
        # open claim, 0.1 ms in id order); coalesce, a no-op on a column never NULL, is
        # the same test in a form no index covers.
        query = query.where(
            func.coalesce(Claim.status, "") == status if common else Claim.status == status
        )
    if "q" in args:
        needle = args["q"].lower()
        lower = func.lower
        if not needle.isascii() and get_session().get_bind().dialect.name == "sqlite":
            # An ASCII needle meets only ASCII letters, which SQLite's own lower() folds.
            lower = getattr(func, UNICODE_LOWER)
        query = query.where(lower(Claim.text).contains(needle, autoescape=True))
    if "min_confidence" in args or "max_confidence" in args:
        least = literal(args.get("min_confidence", 0.0), Float)
        most = literal(args.get("max_confidence", 1.0), Float)
        query = query.join(Score, Score.claim_id == Claim.id)
        query = query.where(Score.confidence >= least, Score.confidence <= most)
        percents = confidence_percent(Score.confidence).between(
            confidence_percent(least), confidence_percent(most)
        )
        # Naming the percents lets the database find the scores by their index, then sort
        # every match by id: quick for a narrow band, slow for a wide one (SQLite, 94,000
        # matches of 200,000 claims: 209 ms a page), where reading claims in id order
        # finds a page after a few hundred (5 ms).
        if not _holds_many(percents, limit):
            query = query.where(percents)
    query = query.options(
        selectinload(Claim.tags), selectinload(Claim.score), selectinload(Claim.resolution)
    )
    claims = list(get_session().scalars(query))
    more = len(claims) > limit
    claims = claims[:limit]
    app = state()
    grade_of = app.grader()
    next_cursor = encode_cursor(claims[-1].id) if more else None
    media = claim_media.preferred()
    # CSV and STIX pages name the next one in a Link header, JSON in its body.
    next_url = None
    if next_cursor is not None:
        next_url = request.base_url + "?" + urlencode({**args, "cursor": next_cursor})
    if media == claim_media.STIX:
        full = claim_store.load_claims(get_session(), [c.id for c in claims])
        documents = [claim_document(full[c.id], grade_of=grade_of) for c in claims]
        return claim_media.stix_response(app, documents, next_url)
    documents = [claim_document(c, grade_of=grade_of, full=False) for c in claims]
    if media == claim_media.CSV:
        return claim_media.csv_response(documents, next_url)
    return {"claims": documents, "next_cursor": next_cursor}


def wide_filter_rows(claims: int, limit: int) -> int:
    """How many of ``claims`` claims must pass a filter for a page of ``limit`` to be
    found sooner by testing claims one by one in id order than through the filter's
    index (SQLite; ``_holds_many``).

    Through the index, every one of the M rows that pass is read and sorted by id
    before the first page; in id order, about ``claims * limit / M`` claims are tested.
    The two cost alike at M = sqrt(claims * limit / 2): measured with a source's
    claims on SQLite, a page of 100 at 200,000 and 2,000,000 claims, where the index
    was the faster for a source on 2,000 and 5,000 claims and id order for one on
    5,000 and 20,000 (10 against 45 ms, and 45 against 10, at 2,000,000).
    """
    return max(1, math.ceil(math.sqrt(claims * limit / 2)))


def _spoken_to(
    table: type[Attribution] | type[ClaimTag], column: Any, value: str, limit: int
) -> ColumnElement[bool]:
    """Claims with a row of ``table`` (attributions, tags) whose ``column`` is ``value``.

    Most sources and tags are on few claims: IN (subquery) reads their rows through
    the column's index once, where a correlated EXISTS made SQLite probe them for
    every claim in id order (2.1 s -> 10 ms for a source's page of a 100,000-claim
    store; bench/console). One on many claims, a wire service's or a common tag, is
    tested claim by claim in id order instead, through each claim's own rows
    (coalesce keeps SQLite off the column's index): a page is found after a few
    hundred claims, where the subquery first collects every claim it is on (1 M
    attributions, a source on half of 200,000 claims: 68 -> 1 ms a page).
    """
    if _holds_many(column == value, limit):
        return exists().where(table.claim_id == Claim.id, func.coalesce(column, "") == value)
    return Claim.id.in_(select(table.claim_id).where(column == value))


def _holds_many(condition: ColumnElement[bool], limit: int) -> bool:
    """Whether, on SQLite, at least ``wide_filter_rows`` rows meet ``condition``
    (counted through its index, up to that many); False elsewhere.

    PostgreSQL's planner weighs a filter by the statistics autovacuum keeps; SQLite
    has none (nothing runs ANALYZE on it) and takes any index it can, so it is told.
    """
    session = get_session()
    if session.get_bind().dialect.name != "sqlite":
        return False
    # Claims are never deleted: the largest rowid is their number, read off the
    # table's last page.
    claims = session.scalar(select(func.max(literal_column("rowid"))).select_from(Claim))
    enough = wide_filter_rows(claims or 0, limit)
    found = select(literal_column("1")).where(condition).limit(enough).subquery()
    return session.scalar(select(func.count()).select_from(found)) == enough


@blp.route("/claims/<slug:claim_id>", methods=["GET"])
@blp.alt_response(200, schema=StoredClaimSchema, success=True, description="The claim.")
@blp.doc(**claim_media.media_doc(StoredClaimSchema))
@requires("read")
def get_claim(claim_id: str) -> dict[str, Any] | Response:
    """One claim: text, attributions, status, current score.

    `Accept: text/csv` answers it as one flat row, `Accept:
    application/stix+json;version=2.1` as a STIX 2.1 bundle.
    """
    claim = claim_store.load_claims(get_session(), [claim_id]).get(claim_id)
    if claim is None:
        not_found(f"No claim {claim_id!r}.")
    app = state()
    document = claim_document(claim, grade_of=app.grader())
    media = claim_media.preferred()
    if media == claim_media.STIX:
        return claim_media.stix_response(app, [document])
    if media == claim_media.CSV:
        return claim_media.csv_response([document])
    return document


@blp.route("/claims/<slug:claim_id>/attributions", methods=["POST"])
@blp.arguments(AttributionBatchSchema())
@blp.arguments(StrictQuerySchema(), location="query", unknown=None)
@blp.alt_response(
    200, schema=AddedEvidenceSchema, success=True, description="The new score, and warnings."
)
@requires("write")
def add_attributions(body: dict[str, Any], query: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """Add evidence to a stored claim; it is rescored at once.

    `warnings` lists valid input that is probably not what was meant (an undefined
    source, an attribution the claim already has, ...); `?strict=true` refuses it
    with 422 and stores nothing.
    """
    app = state()
    session = get_session()
    # Its question first (``lock_questions``), then the claim: concurrent additions get
    # distinct positions, and its siblings' scores are written one writer at a time.
    question_store.lock_questions(
        session, [session.scalar(select(Claim.question).where(Claim.id == claim_id))]
    )
    claim = session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update())
    if claim is None:
        not_found(f"No claim {claim_id!r}.")
    present = session.scalar(select(func.count()).where(Attribution.claim_id == claim_id)) or 0
    limit = app.settings.limits.attributions_per_claim
    if present + len(body["attributions"]) > limit:
        abort(
            422,
            errors={"attributions": [f"The claim would have more than {limit} attributions."]},
        )
    stored = claim_store.stored_attributions(session, [claim_id])[claim_id]
    warnings = attribution_warnings(
        body["attributions"], "attributions", app.book.definitions, stored
    )
    now = utcnow()
    if claim.resolution is not None:
        recorded_at = claim.resolution.created_at
        warnings += [
            hindsight_warning(f"attributions[{j}]", a["source"], recorded_at)
            for j, a in enumerate(body["attributions"])
            if in_hindsight(a.get("observed_at") or now, recorded_at)
        ]
    refuse_if_strict(warnings, query.get("strict", app.settings.api.strict))
    added = claim_store.add_attributions(session, claim, body["attributions"], now)
    if claim.resolution is not None:
        moved = [(claim.resolution, stored, [*stored, *body["attributions"]])]
        follow_attributions(session, moved, app.resolution_context(), now)
    [scored] = claim_store.score_stored(
        session,
        [claim_id],
        scorer=app.setup.scorer.with_model(app.book.model),
        beliefs=app.book.beliefs,
        beliefs_version=app.sources.version,
        reasons={claim_id: claim_store.ATTRIBUTIONS},
        now=now,
        changes={claim_id: added},
    )
    session.commit()
    SCORES.labels("attributions").inc()
    return {**score_document(scored, app.grader()), "warnings": [w.document() for w in warnings]}
