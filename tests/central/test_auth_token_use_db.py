"""What checking a presented token costs the database, on both kinds: one lookup, and the
``last_used_at`` UPDATE only once per minute of use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.core.auth.models import PersonalTokenCreate, User
from central.core.auth.service import create_personal_token, user_for_token
from tests.central.alerts.db_support import CountingConnection

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


@pytest.fixture
def token(db) -> str:
    with db.transaction() as conn:
        conn.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('ana', 'x', :now)", {"now": NOW})
        ana = User(id=conn.fetchval("SELECT id FROM users WHERE username = 'ana'"), username="ana")
        return create_personal_token(conn, ana, PersonalTokenCreate(name="grafana"), NOW).token


@pytest.mark.parametrize(
    ("uses_after_s", "statements"),
    [
        ((0,), ["fetchone", "execute"]),  # never used: looked up and marked used
        ((0, 30), ["fetchone"]),  # used 30 s ago: only looked up
        ((0, 60), ["fetchone"]),  # exactly a minute: still within
        ((0, 61), ["fetchone", "execute"]),  # more than a minute: marked again
        ((0, 61, 90), ["fetchone"]),  # 29 s after that mark
    ],
)
def test_a_token_in_use_is_only_looked_up_until_a_minute_has_passed(db, token, uses_after_s, statements):
    for after_s in uses_after_s[:-1]:
        with db.connect() as conn:
            assert user_for_token(conn, token, NOW + timedelta(seconds=after_s)) is not None
    with db.connect() as conn:
        counted = CountingConnection(conn)
        user = user_for_token(counted, token, NOW + timedelta(seconds=uses_after_s[-1]))
    assert user is not None and user.username == "ana"
    assert counted.calls == statements
