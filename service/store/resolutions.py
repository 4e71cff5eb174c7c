"""Resolving claims and withdrawing resolutions, inside the caller's transaction.

The one code path of ``POST``/``DELETE /v1/claims/{id}/resolution``, of
``POST /v1/resolutions`` and of ``credence import``'s ``resolution`` rows. A
resolution updates at once the track record of every source that took a side
on the claim (a decayed hit or miss added to its learned Beta, the row stamped
with the ``reliabilities`` counter value it bumped to, so every process applies
that change); withdrawing it takes the same amounts back.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Float,
    Insert,
    Select,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload

import scoring
from scoring.claims import STANCE_SIGN
from scoring.numeric import Axis, NumericQuestion
from service.scoring_model import ScoringModel
from service.settings import LearningSettings
from service.store import change_counters
from service.store import claims as claim_store
from service.store import questions as question_store
from service.store import scores as score_store
from service.store.db import dialect_insert, slices
from service.store.models import (
    Attribution,
    Base,
    Claim,
    Question,
    Resolution,
    SourceReliability,
)
from service.store.resolved_scores import resolved_values
from service.store.source_beliefs import MIN_PSEUDO_COUNT, SourceBook

RESOLUTION = "resolution"
"""History reason of a claim's resolved score, written when it is resolved."""
WITHDRAWN = "resolution-withdrawn"
"""History reason of a claim's open score, written when its resolution is withdrawn."""
# Clocks of clients and server differ a little; a resolution is refused only
# when it is clearly in the future.
CLOCK_SKEW = timedelta(minutes=5)
HINDSIGHT = CLOCK_SKEW
"""How long after a claim's outcome was recorded a stance on it still counts as a
forecast in its source's track record (``sides_taken``): clocks differ."""
SECONDS_PER_DAY = 86_400.0
_RELIABILITIES: Table = Base.metadata.tables[SourceReliability.__tablename__]
_RESOLUTIONS: Table = Base.metadata.tables[Resolution.__tablename__]
_CLAIMS: Table = Base.metadata.tables[Claim.__tablename__]
# Ids per IN (...) list: SQLite binds at most 32,766 values per statement.
_IDS_PER_QUERY = 5_000


