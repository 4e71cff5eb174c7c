"""reliability_history: each source's learned reliability as every job left it

``source_reliabilities`` keeps a source's last learned belief only; the console
drew a source's reliability across jobs from the history rows of claims it
spoke to, which name only the three sources whose weight in the claim moved
most, and read every such row of the source's claims. Each job now writes a
row here for every belief it writes. Jobs run before the upgrade are not
recovered: a learned row's values since may hold resolutions added to what the
job wrote, and the claims' history rows hold means of a few sources only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reliability_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("beta", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reliability_history")),
    )
    op.create_index("ix_reliability_history_source_id", "reliability_history", ["source_id", "id"])


def downgrade() -> None:
    op.drop_table("reliability_history")
