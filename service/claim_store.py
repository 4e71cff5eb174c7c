"""Storing claims and their scores, inside the caller's transaction.

Writes are race-safe for concurrent writers of the same ids: claims are
upserted with the dialect's ``INSERT ... ON CONFLICT`` in id order (so two
batches lock shared rows in the same order and cannot deadlock on PostgreSQL;
SQLite writers queue on ``BEGIN IMMEDIATE``), and a claim's attributions and
tags are replaced only after its row is locked by that upsert.

Every score written here gets a history row (``score_history``) with the
reason that moved it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, selectinload

import scoring
from service.db import upsert_statement
from service.models import Attribution, Claim, ClaimTag, Score, ScoreHistory
from service.representations import score_values

# Rows per multi-row INSERT: SQLite allows 32,766 bound parameters per statement.
_ROWS_PER_STATEMENT = 1_000
# Ids per IN (...) list, for the same reason.
_IDS_PER_QUERY = 5_000

CREATED = "created"
UPDATED = "updated"
ATTRIBUTIONS = "attributions"
SIBLING = "sibling"
"""A claim whose question gained or changed an answer: its share of the question moved."""

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def new_claim_id() -> str:
    return f"c-{secrets.token_hex(8)}"


def save_claims(session: Session, claims: Sequence[Mapping[str, Any]], now: datetime) -> list[str]:
    """Create or replace claims (validated request dicts); their ids in request order.

    A claim given an existing id is updated whole: text, prior, question, tags
    and attributions; its status and resolution stay.
    """
    ids = [c.get("id") or new_claim_id() for c in claims]
    by_id = sorted(zip(ids, claims, strict=True), key=lambda pair: pair[0])
    for chunk in _chunks(by_id, _ROWS_PER_STATEMENT):
        statement = upsert_statement(session, Claim).values(
            [
                {
                    "id": claim_id,
                    "text": c["text"],
                    "prior": c.get("prior"),
                    "question": c.get("question"),
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                }
                for claim_id, c in chunk
            ]
        )
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[Claim.id],
                set_={
                    "text": excluded.text,
                    "prior": excluded.prior,
                    "question": excluded.question,
                    "updated_at": excluded.updated_at,
                },
            )
        )
    for chunk_ids in _chunks(sorted(ids), _IDS_PER_QUERY):
        session.execute(delete(Attribution).where(Attribution.claim_id.in_(chunk_ids)))
        session.execute(delete(ClaimTag).where(ClaimTag.claim_id.in_(chunk_ids)))
    _insert_attributions(
        session,
        [
            (claim_id, position, a)
            for claim_id, c in by_id
            for position, a in enumerate(c["attributions"])
        ],
        now,
    )
    tags = [
        {"claim_id": claim_id, "tag": tag}
        for claim_id, c in by_id
        for tag in dict.fromkeys(c.get("tags", ()))
    ]
    if tags:
        session.execute(insert(ClaimTag), tags)
    return ids


def existing_ids(session: Session, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids, _IDS_PER_QUERY):
        found.update(session.scalars(select(Claim.id).where(Claim.id.in_(chunk))))
    return found


def add_attributions(
    session: Session, claim: Claim, attributions: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """Append attributions to a stored claim (locked by the caller)."""
    start = session.scalar(
        select(func.coalesce(func.max(Attribution.position) + 1, 0)).where(
            Attribution.claim_id == claim.id
        )
    )
    _insert_attributions(
        session, [(claim.id, (start or 0) + i, a) for i, a in enumerate(attributions)], now
    )
    claim.updated_at = now


def _insert_attributions(
    session: Session, rows: Sequence[tuple[str, int, Mapping[str, Any]]], now: datetime
) -> None:
    if not rows:
        return
    session.execute(
        insert(Attribution),
        [
            {
                "claim_id": claim_id,
                "position": position,
                "source_id": a["source"],
                "stance": a["stance"],
                "via": list(a["via"]),
                "certainty": a["certainty"],
                "count": a["count"],
                "observed_at": a.get("observed_at") or now,
                "url": a.get("url"),
                "quote": a.get("quote"),
            }
            for claim_id, position, a in rows
        ],
    )


def load_claims(session: Session, ids: Sequence[str]) -> dict[str, Claim]:
    """Claims with their attributions, tags, score and resolution, by id."""
    found: dict[str, Claim] = {}
    options = (
        selectinload(Claim.attributions),
        selectinload(Claim.tags),
        selectinload(Claim.score),
        selectinload(Claim.resolution),
    )
    for chunk in _chunks(ids, _IDS_PER_QUERY):
        query = select(Claim).where(Claim.id.in_(chunk)).options(*options)
        found.update(
            (c.id, c) for c in session.scalars(query.execution_options(populate_existing=True))
        )
    return found


def model_claim(claim: Claim) -> scoring.Claim:
    """A stored claim as the scoring library's input."""
    return scoring.Claim(
        attributions=tuple(
            scoring.Attribution(a.source_id, a.stance, tuple(a.via), a.certainty, a.count)  # type: ignore[arg-type]
            for a in claim.attributions
        ),
        prior=claim.prior,
        question=claim.question,
        id=claim.id,
    )


