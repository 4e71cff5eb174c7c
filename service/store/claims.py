"""Storing claims and their scores, inside the caller's transaction.

Every write is one fixed Core statement run for all its rows by ``bulk.run_many``
(compiled once per process; a multi-row ``VALUES`` list would compile a new
statement per batch, which costs more than the writing). Claims are upserted with the
dialect's ``INSERT ... ON CONFLICT`` in id order (so two batches lock shared
rows in the same order and cannot deadlock on PostgreSQL; SQLite writers queue
on ``BEGIN IMMEDIATE``), and a claim's attributions and tags are replaced only
after its row is locked by that upsert.

Scores are computed from the request itself, not reloaded: claims outside any
question are scored before the write transaction begins (``prepare_claims``),
so a writer holds SQLite's write lock only for writing. Answers of a question
are scored in the transaction, together with the stored answers they compete
with.

Scores are written with their history rows by ``service.store.scores``.
A resolved claim's score is written in its resolved form
(``service.store.resolved_scores``); a resolved sibling's score is left alone.
"""

from __future__ import annotations

import functools
import math
import secrets
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Insert,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session, selectinload

import scoring
from scoring.claims import SETTLED_PRIOR
from service.store import questions as question_store
from service.store.bulk import Prepared, prepare_columns, run_many
from service.store.db import dialect_insert, slices
from service.store.models import (
    Attribution,
    Base,
    Claim,
    ClaimTag,
    Resolution,
    Score,
)
from service.store.resolved_scores import resolved_values
from service.store.scores import (
    HISTORY_COLUMNS,
    SCORE_COLUMNS,
    score_values,
    score_writes,
    write_scores,
)

# Ids per IN (...) list: SQLite binds at most 32,766 values per statement.
_IDS_PER_QUERY = 5_000
# Two bound values an answer (its question and its text).
_ANSWERS_PER_QUERY = 2_500

CREATED = "created"
UPDATED = "updated"
ATTRIBUTIONS = "attributions"
SIBLING = "sibling"
"""A claim whose question gained or changed an answer: its share of the question moved."""

_CLAIMS: Table = Base.metadata.tables[Claim.__tablename__]
_ATTRIBUTIONS: Table = Base.metadata.tables[Attribution.__tablename__]
_TAGS: Table = Base.metadata.tables[ClaimTag.__tablename__]
_SCORES: Table = Base.metadata.tables[Score.__tablename__]
_INSERT_ATTRIBUTIONS = insert(_ATTRIBUTIONS)
_INSERT_TAGS = insert(_TAGS)


# A stored score's columns that say whether a re-post changed it: all but its time.
_COMPARED = tuple(c for c in SCORE_COLUMNS if c not in ("claim_id", "computed_at"))
# Those of them a history row records, by position.
_RECORDED = [_COMPARED.index(c) for c in HISTORY_COLUMNS if c != "computed_at"]


@functools.cache
def _existed(dialect: str) -> Select[Any]:
    """Of a batch's ids (``ids``) just upserted at ``now``, the claims that were stored
    before: id, status, creation time, then their score's ``_COMPARED`` columns and
    ``computed_at`` (None without a score).

    On SQLite the ids go as one JSON array read by ``json_each``: an expanding
    ``IN`` list is rendered anew for every call, which cost more than the query
    (0.45 against 0.18 ms for 100 ids).
    """
    if dialect == "sqlite":
        ids = bindparam("ids", type_=JSON)
        listed: Any = select(literal_column("value", String)).select_from(func.json_each(ids))
    else:
        listed = bindparam("ids", expanding=True)
    scores = [_SCORES.c[column] for column in (*_COMPARED, "computed_at")]
    return (
        select(_CLAIMS.c.id, _CLAIMS.c.status, _CLAIMS.c.created_at, *scores)
        .join_from(_CLAIMS, _SCORES, _SCORES.c.claim_id == _CLAIMS.c.id, isouter=True)
        .where(
            _CLAIMS.c.id.in_(listed),
            _CLAIMS.c.created_at != bindparam("now", type_=_CLAIMS.c.created_at.type),
        )
    )


ADDED = "added"
REMOVED = "removed"
_ATTRIBUTION_FIELDS = ("source", "stance", "via", "certainty", "count", "url", "quote")


