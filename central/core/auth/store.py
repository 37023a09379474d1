"""Tokens and login attempts in the database (``api_tokens``, ``login_attempts``).

Only token hashes are stored; every lookup here takes the hash, never the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.core.auth.models import PersonalToken
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page

USER_COLUMNS = "u.id, u.username, u.email, u.phone, u.is_admin, u.notify_email, u.notify_sms"


def token_user(conn: Connection, digest: str, now: datetime) -> dict[str, Any] | None:
    """The active user owning a valid (unrevoked, unexpired) token with this hash, and the
    token's id and ``last_used_at``."""
    return conn.fetchone(
        f"SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.is_active"
        " AND (t.expires_at IS NULL OR t.expires_at > :now)",
        {"h": digest, "now": now},
    )


def touch_token(conn: Connection, token_id: int, now: datetime, cutoff: datetime) -> None:
    """Set the token's ``last_used_at`` to ``now`` unless it was used after ``cutoff``."""
    conn.execute(
        "UPDATE api_tokens SET last_used_at = :now WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :cutoff)",
        {"now": now, "cutoff": cutoff, "id": token_id},
    )


def login_row(conn: Connection, username: str) -> dict[str, Any] | None:
    """The id and password hash of the active account ``username``."""
    return conn.fetchone("SELECT id, password_hash FROM users WHERE username = :u AND is_active", {"u": username})


def delete_expired_sessions(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(
        "DELETE FROM api_tokens WHERE user_id = :id AND kind = 'session' AND expires_at < :now",
        {"id": user_id, "now": now},
    )


def insert_token(
    conn: Connection, user_id: int, kind: str, name: str, digest: str, now: datetime, expires_at: datetime | None
) -> int:
    """Store a token by its hash; its id."""
    params: dict[str, Any] = {"u": user_id, "k": kind, "n": name, "h": digest, "now": now, "exp": expires_at}
    conn.execute(
        "INSERT INTO api_tokens (user_id, kind, name, token_hash, created_at, expires_at)"
        " VALUES (:u, :k, :n, :h, :now, :exp)",
        params,
    )
    return conn.fetchval("SELECT id FROM api_tokens WHERE token_hash = :h", {"h": digest})


def revoke_by_hash(conn: Connection, digest: str, now: datetime) -> None:
    conn.execute(
        "UPDATE api_tokens SET revoked_at = :now WHERE token_hash = :h AND revoked_at IS NULL",
        {"now": now, "h": digest},
    )


def revoke_user_tokens(conn: Connection, user_id: int, now: datetime) -> None:
    """Revoke every token of the account (sessions and personal tokens)."""
    conn.execute(
        "UPDATE api_tokens SET revoked_at = :now WHERE user_id = :id AND revoked_at IS NULL",
        {"now": now, "id": user_id},
    )


def personal_tokens(conn: Connection, user_id: int, paging: PageQuery, now: datetime) -> Page[PersonalToken]:
    """The user's usable personal tokens (revoked and expired ones are left out)."""
    sql = (
        "SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = :u"
        " AND kind = 'personal' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now) ORDER BY id"
    )
    return fetch_page(conn, sql, {"u": user_id, "now": now}, paging, lambda row: PersonalToken(**row))


def revoke_personal_token(conn: Connection, user_id: int, token_id: int, now: datetime) -> bool:
    """Revoke one of the user's active personal tokens; whether there was one."""
    return bool(
        conn.execute(
            "UPDATE api_tokens SET revoked_at = :now WHERE id = :id AND user_id = :u AND kind = 'personal'"
            " AND revoked_at IS NULL",
            {"now": now, "id": token_id, "u": user_id},
        )
    )


_COUNT = (
    "INSERT INTO login_attempts (scope, subject, attempts, last_attempt_at) VALUES (:scope, :subject, 1, :now)"
    " ON CONFLICT (scope, subject) DO UPDATE SET last_attempt_at = :now, attempts = CASE"
    " WHEN login_attempts.last_attempt_at < :forgotten THEN 1 ELSE login_attempts.attempts + 1 END"
    " WHERE login_attempts.locked_until IS NULL OR login_attempts.locked_until <= :now"
    " RETURNING attempts"
)


def count_attempt(conn: Connection, scope: str, subject: str, now: datetime, forgotten: datetime) -> int | None:
    """Count one attempt in one upsert that refuses a locked row: the new count, or ``None`` while locked.
    A count last added to before ``forgotten`` starts over. The upsert holds the row until the caller
    commits, so concurrent attempts on one key are counted one after the other (PostgreSQL's row
    lock; SQLite's write lock)."""
    return conn.fetchval(_COUNT, {"scope": scope, "subject": subject, "now": now, "forgotten": forgotten})


def lock_attempts(conn: Connection, scope: str, subject: str, until: datetime) -> None:
    conn.execute(
        "UPDATE login_attempts SET locked_until = :until WHERE scope = :scope AND subject = :subject",
        {"scope": scope, "subject": subject, "until": until},
    )


def locked_until(conn: Connection, scope: str, subject: str) -> datetime:
    return conn.fetchval(
        "SELECT locked_until FROM login_attempts WHERE scope = :scope AND subject = :subject",
        {"scope": scope, "subject": subject},
    )


def forgive_attempt(conn: Connection, username: str, address: str) -> None:
    """The username's count starts over; the address gets one attempt back and any lock it set."""
    conn.execute(
        "UPDATE login_attempts SET attempts = attempts - 1, locked_until = NULL"
        " WHERE scope = 'address' AND subject = :a",
        {"a": address},
    )
    conn.execute("DELETE FROM login_attempts WHERE scope = 'user' AND subject = :u", {"u": username})


def forget_attempts_before(conn: Connection, cutoff: datetime) -> None:
    """Delete counts last added to before ``cutoff``. On PostgreSQL rows that a login holds are
    skipped, never waited for, so this cannot deadlock with the logins counting."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    conn.execute(
        "DELETE FROM login_attempts WHERE (scope, subject) IN (SELECT scope, subject FROM login_attempts"
        f" WHERE last_attempt_at < :cutoff{skip_locked})",
        {"cutoff": cutoff},
    )
