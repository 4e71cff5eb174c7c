"""numeric questions: question definitions, claims' values, sources' error scales

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("scale", sa.String(length=16), nullable=True),
        sa.Column("tolerance", sa.Float(), nullable=True),
        sa.Column("resolved_value", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
    )
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("value", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.add_column(sa.Column("error_shape", sa.Float(), nullable=True))
        batch.add_column(sa.Column("error_rate", sa.Float(), nullable=True))
        batch.add_column(sa.Column("informative_alpha", sa.Float(), nullable=True))
        batch.add_column(sa.Column("informative_beta", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.drop_column("informative_beta")
        batch.drop_column("informative_alpha")
        batch.drop_column("error_rate")
        batch.drop_column("error_shape")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("value")
    op.drop_table("questions")
