"""Response bodies: each one's schema, and beside it the function that builds it.

The views return what these functions build, as plain dicts: dumping through
marshmallow would double the cost of a scoring request. The schemas are the
OpenAPI document of those dicts, and the tests check the two agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from scoring import Score, summarize_reliability
from scoring.numeric import ErrorScale, Estimate
from service.formats.admiralty import reliability_tag, score_codes
from service.schemas.requests import PriorSchema, Strict
from service.schemas.warnings import CODES
from service.scoring_model import ScoringModel
from service.store import models
from service.store.scores import evidence_values, stored_score_values
from service.store.source_beliefs import SourceBook


@functools.lru_cache(maxsize=1024)
def iso_time(value: datetime | None) -> str | None:
    # Cached: a batch's documents repeat its write time in every claim.
    return value.isoformat() if value is not None else None


GradeOf = Callable[[str], str]
"""A source id's current Admiralty letter (``ScoringModel.grader``)."""


def _interval() -> fields.List:
    return fields.List(fields.Float(), metadata={"description": "[low, high]"})


def _misp_tags(description: str) -> fields.List:
    return fields.List(fields.String(), required=True, metadata={"description": description})


class ModelSchema(Strict):
    name = fields.String(required=True)
    version = fields.String(required=True)


def model_document(model: str) -> dict[str, str]:
    """A stored ``name/version`` model tag as the contract's ``{"name", "version"}``."""
    name, _, version = model.rpartition("/")
    return {"name": name, "version": version}


# --- scores -------------------------------------------------------------------


class EvidenceSchema(Strict):
    source = fields.String(required=True)
    via = fields.List(fields.String(), required=True)
    stance = fields.String(required=True)
    reliability = fields.Float(required=True)
    effective_reliability = fields.Float(required=True)
    weight = fields.Float(required=True)
    note = fields.String(allow_none=True, required=True)


class ScoreSchema(Strict):
    claim_id = fields.String(allow_none=True, required=True)
    confidence = fields.Float(required=True)
    interval = _interval()
    estimative = fields.String(required=True)
    credibility = fields.Integer(required=True)
    admiralty = fields.String(
        required=True,
        metadata={
            "description": "Admiralty code: the grade of the most reliable supporting source "
            '(F if none supports the claim), then `credibility`, e.g. "B2".'
        },
    )
    tags = _misp_tags("The code in MISP's admiralty-scale taxonomy.")
    independent_sources = fields.Float(required=True)
    evidence = fields.Nested(EvidenceSchema, many=True, metadata={"description": "Not in lists."})
    summary = fields.String(required=True)
    model = fields.Nested(ModelSchema, required=True)
    computed_at = fields.String(required=True)


class WarningSchema(Strict):
    field = fields.String(
        required=True, metadata={"description": "e.g. claims[0].attributions[1].source"}
    )
    code = fields.String(
        required=True,
        metadata={"description": f"{', '.join(CODES[:-1])} or {CODES[-1]}"},
    )
    detail = fields.String(required=True)


def _warnings() -> fields.List:
    return fields.List(
        fields.Nested(WarningSchema),
        required=True,
        metadata={
            "description": "Valid input that is probably not what was meant; with "
            "`?strict=true` a 422 instead."
        },
    )


class AddedEvidenceSchema(ScoreSchema):
    """The new score of a claim given evidence, and the warnings of that evidence."""

    warnings = _warnings()


def fresh_score_document(score: Score, computed_at: str, grade_of: GradeOf) -> dict[str, Any]:
    """``score_document(score_values(score, t))`` in one step, ``computed_at`` already
    rendered: the body of a score that is not stored (POST /v1/score)."""
    low, high = score.interval
    evidence = evidence_values(score)
    credibility = int(score.credibility)
    return {
        "claim_id": score.claim_id,
        "confidence": float(score.confidence),
        "interval": [float(low), float(high)],
        "estimative": score.estimative,
        "credibility": credibility,
        **score_codes(evidence, credibility, grade_of),
        "independent_sources": float(score.independent_sources),
        "summary": score.summary,
        "model": model_document(score.model),
        "computed_at": computed_at,
        "evidence": evidence,
    }


