"""scores found by confidence through whole percents

The index of each score's exact confidence put every rescored claim's entry at a
random place, so a re-scoring job's chunk dirtied most of the index's pages; an
index of the confidence in whole percents keeps a chunk's entries together
(``service.store.models.confidence_percent``). Queries by confidence use it and
then compare the exact values.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_scores_confidence", table_name="scores")
    op.create_index(
        "ix_scores_confidence_percent",
        "scores",
        [sa.text("CAST(confidence * 100 AS INTEGER)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_scores_confidence_percent", table_name="scores")
    op.create_index("ix_scores_confidence", "scores", ["confidence"], unique=False)