def _attribution_key(a: Mapping[str, Any]) -> tuple[Any, ...]:
    """What tells two attributions apart, ``observed_at`` aside (``first_observed``)."""
    return (
        a["source"],
        a["stance"],
        tuple(a["via"]),
        float(a["certainty"]),
        a["count"],
        a.get("url"),
        a.get("quote"),
    )


def attribution_changes(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The attributions ``after`` removed from ``before`` and added to it, as history
    ``changes`` (``{"change": "removed" | "added", "source", "stance", "via", ...}``)."""
    old = Counter(_attribution_key(a) for a in before)
    new = Counter(_attribution_key(a) for a in after)
    return [
        {"change": change, **change_fields(key)}
        for change, keys in ((REMOVED, old - new), (ADDED, new - old))
        for key in keys.elements()
    ]


def added_positions(
    before: Iterable[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[int]:
    """The positions in ``after`` of the attributions ``before`` did not have (of one
    attribution given more often than before, the later ones)."""
    left = Counter(_attribution_key(a) for a in before)
    added = []
    for position, a in enumerate(after):
        key = _attribution_key(a)
        if left[key] > 0:
            left[key] -= 1
        else:
            added.append(position)
    return added


def first_observed(
    before: Iterable[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """``after`` with each attribution that gives no ``observed_at`` observed when its
    source first took that stance in ``before``, where it did.

    A connector's daily sync re-posts what it posted before, and an analyst's edit
    re-weights it: neither is the source saying it again, so its age (which decays
    its weight in a track record) and whether it was said before the claim's outcome
    was recorded (``HINDSIGHT`` in ``store.resolutions``) stay those of the first post.
    """
    times: dict[tuple[str, str], list[datetime]] = {}
    for a in before:
        times.setdefault((a["source"], a["stance"]), []).append(a["observed_at"])
    restated = []
    for a in after:
        if a.get("observed_at") is None and (stored := times.get((a["source"], a["stance"]))):
            a = {**a, "observed_at": stored.pop(0) if len(stored) > 1 else stored[0]}
        restated.append(a)
    return restated


def change_fields(key: tuple[Any, ...]) -> dict[str, Any]:
    """An attribution key as the fields of a history change (provenance only when given)."""
    entry = dict(zip(_ATTRIBUTION_FIELDS, key, strict=True))
    entry["via"] = list(entry["via"])
    for optional in ("url", "quote"):
        if entry[optional] is None:
            del entry[optional]
    return entry


def new_claim_id() -> str:
    """A new claim's id: its creation time (milliseconds, 12 hex digits), then 64 random bits.

    Time first, as UUIDv7 does, so that new claims go to the end of every index
    keyed by claim id: random ids land on random pages of each, so that a request's
    claims dirty a page each in every index, and a request of 100 new claims cost
    about a third more from 30,000 stored claims on
    (``make bench-store-growth``; docs/scaling.md).
    """
    return f"c-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


@functools.cache
def _claim_upsert(dialect: str) -> Insert:
    """Insert a claim, or replace an existing one's text, prior and question."""
    statement = dialect_insert(dialect, _CLAIMS)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_CLAIMS.c.id],
        set_={
            "text": excluded.text,
            "prior": excluded.prior,
            "question": excluded.question,
            "value": excluded.value,
            "updated_at": excluded.updated_at,
        },
    )


def request_claim(claim_id: str | None, claim: Mapping[str, Any]) -> scoring.Claim:
    """A validated request claim as the scoring library's input."""
    attribution = scoring.Attribution
    return scoring.Claim(
        attributions=tuple(
            [
                attribution(a["source"], a["stance"], tuple(a["via"]), a["certainty"], a["count"])
                for a in claim["attributions"]
            ]
        ),
        prior=claim.get("prior"),
        question=claim.get("question"),
        id=claim_id,
        text=claim.get("text"),
        value=question_store.figure_of(claim.get("value")),
    )


@dataclass(frozen=True)
class ClaimBatch:
    """Validated request claims, each with its id, and the scores that needed no database."""

    ids: list[str]
    claims: list[Mapping[str, Any]]
    scores: dict[str, dict[str, Any]]
    """``score_values`` of the claims outside any question, by id."""
    now: datetime