def score_document(
    values: Mapping[str, Any] | models.Score, grade_of: GradeOf, evidence: bool = True
) -> dict[str, Any]:
    """The contract's Score from ``score_values`` or a stored row; its Admiralty code
    grades the supporting sources as ``grade_of`` does now."""
    row = values if isinstance(values, Mapping) else stored_score_values(values)
    document = {
        "claim_id": row["claim_id"],
        "confidence": row["confidence"],
        "interval": [row["low"], row["high"]],
        "estimative": row["estimative"],
        "credibility": row["credibility"],
        **score_codes(row["evidence"], row["credibility"], grade_of),
        "independent_sources": row["independent_sources"],
        "summary": row["summary"],
        "model": model_document(row["model"]),
        "computed_at": iso_time(row["computed_at"]),
    }
    if evidence:
        document["evidence"] = row["evidence"]
    return document


# --- claims -------------------------------------------------------------------


class StoredAttributionSchema(Strict):
    source = fields.String(required=True)
    stance = fields.String(required=True)
    via = fields.List(fields.String(), required=True)
    certainty = fields.Float(required=True)
    count = fields.Integer(required=True)
    observed_at = fields.String(required=True)
    url = fields.String()
    quote = fields.String()


class ResolutionSchema(Strict):
    outcome = fields.String(required=True)
    resolved_at = fields.String(required=True)
    note = fields.String(allow_none=True)
    forecast = fields.Float(metadata={"description": "The confidence the claim had when resolved."})


class FigureSchema(Strict):
    point = fields.Float()
    low = fields.Float()
    high = fields.Float()


