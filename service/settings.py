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
import dataclasses
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from service.field_errors import flatten_messages

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"

SHORT_ENV = {
    "CREDENCE_DATABASE_URL": ("database", "url"),
    "CREDENCE_PORT": ("server", "port"),
    "CREDENCE_HOST": ("server", "host"),
}


class ConfigError(ValueError):
    """The configuration is unusable; the message names each bad key."""


# --- the validated shape: each key declared once, with its rule -------------------
#
# A section is a frozen dataclass whose fields carry their marshmallow field; the
# schema that validates the section is derived from it (``_schema_for``), the
# environment names come from the keys of default.toml and ``config show`` prints
# the merged table, so adding a key means one field here and one line in
# default.toml. (marshmallow-dataclass would derive the fields from the type hints,
# but the rules here are ranges and choices that need the field anyway: one more
# dependency would save nothing.)


def _setting(rule: fields.Field) -> Any:
    """A required key validated by ``rule``."""
    rule.required = True
    return dataclasses.field(metadata={"rule": rule})


def _positive_int() -> Any:
    return _setting(fields.Integer(strict=True, validate=validate.Range(min=1)))


def _probability(*, closed: bool = False) -> Any:
    return _setting(
        fields.Float(validate=validate.Range(0, 1, min_inclusive=closed, max_inclusive=closed))
    )


class _ProjectPath(fields.Field):
    """A path; a relative one is taken from the project root (where config/ is)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Path:
        if not isinstance(value, str):
            raise ma.ValidationError("Not a valid string.")
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path


class _Section(ma.Schema):
    """Validates one section and builds its dataclass, ``section``."""

    section: ClassVar[type]

    class Meta:
        unknown = ma.RAISE

    @ma.post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        return self.section(**data)


def _schema_for(section: type) -> type[_Section]:
    """The schema of a settings dataclass, from the rules its fields carry."""
    rules = {
        f.name: f.metadata["rule"] for f in dataclasses.fields(section) if "rule" in f.metadata
    }
    return type(f"{section.__name__}Schema", (_Section,), {**rules, "section": section})


def _section(section: type) -> Any:
    return _setting(fields.Nested(_schema_for(section)))


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = _setting(fields.String(validate=validate.Length(min=1)))
    port: int = _setting(fields.Integer(strict=True, validate=validate.Range(1, 65535)))
    workers: int = _positive_int()
    max_body_bytes: int = _positive_int()
    log_level: str = _setting(
        fields.String(validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
    )


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """How the HTTP API treats input: ``strict`` refuses what is otherwise only warned about."""

    strict: bool = _setting(fields.Boolean(truthy={True}, falsy={False}))


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = _setting(
        fields.String(
            validate=validate.Regexp(
                r"^(sqlite|postgresql)(\+\w+)?://", error="not a supported URL"
            )
        )
    )


@dataclass(frozen=True, slots=True)
class LimitSettings:
    claims_per_request: int = _positive_int()
    attributions_per_claim: int = _positive_int()
    text_max_chars: int = _positive_int()
    page_max: int = _positive_int()


@dataclass(frozen=True, slots=True)
class SourceSettings:
    catalogue: Path = _setting(_ProjectPath())
    unnamed_prefix: str = _setting(fields.String(validate=validate.Length(min=1)))


@dataclass(frozen=True, slots=True)
class BetaSpec:
    reliability: float = _probability()
    strength: float = _setting(fields.Float(validate=validate.Range(0, min_inclusive=False)))


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    default_claim_prior: float = _probability()
    interval_level: float = _probability()
    interval_samples: int = _setting(fields.Integer(strict=True, validate=validate.Range(min=2)))
    evidence_cap: float = _setting(fields.Float(validate=validate.Range(0, min_inclusive=False)))
    default_group_correlation: float = _probability(closed=True)
    unnamed_correlation: float = _probability(closed=True)
    unknown_source: BetaSpec = _section(BetaSpec)


@dataclass(frozen=True, slots=True)
class LearningSettings:
    """The batch fit and the track-record update; ``max_iter`` and ``tol`` are
    ``ReliabilityEM``'s."""

    half_life_days: float = _setting(fields.Float(validate=validate.Range(min=0)))
    unresolved_weight: float = _probability(closed=True)
    max_iter: int = _positive_int()
    tolerance: float = _setting(fields.Float(validate=validate.Range(0, min_inclusive=False)))
    rescore_min_change: float = _setting(fields.Float(validate=validate.Range(min=0)))


# A Dask scheduler's address (tcp://host:8786, tls://..., inproc://...), or empty for none.
SCHEDULER_ADDRESS = r"^$|^[a-z]+://\S+$"


@dataclass(frozen=True, slots=True)
class JobSettings:
    """Where the re-scoring job runs its fit: in its own process, or on a Dask cluster."""

    dask_scheduler: str = _setting(
        fields.String(
            validate=validate.Regexp(
                SCHEDULER_ADDRESS, error="not a scheduler address such as tcp://host:8786"
            )
        )
    )


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = _section(ServerSettings)
    api: ApiSettings = _section(ApiSettings)
    database: DatabaseSettings = _section(DatabaseSettings)
    limits: LimitSettings = _section(LimitSettings)
    sources: SourceSettings = _section(SourceSettings)
    scoring: ScoringSettings = _section(ScoringSettings)
    learning: LearningSettings = _section(LearningSettings)
    jobs: JobSettings = _section(JobSettings)
    grades: dict[str, BetaSpec] = _setting(
        fields.Dict(
            keys=fields.String(validate=validate.OneOf("ABCDE")),
            values=fields.Nested(_schema_for(BetaSpec)),
        )
    )
    groups: dict[str, float] = _setting(
        fields.Dict(
            keys=fields.String(),
            values=fields.Float(validate=validate.Range(0, 1)),
        )
    )
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The merged configuration as read, for ``credence config show``."""


# Keys renamed since a release; the old name is still read.
RENAMED = {("learning", "max_iterations"): ("learning", "max_iter")}
# Keys retired since a release; still accepted, and ignored, so old config files load.
# ``answer_temperature_factor`` was a constant tuned on benchmark truth; the fit now
# derives that factor from each store (docs/model-fit.md, "Correlated errors").
RETIRED = {("learning", "answer_temperature_factor")}


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
        _merge(merged, _renamed(_read_toml(Path(env["CREDENCE_CONFIG"]))), where="")
    _merge(merged, _from_environment(merged, env), where="")
    if overrides:
        _merge(merged, _renamed(overrides), where="")
    try:
        loaded = _schema_for(Settings)().load(merged)
    except ma.ValidationError as exc:
        problems = flatten_messages(exc.messages)
        raise ConfigError(
            "invalid configuration: "
            + "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in sorted(problems.items()))
        ) from None
    return dataclasses.replace(loaded, raw=merged)


def _renamed(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one configuration layer with renamed keys under their new names
    (where a layer sets both, the new name wins) and retired keys dropped."""
    result = copy.deepcopy(dict(layer))
    for (section, old), (_, new) in RENAMED.items():
        table = result.get(section)
        if isinstance(table, dict) and old in table:
            value = table.pop(old)
            table.setdefault(new, value)
    for section, key in RETIRED:
        table = result.get(section)
        if isinstance(table, dict):
            table.pop(key, None)
    return result


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
    names.update({"CREDENCE_" + "_".join(old).upper(): new for old, new in RENAMED.items()})
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
