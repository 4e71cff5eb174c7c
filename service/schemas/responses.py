"""Schemas of response bodies, for the OpenAPI document and the tests.

Responses are built by ``service.schemas.documents``; these describe them.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from service.schemas.requests import PriorSchema, Strict


def _interval() -> fields.List:
    return fields.List(fields.Float(), metadata={"description": "[low, high]"})


class EvidenceSchema(Strict):
    source = fields.String(required=True)
    via = fields.List(fields.String(), required=True)
    stance = fields.String(required=True)
    reliability = fields.Float(required=True)
    effective_reliability = fields.Float(required=True)
    weight = fields.Float(required=True)
    note = fields.String(allow_none=True, required=True)


class ModelSchema(Strict):
    name = fields.String(required=True)
    version = fields.String(required=True)


class ScoreSchema(Strict):
    claim_id = fields.String(allow_none=True, required=True)
    confidence = fields.Float(required=True)
    interval = _interval()
    estimative = fields.String(required=True)
    credibility = fields.Integer(required=True)
    independent_sources = fields.Float(required=True)
    evidence = fields.Nested(EvidenceSchema, many=True, metadata={"description": "Not in lists."})
    summary = fields.String(required=True)
    model = fields.Nested(ModelSchema, required=True)
    computed_at = fields.String(required=True)


class ScoresResponseSchema(Strict):
    scores = fields.Nested(ScoreSchema, many=True, required=True)


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


class StoredClaimSchema(Strict):
    id = fields.String(required=True)
    text = fields.String(required=True)
    prior = fields.Float(allow_none=True)
    question = fields.String(allow_none=True)
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


class StoredSourceSchema(Strict):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    prior = fields.Nested(PriorSchema, allow_none=True)
    notes = fields.String(allow_none=True)
    origin = fields.String(
        required=True, metadata={"description": "`api` (defined here) or `catalogue` (shipped)."}
    )
    track_record = fields.Nested(TrackRecordSchema, required=True)
    reliability = fields.Nested(ReliabilitySchema, required=True)
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class SourcePageSchema(Strict):
    sources = fields.Nested(StoredSourceSchema, many=True, required=True)
    next_cursor = fields.String(allow_none=True, required=True)


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