def prepare_claims(
    claims: Sequence[Mapping[str, Any]],
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    now: datetime,
) -> ClaimBatch:
    """Give each claim an id (later claims with one id win) and score those outside any question.

    Touches no database: call it before the write transaction begins.
    """
    latest = {c.get("id") or new_claim_id(): c for c in claims}
    ids = list(latest)
    alone = [claim_id for claim_id, c in latest.items() if c.get("question") is None]
    scored = scorer.score([request_claim(i, latest[i]) for i in alone], beliefs)
    return ClaimBatch(
        ids,
        [latest[claim_id] for claim_id in ids],
        {s.claim_id: score_values(s, now) for s in scored if s.claim_id is not None},
        now,
    )


class StoredClaim(NamedTuple):
    """A claim of a batch as stored: the request's fields and what the store kept or computed.

    A named tuple: a frozen dataclass costs four times as much to build, 0.2 ms per
    100-claim request.
    """

    id: str
    claim: Mapping[str, Any]
    """The validated request claim."""
    status: str
    created_at: datetime
    updated_at: datetime
    resolution: Resolution | None
    score: dict[str, Any]
    """``score_values`` of its new score (resolved form when resolved)."""
    changes: list[dict[str, Any]]
    """The attributions the request added and removed (``attribution_changes``)."""
    replaced: list[dict[str, Any]]
    """The attributions stored before, as ``stored_attributions`` reads them."""
    refigured: bool
    """Whether the request gave a stored claim another figure (``refigured``)."""


