"""Migrations: upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Index, insert, select, text
from sqlalchemy.schema import CreateIndex

from service.store.db import make_engine
from service.store.models import Base, Claim, Question, Resolution, Score
from service.store.schema_migrations import head_revision, upgrade
from service.store.schema_version import SCHEMA_REVISION, stored_revision


def test_upgrade_head_matches_the_models(database_url: str) -> None:
    # The fixture's database was migrated from empty by the same upgrade().
    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection, warnings.catch_warnings():
        if sqlite:
            # SQLite's reflection skips indexes of expressions, and says so (SQLAlchemy
            # and Alembic each): they are compared by the SQL that made them, below.
            warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        # The revision the commands check for is Alembic's head, read as they read it.
        assert stored_revision(connection) == SCHEMA_REVISION == head_revision()
        if sqlite:
            for index in _expression_indexes():
                made = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
                    {"name": index.name},
                ).scalar_one()
                assert made == str(CreateIndex(index).compile(dialect=engine.dialect)).strip()
    upgrade(engine)  # idempotent
    engine.dispose()


def _expression_indexes() -> list[Index]:
    found = [
        index
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(e, Column) for e in index.expressions)
    ]
    assert found  # the scores' confidence in percents, at least
    return found


def test_scores_of_claims_resolved_before_read_as_resolved(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    at = datetime(2021, 3, 29, 13, tzinfo=UTC)
    with engine.begin() as connection:
        for claim_id, status in (("c1", "refuted"), ("c2", "open")):
            connection.execute(
                insert(Claim).values(
                    id=claim_id, text="t", status=status, created_at=at, updated_at=at
                )
            )
            connection.execute(
                insert(Score).values(
                    claim_id=claim_id,
                    confidence=0.7,
                    low=0.5,
                    high=0.8,
                    estimative="likely",
                    credibility=2,
                    independent_sources=1.0,
                    evidence=[],
                    summary="Likely (70 %, 90 % interval 50\u201380 %): supported by s.",
                    model="credence-logodds/1.0",
                    computed_at=at,
                )
            )
        connection.execute(
            insert(Resolution).values(
                claim_id="c1", outcome="refuted", resolved_at=at, forecast=0.7, created_at=at
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        rows = {r.claim_id: r for r in connection.execute(select(Score))}
    resolved, still_open = rows["c1"], rows["c2"]
    assert (resolved.confidence, resolved.low, resolved.high) == (0.0, 0.0, 0.0)
    assert (resolved.credibility, resolved.estimative) == (5, "almost no chance")
    assert resolved.summary == "Refuted on 2021-03-29 (forecast 70 %): supported by s."
    assert (still_open.confidence, still_open.credibility) == (0.7, 2)
    engine.dispose()


def test_answers_judged_before_name_the_question_that_judged_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0009")
    at = datetime(2024, 10, 18, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Question).values(
                id="kp-troops",
                kind="numeric",
                resolved_value=1700.0,
                resolved_at=at,
                created_at=at,
                updated_at=at,
            )
        )
        claims: dict[str, tuple[str | None, dict[str, int] | None]] = {
            "answer": ("kp-troops", {"point": 1500}),
            "choice": ("kp-troops", None),
            "alone": (None, None),
        }
        for claim_id, (question, value) in claims.items():
            connection.execute(
                insert(Claim).values(
                    id=claim_id,
                    text="t",
                    question=question,
                    value=value,
                    status="confirmed",
                    created_at=at,
                    updated_at=at,
                )
            )
            connection.execute(
                insert(Resolution).values(
                    claim_id=claim_id,
                    outcome="confirmed",
                    resolved_at=at,
                    forecast=0.5,
                    created_at=at,
                )
            )
    upgrade(engine)
    with engine.connect() as connection:
        judged = dict(connection.execute(select(Resolution.claim_id, Resolution.question)).all())
    assert judged == {"answer": "kp-troops", "choice": None, "alone": None}
    engine.dispose()
