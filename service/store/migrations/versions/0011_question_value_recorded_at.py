"""a resolved numeric question keeps when its value was recorded

An answer stored after its question's value was recorded is judged by that value
at once; what its sources said after that record is no forecast of it
(``store.resolutions.sides_taken``), so its resolution is dated by the question's
record. Questions resolved before the upgrade have none, and their later answers
are dated when judged, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("value_recorded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("value_recorded_at")
