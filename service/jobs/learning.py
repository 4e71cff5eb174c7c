"""The batch fit over a job's snapshot (``service.jobs.snapshot``): every source's
reliability and the model, and numeric error scales (the incremental update a
resolution makes is ``service.store.resolutions``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import scoring
from scoring.fit import ReliabilityLearner
from scoring.fit.learner import FitEngine
from scoring.learned import LearnedModel
from scoring.learning import learn_columns
from scoring.numeric import ErrorScale, NumericQuestion
from scoring.numeric.learning import ErrorScaleEM, NumericCase
from scoring.params import SourceBelief
from service.jobs.snapshot import Snapshot
from service.scoring_model import ScoringModel
from service.settings import LearningSettings
from service.store.source_beliefs import build_book

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
        engine=engine,
    )


@dataclass(frozen=True)
class FitOutcome:
    """The learned belief of every source and relay the store names, and the model."""

    beliefs: dict[str, scoring.Beta]
    model: LearnedModel
    priors: dict[str, scoring.Beta]
    """The prior each belief was built on, of the sources that have their own or their
    group's (the others were built on the unknown-source prior)."""

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

    ``scoring.learning.learn_columns`` (``learn_store`` of the snapshot's claims as
    they stood when their outcomes were recorded, ``Snapshot.forecasts``) with the
    configured learner: the path
    ``bench/quality`` measures. Priors are what the service gives a source
    before any record: its own, its group's, or the unknown-source prior. A
    fit that ran out of iterations is logged (and says so in the job's stats).
    """
    priors = {
        source_id: belief.belief
        for source_id, belief in build_book(snapshot.book.definitions, {}, setup).beliefs.items()
    }
    # Answers of a numeric question are not exclusive: each is its own for the fit.
    columns = snapshot.forecasts
    if columns.value:
        columns = columns.without_questions(list(columns.value))
    fit = learn_columns(
        columns,
        snapshot.book.beliefs,
        priors,
        snapshot.outcome,
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
    return FitOutcome(fit.beliefs, fit.model, priors)


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
    snapshot: Snapshot,
    beliefs: Mapping[str, SourceBelief],
    setup: ScoringModel,
    learning: LearningSettings,
) -> dict[str, ErrorScale]:
    """Each source's error scale from the snapshot's numeric questions (``ErrorScaleEM``).

    Resolved questions teach it through their resolved values (the figures given
    before, ``Snapshot.forecasts``), open ones softly through agreement
    (``learning.unresolved_weight``), with sources at ``beliefs``.
    Sources that stated no point figure are left out.
    """
    members: dict[str, list[scoring.Claim]] = {}
    columns = snapshot.forecasts
    for claim in columns.claims(sorted(columns.value)):
        if claim.question is not None:
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
    return em.fit(cases, beliefs).errors_
