"""Learning source reliabilities from the store: a snapshot of it and the batch fit over
that snapshot (the incremental update a resolution makes is ``service.store.resolutions``).

The snapshot is read with Core in one read transaction (a consistent view on
both backends) and kept as flat lists, so a store of a million attributions
is read in seconds and never held as ORM objects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Float, cast, func, literal, select

import scoring
from scoring.evidence import FloatArray
from scoring.fit import ReliabilityLearner
from scoring.fit.learner import FitEngine
from scoring.learned import LearnedModel
from scoring.learning import learn_store
from scoring.numeric import ErrorScale, NumericQuestion, QuestionKinds
from scoring.numeric.learning import ErrorScaleEM, NumericCase
from service.scoring_model import ScoringModel
from service.settings import LearningSettings
from service.store import change_counters
from service.store import questions as question_store
from service.store.models import (
    Attribution,
    Claim,
    Question,
    Resolution,
    Score,
    SourceReliability,
)
from service.store.resolutions import SECONDS_PER_DAY
from service.store.source_beliefs import SourceBook, SourceDefinition, build_book, read_book

log = logging.getLogger(__name__)


def reliability_learner(
    learning: LearningSettings, engine: FitEngine | None = None
) -> ReliabilityLearner:
    """The batch fit as ``[learning]`` configures it: what every job and ``bench/quality`` run;
    ``engine`` runs its final fit (default: in this process)."""
    return ReliabilityLearner(
        unresolved_weight=learning.unresolved_weight,
        half_life_days=learning.half_life_days,
        max_iter=learning.max_iter,
        tol=learning.tolerance,
        answer_temperature_factor=learning.answer_temperature_factor,
        engine=engine,
    )


def epoch(value: datetime | None) -> float:
    """Seconds since the epoch; ``-inf`` for never."""
    return value.timestamp() if value is not None else float("-inf")


@dataclass(frozen=True, slots=True)
class StoredScore:
    confidence: float
    low: float
    high: float
    credibility: int
    model: str
    computed_at: datetime
    reliabilities_version: int | None
    """The ``reliabilities`` counter value of the beliefs it was computed from."""


@dataclass
class Snapshot:
    """What a job knows of the store, as of one read transaction.

    Claims are in id order; ``claims[i]`` is the scoring input of ``ids[i]``.
    """

    taken_at: datetime
    ids: list[str]
    claims: list[scoring.Claim]
    updated_at: list[datetime]
    scores: list[StoredScore | None]
    outcome: FloatArray
    """1.0 confirmed, 0.0 refuted, NaN open, per claim."""
    attribution_age_days: FloatArray
    """Age of each attribution (claims in order, attributions in position order)."""
    book: SourceBook
    """Source definitions and the beliefs the API scores with, as of the snapshot."""
    learned_at: dict[str, datetime]
    learned_version: dict[str, int]
    """The ``reliabilities`` counter value that wrote each learned belief, where known."""
    reliabilities_version: int
    """The ``reliabilities`` counter as of the snapshot."""
    n_attributions: int
    kinds: QuestionKinds = field(default_factory=QuestionKinds)
    """The defined questions' kinds and numeric definitions."""
    truths: dict[str, float] = field(default_factory=dict)
    """The resolved value of each resolved numeric question."""
    errors: dict[str, ErrorScale] = field(default_factory=dict)
    """Each source's learned error scale, where it has one."""

    @property
    def learned(self) -> dict[str, scoring.Beta]:
        return {source_id: self.book.beliefs[source_id].belief for source_id in self.book.learned}

    def source_changed_at(self) -> dict[str, float]:
        """When each source's belief last changed (definition or learned), as epoch seconds."""
        changed = {
            source_id: epoch(d.updated_at)
            for source_id, d in self.book.definitions.items()
            if d.stored
        }
        for source_id, at in self.learned_at.items():
            changed[source_id] = max(changed.get(source_id, float("-inf")), epoch(at))
        return changed


def _age_days(connection: Connection, column: Any, now: datetime) -> Any:
    """SQL for the age of a time column in days, computed in the database because
    parsing a million timestamps in Python would dominate the read."""
    if connection.dialect.name == "sqlite":
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        return func.julianday(literal(stamp)) - func.julianday(column)
    return cast(func.extract("epoch", literal(now) - column), Float) / SECONDS_PER_DAY


