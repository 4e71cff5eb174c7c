"""Settings: config/default.toml, then the file named by CREDENCE_CONFIG, then
environment variables, validated into typed values.

Every key of default.toml can be set by ``CREDENCE_<SECTION>_<KEY>`` (upper case,
dots as underscores, e.g. ``CREDENCE_SCORING_UNKNOWN_SOURCE_STRENGTH``); the
everyday ones also have short names (see ``SHORT_ENV``). Environment values are
read as TOML values when they parse as one (numbers, booleans, arrays) and as
plain strings otherwise, so ``CREDENCE_PORT=9000`` is a number and a database
URL needs no quotes.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from service.web.problems import flatten_messages

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"

SHORT_ENV = {
    "CREDENCE_DATABASE_URL": ("database", "url"),
    "CREDENCE_PORT": ("server", "port"),
    "CREDENCE_HOST": ("server", "host"),
}


class ConfigError(ValueError):
    """The configuration is unusable; the message names each bad key."""


# --- the validated shape ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str
    port: int
    workers: int
    max_body_bytes: int
    log_level: str


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True, slots=True)
class LimitSettings:
    claims_per_request: int
    attributions_per_claim: int
    text_max_chars: int
    page_max: int


@dataclass(frozen=True, slots=True)
class SourceSettings:
    catalogue: Path
    unnamed_prefix: str


@dataclass(frozen=True, slots=True)
class BetaSpec:
    reliability: float
    strength: float


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    default_claim_prior: float
    interval_level: float
    interval_samples: int
    evidence_cap: float
    default_group_correlation: float
    unnamed_correlation: float
    unknown_source: BetaSpec


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings
    database: DatabaseSettings
    limits: LimitSettings
    sources: SourceSettings
    scoring: ScoringSettings
    learning: dict[str, Any]
    grades: dict[str, BetaSpec]
    groups: dict[str, float]
    raw: dict[str, Any]
    """The merged configuration as read, for ``credence config show`` and for
    sections other modules validate themselves (``learning``)."""


def _positive_int() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


def _probability(*, closed: bool = False) -> fields.Float:
    return fields.Float(
        required=True,
        validate=validate.Range(0, 1, min_inclusive=closed, max_inclusive=closed),
    )


class _Section(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class _ServerSchema(_Section):
    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(required=True, strict=True, validate=validate.Range(1, 65535))
    workers = _positive_int()
    max_body_bytes = _positive_int()
    log_level = fields.String(
        required=True, validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])
    )

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ServerSettings:
        return ServerSettings(**data)


class _DatabaseSchema(_Section):
    url = fields.String(
        required=True,
        validate=validate.Regexp(r"^(sqlite|postgresql)(\+\w+)?://", error="not a supported URL"),
    )

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> DatabaseSettings:
        return DatabaseSettings(**data)


class _LimitsSchema(_Section):
    claims_per_request = _positive_int()
    attributions_per_claim = _positive_int()
    text_max_chars = _positive_int()
    page_max = _positive_int()

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> LimitSettings:
        return LimitSettings(**data)


class _SourcesSchema(_Section):
    catalogue = fields.String(required=True)
    unnamed_prefix = fields.String(required=True, validate=validate.Length(min=1))

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> SourceSettings:
        path = Path(data["catalogue"])
        return SourceSettings(
            catalogue=path if path.is_absolute() else PROJECT_ROOT / path,
            unnamed_prefix=data["unnamed_prefix"],
        )


class _BetaSchema(_Section):
    reliability = _probability()
    strength = fields.Float(required=True, validate=validate.Range(0, min_inclusive=False))

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BetaSpec:
        return BetaSpec(**data)


class _ScoringSchema(_Section):
    default_claim_prior = _probability()
    interval_level = _probability()
    interval_samples = fields.Integer(required=True, strict=True, validate=validate.Range(min=2))
    evidence_cap = fields.Float(required=True, validate=validate.Range(0, min_inclusive=False))
    default_group_correlation = _probability(closed=True)
    unnamed_correlation = _probability(closed=True)
    unknown_source = fields.Nested(_BetaSchema, required=True)

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ScoringSettings:
        return ScoringSettings(**data)


class _LearningSchema(_Section):
    half_life_days = fields.Float(required=True, validate=validate.Range(min=0))
    unresolved_weight = _probability(closed=True)
    max_iterations = _positive_int()
    tolerance = fields.Float(required=True, validate=validate.Range(0, min_inclusive=False))
    rescore_min_change = fields.Float(required=True, validate=validate.Range(min=0))


class _SettingsSchema(_Section):
    server = fields.Nested(_ServerSchema, required=True)
    database = fields.Nested(_DatabaseSchema, required=True)
    limits = fields.Nested(_LimitsSchema, required=True)
    sources = fields.Nested(_SourcesSchema, required=True)
    scoring = fields.Nested(_ScoringSchema, required=True)
    learning = fields.Nested(_LearningSchema, required=True)
    grades = fields.Dict(
        keys=fields.String(validate=validate.OneOf("ABCDE")),
        values=fields.Nested(_BetaSchema),
        required=True,
    )
    groups = fields.Dict(keys=fields.String(), values=_probability(closed=True), required=True)


# --- reading ------------------------------------------------------------------


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The effective settings; ``overrides`` (nested like the TOML) win over everything.

    Raises
    ------
    ConfigError
        Naming every bad key, e.g. ``scoring.interval_level: Must be ...``.
    """
    env = os.environ if environ is None else environ
    merged = _read_toml(DEFAULT_CONFIG)
    if env.get("CREDENCE_CONFIG"):
        _merge(merged, _read_toml(Path(env["CREDENCE_CONFIG"])), where="")
    _merge(merged, _from_environment(merged, env), where="")
    if overrides:
        _merge(merged, copy.deepcopy(dict(overrides)), where="")
    try:
        loaded = _SettingsSchema().load(merged)
    except ma.ValidationError as exc:
        problems = flatten_messages(exc.messages)
        raise ConfigError(
            "invalid configuration: "
            + "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in sorted(problems.items()))
        ) from None
    return Settings(**loaded, raw=merged)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], extra: Mapping[str, Any], where: str) -> None:
    """Deep-merge ``extra`` into ``base``; a table may not replace a value or the reverse."""
    for key, value in extra.items():
        path = f"{where}{key}"
        if isinstance(base.get(key), dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"invalid configuration: {path}: must be a table")
            _merge(base[key], value, where=f"{path}.")
        else:
            base[key] = value


def _leaves(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in table.items():
        # Group names are not env-name material: CREDENCE_GROUPS takes a whole inline table.
        if isinstance(value, dict) and key != "groups":
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _from_environment(defaults: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    names = {"CREDENCE_" + "_".join(path).upper(): path for path in _leaves(defaults)}
    names.update(SHORT_ENV)
    result: dict[str, Any] = {}
    for name, path in names.items():
        if name in env:
            table = result
            for key in path[:-1]:
                table = table.setdefault(key, {})
            table[path[-1]] = _parse_env_value(env[name])
    return result


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text