class ResolutionRefused(Exception):
    """The resolutions cannot be made: ``status`` is the HTTP status that says why
    (404 no such claim, 409 a conflict, 422 a bad field); ``errors`` names the
    offending fields of each refused request, by its position in the batch."""

    def __init__(
        self, status: int, message: str, errors: dict[int, dict[str, list[str]]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or {}

    def field_errors(self, prefix: str | None = None) -> dict[str, list[str]]:
        """``errors`` as dotted paths (``prefix.3.claim_id``); bare field names without a prefix."""
        return {
            f"{prefix}.{i}.{name}" if prefix else name: messages
            for i, fields in sorted(self.errors.items())
            for name, messages in fields.items()
        }


def _refused(status: int, problems: Mapping[int, tuple[str, str]]) -> ResolutionRefused:
    """One refusal for every ``position: (field, message)``; its message says the first."""
    first = problems[min(problems)][1]
    more = len(problems) - 1
    message = first if not more else f"{first} (and {more} more; see errors)"
    return ResolutionRefused(
        status, message, {i: {name: [text]} for i, (name, text) in problems.items()}
    )


@dataclass(frozen=True)
class ResolutionContext:
    """What a resolution needs of the model: settings and the current source beliefs."""

    setup: ScoringModel
    learning: LearningSettings
    book: SourceBook
    version: int | None
    """The ``reliabilities`` counter value ``book`` was read at."""


def lock_claims_questions(session: Session, claim_ids: Sequence[str]) -> None:
    """``lock_questions`` for the questions of the stored claims ``claim_ids``."""
    questions: set[str | None] = set()
    for chunk in slices(claim_ids, _IDS_PER_QUERY):
        questions.update(session.scalars(select(Claim.question).where(Claim.id.in_(chunk))))
    question_store.lock_questions(session, questions)


def locked_claims(session: Session, claim_ids: Sequence[str]) -> dict[str, Claim]:
    """The claims that exist, with attributions, score and resolution, locked until commit
    (in id order, so that two batches cannot deadlock on PostgreSQL)."""
    found: dict[str, Claim] = {}
    for chunk in slices(sorted(claim_ids), _IDS_PER_QUERY):
        found.update(
            (claim.id, claim)
            for claim in session.scalars(
                select(Claim)
                .where(Claim.id.in_(chunk))
                .order_by(Claim.id)
                .options(
                    selectinload(Claim.attributions),
                    selectinload(Claim.score),
                    selectinload(Claim.resolution),
                )
                .with_for_update(of=Claim)
            )
        )
    return found


def take_back_track_records(
    session: Session, beliefs: ResolutionContext, claim: Claim, now: datetime
) -> None:
    """Take back the hits and misses ``claim``'s resolution gave, at ``now``."""
    assert claim.resolution is not None
    deltas = resolution_deltas(claim, claim.resolution, beliefs.learning)
    base = {source_id: beliefs.book.belief(source_id, beliefs.setup).belief for source_id in deltas}
    apply_track_record(session, deltas, base, -1, now)


def resolution_deltas(
    claim: Claim, resolution: Resolution, learning: LearningSettings
) -> dict[str, tuple[float, float]]:
    """The decayed hit or miss ``resolution`` gives each source that took a side on
    ``claim`` before its outcome was known."""
    return track_record_deltas(
        sides_taken(
            ((a.source_id, a.stance, a.observed_at) for a in claim.attributions),
            resolution.created_at,
        ),
        resolution.outcome,
        _age_days(resolution),
        learning.half_life_days,
    )


def _age_days(resolution: Resolution) -> float:
    """How old the claim's outcome was when it was recorded, in days."""
    age = (resolution.created_at - resolution.resolved_at).total_seconds() / SECONDS_PER_DAY
    return max(age, 0.0)


def follow_stored(
    session: Session,
    stored: Sequence[claim_store.StoredClaim],
    beliefs: ResolutionContext,
    now: datetime,
) -> None:
    """``follow_attributions`` for the resolved claims of a batch just stored."""
    moved = [
        (s.resolution, s.replaced, s.claim["attributions"])
        for s in stored
        if s.resolution is not None and (s.changes or s.refigured)
    ]
    follow_attributions(session, moved, beliefs, now)


Attributions = Sequence[Mapping[str, Any]]


def follow_attributions(
    session: Session,
    moved: Sequence[tuple[Resolution, Attributions, Attributions]],
    beliefs: ResolutionContext,
    now: datetime,
) -> None:
    """Move resolved claims' hits and misses to the sides their attributions take now.

    ``moved`` holds, for each resolved claim whose attributions changed, its
    resolution and its attributions before and now (request attributions, with
    ``observed_at``; one not given is observed ``now``). A source no longer on a
    side gives back the hit or miss the resolution gave it and a source newly on
    one gains it, so that the track records stay those of the claims as they are:
    what withdrawing the resolution takes back, and what the next re-scoring job
    counts. A side taken only after the outcome was known gains nothing
    (``sides_taken``).
    """
    deltas: dict[str, tuple[float, float]] = {}
    for resolution, then, now_attributions in moved:
        before, after = (
            sides_taken(
                ((a["source"], a["stance"], a.get("observed_at") or now) for a in attributions),
                resolution.created_at,
            )
            for attributions in (then, now_attributions)
        )
        if before == after:
            continue
        age, half_life = _age_days(resolution), beliefs.learning.half_life_days
        for sign, sides in ((-1, before), (1, after)):
            for source_id, (hits, misses) in track_record_deltas(
                sides, resolution.outcome, age, half_life
            ).items():
                total = deltas.get(source_id, (0.0, 0.0))
                deltas[source_id] = (total[0] + sign * hits, total[1] + sign * misses)
    if deltas:
        base = {s: beliefs.book.belief(s, beliefs.setup).belief for s in deltas}
        apply_track_record(session, deltas, base, +1, now)


def resolve_claim(
    session: Session,
    claim_id: str,
    body: Mapping[str, Any],
    beliefs: ResolutionContext,
    now: datetime,
) -> None:
    """Resolve one claim (``body``: ``outcome``, optional ``resolved_at`` and ``note``).

    ``resolve_claims`` with one request; the refusal names bare fields.
    """
    resolve_claims(session, [(claim_id, body)], beliefs, now)


def resolve_claims(
    session: Session,
    requests: Sequence[tuple[str, Mapping[str, Any]]],
    beliefs: ResolutionContext,
    now: datetime,
    *,
    from_question: bool = False,
) -> None:
    """Resolve claims, each ``(claim_id, body)`` with ``body``: ``outcome``, optional
    ``resolved_at`` and ``note`` (and ``forecast``, from ``credence import`` only); all or
    none.

    Each claim's status becomes its outcome, its current score's confidence
    (computed now if it has none) is kept as the resolution's forecast (unless the
    body gives one), its score
    is rewritten in resolved form (``service.store.resolved_scores``) with a
    history row, the open answers of its question are rescored beside its outcome,
    and every source that took a side gains a hit or a miss: the
    sums over the batch are added to the learned beliefs in one write per source,
    with one bump of the counter.

    Raises
    ------
    ResolutionRefused
        Naming every refused request: 422 ``resolved_at`` in the future; 404
        no such claim; 409 already resolved, or another answer to its question
        already confirmed (stored, or earlier in the batch), or (unless
        ``from_question``: the outcomes are a numeric question's resolution's, or
        an export's record of them) an answer to a resolved numeric question.
    """
    if not requests:
        return
    future = {
        i: ("resolved_at", "Must not be in the future.")
        for i, (_, body) in enumerate(requests)
        if body.get("resolved_at") is not None and body["resolved_at"] > now + CLOCK_SKEW
    }
    if future:
        raise _refused(422, future)
    lock_claims_questions(session, [claim_id for claim_id, _ in requests])
    claims = locked_claims(session, [claim_id for claim_id, _ in requests])
    missing = {
        i: ("claim_id", f"No claim {claim_id!r}.")
        for i, (claim_id, _) in enumerate(requests)
        if claim_id not in claims
    }
    if missing:
        raise _refused(404, missing)
    judged = judged_by_question(session, [claim_id for claim_id, _ in requests])
    if not from_question and judged:
        raise _refused(
            409,
            {
                i: ("claim_id", _judged_message(claim_id, judged[claim_id]))
                for i, (claim_id, _) in enumerate(requests)
                if claim_id in judged
            },
        )
    conflicts = _conflicts(session, requests, claims)
    if conflicts:
        raise _refused(409, conflicts)

    current: dict[str, dict[str, Any]] = {}
    unscored: list[str] = []
    for claim_id, _ in requests:
        score = claims[claim_id].score
        if score is None:
            unscored.append(claim_id)
        else:
            current[claim_id] = score_store.stored_score_values(score)
    if unscored:
        fresh = claim_store.open_scores(
            session,
            unscored,
            scorer=beliefs.setup.scorer.with_model(beliefs.book.model),
            beliefs=beliefs.book.beliefs,
            now=now,
        )
        current.update((claim_id, fresh[claim_id]) for claim_id in unscored)

    rows = [
        {
            "claim_id": claim_id,
            "outcome": body["outcome"],
            "resolved_at": body.get("resolved_at") or now,
            "note": body.get("note"),
            # A restored export's row brings the forecast the claim had when resolved.
            "forecast": body.get("forecast", current[claim_id]["confidence"]),
            # An answer judged on arrival is dated by its question's record (``judge_answers``).
            "created_at": body.get("recorded_at") or now,
            "question": judged.get(claim_id),
        }
        for claim_id, body in requests
    ]
    # Core writes, one statement each: the loaded claims are read, never flushed.
    session.execute(insert(_RESOLUTIONS), rows)
    session.execute(
        update(_CLAIMS)
        .where(_CLAIMS.c.id == bindparam("b_id"))
        .values(status=bindparam("b_status"), updated_at=now),
        [{"b_id": row["claim_id"], "b_status": row["outcome"]} for row in rows],
    )
    deltas: dict[str, tuple[float, float]] = {}
    resolved: list[dict[str, Any]] = []
    for row in rows:
        resolution = Resolution(**row)
        for source_id, (hits, misses) in resolution_deltas(
            claims[row["claim_id"]], resolution, beliefs.learning
        ).items():
            total = deltas.get(source_id, (0.0, 0.0))
            deltas[source_id] = (total[0] + hits, total[1] + misses)
        resolved.append(
            resolved_values({**current[row["claim_id"]], "computed_at": now}, resolution)
        )
    base = {source_id: beliefs.book.belief(source_id, beliefs.setup).belief for source_id in deltas}
    apply_track_record(session, deltas, base, +1, now)
    score_store.write_scores(
        session,
        resolved,
        {row["claim_id"]: RESOLUTION for row in rows},
        beliefs_version=beliefs.version,
    )
    # A confirmed answer rules out the other answers of its question, a refuted
    # one leaves them the share it had: their scores say so at once.
    claim_store.rescore_siblings(
        session,
        [row["claim_id"] for row in rows if claims[row["claim_id"]].question is not None],
        scorer=beliefs.setup.scorer.with_model(beliefs.book.model),
        beliefs=beliefs.book.beliefs,
        beliefs_version=beliefs.version,
        now=now,
    )


def withdraw_resolution(
    session: Session,
    claim_id: str,
    beliefs: ResolutionContext,
    now: datetime,
    *,
    from_question: bool = False,
) -> None:
    """``withdraw_resolutions`` of one claim."""
    withdraw_resolutions(session, [claim_id], beliefs, now, from_question=from_question)


def withdraw_resolutions(
    session: Session,
    claim_ids: Sequence[str],
    beliefs: ResolutionContext,
    now: datetime,
    *,
    from_question: bool = False,
) -> None:
    """Withdraw claims' resolutions: they are open again, scored as open together (one
    pass over their questions, each with a history row), and the track records are
    reversed.

    Raises
    ------
    ResolutionRefused
        404 when a claim does not exist or has no resolution; 409 (unless
        ``from_question``) when it answers a resolved numeric question.
    """
    lock_claims_questions(session, claim_ids)
    claims = locked_claims(session, claim_ids)
    for claim_id in claim_ids:
        claim = claims.get(claim_id)
        if claim is None:
            raise ResolutionRefused(404, f"No claim {claim_id!r}.")
        if claim.resolution is None:
            raise ResolutionRefused(404, f"Claim {claim_id!r} has no resolution.")
    if not from_question and (judged := judged_by_question(session, claim_ids)):
        claim_id = min(judged)
        raise ResolutionRefused(409, _judged_message(claim_id, judged[claim_id]))
    for claim_id in claim_ids:
        claim = claims[claim_id]
        assert claim.resolution is not None
        take_back_track_records(session, beliefs, claim, now)
        claim.resolution = None
        claim.status = "open"
        claim.updated_at = now
    session.flush()
    claim_store.score_stored(
        session,
        claim_ids,
        scorer=beliefs.setup.scorer.with_model(beliefs.book.model),
        beliefs=beliefs.book.beliefs,
        beliefs_version=beliefs.version,
        reasons=dict.fromkeys(claim_ids, WITHDRAWN),
        now=now,
    )
    # Written with Core: the loaded claims read their new scores on next access.
    for claim in claims.values():
        session.expire(claim, ["score"])


def _conflicts(
    session: Session, requests: Sequence[tuple[str, Mapping[str, Any]]], claims: Mapping[str, Claim]
) -> dict[int, tuple[str, str]]:
    """Requests that conflict with the store or with an earlier request of the batch."""
    conflicts: dict[int, tuple[str, str]] = {}
    questions = sorted(
        {
            question
            for claim_id, body in requests
            if body["outcome"] == "confirmed"
            and claims[claim_id].value is None
            and (question := claims[claim_id].question) is not None
        }
    )
    confirmed: dict[str | None, str] = {}
    for chunk in slices(questions, _IDS_PER_QUERY):
        confirmed.update(
            (question, claim_id)
            for claim_id, question in session.execute(
                select(Claim.id, Claim.question)
                .where(Claim.question.in_(chunk), Claim.status == "confirmed")
                .order_by(Claim.id)
            )
        )
    seen: set[str] = set()
    for i, (claim_id, body) in enumerate(requests):
        claim = claims[claim_id]
        if claim_id in seen:
            conflicts[i] = ("claim_id", f"Claim {claim_id!r} is resolved twice in the batch.")
        seen.add(claim_id)
        if i in conflicts:
            continue
        if claim.resolution is not None:
            conflicts[i] = (
                "claim_id",
                f"Claim {claim_id!r} is already {claim.status}; withdraw it first.",
            )
        # Answers of a numeric question are not exclusive: 1,450 and 1,500 can both be right.
        elif body["outcome"] == "confirmed" and claim.question is not None and claim.value is None:
            rival = confirmed.setdefault(claim.question, claim_id)
            if rival != claim_id:
                conflicts[i] = (
                    "claim_id",
                    f"Claim {rival!r}, another answer to question {claim.question!r}, "
                    "is already confirmed.",
                )
    return conflicts


# --- the incremental track-record update -------------------------------------------


def sides_taken(
    attributions: Iterable[tuple[str, str, datetime]], recorded_at: datetime
) -> list[tuple[str, int]]:
    """Each original source's side on a claim whose outcome the store recorded at
    ``recorded_at``, once per side however many channels, from its attributions'
    ``(source, stance, observed_at)``.

    A stance observed more than ``HINDSIGHT`` after the outcome was recorded is no
    forecast of it: an outlet that reports a confirmation earns no hit for it. The
    record's time, not the outcome's own (``resolved_at``), draws the line: a store
    filled after the fact, its attributions observed as they were loaded and its
    resolutions dated in the past, keeps every track record.
    """
    sides = {
        (source_id, STANCE_SIGN[stance])
        for source_id, stance, observed_at in attributions
        if STANCE_SIGN[stance] != 0 and not in_hindsight(observed_at, recorded_at)
    }
    return sorted(sides)


def in_hindsight(observed_at: datetime, recorded_at: datetime) -> bool:
    """Whether a stance observed at ``observed_at`` came after its claim's outcome was
    recorded at ``recorded_at`` (by more than ``HINDSIGHT``)."""
    return observed_at > recorded_at + HINDSIGHT


def forecast_attribution(dialect: str) -> ColumnElement[bool]:
    """SQL: whether an attribution (with its claim's resolution outer-joined) is a
    forecast, not hindsight (``in_hindsight``): its claim is open, or it was observed
    by the resolution's record plus ``HINDSIGHT``."""
    seconds = HINDSIGHT.total_seconds()
    if dialect == "sqlite":
        # Times are text there (``YYYY-MM-DD HH:MM:SS.ffffff``), compared as such.
        line: Any = func.strftime(
            "%Y-%m-%d %H:%M:%f", Resolution.created_at, f"+{seconds:g} seconds"
        )
    else:
        line = Resolution.created_at + literal_column(f"interval '{seconds:g} seconds'")
    return or_(Resolution.claim_id.is_(None), Attribution.observed_at <= line)


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


@functools.cache
def _track_record_upsert(dialect: str) -> Insert:
    """Insert a learned belief, or add the bound ``d_alpha`` and ``d_beta`` to the stored one."""
    table = _RELIABILITIES
    statement = dialect_insert(dialect, table)
    # SQLite's two-argument max() is PostgreSQL's greatest().
    greatest = func.max if dialect == "sqlite" else func.greatest
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.source_id],
        set_={
            "alpha": greatest(table.c.alpha + bindparam("d_alpha", type_=Float), MIN_PSEUDO_COUNT),
            "beta": greatest(table.c.beta + bindparam("d_beta", type_=Float), MIN_PSEUDO_COUNT),
            "updated_at": excluded.updated_at,
            "reliabilities_version": excluded.reliabilities_version,
        },
    )