def store_claims(
    session: Session,
    batch: ClaimBatch,
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    beliefs_version: int | None,
) -> list[StoredClaim]:
    """Create or replace the batch's claims and write their scores; in request order.

    A claim given an existing id is replaced whole: text, prior, question, tags
    and attributions; its status and resolution stay, and its history row lists
    the attributions added and removed (a re-post that moves neither its
    attributions nor its score keeps its score and adds no history row).
    Answers of a question are scored with their stored siblings, whose changed
    scores are written too (reason ``sibling``; resolved siblings are left
    alone). ``beliefs_version`` is the
    ``reliabilities`` counter value ``beliefs`` were read at.
    """
    if not batch.ids:
        return []
    now = batch.now
    by_id = sorted(zip(batch.ids, batch.claims, strict=True), key=lambda pair: pair[0])
    # Rows that do not depend on what is stored are prepared before the first
    # statement, which on SQLite takes the write lock that other writers queue on.
    dialect = session.get_bind().dialect
    claims = [c for _, c in by_id]
    n = len(by_id)
    claim_rows = prepare_columns(
        dialect,
        _claim_upsert(dialect.name),
        {
            "id": [claim_id for claim_id, _ in by_id],
            "text": [c["text"] for c in claims],
            "prior": [c.get("prior") for c in claims],
            "question": [c.get("question") for c in claims],
            "value": [c.get("value") for c in claims],
            "status": ["open"] * n,
            "created_at": [now] * n,
            "updated_at": [now] * n,
        },
    )
    attribution_rows = _attribution_rows(dialect, by_id, now)
    tags = [(claim_id, tag) for claim_id, c in by_id for tag in dict.fromkeys(c.get("tags", ()))]
    tag_rows = prepare_columns(
        dialect,
        _INSERT_TAGS,
        {"claim_id": [claim_id for claim_id, _ in tags], "tag": [tag for _, tag in tags]},
    )
    # The scores of a batch of new claims outside any question (the usual batch),
    # as created; rebuilt below when the store says otherwise.
    all_new_scores = (
        score_writes(
            dialect,
            list(batch.scores.values()),
            dict.fromkeys(batch.ids, CREATED),
            beliefs_version=beliefs_version,
        )
        if len(batch.scores) == len(batch.ids)
        else None
    )

    refigured = _refigured(session, by_id)
    run_many(session, claim_rows)
    # Read back after the upsert has locked the rows (PostgreSQL) or the file
    # (SQLite): only claims that existed before, whose status and creation time stay
    # (a new claim was written open at ``now``; most of a batch usually is new).
    existed: dict[str, tuple[str, datetime]] = {}
    stored_scores: dict[str, tuple[Any, ...]] = {}
    ordered_ids = [claim_id for claim_id, _ in by_id]
    existed_query = _existed(dialect.name)
    for chunk in slices(ordered_ids, _IDS_PER_QUERY):
        for claim_id, status, created_at, *score in session.execute(
            existed_query, {"ids": list(chunk), "now": now}
        ):
            existed[claim_id] = (status, created_at)
            stored_scores[claim_id] = tuple(score)
    kept = {claim_id: existed.get(claim_id, ("open", now)) for claim_id in ordered_ids}
    # What a re-post replaces, for its history row.
    existing = [claim_id for claim_id in ordered_ids if claim_id in existed]
    before = stored_attributions(session, existing)
    changes = {
        claim_id: attribution_changes(before[claim_id], c["attributions"])
        for claim_id, c in by_id
        if claim_id in before
    }
    if before.keys() - refigured:
        # A re-post restates what was observed before: when it was said stays.
        restated = {
            claim_id: {**c, "attributions": first_observed(before[claim_id], c["attributions"])}
            for claim_id, c in by_id
            if claim_id in before and claim_id not in refigured
        }
        by_id = [(claim_id, restated.get(claim_id, c)) for claim_id, c in by_id]
        attribution_rows = _attribution_rows(dialect, by_id, now)
    # A new claim has no attributions or tags to replace.
    for chunk in slices(existing, _IDS_PER_QUERY):
        session.execute(delete(_ATTRIBUTIONS).where(_ATTRIBUTIONS.c.claim_id.in_(chunk)))
        session.execute(delete(_TAGS).where(_TAGS.c.claim_id.in_(chunk)))
    run_many(session, attribution_rows)
    run_many(session, tag_rows)

    scores = dict(batch.scores)
    if all_new_scores is not None and not existed:
        for prepared in all_new_scores:
            run_many(session, prepared)
        resolutions: dict[str, Resolution] = {}
    else:
        reasons = {claim_id: UPDATED if claim_id in existed else CREATED for claim_id in batch.ids}
        answers = [(claim_id, c) for claim_id, c in by_id if claim_id not in scores]
        if answers:
            targets = [request_claim(claim_id, c) for claim_id, c in answers]
            moved = _score_with_siblings(session, targets, scorer, beliefs, now)
            scores.update(moved)
            reasons.update({claim_id: SIBLING for claim_id in moved.keys() - reasons.keys()})
        resolutions = stored_resolutions(
            session, [claim_id for claim_id in batch.ids if kept[claim_id][0] != "open"]
        )
        for claim_id, resolution in resolutions.items():
            scores[claim_id] = resolved_values(scores[claim_id], resolution)
        # A re-post that moves neither its attributions nor its score (a connector's
        # daily sync) keeps its score as computed, and its history gains no row; one
        # that moves only what a history row does not record (a resolved claim's
        # summary and evidence, read with today's beliefs) is rewritten without one.
        reworded = []
        for claim_id, stored in stored_scores.items():
            new = scores[claim_id]
            values = [new[c] for c in _COMPARED]
            if changes[claim_id] or not _same(
                [stored[i] for i in _RECORDED], [values[i] for i in _RECORDED]
            ):
                continue
            if _same(stored[:-1], values):
                scores[claim_id] = {**new, "computed_at": stored[-1]}
            else:
                reworded.append(new)
            del reasons[claim_id]
        write_scores(
            session,
            [s for s in scores.values() if s["claim_id"] in reasons],
            reasons,
            beliefs_version=beliefs_version,
            changes=changes,
        )
        if reworded:
            write_scores(
                session,
                reworded,
                dict.fromkeys((s["claim_id"] for s in reworded), UPDATED),
                beliefs_version=beliefs_version,
                history=False,
            )
    as_stored = dict(by_id)
    return [
        StoredClaim(
            claim_id,
            as_stored[claim_id],
            kept[claim_id][0],
            kept[claim_id][1],
            now,
            resolutions.get(claim_id),
            scores[claim_id],
            changes.get(claim_id, []),
            before.get(claim_id, []),
            claim_id in refigured,
        )
        for claim_id in batch.ids
    ]


def _refigured(session: Session, by_id: Sequence[tuple[str, Mapping[str, Any]]]) -> set[str]:
    """Of a batch's claims that give a figure, those stored with another figure or in
    another question: read before the upsert replaces them.

    Their sources say something new, so it is observed now, not when they first
    took that stance (``first_observed``): an outlet that corrects its figure once
    the question's value is known has not forecast it. Costs nothing for a batch
    without figures, the usual one.
    """
    figures = {claim_id: c for claim_id, c in by_id if c.get("value") is not None}
    refigured: set[str] = set()
    for chunk in slices(list(figures), _IDS_PER_QUERY):
        for claim_id, question, value in session.execute(
            select(_CLAIMS.c.id, _CLAIMS.c.question, _CLAIMS.c.value).where(_CLAIMS.c.id.in_(chunk))
        ):
            claim = figures[claim_id]
            if value != claim["value"] or question != claim.get("question"):
                refigured.add(claim_id)
    return refigured