class StoredClaimSchema(Strict):
    id = fields.String(required=True)
    text = fields.String(required=True)
    prior = fields.Float(allow_none=True)
    question = fields.String(allow_none=True)
    value = fields.Nested(FigureSchema, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    status = fields.String(required=True)
    resolution = fields.Nested(ResolutionSchema, allow_none=True)
    score = fields.Nested(ScoreSchema, allow_none=True, required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    attributions = fields.Nested(
        StoredAttributionSchema, many=True, metadata={"description": "Not in lists."}
    )


class ClaimsResponseSchema(Strict):
    claims = fields.Nested(StoredClaimSchema, many=True, required=True)


class ClaimPageSchema(ClaimsResponseSchema):
    next_cursor = fields.String(allow_none=True, required=True)


class StoredClaimsResponseSchema(ClaimsResponseSchema):
    warnings = _warnings()


def attribution_document(row: models.Attribution) -> dict[str, Any]:
    document: dict[str, Any] = {
        "source": row.source_id,
        "stance": row.stance,
        "via": row.via,
        "certainty": row.certainty,
        "count": row.count,
        "observed_at": iso_time(row.observed_at),
    }
    if row.url is not None:
        document["url"] = row.url
    if row.quote is not None:
        document["quote"] = row.quote
    return document


def resolution_document(row: models.Resolution | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "outcome": row.outcome,
        "resolved_at": iso_time(row.resolved_at),
        "note": row.note,
        "forecast": row.forecast,
    }


def claim_document(
    claim: models.Claim,
    score: Mapping[str, Any] | models.Score | None = None,
    *,
    grade_of: GradeOf,
    full: bool = True,
) -> dict[str, Any]:
    """A stored claim; lists (``full=False``) leave out attributions and score.evidence.

    ``score`` is a fresh ``score_values`` when the claim was just scored, else the
    stored score is used.
    """
    current = score if score is not None else claim.score
    document: dict[str, Any] = {
        "id": claim.id,
        "text": claim.text,
        "prior": claim.prior,
        "question": claim.question,
        "value": claim.value,
        "tags": sorted(t.tag for t in claim.tags),
        "status": claim.status,
        "resolution": resolution_document(claim.resolution),
        "score": score_document(current, grade_of, evidence=full) if current is not None else None,
        "created_at": iso_time(claim.created_at),
        "updated_at": iso_time(claim.updated_at),
    }
    if full:
        document["attributions"] = [attribution_document(a) for a in claim.attributions]
    return document


def stored_claim_document(
    claim_id: str,
    claim: Mapping[str, Any],
    score: Mapping[str, Any],
    *,
    grade_of: GradeOf,
    status: str,
    created_at: datetime,
    updated_at: datetime,
    resolution: models.Resolution | None,
) -> dict[str, Any]:
    """``claim_document`` of a claim just stored from ``claim`` (a validated request
    claim) and scored, built without reading it back; attributions without an
    ``observed_at`` were stored as observed at ``updated_at``."""
    written_at = iso_time(updated_at)
    attributions = []
    for a in claim["attributions"]:
        observed_at = a.get("observed_at")
        attribution: dict[str, Any] = {
            "source": a["source"],
            "stance": a["stance"],
            "via": list(a["via"]),
            "certainty": a["certainty"],
            "count": a["count"],
            "observed_at": written_at
            if observed_at is None
            else iso_time(observed_at.astimezone(UTC)),
        }
        if a.get("url") is not None:
            attribution["url"] = a["url"]
        if a.get("quote") is not None:
            attribution["quote"] = a["quote"]
        attributions.append(attribution)
    return {
        "id": claim_id,
        "text": claim["text"],
        "prior": claim.get("prior"),
        "question": claim.get("question"),
        "value": claim.get("value"),
        "tags": sorted(set(claim.get("tags", ()))),
        "status": status,
        "resolution": resolution_document(resolution),
        "score": score_document(score, grade_of),
        "created_at": iso_time(created_at),
        "updated_at": written_at,
        "attributions": attributions,
    }


# --- questions ----------------------------------------------------------------


class ModeSchema(Strict):
    value = fields.Float(required=True)
    weight = fields.Float(required=True, metadata={"description": "Posterior mass of the camp."})
    sources = fields.List(
        fields.String(), required=True, metadata={"description": "Reports whose figures it holds."}
    )


class EstimateSchema(Strict):
    median = fields.Float(required=True)
    interval = _interval()
    modes = fields.Nested(
        ModeSchema,
        many=True,
        required=True,
        metadata={"description": "The distinct camps of claimed figures, heaviest first."},
    )
    independent_sources = fields.Float(required=True)
    summary = fields.String(required=True)


class QuestionEstimateSchema(Strict):
    id = fields.String(required=True)
    estimate = fields.Nested(EstimateSchema, required=True)


class ScoresResponseSchema(Strict):
    scores = fields.Nested(ScoreSchema, many=True, required=True)
    questions = fields.Nested(
        QuestionEstimateSchema,
        many=True,
        required=True,
        metadata={"description": "The estimate of each numeric question among the claims."},
    )
    warnings = _warnings()


class QuestionResolutionDocumentSchema(Strict):
    value = fields.Float(required=True)
    resolved_at = fields.String(required=True)
    note = fields.String(allow_none=True)


class StoredQuestionSchema(Strict):
    id = fields.String(required=True)
    text = fields.String(allow_none=True)
    kind = fields.String(required=True, metadata={"description": "`choice` or `numeric`."})
    defined = fields.Boolean(
        required=True, metadata={"description": "Defined through the API, else only named."}
    )
    unit = fields.String(allow_none=True)
    scale = fields.String(allow_none=True)
    tolerance = fields.Float(allow_none=True)
    resolution = fields.Nested(QuestionResolutionDocumentSchema, allow_none=True)
    answers = fields.Nested(StoredClaimSchema, many=True, required=True)
    estimate = fields.Nested(EstimateSchema, allow_none=True, required=True)
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class QuestionPageSchema(Strict):
    questions = fields.Nested(StoredQuestionSchema, many=True, required=True)
    next_cursor = fields.String(allow_none=True, required=True)


def estimate_document(estimate: Estimate) -> dict[str, Any]:
    low, high = estimate.interval
    return {
        "median": estimate.median,
        "interval": [low, high],
        "modes": [
            {"value": m.value, "weight": m.weight, "sources": list(m.sources)}
            for m in estimate.modes
        ],
        "independent_sources": estimate.independent_sources,
        "summary": estimate.summary,
    }


def question_document(
    question_id: str,
    row: models.Question | None,
    answers: Sequence[models.Claim],
    estimate: Estimate | None,
    grade_of: GradeOf,
) -> dict[str, Any]:
    """A question, defined (``row``) or only named by its claims, with its answers."""
    numeric = (row.kind == "numeric") if row is not None else any(a.value for a in answers)
    resolution = None
    if row is not None and row.resolved_value is not None:
        resolution = {
            "value": row.resolved_value,
            "resolved_at": iso_time(row.resolved_at),
            "note": row.resolution_note,
        }
    return {
        "id": question_id,
        "text": row.text if row is not None else None,
        "kind": "numeric" if numeric else "choice",
        "defined": row is not None,
        "unit": row.unit if row is not None else None,
        "scale": (row.scale if row is not None else None) or ("log" if numeric else None),
        "tolerance": row.tolerance if row is not None else None,
        "resolution": resolution,
        "answers": [claim_document(a, grade_of=grade_of, full=False) for a in answers],
        "estimate": estimate_document(estimate) if estimate is not None else None,
        "created_at": iso_time(row.created_at) if row is not None else None,
        "updated_at": iso_time(row.updated_at) if row is not None else None,
    }


# --- score history ------------------------------------------------------------


class ChangeSchema(Strict):
    change = fields.String(
        required=True,
        validate=validate.OneOf(("weight", "added", "removed")),
        metadata={
            "description": "`weight`: a source's weight moved (a rescore); `added` or "
            "`removed`: an attribution, whose fields follow."
        },
    )
    source = fields.String(required=True)
    weight_before = fields.Float()
    weight_after = fields.Float()
    reliability_before = fields.Float(allow_none=True)
    reliability_after = fields.Float(allow_none=True)
    stance = fields.String()
    via = fields.List(fields.String())
    certainty = fields.Float()
    count = fields.Integer()
    url = fields.String()
    quote = fields.String()


class HistoryEntrySchema(Strict):
    confidence = fields.Float(required=True)
    interval = fields.List(fields.Float(), required=True, metadata={"description": "[low, high]"})
    credibility = fields.Integer(required=True)
    model = fields.Nested(ModelSchema, required=True)
    computed_at = fields.String(required=True)
    reason = fields.String(
        required=True,
        metadata={
            "description": "What moved the score: created, updated, attributions, sibling, "
            "resolution, resolution-withdrawn or rescore."
        },
    )
    job_id = fields.String(allow_none=True, required=True)
    changes = fields.Nested(
        ChangeSchema,
        many=True,
        required=True,
        metadata={
            "description": "For a rescore, the sources whose weight changed most; for a "
            "re-post or added evidence, the attributions added and removed."
        },
    )


class HistoryResponseSchema(Strict):
    claim_id = fields.String(required=True)
    history = fields.Nested(HistoryEntrySchema, many=True, required=True)


def history_entry(row: models.ScoreHistory) -> dict[str, Any]:
    """One past score of a claim and what moved it."""
    return {
        "confidence": row.confidence,
        "interval": [row.low, row.high],
        "credibility": row.credibility,
        "model": model_document(row.model),
        "computed_at": iso_time(row.computed_at),
        "reason": row.reason,
        "job_id": row.job_id,
        # A rescore's weight changes are stored without a kind (``largest_changes``).
        "changes": [c if "change" in c else {"change": "weight", **c} for c in row.changes or ()],
    }


# --- sources ------------------------------------------------------------------


class TrackRecordSchema(Strict):
    confirmed = fields.Integer(required=True)
    refuted = fields.Integer(required=True)
    pending = fields.Integer(required=True)


class ReliabilitySchema(Strict):
    mean = fields.Float(required=True)
    interval = _interval()
    grade = fields.String(required=True)
    learned = fields.Boolean(
        required=True, metadata={"description": "From the track record fit, else from the prior."}
    )


class ErrorScaleSchema(Strict):
    scale = fields.Float(
        required=True,
        metadata={"description": "Typical error of its figures (log units: 0.2 is about ±20 %)."},
    )
    strength = fields.Float(required=True, metadata={"description": "Figures it was learned from."})
    informative = fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "Chance that a figure of the source is informative (mean)."},
    )


