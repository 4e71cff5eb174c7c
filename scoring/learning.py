"""Learning a whole store: claims in, every source's belief and the learned model out.

``learn_columns`` is the one path from a store's claims to what the scorer uses:
the re-scoring job runs it, and so does ``bench/quality``, with the same learner
and defaults; ``learn_store`` is its readable reference over ``scoring.Claim``
values, tested equal to it. Both build the online scorer's evidence rows (relays,
merged channels, design effects), give claims their answer classes and sources
their groups, and run ``ReliabilityLearner``; because relays are sources whose
reliability is being learned, the fit is repeated with the relays at their new
reliabilities until those settle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.beta import Beta
from scoring.claims import Claim
from scoring.columns import ClaimColumns, evidence_rows
from scoring.evidence import FloatArray
from scoring.fit.learner import ReliabilityLearner
from scoring.learned import LearnedModel, answer_classes
from scoring.params import ScoringParams, SourceBelief
from scoring.rows import EvidenceRows

# Fits with relays at updated reliabilities, at most (they settle in two or three).
MAX_RELAY_PASSES = 5


@dataclass(frozen=True)
class StoreFit:
    """What ``learn_store`` learned.

    Attributes
    ----------
    beliefs : dict of source id to Beta
        Every source and relay the claims name.
    model : LearnedModel
        Structure, calibration and the fit's stats (``model.stats``).
    confidence : ndarray, shape (n_claims,)
        The fit's calibrated probability of each claim (resolved claims at
        their outcome).
    """

    beliefs: dict[str, Beta]
    model: LearnedModel
    confidence: FloatArray


def learn_store(
    claims: Sequence[Claim],
    sources: Mapping[str, SourceBelief],
    priors: Mapping[str, Beta],
    outcome: ArrayLike,
    age_days: ArrayLike,
    params: ScoringParams,
    learner: ReliabilityLearner,
) -> StoreFit:
    """Learn every source's belief and the store's model from all its claims.

    Parameters
    ----------
    claims : sequence of Claim, length n
    sources : mapping of source id to SourceBelief
        Current beliefs (relays start from them) and groups.
    priors : mapping of source id to Beta
        What each source is believed before any record; others get
        ``params.unknown_source``.
    outcome : array_like, shape (n,)
        1.0 confirmed, 0.0 refuted, NaN open.
    age_days : array_like, shape (n_attributions,)
        Age of every attribution (claims in order), >= 0.
    params : ScoringParams
    learner : ReliabilityLearner

    Returns
    -------
    StoreFit
    """
    texts = [c.text for c in claims]
    return _learn_rows(
        EvidenceRows(claims, sources, params),
        texts,
        sources,
        priors,
        outcome,
        age_days,
        params,
        learner,
    )


def learn_columns(
    columns: ClaimColumns,
    sources: Mapping[str, SourceBelief],
    priors: Mapping[str, Beta],
    outcome: ArrayLike,
    params: ScoringParams,
    learner: ReliabilityLearner,
) -> StoreFit:
    """``learn_store`` of the claims in ``columns`` (ages from ``columns.age_days``),
    without a Python object per attribution (``scoring.columns.evidence_rows``).

    Parameters
    ----------
    columns : ClaimColumns, n claims
    sources, priors, params, learner
        As ``learn_store``'s.
    outcome : array_like, shape (n,)

    Returns
    -------
    StoreFit
    """
    ages = columns.age_days
    # The table is not held here: _learn_rows lets it go before the EM.
    return _learn_rows(
        evidence_rows(columns, sources, params),
        columns.text,
        sources,
        priors,
        outcome,
        ages,
        params,
        learner,
    )


def _learn_rows(
    rows: EvidenceRows,
    texts: Sequence[str | None],
    sources: Mapping[str, SourceBelief],
    priors: Mapping[str, Beta],
    outcome: ArrayLike,
    age_days: ArrayLike,
    params: ScoringParams,
    learner: ReliabilityLearner,
) -> StoreFit:
    """Fit ``learner`` on the table of a store's claims (their wordings ``texts``)."""
    ids = rows.ids
    claim_class, vocabulary = answer_classes(texts)
    prior = [priors.get(s, params.unknown_source) for s in ids]
    group_names = [sources[s].group if s in sources else None for s in ids]
    known_groups = {g: i for i, g in enumerate(sorted({g for g in group_names if g}))}
    group = np.array([known_groups[g] if g else -1 for g in group_names], dtype=np.intp)
    reliability = np.array([b.mean for b in rows.beliefs])
    relays = rows.relay_entities()
    # One FitData for every relay pass, its fidelities re-evaluated at each pass's
    # reliabilities; the table goes before the EM (it is most of the fit's memory).
    relayed = rows.relayed()
    data = rows.fit_data(
        reliability,
        age_days=age_days,
        outcome=outcome,
        prior_alpha=np.array([b.alpha for b in prior]),
        prior_beta=np.array([b.beta for b in prior]),
        claim_class=claim_class,
        source_group=group,
    )
    del rows
    for attempt in range(MAX_RELAY_PASSES):
        if attempt == 0:
            learner.fit(data)
        else:
            # The last pass's per-row state goes before the new fidelities are made.
            learner.release_rows()
            data = data.with_fidelity(relayed.fidelity(reliability))
            learner.refit(data)
        learned = learner.reliability_
        settled = relays.size == 0 or bool(
            np.abs(learned[relays] - reliability[relays]).max() <= learner.tol
        )
        reliability = learned
        if settled:
            break
    beliefs = {
        s: Beta(float(a), float(b))
        for s, a, b in zip(ids, learner.alpha_.tolist(), learner.beta_.tolist(), strict=True)
    }
    model = LearnedModel.of(
        learner.structure_, learner.temperature_, ids, vocabulary, learner.log_temperature_se_
    )
    return StoreFit(beliefs, model.with_stats(learner.stats()), learner.confidence_)
