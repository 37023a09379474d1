"""The database adapter: one small interface over SQLite (default) and PostgreSQL (psycopg 3).

Everything else in ``central`` and ``compliance`` talks to :class:`Database`, writes SQL
with ``:name`` parameters and gets plain ``dict`` rows back; only ``database.py`` imports
sqlite3 and only ``postgres.py`` psycopg, and each maps its driver's errors to
:class:`DatabaseError` and :class:`IntegrityError` (declared with the :class:`Connection`
interface in ``connection.py``).
"""

from central.db.connection import Connection, DatabaseError, DatabaseUnavailable, DataError, IntegrityError
from central.db.database import Database, open_database
from central.db.jsonb import json_rows
from central.db.migrate import migrate, pending_migrations
from central.db.params import in_list

__all__ = [
    "Connection",
    "DataError",
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "IntegrityError",
    "in_list",
    "json_rows",
    "migrate",
    "open_database",
    "pending_migrations",
]
