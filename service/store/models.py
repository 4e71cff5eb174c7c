"""The stored state of Credence, as SQLAlchemy 2 tables.

Times are timezone-aware UTC. Ids given by clients are slugs; sources are not
foreign keys of attributions because an attribution may name a source that was
never defined (it then gets the unknown-source prior).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SQLColumnExpression,
    String,
    Text,
    cast,
    literal_column,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

SLUG = 128


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite keeps no offset, so one is
    put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC time")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {  # noqa: RUF012
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Source(Base):
    """A source as an analyst defined it; its prior is the spec given (alpha/beta,
    reliability/strength or grade), kept as given."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(SLUG))
    group: Mapped[str | None] = mapped_column("group_name", String(SLUG), index=True)
    prior: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reliabilities_version: Mapped[int | None] = mapped_column(Integer, index=True)
    """The ``reliabilities`` counter value of the write that left this definition: each
    process reads the rows above the value it is current to (the change feed)."""


class SourceReliability(Base):
    """A source's learned reliability, Beta(alpha, beta), as the last fit left it.

    Keyed by source id without a foreign key: undefined sources are learned too.
    """

    __tablename__ = "source_reliabilities"

    source_id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    alpha: Mapped[float] = mapped_column(Float)
    beta: Mapped[float] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reliabilities_version: Mapped[int | None] = mapped_column(Integer, index=True)
    """The ``reliabilities`` counter value of the write that left this belief."""
    error_shape: Mapped[float | None] = mapped_column(Float)
    error_rate: Mapped[float | None] = mapped_column(Float)
    informative_alpha: Mapped[float | None] = mapped_column(Float)
    informative_beta: Mapped[float | None] = mapped_column(Float)
    """What the source's figures are like (``scoring.numeric.ErrorScale``): error variance
    IG(error_shape, error_rate), chance of an informative figure Beta(informative_alpha,
    informative_beta); NULL until a job learns them."""
    prior_alpha: Mapped[float | None] = mapped_column(Float)
    prior_beta: Mapped[float | None] = mapped_column(Float)
    """The prior the belief was built on (the belief is it plus hits and misses), so that
    a prior redefined since replaces it; NULL in rows written before it was kept."""


