"""reliabilities_version on scores and learned reliabilities

A score records the ``reliabilities`` counter value of the beliefs it was
computed from, and a learned belief the value of the write that left it, so
the re-scoring job can tell a score computed from beliefs older than a learned
one, whatever the clocks say.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("reliabilities_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.add_column(sa.Column("reliabilities_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.drop_column("reliabilities_version")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("reliabilities_version")
