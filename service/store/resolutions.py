"""Resolving claims and withdrawing resolutions, inside the caller's transaction.

The one code path of ``POST``/``DELETE /v1/claims/{id}/resolution`` and of
``credence import``'s ``resolution`` rows. A resolution updates at once the
track record of every source that took a side on the claim (a decayed hit or
miss added to its learned Beta, with the ``reliabilities`` counter bumped so
every process reloads); withdrawing it takes the same amounts back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

import scoring
from scoring.claims import STANCE_SIGN
from scoring.numeric import Axis, NumericQuestion
from service.scoring_model import ScoringModel
from service.settings import LearningSettings
from service.store import change_counters
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store.db import upsert_statement
from service.store.models import Attribution, Claim, Question, Resolution, SourceReliability
from service.store.source_beliefs import SourceBook

RESOLUTION = "resolution"
"""History reason of a score computed because a claim without one was resolved."""
# Clocks of clients and server differ a little; a resolution is refused only
# when it is clearly in the future.
CLOCK_SKEW = timedelta(minutes=5)
SECONDS_PER_DAY = 86_400.0
# A belief pushed down by withdrawing a resolution stays a valid Beta.
_MIN_PSEUDO_COUNT = 1e-3


class ResolutionRefused(Exception):
    """The resolution cannot be made: ``status`` is the HTTP status that says why
    (404 no such claim, 409 a conflict, 422 a bad field named in ``errors``)."""

    def __init__(
        self, status: int, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class ResolutionContext:
    """What a resolution needs of the model: settings and the current source beliefs."""

    setup: ScoringModel
    learning: LearningSettings
    book: SourceBook
    version: int | None
    """The ``reliabilities`` counter value ``book`` was read at."""


def locked_claim(session: Session, claim_id: str) -> Claim:
    """The claim with its attributions, score and resolution, locked until commit.

    Raises
    ------
    ResolutionRefused
        404 when there is no such claim.
    """
    claim = session.scalar(
        select(Claim)
        .where(Claim.id == claim_id)
        .options(
            selectinload(Claim.attributions),
            selectinload(Claim.score),
            selectinload(Claim.resolution),
        )
        .with_for_update(of=Claim)
    )
    if claim is None:
        raise ResolutionRefused(404, f"No claim {claim_id!r}.")
    return claim


def update_track_records(
    session: Session, beliefs: ResolutionContext, claim: Claim, resolution: Resolution, sign: int
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) the resolution's hits and misses."""
    age = (resolution.created_at - resolution.resolved_at).total_seconds() / SECONDS_PER_DAY
    deltas = track_record_deltas(
        sides_taken(claim.attributions),
        resolution.outcome,
        max(age, 0.0),
        beliefs.learning.half_life_days,
    )
    base = {source_id: beliefs.book.belief(source_id, beliefs.setup).belief for source_id in deltas}
    apply_track_record(session, deltas, base, sign, resolution.created_at)


def withdraw_resolution(
    session: Session, beliefs: ResolutionContext, claim: Claim, now: datetime
) -> None:
    """Withdraw a (locked) claim's resolution: open again, track records reversed."""
    if claim.resolution is None:
        return
    update_track_records(session, beliefs, claim, claim.resolution, -1)
    claim.resolution = None
    claim.status = "open"
    claim.updated_at = now


def resolve_claim(
    session: Session,
    claim_id: str,
    body: dict[str, Any],
    beliefs: ResolutionContext,
    now: datetime,
) -> Claim:
    """Resolve a claim (``body``: ``outcome``, optional ``resolved_at`` and ``note``).

    The claim's status becomes the outcome, its current score (computed now if
    it has none) is kept as the resolution's forecast, and every source that
    took a side gains a hit or a miss.

    Raises
    ------
    ResolutionRefused
        404 no such claim; 409 already resolved, or another answer to its
        question already confirmed; 422 ``resolved_at`` in the future.
    """
    resolved_at = body.get("resolved_at") or now
    if resolved_at > now + CLOCK_SKEW:
        future = "Must not be in the future."
        raise ResolutionRefused(422, future, {"resolved_at": [future]})
    claim = locked_claim(session, claim_id)
    if claim.resolution is not None:
        raise ResolutionRefused(
            409, f"Claim {claim_id!r} is already {claim.status}; withdraw it first."
        )
    # Answers of a numeric question are not exclusive: 1,450 and 1,500 can both be right.
    if body["outcome"] == "confirmed" and claim.question is not None and claim.value is None:
        rival = session.scalar(
            select(Claim.id).where(
                Claim.question == claim.question,
                Claim.id != claim.id,
                Claim.status == "confirmed",
            )
        )
        if rival is not None:
            raise ResolutionRefused(
                409,
                f"Claim {rival!r}, another answer to question {claim.question!r}, "
                "is already confirmed.",
            )
    if claim.score is not None:
        forecast = claim.score.confidence
    else:
        [scored] = claim_store.score_stored(
            session,
            [claim_id],
            scorer=beliefs.setup.scorer,
            beliefs=beliefs.book.beliefs,
            beliefs_version=beliefs.version,
            reasons={claim_id: RESOLUTION},
            now=now,
        )
        forecast = scored["confidence"]
    resolution = Resolution(
        claim_id=claim_id,
        outcome=body["outcome"],
        resolved_at=resolved_at,
        note=body.get("note"),
        forecast=forecast,
        created_at=now,
    )
    session.add(resolution)
    claim.status = body["outcome"]
    claim.updated_at = now
    update_track_records(session, beliefs, claim, resolution, +1)
    return claim


