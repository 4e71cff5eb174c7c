"""Resolving claims and withdrawing resolutions, inside the caller's transaction.

The one code path of ``POST``/``DELETE /v1/claims/{id}/resolution`` and of
``credence import``'s ``resolution`` rows. A resolution updates at once the
track record of every source that took a side on the claim (a decayed hit or
miss added to its learned Beta, with the ``reliabilities`` counter bumped so
every process reloads); withdrawing it takes the same amounts back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.jobs.learning import (
    SECONDS_PER_DAY,
    LearningSettings,
    apply_track_record,
    sides_taken,
    track_record_deltas,
)
from service.model_setup import ModelSetup
from service.store import claims as claim_store
from service.store.models import Claim, Resolution
from service.store.source_beliefs import SourceBook

RESOLUTION = "resolution"
"""History reason of a score computed because a claim without one was resolved."""
# Clocks of clients and server differ a little; a resolution is refused only
# when it is clearly in the future.
CLOCK_SKEW = timedelta(minutes=5)


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
class Beliefs:
    """What a resolution needs of the model: settings and the current source beliefs."""

    setup: ModelSetup
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
    session: Session, beliefs: Beliefs, claim: Claim, resolution: Resolution, sign: int
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


def resolve_claim(
    session: Session,
    claim_id: str,
    body: dict[str, Any],
    beliefs: Beliefs,
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
    if body["outcome"] == "confirmed" and claim.question is not None:
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