class StoredSourceSchema(Strict):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    prior = fields.Nested(PriorSchema, allow_none=True)
    notes = fields.String(allow_none=True)
    origin = fields.String(
        required=True,
        metadata={
            "description": "`api` (defined here), `catalogue` (shipped), or `learned`: "
            "defined nowhere, known from the claims that name it and their resolutions."
        },
    )
    track_record = fields.Nested(TrackRecordSchema, required=True)
    reliability = fields.Nested(ReliabilitySchema, required=True)
    tags = _misp_tags(
        "`reliability.grade` in MISP's admiralty-scale taxonomy "
        '(`admiralty-scale:source-reliability="b"`).'
    )
    error_scale = fields.Nested(
        ErrorScaleSchema,
        allow_none=True,
        required=True,
        metadata={"description": "Learned from numeric questions; null until a job learns it."},
    )
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class SourceListSchema(Strict):
    sources = fields.Nested(StoredSourceSchema, many=True, required=True)


class SourcePageSchema(SourceListSchema):
    next_cursor = fields.String(allow_none=True, required=True)


def error_scale_document(error: ErrorScale) -> dict[str, Any]:
    informative = error.informative
    return {
        "scale": error.scale,
        "strength": error.strength,
        "informative": informative.mean if informative is not None else None,
    }