def _same(stored: Sequence[Any], new: Sequence[Any]) -> bool:
    """Whether a score's values are those stored, its numbers to within a millionth: a
    job's vectorised scoring and a request's differ in the last bits, and a settled
    question's open answers move between 7e-10 and 4e-10 as beliefs do; no page
    or client shows a change that small."""
    return all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        if isinstance(a, float) and isinstance(b, float)
        else a == b
        for a, b in zip(stored, new, strict=True)
    )


def stored_ids(session: Session, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` the store holds a claim of."""
    found: set[str] = set()
    for chunk in slices(ids, _IDS_PER_QUERY):
        found.update(session.scalars(select(_CLAIMS.c.id).where(_CLAIMS.c.id.in_(chunk))))
    return found


def stored_resolutions(session: Session, ids: Sequence[str]) -> dict[str, Resolution]:
    """The resolutions of those of ``ids`` that have one, by claim id."""
    found: dict[str, Resolution] = {}
    for chunk in slices(ids, _IDS_PER_QUERY):
        found.update(
            (r.claim_id, r)
            for r in session.scalars(select(Resolution).where(Resolution.claim_id.in_(chunk)))
        )
    return found


def stored_attributions(session: Session, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The stored attributions of ``ids`` as request attributions, by claim id."""
    found: dict[str, list[dict[str, Any]]] = {claim_id: [] for claim_id in ids}
    a = _ATTRIBUTIONS.c
    for chunk in slices(ids, _IDS_PER_QUERY):
        for row in session.execute(
            select(
                a.claim_id,
                a.source_id,
                a.stance,
                a.via,
                a.certainty,
                a.count,
                a.observed_at,
                a.url,
                a.quote,
            )
            .where(a.claim_id.in_(chunk))
            .order_by(a.claim_id, a.position)
        ):
            found[row.claim_id].append(
                {
                    "source": row.source_id,
                    "stance": row.stance,
                    "via": row.via,
                    "certainty": row.certainty,
                    "count": row.count,
                    "observed_at": row.observed_at,
                    "url": row.url,
                    "quote": row.quote,
                }
            )
    return found


def _score_with_siblings(
    session: Session,
    targets: Sequence[scoring.Claim],
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Scores of ``targets`` and of the open stored claims of their questions whose
    confidence they move, by id (resolved siblings count in the scoring, but their
    scores are left alone). A resolved answer counts by its outcome
    (``SETTLED_PRIOR``): beside a confirmed one, the open answers have next to
    nothing, and a refuted one drops out of the question's share."""
    own = {c.id for c in targets}
    questions = sorted({c.question for c in targets if c.question is not None})
    sibling_ids: list[str] = []
    resolved: dict[str, str] = {}
    for chunk in slices(questions, _IDS_PER_QUERY):
        for claim_id, status in session.execute(
            select(_CLAIMS.c.id, _CLAIMS.c.status)
            .where(_CLAIMS.c.question.in_(chunk))
            .order_by(_CLAIMS.c.id)
        ):
            if claim_id not in own:
                sibling_ids.append(claim_id)
            if status != "open":
                resolved[claim_id] = status
    siblings = stored_claims(session, sibling_ids)
    before = stored_score_column(session, sibling_ids, "confidence")
    answers = [
        replace(c, prior=SETTLED_PRIOR[resolved[c.id] == "confirmed"]) if c.id in resolved else c
        for c in (*targets, *(siblings[i] for i in sibling_ids))
    ]
    scores = question_store.score_question(session, scorer, beliefs, answers).scores
    values = {s.claim_id: score_values(s, now) for s in scores if s.claim_id is not None}
    return {
        claim_id: v
        for claim_id, v in values.items()
        if claim_id in own
        or (
            claim_id not in resolved
            and (before.get(claim_id) is None or abs(before[claim_id] - v["confidence"]) > 1e-12)
        )
    }


def rescore_siblings(
    session: Session,
    ids: Sequence[str],
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    beliefs_version: int | None,
    now: datetime,
) -> None:
    """Write the moved scores of the open answers sharing a question with the claims
    ``ids`` (history reason ``sibling``): after those claims were resolved, which
    changes what their questions' other answers can be. ``ids`` should be the
    resolved claims that answer a question (each of them is read)."""
    if not ids:
        return
    resolved = set(ids)
    asked = [c for c in stored_claims(session, ids).values() if c.question is not None]
    scores = _score_with_siblings(session, asked, scorer, beliefs, now)
    siblings = {claim_id: v for claim_id, v in scores.items() if claim_id not in resolved}
    write_scores(
        session,
        list(siblings.values()),
        dict.fromkeys(siblings, SIBLING),
        beliefs_version=beliefs_version,
    )


def stored_claims(session: Session, ids: Sequence[str]) -> dict[str, scoring.Claim]:
    """Stored claims as the scoring library's input, by id (Core reads, no ORM objects)."""
    found: dict[str, scoring.Claim] = {}
    for chunk in slices(ids, _IDS_PER_QUERY):
        attributions: dict[str, list[scoring.Attribution]] = {claim_id: [] for claim_id in chunk}
        a = _ATTRIBUTIONS.c
        for claim_id, source, stance, via, certainty, count in session.execute(
            select(a.claim_id, a.source_id, a.stance, a.via, a.certainty, a.count)
            .where(a.claim_id.in_(chunk))
            .order_by(a.claim_id, a.position)
        ):
            attributions[claim_id].append(
                scoring.Attribution(source, stance, tuple(via), certainty, count)
            )
        c = _CLAIMS.c
        for claim_id, prior, question, text, value in session.execute(
            select(c.id, c.prior, c.question, c.text, c.value).where(c.id.in_(chunk))
        ):
            found[claim_id] = scoring.Claim(
                tuple(attributions[claim_id]),
                prior,
                question,
                claim_id,
                text,
                question_store.figure_of(value),
            )
    return found


def question_sizes(session: Session, questions: Sequence[str]) -> dict[str, int]:
    """How many stored claims answer each of ``questions``."""
    sizes: dict[str, int] = {}
    for chunk in slices(sorted(set(questions)), _IDS_PER_QUERY):
        sizes.update(
            (question, count)
            for question, count in session.execute(
                select(_CLAIMS.c.question, func.count())
                .where(_CLAIMS.c.question.in_(chunk))
                .group_by(_CLAIMS.c.question)
            )
        )
    return sizes


def stored_answers(
    session: Session, claims: Sequence[Mapping[str, Any]], batch_ids: Collection[str]
) -> dict[tuple[str, str], str]:
    """The stored claim (the first by id, outside ``batch_ids``) that gives each
    (question, text) of ``claims``' choice answers, where one does."""
    wanted = {
        (c["question"], c["text"])
        for c in claims
        if c.get("question") is not None and c.get("value") is None
    }
    found: dict[tuple[str, str], str] = {}
    # Questions and texts each matched with IN: a chunk may also fetch a text that
    # another question of the chunk gives, which the check below leaves out.
    for chunk in slices(sorted(wanted), _ANSWERS_PER_QUERY):
        query = (
            select(_CLAIMS.c.question, _CLAIMS.c.text, _CLAIMS.c.id)
            .where(
                _CLAIMS.c.question.in_({q for q, _ in chunk}),
                _CLAIMS.c.text.in_({t for _, t in chunk}),
                _CLAIMS.c.value.is_(None),
            )
            .order_by(_CLAIMS.c.id)
        )
        for question, text, claim_id in session.execute(query):
            if (question, text) in wanted and claim_id not in batch_ids:
                found.setdefault((question, text), claim_id)
    return found


def stored_score_column(
    executor: Session | Connection, ids: Sequence[str], column: str
) -> dict[str, Any]:
    """``column`` of the stored scores of those of ``ids`` that have one, by claim id."""
    found: dict[str, Any] = {}
    for chunk in slices(ids, _IDS_PER_QUERY):
        query = select(_SCORES.c.claim_id, _SCORES.c[column]).where(_SCORES.c.claim_id.in_(chunk))
        found.update(executor.execute(query).all())
    return found


def add_attributions(
    session: Session, claim: Claim, attributions: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Append attributions to a stored claim (locked by the caller); the history
    changes that say so."""
    start = session.scalar(
        select(func.coalesce(func.max(Attribution.position) + 1, 0)).where(
            Attribution.claim_id == claim.id
        )
    )
    _insert_attributions(
        session, [(claim.id, (start or 0) + i, a) for i, a in enumerate(attributions)], now
    )
    claim.updated_at = now
    return attribution_changes([], attributions)


def _attribution_rows(
    dialect: Dialect, claims: Sequence[tuple[str, Mapping[str, Any]]], now: datetime
) -> Prepared | None:
    """The rows of ``attributions`` of ``(claim id, request claim)`` pairs, prepared."""
    return prepare_columns(
        dialect,
        _INSERT_ATTRIBUTIONS,
        _attribution_columns(
            [
                (claim_id, position, a)
                for claim_id, c in claims
                for position, a in enumerate(c["attributions"])
            ],
            now,
        ),
    )


def _insert_attributions(
    session: Session, rows: Sequence[tuple[str, int, Mapping[str, Any]]], now: datetime
) -> None:
    run_many(
        session,
        prepare_columns(
            session.get_bind().dialect, _INSERT_ATTRIBUTIONS, _attribution_columns(rows, now)
        ),
    )


_NO_VIA: list[str] = []
"""The ``via`` of every direct attribution: one object, serialised once per batch."""


def _attribution_columns(
    rows: Sequence[tuple[str, int, Mapping[str, Any]]], now: datetime
) -> dict[str, list[Any]]:
    """``(claim id, position, request attribution)`` as the columns of ``attributions``."""
    attributions = [a for _, _, a in rows]
    return {
        "claim_id": [claim_id for claim_id, _, _ in rows],
        "position": [position for _, position, _ in rows],
        "source_id": [a["source"] for a in attributions],
        "stance": [a["stance"] for a in attributions],
        "via": [list(a["via"]) if a["via"] else _NO_VIA for a in attributions],
        "certainty": [a["certainty"] for a in attributions],
        "count": [a["count"] for a in attributions],
        "observed_at": [a.get("observed_at") or now for a in attributions],
        "url": [a.get("url") for a in attributions],
        "quote": [a.get("quote") for a in attributions],
    }


def load_claims(session: Session, ids: Sequence[str], *, full: bool = True) -> dict[str, Claim]:
    """Claims with their tags, score, resolution and (``full``) attributions, by id."""
    found: dict[str, Claim] = {}
    options = (
        *((selectinload(Claim.attributions),) if full else ()),
        selectinload(Claim.tags),
        selectinload(Claim.score),
        selectinload(Claim.resolution),
    )
    for chunk in slices(ids, _IDS_PER_QUERY):
        query = select(Claim).where(Claim.id.in_(chunk)).options(*options)
        found.update(
            (c.id, c) for c in session.scalars(query.execution_options(populate_existing=True))
        )
    return found


def score_stored(
    session: Session,
    ids: Sequence[str],
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    beliefs_version: int | None,
    reasons: Mapping[str, str],
    now: datetime,
    changes: Mapping[str, list[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Score stored claims with ``beliefs`` and write their scores and history rows.

    Claims sharing a question are scored together with their stored siblings,
    whose changed scores are written too (reason ``sibling``; resolved siblings
    are left alone). A resolved claim of ``ids`` gets its resolved form. Returns
    the ``score_values`` of ``ids``, in that order. ``reasons`` gives each id's
    history reason (``attributions``, ``resolution``, ...), ``changes`` its
    history row's changes.
    """
    scores = open_scores(session, ids, scorer=scorer, beliefs=beliefs, now=now)
    for claim_id, resolution in stored_resolutions(session, ids).items():
        scores[claim_id] = resolved_values(scores[claim_id], resolution)
    write_scores(
        session,
        list(scores.values()),
        {claim_id: reasons.get(claim_id, SIBLING) for claim_id in scores},
        beliefs_version=beliefs_version,
        changes=changes,
    )
    return [scores[claim_id] for claim_id in ids]


def open_scores(
    session: Session,
    ids: Sequence[str],
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """``score_values`` of stored claims as open claims, and of the open siblings whose
    confidence they move, by id; nothing is written."""
    targets = stored_claims(session, ids)
    return _score_with_siblings(session, [targets[i] for i in ids], scorer, beliefs, now)


def backdate(session: Session, created: Sequence[tuple[str, datetime]]) -> None:
    """Date claims as created at the given times where those are earlier than the
    stored ones (``credence import`` of an export: the claim was stored since then)."""
    if created:
        session.execute(
            update(_CLAIMS)
            .where(_CLAIMS.c.id == bindparam("b_id"), _CLAIMS.c.created_at > bindparam("b_at"))
            .values(created_at=bindparam("b_at")),
            [{"b_id": claim_id, "b_at": at} for claim_id, at in created],
        )
