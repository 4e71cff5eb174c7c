"""Schemas of the learning loop's endpoints: resolutions, history, jobs, calibration.

Request schemas validate; response schemas document the plain dicts the views
build (as in ``service.schemas.responses``).
"""

from __future__ import annotations

from datetime import UTC

from marshmallow import fields, validate

from service.schemas.requests import MAX_NOTE, AwareTime, Strict, Text, slug
from service.schemas.responses import ModelSchema

OUTCOMES = ("confirmed", "refuted")
MAX_BINS = 50
MAX_JOBS_PAGE = 100


class ResolutionRequestSchema(Strict):
    outcome = Text(required=True, validate=validate.OneOf(OUTCOMES))
    resolved_at = AwareTime(
        default_timezone=UTC, metadata={"description": "When the truth became known; default now."}
    )
    note = Text(validate=validate.Length(max=MAX_NOTE), allow_none=True)


class ChangeSchema(Strict):
    source = fields.String(required=True)
    weight_before = fields.Float(required=True)
    weight_after = fields.Float(required=True)
    reliability_before = fields.Float(allow_none=True, required=True)
    reliability_after = fields.Float(allow_none=True, required=True)


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
            "resolution or rescore."
        },
    )
    job_id = fields.String(allow_none=True, required=True)
    changes = fields.Nested(
        ChangeSchema,
        many=True,
        required=True,
        metadata={"description": "For a rescore: the sources whose weight changed most."},
    )


class HistoryResponseSchema(Strict):
    claim_id = fields.String(required=True)
    history = fields.Nested(HistoryEntrySchema, many=True, required=True)


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
            "description": "Counts (claims_read, claims_rescored, claims_changed, ...) and "
            "timings in seconds (read, fit, score, write, total)."
        },
    )
    error = fields.String(allow_none=True, required=True)


class JobResponseSchema(Strict):
    job = fields.Nested(JobSchema, required=True)


class JobsQuerySchema(Strict):
    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(1, MAX_JOBS_PAGE),
        metadata={"description": "≤ 100"},
    )


class JobsResponseSchema(Strict):
    jobs = fields.Nested(JobSchema, many=True, required=True)


class CalibrationQuerySchema(Strict):
    source = slug(metadata={"description": "Only claims this source took a side on."})
    tag = Text(validate=validate.Length(min=1, max=128))
    since = AwareTime(
        default_timezone=UTC, metadata={"description": "Only resolutions with resolved_at ≥ this."}
    )
    bins = fields.Integer(load_default=10, validate=validate.Range(1, MAX_BINS))


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
