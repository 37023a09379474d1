"""The database adapter: one small interface over SQLite (default) and PostgreSQL (psycopg 3).

Everything else in ``central`` and ``compliance`` talks to :class:`Database`, writes SQL
with ``:name`` parameters and gets plain ``dict`` rows back; only ``database.py``
imports sqlite3 and psycopg, and it maps their errors to :class:`DatabaseError` and
:class:`IntegrityError`.
"""

from central.db.database import (
    Connection,
    Database,
    DatabaseError,
    DatabaseUnavailable,
    DataError,
    IntegrityError,
    open_database,
)
from central.db.migrate import migrate, pending_migrations

__all__ = [
    "Connection",
    "DataError",
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "IntegrityError",
    "migrate",
    "open_database",
    "pending_migrations",
]
