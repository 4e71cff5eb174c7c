"""learned_models: the structure and calibration each re-scoring job learned

The batch fit chooses its structure (one coin or confusion matrices, class base
rates) and a temperature from the data; the newest row is what every score
uses, beside the reliabilities in source_reliabilities.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reliabilities_version", sa.Integer(), nullable=True),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_models")),
    )


def downgrade() -> None:
    op.drop_table("learned_models")