def _read_transaction(engine: Engine) -> Connection:
    """A connection whose reads all see one snapshot of the database."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    # SQLite in WAL mode: one deferred transaction (the engine's BEGIN) is one snapshot.
    return engine.connect()


def read_snapshot(
    engine: Engine,
    catalogue: Mapping[str, SourceDefinition],
    setup: ScoringModel,
    now: datetime,
) -> Snapshot:
    """Read every claim, attribution, resolution, score and source in one snapshot."""
    with _read_transaction(engine) as connection, connection.begin():
        book = read_book(connection, catalogue, setup)
        version = change_counters.read_all(connection).get(change_counters.RELIABILITIES, 0)
        learned_at: dict[str, datetime] = {}
        learned_version: dict[str, int] = {}
        for source_id, changed_at, written_by in connection.execute(
            select(
                SourceReliability.source_id,
                SourceReliability.updated_at,
                SourceReliability.reliabilities_version,
            )
        ):
            learned_at[source_id] = changed_at
            if written_by is not None:
                learned_version[source_id] = written_by

        outcomes = dict(connection.execute(select(Resolution.claim_id, Resolution.outcome)).all())
        scores = {
            row[0]: StoredScore(*row[1:])
            for row in connection.execute(
                select(
                    Score.claim_id,
                    Score.confidence,
                    Score.low,
                    Score.high,
                    Score.credibility,
                    Score.model,
                    Score.computed_at,
                    Score.reliabilities_version,
                )
            )
        }
        ids: list[str] = []
        priors: list[float | None] = []
        questions: list[str | None] = []
        texts: list[str] = []
        values: list[dict[str, Any] | None] = []
        updated_at: list[datetime] = []
        for claim_id, prior, question, text, value, updated in connection.execute(
            select(
                Claim.id, Claim.prior, Claim.question, Claim.text, Claim.value, Claim.updated_at
            ).order_by(Claim.id)
        ):
            ids.append(claim_id)
            priors.append(prior)
            questions.append(question)
            texts.append(text)
            values.append(value)
            updated_at.append(updated)
        question_rows = [
            Question(**row._mapping) for row in connection.execute(select(Question.__table__))
        ]
        errors = question_store.learned_error_scales(connection)

        position = {claim_id: i for i, claim_id in enumerate(ids)}
        attributions: list[list[scoring.Attribution]] = [[] for _ in ids]
        ages: list[float] = []
        by_claim = select(
            Attribution.claim_id,
            Attribution.source_id,
            Attribution.stance,
            Attribution.via,
            Attribution.certainty,
            Attribution.count,
            _age_days(connection, Attribution.observed_at, now),
        ).order_by(Attribution.claim_id, Attribution.position)
        for claim_id, source_id, stance, via, certainty, count, age in connection.execute(by_claim):
            i = position.get(claim_id)
            if i is None:
                continue
            attributions[i].append(
                scoring.Attribution(source_id, stance, tuple(via), certainty, count)
            )
            ages.append(age)

    claims = [
        scoring.Claim(
            tuple(attributions[i]),
            priors[i],
            questions[i],
            claim_id,
            texts[i],
            question_store.figure_of(values[i]),
        )
        for i, claim_id in enumerate(ids)
    ]
    outcome = np.array(
        [{"confirmed": 1.0, "refuted": 0.0}.get(outcomes.get(c, ""), np.nan) for c in ids]
    )
    return Snapshot(
        taken_at=now,
        ids=ids,
        claims=claims,
        updated_at=updated_at,
        scores=[scores.get(claim_id) for claim_id in ids],
        outcome=outcome,
        attribution_age_days=np.maximum(np.asarray(ages, dtype=float), 0.0),
        book=book,
        learned_at=learned_at,
        learned_version=learned_version,
        reliabilities_version=version,
        n_attributions=len(ages),
        kinds=question_store.kinds_of(question_rows),
        truths={q.id: q.resolved_value for q in question_rows if q.resolved_value is not None},
        errors=errors,
    )


@dataclass(frozen=True)
class FitOutcome:
    """The learned belief of every source and relay the store names, and the model."""

    beliefs: dict[str, scoring.Beta]
    model: LearnedModel

    @property
    def stats(self) -> dict[str, Any]:
        """What the fit chose and how it went (``ReliabilityLearner.stats``)."""
        return dict(self.model.stats)


def learn_reliabilities(
    snapshot: Snapshot,
    setup: ScoringModel,
    learning: LearningSettings,
    engine: FitEngine | None = None,
) -> FitOutcome:
    """Relearn every source's reliability, and the model's structure, from the snapshot.

    ``scoring.learning.learn_store`` with the configured learner: the path
    ``bench/quality`` measures. Priors are what the service gives a source
    before any record: its own, its group's, or the unknown-source prior. A
    fit that ran out of iterations is logged (and says so in the job's stats).
    """
    priors = build_book(snapshot.book.definitions, {}, setup).beliefs
    # Answers of a numeric question are not exclusive: each is its own for the fit.
    claims = [replace(c, question=None) if c.value is not None else c for c in snapshot.claims]
    fit = learn_store(
        claims,
        snapshot.book.beliefs,
        {source_id: belief.belief for source_id, belief in priors.items()},
        snapshot.outcome,
        snapshot.attribution_age_days,
        setup.params,
        reliability_learner(learning, engine),
    )
    stats = fit.model.stats
    if not stats["converged"]:
        log.warning(
            "the batch fit did not converge in %d iterations (%s); its reliabilities are "
            "written as they stood",
            stats["iterations"],
            stats["structure"],
        )
    return FitOutcome(fit.beliefs, fit.model)


def moved(before: scoring.Beta, after: scoring.Beta, tolerance: float) -> bool:
    """Whether a belief changed enough to move a score by about ``tolerance``.

    A claim's confidence moves less than its sources' reliabilities do, so a
    tenth of the score tolerance on the mean is safe; the strength governs
    only the interval, where a relative change is what matters.
    """
    return (
        abs(after.mean - before.mean) > tolerance / 10
        or abs(after.strength - before.strength) > tolerance * before.strength
    )


def learn_error_scales(
    snapshot: Snapshot, setup: ScoringModel, learning: LearningSettings
) -> dict[str, ErrorScale]:
    """Each source's error scale from the snapshot's numeric questions (``ErrorScaleEM``).

    Resolved questions teach it through their resolved values, open ones softly
    through agreement (``learning.unresolved_weight``); reliabilities are the
    snapshot's. Sources that stated no point figure are left out.
    """
    members: dict[str, list[scoring.Claim]] = {}
    for claim in snapshot.claims:
        if claim.value is not None and claim.question is not None:
            members.setdefault(claim.question, []).append(claim)
    numeric = snapshot.kinds.numeric
    cases = [
        NumericCase(
            numeric.get(q) or NumericQuestion(q),
            claims,
            [c.value for c in claims if c.value is not None],
            snapshot.truths.get(q),
        )
        for q, claims in sorted(members.items())
    ]
    if not cases:
        return {}
    em = ErrorScaleEM(setup.params, unresolved_weight=learning.unresolved_weight)
    return em.fit(cases, snapshot.book.beliefs).errors_