def apply_track_record(
    session: Session,
    deltas: Mapping[str, tuple[float, float]],
    base: Mapping[str, scoring.Beta],
    sign: int,
    now: datetime,
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) hits and misses, in the caller's transaction.

    A source without a learned row starts from ``base`` (its current belief, its
    prior), which the row keeps as the prior it was built on.
    The update is one atomic upsert per source (one statement run with
    ``executemany``, in source id order), so concurrent resolutions touching
    one source both count. Bumps the ``reliabilities`` counter and stamps the
    rows with its new value.
    """
    version = change_counters.bump(session, change_counters.RELIABILITIES)
    if not deltas:
        return
    rows = []
    for source_id in sorted(deltas):
        d_alpha, d_beta = (sign * d for d in deltas[source_id])
        start = base[source_id]
        rows.append(
            {
                "source_id": source_id,
                "alpha": max(start.alpha + d_alpha, MIN_PSEUDO_COUNT),
                "beta": max(start.beta + d_beta, MIN_PSEUDO_COUNT),
                "prior_alpha": start.alpha,
                "prior_beta": start.beta,
                "job_id": None,
                "updated_at": now,
                "reliabilities_version": version,
                "d_alpha": d_alpha,
                "d_beta": d_beta,
            }
        )
    session.execute(_track_record_upsert(session.get_bind().dialect.name), rows)


def withdraw_question_resolution(
    session: Session, question_id: str, beliefs: ResolutionContext, now: datetime
) -> None:
    """Withdraw a numeric question's resolution and each of its answers'.

    Raises
    ------
    ResolutionRefused
        404 when the question has no resolution.
    """
    question_store.lock_questions(session, [question_id])
    row = session.get(Question, question_id, with_for_update=True)
    if row is None or row.resolved_value is None:
        raise ResolutionRefused(404, f"Question {question_id!r} has no resolution.")
    answers = question_store.answer_ids(session, [question_id])[question_id]
    # An answer not judged since it was stored (by ``credence import``, which judges
    # at its end) is open already.
    resolved = [i for i, claim in locked_claims(session, answers).items() if claim.resolution]
    if resolved:
        withdraw_resolutions(session, resolved, beliefs, now, from_question=True)
    row.resolved_value = None
    row.resolved_at = None
    row.resolution_note = None
    row.value_recorded_at = None
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
    question_store.lock_questions(session, [question_id])
    row = session.get(Question, question_id, with_for_update=True)
    stored = question_store.stored_values(session, question_id)
    numeric = (row is not None and row.kind == question_store.NUMERIC) or (
        row is None and any(value is not None for _, value in stored)
    )
    if not numeric:
        message = f"Question {question_id!r} is a choice question: resolve its claims."
        raise ResolutionRefused(422, message, {0: {"value": [message]}})
    if row is not None and row.resolved_value is not None:
        raise ResolutionRefused(409, f"Question {question_id!r} is already resolved.")
    definition = (
        question_store.numeric_question(row) if row is not None else NumericQuestion(question_id)
    )
    truth = float(body["value"])
    if definition.scale == "log" and truth <= 0:
        message = "A log-scale question's value must be positive."
        raise ResolutionRefused(422, message, {0: {"value": [message]}})
    outcomes = _outcomes(definition, stored, truth)
    if row is None:
        row = Question(id=question_id, kind=question_store.NUMERIC, created_at=now, updated_at=now)
        session.add(row)
    row.resolved_value = truth
    row.resolved_at = body.get("resolved_at") or now
    row.resolution_note = body.get("note")
    row.value_recorded_at = now
    row.updated_at = now
    return outcomes


def _outcomes(
    definition: NumericQuestion,
    stored: Sequence[tuple[str, Mapping[str, Any] | None]],
    truth: float,
) -> dict[str, str]:
    """Each answer's outcome against the true value, by claim id: ``confirmed`` when the
    value lies within its figure's tolerance (or its range), else ``refuted``."""
    figures = {claim_id: question_store.figure_of(value) for claim_id, value in stored}
    axis = Axis.of(definition, [f for f in figures.values() if f is not None])
    x = float(axis.to_axis(truth))
    outcomes = {}
    for claim_id, figure in figures.items():
        assert figure is not None
        low, high = axis.window(figure)
        outcomes[claim_id] = "confirmed" if low <= x <= high else "refuted"
    return outcomes