@dataclass(frozen=True)
class Scored:
    claim: Claim
    score: dict[str, Any]
    """``score_values`` of the new score."""


def score_stored(
    session: Session,
    ids: Sequence[str],
    *,
    scorer: scoring.ClaimScorer,
    beliefs: Mapping[str, scoring.SourceBelief],
    reasons: Mapping[str, str],
    now: datetime,
    job_id: str | None = None,
) -> list[Scored]:
    """Score stored claims with ``beliefs`` and write their scores and history rows.

    Claims sharing a question are scored together with their stored siblings,
    whose changed scores are written too (reason ``sibling``). Returns the
    scored claims of ``ids`` in that order. ``reasons`` gives each id's history
    reason (``created``, ``updated``, ``attributions``, or a job's own).
    """
    targets = load_claims(session, ids)
    questions = sorted({c.question for c in targets.values() if c.question})
    siblings: dict[str, Claim] = {}
    for chunk in _chunks(questions, _IDS_PER_QUERY):
        query = (
            select(Claim.id).where(Claim.question.in_(chunk)).where(Claim.id.not_in(list(targets)))
        )
        siblings.update(load_claims(session, list(session.scalars(query))))
    scored = list(targets.values()) + list(siblings.values())
    scores = scorer.score([model_claim(c) for c in scored], beliefs)
    values = {s.claim_id: score_values(s, now) for s in scores}
    moved_siblings = [
        c.id
        for c in siblings.values()
        if c.score is None or abs(c.score.confidence - values[c.id]["confidence"]) > 1e-12
    ]
    write_scores(
        session,
        [values[claim_id] for claim_id in [*targets, *moved_siblings]],
        {**reasons, **dict.fromkeys(moved_siblings, SIBLING)},
        job_id=job_id,
    )
    return [Scored(targets[claim_id], values[claim_id]) for claim_id in ids]


def write_scores(
    session: Session,
    scores: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, str],
    *,
    job_id: str | None = None,
    changes: Mapping[str, list[Any]] | None = None,
) -> None:
    """Replace the current scores (``score_values`` dicts) and add a history row for each."""
    if not scores:
        return
    ordered = sorted(scores, key=lambda s: s["claim_id"])
    for chunk in _chunks(ordered, _ROWS_PER_STATEMENT // 2):
        statement = upsert_statement(session, Score).values(
            [{**s, "job_id": job_id} for s in chunk]
        )
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[Score.claim_id],
                set_={
                    column: getattr(excluded, column)
                    for column in (*chunk[0].keys(), "job_id")
                    if column != "claim_id"
                },
            )
        )
    session.execute(
        insert(ScoreHistory),
        [
            {
                "claim_id": s["claim_id"],
                "confidence": s["confidence"],
                "low": s["low"],
                "high": s["high"],
                "credibility": s["credibility"],
                "model": s["model"],
                "computed_at": s["computed_at"],
                "reason": reasons[s["claim_id"]],
                "job_id": job_id,
                "changes": (changes or {}).get(s["claim_id"], []),
            }
            for s in ordered
        ],
    )
