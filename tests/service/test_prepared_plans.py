"""On PostgreSQL, lookups of a list of values are planned for their values at every run."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select, text

from service.store.db import make_engine
from service.store.models import Base, Source

_SOURCES: Table = Base.metadata.tables[Source.__tablename__]


def test_lookups_of_a_list_are_never_prepared_on_the_server(database_url: str) -> None:
    # psycopg prepares what a connection has run five times; the server may then keep
    # the plan it made for a small table (a sequential scan) as the table grows.
    engine = make_engine(database_url)
    listed = select(_SOURCES.c.id).where(_SOURCES.c.id.in_(bindparam("ids", expanding=True)))
    single = select(_SOURCES.c.id).where(_SOURCES.c.id == bindparam("id"))
    try:
        with engine.begin() as connection:
            connection.execute(insert(_SOURCES), [{"id": f"s{i}"} for i in range(3)])
        with engine.connect() as connection:
            for _ in range(10):
                assert connection.scalars(listed, {"ids": ["s0", "s2", "x"]}).all() == ["s0", "s2"]
                assert connection.scalars(single, {"id": "s1"}).all() == ["s1"]
            if engine.dialect.name != "postgresql":
                return
            prepared = connection.scalars(
                text("SELECT statement FROM pg_prepared_statements")
            ).all()
    finally:
        engine.dispose()
    # The single lookup was prepared (so the check can see preparing); the list never.
    assert any("sources.id = $1" in statement for statement in prepared), prepared
    assert not any(" IN (" in statement for statement in prepared), prepared
