"""The stored state: tables, the database session, one module per stored thing, migrations."""
