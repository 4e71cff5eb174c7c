"""learned beliefs keep the prior they were built on

A learned belief is its source's prior plus the hits and misses the fit or the
resolutions found. With the prior it was built on stored beside it, the scorer
swaps in a prior the analyst redefined since (``service.store.source_beliefs``)
instead of scoring with the old one until the next job. Rows written before the
upgrade have none, and keep scoring as they were until a job or a resolution's
first write of the source rewrites them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.add_column(sa.Column("prior_alpha", sa.Float(), nullable=True))
        batch.add_column(sa.Column("prior_beta", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.drop_column("prior_beta")
        batch.drop_column("prior_alpha")
