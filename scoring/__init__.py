"""Credence's scoring model: calibrated confidence for attributed claims (numpy only)."""

from scoring.beta import Beta, beta_intervals, beta_means
from scoring.claims import Attribution, Claim
from scoring.explain import Evidence
from scoring.params import ScoringParams, SourceBelief
from scoring.priors import GradeTable, pool_group_priors, prior_from_spec
from scoring.rows import EvidenceRows
from scoring.scorer import MODEL, MODEL_NAME, MODEL_VERSION, ClaimScorer, Score, ScoreTable
from scoring.track_record import (
    ReliabilitySummary,
    decayed_counts,
    summarize_reliability,
    track_record_posterior,
)

__all__ = [
    "MODEL",
    "MODEL_NAME",
    "MODEL_VERSION",
    "Attribution",
    "Beta",
    "Claim",
    "ClaimScorer",
    "Evidence",
    "EvidenceRows",
    "GradeTable",
    "ReliabilitySummary",
    "Score",
    "ScoreTable",
    "ScoringParams",
    "SourceBelief",
    "beta_intervals",
    "beta_means",
    "decayed_counts",
    "pool_group_priors",
    "prior_from_spec",
    "summarize_reliability",
    "track_record_posterior",
]
