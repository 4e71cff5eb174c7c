"""resolved claims' stored scores read as resolved

From contract 1.1 a resolved claim's score says so (confidence 1 or 0,
credibility 1 or 5, a summary that begins with the outcome and its date); the
forecast it had stays in its resolution. This rewrites the stored scores of
claims resolved before, in place; their open scores remain in the history.
Data only: the downgrade leaves the rewritten scores (a re-post or a
withdrawal rescores a claim as open).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

from datetime import UTC
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

from service.store.resolved_scores import resolved_values

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_scores = sa.table(
    "scores",
    sa.column("claim_id", sa.String),
    sa.column("confidence", sa.Float),
    sa.column("low", sa.Float),
    sa.column("high", sa.Float),
    sa.column("estimative", sa.String),
    sa.column("credibility", sa.Integer),
    sa.column("summary", sa.Text),
)
_resolutions = sa.table(
    "resolutions",
    sa.column("claim_id", sa.String),
    sa.column("outcome", sa.String),
    sa.column("resolved_at", sa.DateTime(timezone=True)),
    sa.column("forecast", sa.Float),
)
_REWRITTEN = ("confidence", "low", "high", "estimative", "credibility", "summary")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _scores.c.claim_id,
            _scores.c.summary,
            _resolutions.c.outcome,
            _resolutions.c.resolved_at,
            _resolutions.c.forecast,
        ).join(_resolutions, _resolutions.c.claim_id == _scores.c.claim_id)
    ).all()
    updates: list[dict[str, Any]] = []
    for row in rows:
        # SQLite keeps no offset: its times are UTC.
        at = row.resolved_at
        resolution = SimpleNamespace(
            outcome=row.outcome,
            resolved_at=at if at.tzinfo else at.replace(tzinfo=UTC),
            forecast=row.forecast,
        )
        values = resolved_values({"summary": row.summary}, resolution)
        updates.append({"b_claim_id": row.claim_id, **{k: values[k] for k in _REWRITTEN}})
    if updates:
        connection.execute(
            _scores.update()
            .where(_scores.c.claim_id == sa.bindparam("b_claim_id"))
            .values({k: sa.bindparam(k) for k in _REWRITTEN}),
            updates,
        )


def downgrade() -> None:
    pass
