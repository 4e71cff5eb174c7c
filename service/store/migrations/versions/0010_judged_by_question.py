"""a resolution names the numeric question whose value judged it

An answer's outcome judged by its question's value holds only while it answers
that question with a figure: re-posted into another question, or without its
figure, it is judged again (``store.resolutions.judge_answers``). The stored
resolutions of answers to resolved numeric questions are those.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resolutions") as batch:
        batch.add_column(sa.Column("question", sa.String(128), nullable=True))
    op.execute(
        "UPDATE resolutions SET question = (SELECT q.id FROM claims c "
        "JOIN questions q ON q.id = c.question "
        "WHERE c.id = resolutions.claim_id AND c.value IS NOT NULL "
        "AND q.resolved_value IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("resolutions") as batch:
        batch.drop_column("question")
