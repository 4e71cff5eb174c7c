"""Migrations: upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from service.store.db import make_engine
from service.store.models import Base
from service.store.schema_migrations import current_revision, head_revision, upgrade


def test_upgrade_head_matches_the_models(database_url: str) -> None:
    # The fixture's database was migrated from empty by the same upgrade().
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert current_revision(connection) == head_revision()
    upgrade(engine)  # idempotent
    engine.dispose()
