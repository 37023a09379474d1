"""Database fixtures for the compliance tests: the central ones (SQLite and PostgreSQL)."""

from tests.central.conftest import app_client, database_url, db, settings  # noqa: F401