class ReliabilityHistory(Base):
    """A source's learned reliability as each re-scoring job that moved it wrote it
    (``source_reliabilities`` keeps only the last): its trajectory across jobs."""

    __tablename__ = "reliability_history"
    __table_args__ = (Index("ix_reliability_history_source_id", "source_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(SLUG))
    job_id: Mapped[str] = mapped_column(String(64))
    alpha: Mapped[float] = mapped_column(Float)
    beta: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedModelRow(Base):
    """What a re-scoring job learned beyond the reliabilities (``scoring.LearnedModel``).

    The newest row is the model every score uses; older rows are the history.
    """

    __tablename__ = "learned_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reliabilities_version: Mapped[int | None] = mapped_column(Integer)
    """The ``reliabilities`` counter value of the write that stored it."""
    model: Mapped[dict[str, Any]] = mapped_column(JSON)


class Claim(Base):
    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    prior: Mapped[float | None] = mapped_column(Float)
    question: Mapped[str | None] = mapped_column(String(SLUG), index=True)
    value: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """The figure of an answer to a numeric question, as given: ``{"point": 1500}``,
    ``{"low": a, "high": b}``, ``{"low": a}`` or ``{"high": b}``."""
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    attributions: Mapped[list[Attribution]] = relationship(
        back_populates="claim",
        cascade="all, delete-orphan",
        order_by="Attribution.position",
    )
    tags: Mapped[list[ClaimTag]] = relationship(cascade="all, delete-orphan")
    score: Mapped[Score | None] = relationship(cascade="all, delete-orphan")
    resolution: Mapped[Resolution | None] = relationship(cascade="all, delete-orphan")


class Question(Base):
    """A question's definition: ``choice`` (exclusive answers) or ``numeric`` (figures of
    one quantity, on a ``log`` or ``linear`` scale), and a numeric question's resolution."""

    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(SLUG), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="choice")
    unit: Mapped[str | None] = mapped_column(Text)
    scale: Mapped[str | None] = mapped_column(String(16))
    tolerance: Mapped[float | None] = mapped_column(Float)
    resolved_value: Mapped[float | None] = mapped_column(Float)
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)
    value_recorded_at: Mapped[datetime | None]
    """When the store recorded ``resolved_value`` (through the API; None when restored
    by an import, or resolved before it was kept)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClaimTag(Base):
    """Tags live in their own table so that filtering by tag is an indexed join
    on both SQLite and PostgreSQL."""

    __tablename__ = "claim_tags"

    claim_id: Mapped[str] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(SLUG), primary_key=True, index=True)


class Attribution(Base):
    __tablename__ = "attributions"
    __table_args__ = (Index("ix_attributions_claim_position", "claim_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[str] = mapped_column(String(SLUG), index=True)
    stance: Mapped[str] = mapped_column(String(16))
    via: Mapped[list[Any]] = mapped_column(default=list)
    certainty: Mapped[float] = mapped_column(Float, default=1.0)
    count: Mapped[int] = mapped_column(Integer, default=1)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    url: Mapped[str | None] = mapped_column(Text)
    quote: Mapped[str | None] = mapped_column(Text)

    claim: Mapped[Claim] = relationship(back_populates="attributions")


class Resolution(Base):
    """Ground truth for a claim, with the score it had when resolved (its forecast)."""

    __tablename__ = "resolutions"

    claim_id: Mapped[str] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    forecast: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    question: Mapped[str | None] = mapped_column(String(SLUG))
    """The numeric question whose value judged this answer, if one did."""


class Score(Base):
    """The current score of a claim: one row, replaced whole, so a reader never
    sees half of an old score and half of a new one."""

    __tablename__ = "scores"

    claim_id: Mapped[str] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True
    )
    confidence: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    estimative: Mapped[str] = mapped_column(String(32))
    credibility: Mapped[int] = mapped_column(Integer)
    independent_sources: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]]
    summary: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[str | None] = mapped_column(String(64))
    reliabilities_version: Mapped[int | None] = mapped_column(Integer)
    """The ``reliabilities`` counter value of the source beliefs this score was
    computed from: a learned belief written at a higher value is newer than it."""


def confidence_percent(confidence: SQLColumnExpression[float]) -> ColumnElement[int]:
    """``confidence`` in whole percents, as each database casts (SQLite truncates,
    PostgreSQL rounds; either way it never decreases as the confidence grows)."""
    # A literal 100, not a bound one: a query finds the index only by the same expression.
    return cast(confidence * literal_column("100"), Integer)


# Scores are found by confidence (``?min_confidence=``) through whole percents rather
# than the exact value. An index of the exact value puts each rescored claim's entry
# at a random place, so a re-scoring job's chunk of 2,000 claims dirtied most of its
# pages; within a percent, entries follow the rows' order, which is the order claims
# were stored and, for the service's ids, the job's. 10 M-attribution SQLite store:
# the score writer busy 85-88 -> 59-69 s, the first job 160-168 -> 139-154 s
# (docs/scaling.md).
Index("ix_scores_confidence_percent", confidence_percent(Score.__table__.c.confidence))


class ScoreHistory(Base):
    """Every past score of a claim, with why it changed: the request or job that
    moved it and the largest contributors to the change."""

    __tablename__ = "score_history"
    __table_args__ = (Index("ix_score_history_claim_time", "claim_id", "computed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    confidence: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    credibility: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[list[Any]] = mapped_column(default=list)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="rescore")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(128))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """A bearer key, stored as the SHA-256 of the secret; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Counter(Base):
    """Named counters; ``reliabilities`` is bumped in the transaction of every
    change that can move a source's reliability, so each process knows when its
    in-memory copy is stale with one indexed read."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