def judged_by_question(session: Session, claim_ids: Sequence[str]) -> dict[str, str]:
    """Those of ``claim_ids`` that answer a numeric question already resolved, with the
    question: their outcomes are its resolution's to give."""
    query = (
        select(Claim.id, Question.id)
        .join(Question, Question.id == Claim.question)
        .where(Claim.value.is_not(None), Question.resolved_value.is_not(None))
    )
    return _question_by_claim(session, query, Claim.id, claim_ids)


def _question_by_claim(
    session: Session, query: Select[Any, Any], key: Any, claim_ids: Sequence[str]
) -> dict[str, str]:
    """``query``'s (claim id, question) rows of ``claim_ids`` (``key``: the claim id's
    column), a chunk of ids at a time."""
    found: dict[str, str] = {}
    for chunk in slices(claim_ids, _IDS_PER_QUERY):
        rows = session.execute(query.where(key.in_(chunk)))
        found.update((claim_id, question) for claim_id, question in rows if question)
    return found


def _judged_message(claim_id: str, question: str) -> str:
    return (
        f"Claim {claim_id!r} answers numeric question {question!r}, which is resolved: its "
        "value judges the answers. Withdraw the question's resolution to change them."
    )


def judge_answers(
    session: Session,
    claim_ids: Sequence[str],
    beliefs: ResolutionContext,
    now: datetime,
    *,
    by_record: bool = True,
) -> list[str]:
    """Judge those of ``claim_ids`` that answer a numeric question already resolved, as
    its resolution judged the answers it found; the ids whose resolution changed.

    A figure stored after its question was resolved gets its outcome (with the
    question's resolution time and note, and its open score as forecast) instead
    of staying open beside the truth. Its resolution is dated by the question's
    record (``Question.value_recorded_at``, where known): a figure its sources gave
    before that record is a forecast and earns a hit or a miss, one given after it
    is hindsight and earns nothing (``sides_taken``). ``by_record=False`` dates it
    ``now`` instead: ``credence import`` loads history, whose figures were said
    before, whatever the time it reads them. An answer re-posted with
    another figure is judged again: a resolution that no longer agrees is withdrawn
    and replaced. On a linear scale with the default tolerance, the tolerance is a
    share of the spread of the figures stored now.

    An answer judged by a question it no longer answers with a figure (re-posted
    into another question, or without its figure) is open again, or judged by the
    question it answers now.

    Their questions are locked (``lock_questions``) before their rows.
    """
    answers = judged_by_question(session, claim_ids)
    left = _left_their_question(session, claim_ids)
    if not answers and not left:
        return []
    # The questions first (``lock_questions``); read again once locked, a resolution
    # withdrawn meanwhile is seen as such.
    question_store.lock_questions(session, {*answers.values(), *left.values()})
    resolved = session.scalars(
        select(Question)
        .where(Question.id.in_(sorted(set(answers.values()))))
        .where(Question.resolved_value.is_not(None))
    ).all()
    claims = locked_claims(session, list(answers))
    requests: list[tuple[str, dict[str, Any]]] = []
    withdrawn = [claim_id for claim_id in left if claim_id not in answers]
    released = list(withdrawn)
    for question in resolved:
        assert question.resolved_value is not None
        outcomes = _outcomes(
            question_store.numeric_question(question),
            question_store.stored_values(session, question.id),
            question.resolved_value,
        )
        for claim_id, claim in claims.items():
            if claim.question != question.id:
                continue
            outcome = outcomes[claim_id]
            judged = claim.resolution
            if judged is not None and (judged.outcome, judged.question) == (outcome, question.id):
                continue
            if judged is not None:
                withdrawn.append(claim_id)
            body = {
                "outcome": outcome,
                "resolved_at": question.resolved_at,
                "note": question.resolution_note,
                "recorded_at": question.value_recorded_at if by_record else None,
            }
            requests.append((claim_id, body))
    if withdrawn:
        withdraw_resolutions(session, withdrawn, beliefs, now, from_question=True)
    resolve_claims(session, requests, beliefs, now, from_question=True)
    return [claim_id for claim_id, _ in requests] + released


def _left_their_question(session: Session, claim_ids: Sequence[str]) -> dict[str, str]:
    """Those of ``claim_ids`` judged by a numeric question's value that no longer answer
    it with a figure, with that question."""
    query = (
        select(Resolution.claim_id, Resolution.question)
        .join(Claim, Claim.id == Resolution.claim_id)
        .where(
            Resolution.question.is_not(None),
            or_(Claim.value.is_(None), Claim.question.is_distinct_from(Resolution.question)),
        )
    )
    return _question_by_claim(session, query, Resolution.claim_id, claim_ids)
