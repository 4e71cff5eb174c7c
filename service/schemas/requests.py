"""Marshmallow schemas of request bodies and query strings.

The schemas are the rules, the OpenAPI document and the error messages. The
batch schemas of the scoring endpoints (``ClaimBatchSchema``,
``ScoreRequestSchema``, ``AttributionBatchSchema``) also have a fast path: one
plain-Python pass that checks a body by the same rules and builds the same
loaded dict, for bodies it can vouch for. Anything it cannot vouch for (any
broken rule, such as a number given as a string) is loaded by marshmallow as
before, which names every offending field. Marshmallow's per-field machinery
cost ~9 ms per 100 claims; the pass costs ~0.4 ms.
``tests/service/test_request_fast_path.py`` checks that both give the same
result on valid and invalid bodies.

Types are strict on both paths: a number is a JSON number (``"0.5"`` and ``true``
are refused, see ``StrictFloat``), and no string may hold a NUL character
(PostgreSQL cannot store one in text; see ``Text``).

Path ids (``/v1/claims/{claim_id}``, ``/v1/sources/{source_id}``,
``/v1/jobs/{job_id}``) follow their rule too: the ``slug`` and ``job_id`` URL
converters document the pattern, and an id that breaks it is answered 422 naming
``id`` (the request guard in ``service.app``, after authentication), on every
method, like a body's id: it is input that breaks the rules, not an unknown id.

Named versus unnamed sources: a source whose id starts with the configured
``sources.unnamed_prefix`` (``anon:`` by default, e.g. ``anon:us-officials``) is
an unnamed collective; only such a source may give ``count`` above 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from scoring import Beta, GradeTable, prior_from_spec
from scoring.priors import MAX_PRIOR_STRENGTH
from service.settings import Settings

SLUG_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,127}$"
# Jobs are named by ``service.jobs.rescore`` (``uuid.uuid4().hex``).
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
NUL = "\x00"
# The checks anchor at the very end: ``$`` would also match before a final newline.
SLUG_RE = re.compile(SLUG_PATTERN.removesuffix("$") + r"\Z")
JOB_ID_RE = re.compile(JOB_ID_PATTERN.removesuffix("$") + r"\Z")


def _literal(pattern: str) -> str:
    """``pattern`` inside a marshmallow message, which is a ``str.format`` template."""
    return pattern.replace("{", "{{").replace("}", "}}")


STANCES = ("supports", "refutes", "neutral")
PRIOR_KEYS = ("alpha", "beta", "reliability", "strength", "grade")
MAX_COUNT = 10_000
MAX_VIA = 32
MAX_TAGS = 64
MAX_URL = 2_048
MAX_NOTE = 10_000

# Validating a prior's form needs a grade table and an unknown prior, not their values.
_ANY_GRADES = GradeTable.default()
_ANY_UNKNOWN = Beta(1, 1)
_open_unit = validate.Range(0, 1, min_inclusive=False, max_inclusive=False)
_pseudo_count = validate.Range(
    0,
    MAX_PRIOR_STRENGTH,
    min_inclusive=False,
    error=f"Must be > 0 and at most {MAX_PRIOR_STRENGTH:,.0f}.",
)


class Text(fields.String):
    """A string that can be stored: PostgreSQL refuses NUL (U+0000) in text."""

    default_error_messages = {"nul": "Must not contain NUL characters (U+0000)."}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if NUL in text:
            raise self.make_error("nul")
        return text


class AwareTime(fields.AwareDateTime):
    """An RFC 3339 time; one with a NUL (which Python's parser ignores) is not one,
    nor one whose UTC time falls outside the years 1-9999 (0001-01-01T00:00+01:00),
    which the store keeps in UTC."""

    default_error_messages = {"range": "Must lie between the years 1 and 9999 in UTC."}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and NUL in value:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        time = super()._deserialize(value, attr, data, **kwargs)
        try:
            time.astimezone(UTC)
        except OverflowError:
            raise self.make_error("range") from None
        return time


class StrictFloat(fields.Float):
    """A JSON number: unlike ``fields.Float``, a string such as ``"0.5"`` is not one.

    Booleans are refused by marshmallow's ``Number`` already. Only for bodies: a
    query string's numbers arrive as text and use ``fields.Float``.
    """

    def _validated(self, value: Any) -> float:
        if not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def slug(**kwargs: Any) -> Text:
    return Text(
        validate=validate.Regexp(SLUG_RE, error=f"Not a valid slug: {_literal(SLUG_PATTERN)}"),
        **kwargs,
    )


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class PriorSchema(Strict):
    """One of {alpha, beta}, {reliability, strength} or {grade}."""

    alpha = StrictFloat(validate=_pseudo_count)
    beta = StrictFloat(validate=_pseudo_count)
    reliability = StrictFloat(validate=_open_unit)
    strength = StrictFloat(validate=_pseudo_count)
    grade = Text(validate=validate.OneOf("ABCDEF"))

    @ma.validates_schema
    def _one_form(self, data: dict[str, Any], **_: Any) -> None:
        # The scoring library owns the rules of a prior; only the key it names is ours.
        try:
            prior_from_spec(data, _ANY_GRADES, _ANY_UNKNOWN)
        except ValueError as exc:
            key, _sep, message = str(exc).partition(": ")
            raise ma.ValidationError({key if key in PRIOR_KEYS else "_schema": [message]}) from None


class SourceSchema(Strict):
    """A source's definition (PUT /v1/sources/{id}); every field optional."""

    name = Text(validate=validate.Length(1, 1_000), allow_none=True)
    kind = Text(validate=validate.Length(1, 128), allow_none=True)
    group = slug(allow_none=True)
    prior = fields.Nested(PriorSchema, allow_none=True)
    notes = Text(validate=validate.Length(max=MAX_NOTE), allow_none=True)


MAX_BATCH_WRITES = 10_000
"""Sources or resolutions per batch write (the contract's limit)."""


def _unique_ids(items: Sequence[Mapping[str, Any]], key: str, name: str) -> None:
    """Refuse a batch naming one id twice, naming each repeat's field."""
    seen: set[str] = set()
    errors: dict[int, dict[str, list[str]]] = {}
    for i, item in enumerate(items):
        value = item.get(key)
        if value in seen:
            errors[i] = {key: ["The same id appears twice in the batch."]}
        if value is not None:
            seen.add(value)
    if errors:
        raise ma.ValidationError({name: errors})


class SourceBatchItemSchema(SourceSchema):
    id = slug(required=True)


class SourceBatchSchema(Strict):
    """``{"sources": [{"id", ...fields of PUT...}]}`` (POST /v1/sources)."""

    sources = fields.Nested(
        SourceBatchItemSchema,
        many=True,
        required=True,
        validate=validate.Length(max=MAX_BATCH_WRITES),
        metadata={"description": f"At most {MAX_BATCH_WRITES:,}; all are stored or none."},
    )

    @ma.validates_schema(skip_on_field_errors=True)
    def _cross_field(self, data: dict[str, Any], **_: Any) -> None:
        _unique_ids(data["sources"], "id", "sources")


class SourceOverrideSchema(SourceSchema):
    """A source in POST /v1/score: a definition, or a bare prior (``{"grade": "B"}``)."""

    @ma.pre_load
    def _bare_prior(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping) and "prior" not in data:
            bare = {key: data[key] for key in PRIOR_KEYS if key in data}
            if bare:
                rest = {key: value for key, value in data.items() if key not in bare}
                return {**rest, "prior": bare}
        return data


class NullIsAbsent(Strict):
    """A schema whose optional fields in ``NULLABLE`` take null as leaving them out:
    the documents the API answers write such a field as null, and a client that
    posts one back (read, change, write) means no value, as the API did."""

    NULLABLE: tuple[str, ...] = ()

    @ma.pre_load
    def _drop_nulls(self, data: Any, **_: Any) -> Any:
        if isinstance(data, Mapping) and any(data.get(k, 0) is None for k in self.NULLABLE):
            return {k: v for k, v in data.items() if not (v is None and k in self.NULLABLE)}
        return data


class AttributionSchema(NullIsAbsent):
    NULLABLE = ("observed_at", "url", "quote")

    source = slug(required=True)
    stance = Text(validate=validate.OneOf(STANCES), load_default="supports")
    via = fields.List(slug(), validate=validate.Length(max=MAX_VIA), load_default=list)
    certainty = StrictFloat(validate=validate.Range(0, 1, min_inclusive=False), load_default=1.0)
    count = fields.Integer(strict=True, validate=validate.Range(1, MAX_COUNT), load_default=1)
    observed_at = AwareTime(default_timezone=UTC)
    url = Text(validate=validate.Length(max=MAX_URL))
    quote = Text(validate=validate.Length(max=MAX_NOTE))


# Figures stay far from overflow, so that spreads and scales of them stay finite.
_FIGURE = validate.Range(-1e300, 1e300)


class ValueSchema(Strict):
    """A claim's figure: ``point``, or ``low`` and/or ``high`` (a range, "at least", "at most")."""

    point = StrictFloat(validate=_FIGURE, metadata={"description": "The figure stated."})
    low = StrictFloat(
        validate=_FIGURE, metadata={"description": "At least (alone) or the range's low end."}
    )
    high = StrictFloat(
        validate=_FIGURE, metadata={"description": "At most (alone) or the range's high end."}
    )

    @ma.validates_schema
    def _one_form(self, data: dict[str, Any], **_: Any) -> None:
        if "point" in data and ("low" in data or "high" in data):
            raise ma.ValidationError({"point": ["Give a point, or low and/or high, not both."]})
        if not data:
            raise ma.ValidationError({"point": ["Give a point, or low and/or high."]})
        if "low" in data and "high" in data and data["low"] > data["high"]:
            raise ma.ValidationError({"high": ["Must not be below low."]})


class ClaimSchema(NullIsAbsent):
    NULLABLE = ("prior", "question", "value")

    id = slug(
        metadata={
            "description": "The client's id: storing the same id again updates that claim."
            " Left out, the service gives one that begins with the time it was stored"
            " (a listing by id shows those claims oldest first)."
        }
    )
    # The upper bound of text comes from config; see ``_check_limits``.
    text = Text(
        required=True,
        validate=validate.Regexp(r"\s*\S", error="Must hold more than white space."),
    )
    prior = StrictFloat(validate=_open_unit)
    attributions = fields.Nested(AttributionSchema, many=True, load_default=list)
    question = slug()
    value = fields.Nested(
        ValueSchema,
        metadata={"description": "The figure of an answer to a numeric question."},
    )
    tags = fields.List(
        Text(validate=validate.Length(1, 128)),
        validate=validate.Length(max=MAX_TAGS),
        load_default=list,
    )


def _settings() -> Settings:
    # Imported here: the source catalogue loads these schemas in a job's process,
    # which never loads the web app.
    from flask import current_app

    settings: Settings = current_app.extensions["credence"].settings
    return settings


def _check_limits(raw: Any) -> None:
    """Refuse oversized batches before deserialising them: counts and text lengths."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("claims"), list):
        return
    limits = _settings().limits
    claims = raw["claims"]
    if len(claims) > limits.claims_per_request:
        raise ma.ValidationError(
            {"claims": [f"At most {limits.claims_per_request} claims per request."]}
        )
    errors: dict[int, dict[str, list[str]]] = {}
    for i, claim in enumerate(claims):
        if not isinstance(claim, Mapping):
            continue
        text, attributions = claim.get("text"), claim.get("attributions")
        if isinstance(text, str) and len(text) > limits.text_max_chars:
            errors.setdefault(i, {})["text"] = [f"Longer than {limits.text_max_chars} characters."]
        if isinstance(attributions, list) and len(attributions) > limits.attributions_per_claim:
            errors.setdefault(i, {})["attributions"] = [
                f"At most {limits.attributions_per_claim} attributions per claim."
            ]
    if errors:
        raise ma.ValidationError({"claims": errors})


def attribution_errors(
    attributions: Iterable[Mapping[str, Any]], unnamed_prefix: str
) -> dict[int, dict[str, list[str]]]:
    """Rules spanning an attribution's fields: relay loops and counts of named sources.

    A chain that comes back to its own source or passes one relay twice is a
    loop; one source reached through two different relays is two attributions,
    and valid.
    """
    errors: dict[int, dict[str, list[str]]] = {}
    for j, attribution in enumerate(attributions):
        source, via = attribution.get("source"), attribution.get("via") or []
        if source in via or len(set(via)) != len(via):
            errors.setdefault(j, {})["via"] = [
                "The relay chain loops back: a relay repeats or is the source itself."
            ]
        if attribution.get("count", 1) > 1 and not str(source).startswith(unnamed_prefix):
            errors.setdefault(j, {})["count"] = [
                f"Only unnamed sources (ids starting with '{unnamed_prefix}') "
                "may have a count above 1."
            ]
    return errors


class _Unsure(Exception):
    """The fast path cannot vouch for a body: marshmallow loads it (and names the errors)."""


_MISSING: Any = object()
_slug_match = SLUG_RE.match
_STANCE_SET = frozenset(STANCES)
_ATTRIBUTION_KEYS = frozenset(
    ("source", "stance", "via", "certainty", "count", "observed_at", "url", "quote")
)
_COMMON_ATTRIBUTION_KEYS = frozenset(("source", "stance", "via", "certainty", "count"))
_CLAIM_KEYS = frozenset(("id", "text", "prior", "attributions", "question", "value", "tags"))
# The fast path knows these fields one by one; a field added to a schema must be added there.
assert frozenset(AttributionSchema._declared_fields) == _ATTRIBUTION_KEYS
assert frozenset(ClaimSchema._declared_fields) == _CLAIM_KEYS
_observed_at = AttributionSchema().fields["observed_at"]


def _is_slug(value: Any) -> bool:
    return type(value) is str and _slug_match(value) is not None


def _is_number(value: Any) -> bool:
    # Neither bool nor str is a number (``StrictFloat``); NaN and infinities fail every range.
    kind = type(value)
    return kind is float or kind is int


def _fast_attribution(raw: Any, unnamed_prefix: str) -> dict[str, Any]:
    """``AttributionSchema().load(raw)`` plus ``attribution_errors``, for a body that passes."""
    # Written for speed: it runs for every attribution of every scoring request.
    if type(raw) is not dict or not _ATTRIBUTION_KEYS.issuperset(raw):
        raise _Unsure
    source: Any = raw.get("source")
    if type(source) is not str or _slug_match(source) is None:
        raise _Unsure
    stance = raw.get("stance", "supports")
    if type(stance) is not str or stance not in _STANCE_SET:
        raise _Unsure
    via = raw.get("via", _MISSING)
    if via is _MISSING or via == []:
        via = []
    elif type(via) is not list or len(via) > MAX_VIA:
        raise _Unsure
    else:
        for relay in via:
            if type(relay) is not str or _slug_match(relay) is None:
                raise _Unsure
        if source in via or len(set(via)) != len(via):
            raise _Unsure
        via = list(via)
    certainty = raw.get("certainty", 1.0)
    kind = type(certainty)
    # bool is not a number to marshmallow; NaN and the infinities fail the range.
    if (kind is not float and kind is not int) or not 0 < certainty <= 1:
        raise _Unsure
    count = raw.get("count", 1)
    if type(count) is not int or not 1 <= count <= MAX_COUNT:
        raise _Unsure
    if count > 1 and not source.startswith(unnamed_prefix):
        raise _Unsure
    loaded = {
        "source": source,
        "stance": stance,
        "via": via,
        "certainty": float(certainty),
        "count": count,
    }
    if not _COMMON_ATTRIBUTION_KEYS.issuperset(raw):
        if "observed_at" in raw:
            try:
                loaded["observed_at"] = _observed_at.deserialize(raw["observed_at"])
            except ma.ValidationError:
                raise _Unsure from None
        for key, longest in (("url", MAX_URL), ("quote", MAX_NOTE)):
            if key in raw:
                value = raw[key]
                if type(value) is not str or len(value) > longest or NUL in value:
                    raise _Unsure
                loaded[key] = value
    return loaded


def _fast_claim(
    raw: Any, text_max: int, attributions_max: int, unnamed_prefix: str
) -> dict[str, Any]:
    """``ClaimSchema().load(raw)`` within the configured limits, for a body that passes."""
    # A claim with a value (a numeric question's answer) is rare: marshmallow loads it.
    if type(raw) is not dict or not _CLAIM_KEYS.issuperset(raw) or "value" in raw:
        raise _Unsure
    loaded: dict[str, Any] = {}
    if "id" in raw:
        if not _is_slug(raw["id"]):
            raise _Unsure
        loaded["id"] = raw["id"]
    text = raw.get("text")
    if type(text) is not str or not 1 <= len(text) <= text_max or NUL in text or text.isspace():
        raise _Unsure
    loaded["text"] = text
    if "prior" in raw:
        prior = raw["prior"]
        if not _is_number(prior) or not 0 < prior < 1:
            raise _Unsure
        loaded["prior"] = float(prior)
    attributions = raw.get("attributions", _MISSING)
    if attributions is _MISSING:
        loaded["attributions"] = []
    elif type(attributions) is not list or len(attributions) > attributions_max:
        raise _Unsure
    else:
        loaded["attributions"] = [_fast_attribution(a, unnamed_prefix) for a in attributions]
    if "question" in raw:
        if not _is_slug(raw["question"]):
            raise _Unsure
        loaded["question"] = raw["question"]
    tags = raw.get("tags", _MISSING)
    if tags is _MISSING:
        loaded["tags"] = []
    elif type(tags) is not list or len(tags) > MAX_TAGS:
        raise _Unsure
    else:
        for tag in tags:
            if type(tag) is not str or not 1 <= len(tag) <= 128 or NUL in tag:
                raise _Unsure
        loaded["tags"] = list(tags)
    return loaded


class _FastLoad(Strict):
    """A schema whose ``load`` tries ``_fast_load`` first, then marshmallow's own load."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Only a schema used as declared: options that change what a load means go the slow way.
        self._fast = (
            not self.many
            and not self.partial
            and self.only is None
            and not self.exclude
            and not self.load_only
            and not self.dump_only
            and self.unknown == ma.RAISE
        )

    def _fast_load(self, data: Any) -> dict[str, Any]:
        raise _Unsure

    def load(
        self,
        data: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        many: bool | None = None,
        partial: bool | ma.types.StrSequenceOrSet | None = None,
        unknown: ma.types.UnknownOption | None = None,
    ) -> Any:
        if self._fast and many is None and partial is None and unknown is None:
            try:
                return self._fast_load(data)
            except _Unsure:
                pass
        return super().load(data, many=many, partial=partial, unknown=unknown)  # type: ignore[arg-type]


class ClaimBatchSchema(_FastLoad):
    """``{"claims": [...]}`` (POST /v1/claims)."""

    claims = fields.Nested(ClaimSchema, many=True, required=True)

    def _fast_load(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict or not self.fields.keys() >= data.keys():
            raise _Unsure
        claims = data.get("claims")
        settings = _settings()
        limits = settings.limits
        if type(claims) is not list or len(claims) > limits.claims_per_request:
            raise _Unsure
        text_max, attributions_max = limits.text_max_chars, limits.attributions_per_claim
        prefix = settings.sources.unnamed_prefix
        loaded = [_fast_claim(c, text_max, attributions_max, prefix) for c in claims]
        ids = [c["id"] for c in loaded if "id" in c]
        if len(set(ids)) != len(ids):
            raise _Unsure
        body: dict[str, Any] = {"claims": loaded}
        if "sources" in data:
            # Source overrides are few: their own field loads them, the marshmallow way.
            try:
                body["sources"] = self.fields["sources"].deserialize(data["sources"])
            except ma.ValidationError:
                raise _Unsure from None
        return body

    @ma.pre_load
    def _refuse_oversized(self, data: Any, **_: Any) -> Any:
        _check_limits(data)
        return data

    @ma.validates_schema(skip_on_field_errors=False)
    def _cross_field(self, data: dict[str, Any], **_: Any) -> None:
        prefix = _settings().sources.unnamed_prefix
        errors: dict[int, dict[str, Any]] = {}
        seen: set[str] = set()
        for i, claim in enumerate(data.get("claims") or ()):
            claim_id = claim.get("id")
            if claim_id is not None:
                if claim_id in seen:
                    errors[i] = {"id": ["The same id appears twice in the batch."]}
                seen.add(claim_id)
            bad = attribution_errors(claim.get("attributions", ()), prefix)
            if bad:
                errors.setdefault(i, {})["attributions"] = bad
            if claim.get("value") is not None and claim.get("question") is None:
                errors.setdefault(i, {})["value"] = ["A claim with a value must name a question."]
        if errors:
            raise ma.ValidationError({"claims": errors})


class ScoreRequestSchema(ClaimBatchSchema):
    """``{"claims": [...], "sources": {id: definition or prior}}`` (POST /v1/score)."""

    sources = fields.Dict(keys=slug(), values=fields.Nested(SourceOverrideSchema))


class AttributionBatchSchema(_FastLoad):
    """``{"attributions": [...]}`` (POST /v1/claims/{id}/attributions)."""

    attributions = fields.Nested(AttributionSchema, many=True, required=True)

    def _fast_load(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict or data.keys() != {"attributions"}:
            raise _Unsure
        attributions = data["attributions"]
        if type(attributions) is not list:
            raise _Unsure
        prefix = _settings().sources.unnamed_prefix
        return {"attributions": [_fast_attribution(a, prefix) for a in attributions]}

    @ma.validates_schema(skip_on_field_errors=False)
    def _cross_field(self, data: dict[str, Any], **_: Any) -> None:
        bad = attribution_errors(data.get("attributions", ()), _settings().sources.unnamed_prefix)
        if bad:
            raise ma.ValidationError({"attributions": bad})


class StrictQuerySchema(_FastLoad):
    """The query of the scoring endpoints: ``?strict=true`` refuses what is only warned about
    otherwise. Used with ``unknown=None``, so that webargs leaves ``RAISE`` to the schema
    (it would exclude a query's unknown keys) and the empty query takes the fast path."""

    strict = fields.Boolean(
        metadata={
            "description": "Refuse (422, naming each field; nothing stored) the input that is "
            "otherwise answered with `warnings`: an undefined source or relay, a duplicate "
            "attribution, a lone answer to a question, an answer a question already has, a "
            "re-post that removes attributions. "
            "Default: the `[api] strict` setting (false as shipped)."
        }
    )

    def _fast_load(self, data: Any) -> dict[str, Any]:
        # Every scoring request has this query, mostly empty.
        if data:
            raise _Unsure
        return {}


class PageQuerySchema(Strict):
    limit = fields.Integer(validate=validate.Range(1, None))
    cursor = Text(validate=validate.Length(max=512))


class ClaimQuerySchema(PageQuerySchema):
    source = slug()
    tag = Text(validate=validate.Length(1, 128))
    min_confidence = fields.Float(validate=validate.Range(0, 1))
    max_confidence = fields.Float(validate=validate.Range(0, 1))
    status = Text(validate=validate.OneOf(("open", "confirmed", "refuted")))
    q = Text(validate=validate.Length(1, 1_000))
    question = slug()


# --- the learning loop: resolutions, jobs, calibration -------------------------

OUTCOMES = ("confirmed", "refuted")

MAX_BINS = 50

MAX_JOBS_PAGE = 100


class ResolutionRequestSchema(Strict):
    outcome = Text(required=True, validate=validate.OneOf(OUTCOMES))
    resolved_at = AwareTime(
        default_timezone=UTC, metadata={"description": "When the truth became known; default now."}
    )
    note = Text(validate=validate.Length(max=MAX_NOTE), allow_none=True)


class ResolutionBatchItemSchema(ResolutionRequestSchema):
    claim_id = slug(required=True)


class ResolutionBatchSchema(Strict):
    """``{"resolutions": [{"claim_id", "outcome", "resolved_at", "note"}]}``
    (POST /v1/resolutions)."""

    resolutions = fields.Nested(
        ResolutionBatchItemSchema,
        many=True,
        required=True,
        validate=validate.Length(max=MAX_BATCH_WRITES),
        metadata={"description": f"At most {MAX_BATCH_WRITES:,}; all are made or none."},
    )

    @ma.validates_schema(skip_on_field_errors=True)
    def _cross_field(self, data: dict[str, Any], **_: Any) -> None:
        _unique_ids(data["resolutions"], "claim_id", "resolutions")


class JobsQuerySchema(Strict):
    limit = fields.Integer(
        load_default=20,
        validate=validate.Range(1, MAX_JOBS_PAGE),
        metadata={"description": "≤ 100"},
    )
    cursor = Text(
        validate=validate.Length(max=512),
        metadata={"description": "A page's `next_cursor`: the older jobs."},
    )


class CalibrationQuerySchema(Strict):
    source = slug(metadata={"description": "Only claims this source took a side on."})
    tag = Text(validate=validate.Length(min=1, max=128))
    since = AwareTime(
        default_timezone=UTC, metadata={"description": "Only resolutions with resolved_at ≥ this."}
    )
    bins = fields.Integer(load_default=10, validate=validate.Range(1, MAX_BINS))


class StixBundleSchema(Strict):
    """A STIX 2.1 bundle (POST /v1/import/stix); its objects are read by ``service.formats``."""

    type = fields.String(required=True, validate=validate.Equal("bundle"))
    id = fields.String(
        required=True,
        validate=validate.Regexp(r"^bundle--[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"),
    )
    # STIX 2.0 bundles carried one; 2.1 readers ignore it.
    spec_version = fields.String()
    objects = fields.List(fields.Dict(), required=True)


# --- questions ------------------------------------------------------------------

QUESTION_KINDS = ("choice", "numeric")
SCALES = ("log", "linear")


class QuestionSchema(Strict):
    """A question's definition (PUT /v1/questions/{id})."""

    text = Text(validate=validate.Length(1, 10_000), allow_none=True)
    kind = Text(validate=validate.OneOf(QUESTION_KINDS), load_default="choice")
    unit = Text(validate=validate.Length(max=128), allow_none=True)
    scale = Text(
        validate=validate.OneOf(SCALES),
        metadata={"description": "Numeric only: `log` (default; positive figures) or `linear`."},
    )
    tolerance = StrictFloat(
        validate=validate.Range(0, 1e300),
        metadata={
            "description": "Numeric only: relative on a log scale (default 0.1, below 1), "
            "absolute on a linear one (default 0: 5 % of the figures' spread)."
        },
    )

    @ma.validates_schema
    def _numeric_fields(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("kind", "choice") == "choice":
            for key in ("scale", "tolerance"):
                if key in data:
                    errors[key] = ["Only a numeric question has one."]
        elif (
            data.get("scale", "log") == "log"
            and "tolerance" in data
            and not 0 < data["tolerance"] < 1
        ):
            errors["tolerance"] = ["On a log scale, in (0, 1): relative to the figure."]
        if errors:
            raise ma.ValidationError(errors)


class QuestionResolutionSchema(Strict):
    value = StrictFloat(
        required=True, validate=_FIGURE, metadata={"description": "The true value."}
    )
    resolved_at = AwareTime(
        default_timezone=UTC, metadata={"description": "When the truth became known; default now."}
    )
    note = Text(validate=validate.Length(max=MAX_NOTE), allow_none=True)