def source_documents(
    book: SourceBook,
    setup: ScoringModel,
    records: Mapping[str, Mapping[str, int]],
    source_ids: Sequence[str],
    errors: Mapping[str, ErrorScale],
) -> list[dict[str, Any]]:
    """The sources ``source_ids`` as ``book`` believes them; ``records`` are their
    track records (``service.store.sources.track_records``), ``errors`` their learned
    error scales (``service.store.questions.learned_error_scales``)."""
    beliefs = [book.belief(source_id, setup).belief for source_id in source_ids]
    summary = summarize_reliability(
        [b.alpha for b in beliefs], [b.beta for b in beliefs], setup.grades, setup.interval_level
    )
    documents = []
    for i, source_id in enumerate(source_ids):
        definition = book.definitions.get(source_id)
        documents.append(
            {
                "id": source_id,
                "name": definition.name if definition else None,
                "kind": definition.kind if definition else None,
                "group": definition.group if definition else None,
                "prior": dict(definition.prior) if definition and definition.prior else None,
                "notes": definition.notes if definition else None,
                "origin": (
                    "learned" if definition is None else "api" if definition.stored else "catalogue"
                ),
                "track_record": records[source_id],
                "reliability": {
                    "mean": float(summary.mean[i]),
                    "interval": [float(summary.low[i]), float(summary.high[i])],
                    "grade": summary.grade[i],
                    "learned": source_id in book.learned,
                },
                "tags": [reliability_tag(summary.grade[i])],
                "error_scale": (
                    error_scale_document(errors[source_id]) if source_id in errors else None
                ),
                "created_at": iso_time(definition.created_at if definition else None),
                "updated_at": iso_time(definition.updated_at if definition else None),
            }
        )
    return documents


# --- jobs ---------------------------------------------------------------------


class JobSchema(Strict):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("queued", "running", "succeeded", "failed"))
    )
    created_at = fields.String(required=True)
    started_at = fields.String(allow_none=True, required=True)
    finished_at = fields.String(allow_none=True, required=True)
    heartbeat_at = fields.String(allow_none=True, required=True)
    stats = fields.Dict(
        required=True,
        metadata={
            "description": "Counts (claims_read, claims_rescored, claims_changed, ...), "
            "timings in seconds (read, fit, score, write, total), and what the job moved "
            "most: claims_moved_most ({claim_id, before, after}: confidences) and "
            "sources_moved_most ({source, before, after}: reliabilities), ten each, "
            "largest move first."
        },
    )
    error = fields.String(allow_none=True, required=True)


class JobResponseSchema(Strict):
    job = fields.Nested(JobSchema, required=True)


class JobsResponseSchema(Strict):
    jobs = fields.Nested(JobSchema, many=True, required=True)
    next_cursor = fields.String(allow_none=True, required=True)


def job_document(job: models.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
        "heartbeat_at": iso_time(job.heartbeat_at),
        "stats": job.stats or {},
        "error": job.error,
    }


# --- calibration --------------------------------------------------------------


class BinSchema(Strict):
    lower = fields.Float(required=True)
    upper = fields.Float(required=True)
    predicted = fields.Float(required=True, metadata={"description": "Mean forecast in the bin."})
    observed = fields.Float(required=True, metadata={"description": "Share confirmed in the bin."})
    count = fields.Integer(required=True)


class CalibrationSchema(Strict):
    count = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    refuted = fields.Integer(required=True)
    brier_score = fields.Float(allow_none=True, required=True)
    log_loss = fields.Float(allow_none=True, required=True)
    expected_calibration_error = fields.Float(allow_none=True, required=True)
    bins = fields.Nested(BinSchema, many=True, required=True)
    filters = fields.Dict(required=True)


# --- health and errors --------------------------------------------------------


class HealthSchema(Strict):
    status = fields.String(required=True)


class ReadinessSchema(HealthSchema):
    database = fields.String(required=True)
    migrations = fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field path, e.g. claims.3.attributions.0.certainty"},
    )