# --- the incremental track-record update -------------------------------------------


def sides_taken(attributions: Iterable[Attribution]) -> list[tuple[str, int]]:
    """Each original source's side on a claim, once per side however many channels."""
    sides = {
        (a.source_id, STANCE_SIGN[a.stance]) for a in attributions if STANCE_SIGN[a.stance] != 0
    }
    return sorted(sides)


def track_record_deltas(
    sides: Sequence[tuple[str, int]],
    outcome: str,
    age_days: float,
    half_life_days: float,
) -> dict[str, tuple[float, float]]:
    """The decayed hit or miss a resolution adds to each source's Beta, as (d_alpha, d_beta)."""
    if not sides:
        return {}
    ids = sorted({source_id for source_id, _ in sides})
    index = {source_id: i for i, source_id in enumerate(ids)}
    truth = 1 if outcome == "confirmed" else -1
    hits, misses = scoring.decayed_counts(
        [index[s] for s, _ in sides],
        [sign == truth for _, sign in sides],
        np.full(len(sides), age_days),
        len(ids),
        half_life_days,
    )
    return {source_id: (float(hits[i]), float(misses[i])) for source_id, i in index.items()}


def apply_track_record(
    session: Session,
    deltas: Mapping[str, tuple[float, float]],
    base: Mapping[str, scoring.Beta],
    sign: int,
    now: datetime,
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) hits and misses, in the caller's transaction.

    A source without a learned row starts from ``base`` (its current belief).
    The update is one atomic upsert per source, so concurrent resolutions
    touching one source both count. Bumps the ``reliabilities`` counter and
    stamps the rows with its new value.
    """
    version = change_counters.bump(session, change_counters.RELIABILITIES)
    # SQLite's two-argument max() is PostgreSQL's greatest().
    greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
    for source_id in sorted(deltas):
        d_alpha, d_beta = (sign * d for d in deltas[source_id])
        start = base[source_id]
        statement = upsert_statement(session, SourceReliability).values(
            source_id=source_id,
            alpha=max(start.alpha + d_alpha, _MIN_PSEUDO_COUNT),
            beta=max(start.beta + d_beta, _MIN_PSEUDO_COUNT),
            job_id=None,
            updated_at=now,
            reliabilities_version=version,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[SourceReliability.source_id],
                set_={
                    "alpha": greatest(SourceReliability.alpha + d_alpha, _MIN_PSEUDO_COUNT),
                    "beta": greatest(SourceReliability.beta + d_beta, _MIN_PSEUDO_COUNT),
                    "updated_at": now,
                    "reliabilities_version": version,
                },
            )
        )


def withdraw_question_resolution(
    session: Session, question_id: str, beliefs: ResolutionContext, now: datetime
) -> None:
    """Withdraw a numeric question's resolution and each of its answers'.

    Raises
    ------
    ResolutionRefused
        404 when the question has no resolution.
    """
    row = session.get(Question, question_id, with_for_update=True)
    if row is None or row.resolved_value is None:
        raise ResolutionRefused(404, f"Question {question_id!r} has no resolution.")
    for claim_id, _ in question_store.stored_values(session, question_id):
        withdraw_resolution(session, beliefs, locked_claim(session, claim_id), now)
    row.resolved_value = None
    row.resolved_at = None
    row.resolution_note = None
    row.updated_at = now


def numeric_outcomes(
    session: Session, question_id: str, body: Mapping[str, Any], now: datetime
) -> dict[str, str]:
    """Record a numeric question's true value; each answer's outcome by its tolerance, by id.

    Raises
    ------
    ResolutionRefused
        409 already resolved; 422 a choice question, or a value that does not
        fit the question (not positive on a log scale).
    """
    row = session.get(Question, question_id, with_for_update=True)
    stored = question_store.stored_values(session, question_id)
    numeric = (row is not None and row.kind == question_store.NUMERIC) or (
        row is None and any(value is not None for _, value in stored)
    )
    if not numeric:
        message = f"Question {question_id!r} is a choice question: resolve its claims."
        raise ResolutionRefused(422, message, {"value": [message]})
    if row is not None and row.resolved_value is not None:
        raise ResolutionRefused(409, f"Question {question_id!r} is already resolved.")
    definition = (
        question_store.numeric_question(row) if row is not None else NumericQuestion(question_id)
    )
    truth = float(body["value"])
    if definition.scale == "log" and truth <= 0:
        message = "A log-scale question's value must be positive."
        raise ResolutionRefused(422, message, {"value": [message]})
    figures = {claim_id: question_store.figure_of(value) for claim_id, value in stored}
    axis = Axis.of(definition, [f for f in figures.values() if f is not None])
    x = float(axis.to_axis(truth))
    outcomes = {}
    for claim_id, figure in figures.items():
        assert figure is not None
        low, high = axis.window(figure)
        outcomes[claim_id] = "confirmed" if low <= x <= high else "refuted"
    if row is None:
        row = Question(id=question_id, kind=question_store.NUMERIC, created_at=now, updated_at=now)
        session.add(row)
    row.resolved_value = truth
    row.resolved_at = body.get("resolved_at") or now
    row.resolution_note = body.get("note")
    row.updated_at = now
    return outcomes
