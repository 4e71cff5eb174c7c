"""the change feed of source beliefs: reliabilities_version on sources, indexed

Every write that can move a source's belief stamps the rows it changes with
the ``reliabilities`` counter value it bumped to; each process then reads only
the rows above the value it is current to, instead of every source.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("reliabilities_version", sa.Integer(), nullable=True))
        batch.create_index("ix_sources_reliabilities_version", ["reliabilities_version"])
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.create_index(
            "ix_source_reliabilities_reliabilities_version", ["reliabilities_version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("source_reliabilities") as batch:
        batch.drop_index("ix_source_reliabilities_reliabilities_version")
    with op.batch_alter_table("sources") as batch:
        batch.drop_index("ix_sources_reliabilities_version")
        batch.drop_column("reliabilities_version")
