"""The schema as it stood before a migration, for the tests of what that migration does to rows
written before it (on both databases)."""

from __future__ import annotations

from datetime import datetime

from central.db import Database
from central.db.migrate import available_migrations, statements


def migrate_before(db: Database, version: int, applied_at: datetime) -> None:
    """Apply each migration older than ``version`` as :func:`central.db.migrate` does: one
    transaction each, with its row in ``schema_migrations``."""
    with db.transaction() as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL)"
        )
    for migration in available_migrations(db.dialect):
        if migration.version >= version:
            return
        with db.transaction() as conn:
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)",
                {"v": migration.version, "n": migration.name, "t": applied_at},
            )
