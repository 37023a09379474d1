"""Logging in and out, and personal API tokens.

Every token is a random bearer string shown once; only its SHA-256 is stored, so a copy of
the database does not let anyone in. A failed login answers one generic message whether
or not the user exists, and a run of failures for one username locks that username for a
while, as does a run from one client address (see :mod:`central.core.lockout`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from central.core import audit, lockout
from central.core.auth import User
from central.core.problems import Invalid, NotFound
from central.crypto import hash_password, new_token, token_hash, verify_password
from central.db import Connection, Database
from central.pagination import Page, PageQuery, fetch_page
from central.timerange import ACCEPTED_RANGE, BoundedTime


class LoginRequest(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"username": "ana", "password": "correct horse battery"}]}}

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class IssuedSession(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "access_token": "cau_s_4Vh0...", "token_type": "bearer", "expires_at": "2026-11-29T01:00:00Z",
    }]}}

    access_token: str = Field(description="Send as Authorization: Bearer <token>")
    token_type: str = "bearer"
    expires_at: datetime


class PersonalTokenCreate(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"name": "grafana", "expires_at": "2027-12-31T00:00:00Z"}, {"name": "backup script"},
    ]}}

    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    expires_at: BoundedTime | None = Field(default=None, description=f"Never expires when left out; {ACCEPTED_RANGE}")


class PersonalToken(BaseModel):
    """A personal token as listed: everything but the token itself."""

    model_config = {"json_schema_extra": {"examples": [{
        "id": 3, "name": "grafana", "created_at": "2026-11-28T13:00:00Z",
        "last_used_at": "2026-11-28T14:05:00Z", "expires_at": None,
    }]}}

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class NewPersonalToken(PersonalToken):
    """The answer to creating a token: the only time the token is shown."""

    token: str = Field(description="Shown only now; store it somewhere safe")


def login(db: Database, request: LoginRequest, address: str, ttl: timedelta, now: datetime) -> IssuedSession | None:
    """A new session token, or ``None`` for any wrong username/password (the caller answers 401).

    Raises :class:`~central.core.problems.TooManyAttempts` while the username or the client
    ``address`` is locked. The attempt is counted before the password is checked, so
    parallel guesses cannot outrun the count. The password is checked even for unknown
    users so that timing does not tell which usernames exist. Unlike the other functions
    here it owns its transactions: the slow argon2 check runs outside any write lock, so a
    password guesser cannot stall the SQLite writers (the ingest).
    """
    with db.transaction() as conn:
        for key in lockout.keys_for(request.username, address):
            lockout.count_attempt(conn, key, now)
        row = conn.fetchone(
            "SELECT id, password_hash FROM users WHERE username = :u AND is_active", {"u": request.username}
        )
    stored = row["password_hash"] if row else _unknown_user_hash()
    if not (verify_password(stored, request.password.get_secret_value()) and row is not None):
        with db.connect() as conn:
            lockout.forget_old(conn, now)
        return None
    with db.transaction() as conn:
        lockout.forgive(conn, request.username, address)
        return _open_session(conn, row["id"], ttl, now)


def _open_session(conn: Connection, user_id: int, ttl: timedelta, now: datetime) -> IssuedSession:
    conn.execute(
        "DELETE FROM api_tokens WHERE user_id = :id AND kind = 'session' AND expires_at < :now",
        {"id": user_id, "now": now},
    )
    token, expires_at = new_token("session"), now + ttl
    _insert_token(conn, user_id, "session", "", token, now, expires_at)
    return IssuedSession(access_token=token, expires_at=expires_at)


def logout(conn: Connection, token: str, now: datetime) -> None:
    """Revoke the presented token (a session, or a personal token used to log out)."""
    conn.execute(
        "UPDATE api_tokens SET revoked_at = :now WHERE token_hash = :h AND revoked_at IS NULL",
        {"now": now, "h": token_hash(token)},
    )


def create_personal_token(
    conn: Connection, user: User, request: PersonalTokenCreate, now: datetime
) -> NewPersonalToken:
    if request.expires_at is not None and request.expires_at <= now:
        raise Invalid("expires_at", "debe estar en el futuro")
    token = new_token("personal")
    token_id = _insert_token(conn, user.id, "personal", request.name, token, now, request.expires_at)
    audit.record(conn, user.username, "token.created", f"user:{user.username}", now, name=request.name,
                 token_id=token_id)
    return NewPersonalToken(id=token_id, name=request.name, created_at=now, last_used_at=None,
                            expires_at=request.expires_at, token=token)


def list_personal_tokens(conn: Connection, user: User, paging: PageQuery, now: datetime) -> Page[PersonalToken]:
    """The user's usable personal tokens (revoked and expired ones are left out)."""
    sql = (
        "SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = :u"
        " AND kind = 'personal' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now) ORDER BY id"
    )
    return fetch_page(conn, sql, {"u": user.id, "now": now}, paging, lambda row: PersonalToken(**row))


def revoke_personal_token(conn: Connection, user: User, token_id: int, now: datetime) -> None:
    """Revoke one of the user's own personal tokens; another user's id is a 404."""
    changed = conn.execute(
        "UPDATE api_tokens SET revoked_at = :now WHERE id = :id AND user_id = :u AND kind = 'personal'"
        " AND revoked_at IS NULL",
        {"now": now, "id": token_id, "u": user.id},
    )
    if not changed:
        raise NotFound(f"no tiene un token personal activo con id {token_id}")
    audit.record(conn, user.username, "token.revoked", f"user:{user.username}", now, token_id=token_id)


def _insert_token(
    conn: Connection, user_id: int, kind: str, name: str, token: str, now: datetime, expires_at: datetime | None
) -> int:
    params: dict[str, Any] = {"u": user_id, "k": kind, "n": name, "h": token_hash(token), "now": now, "exp": expires_at}
    conn.execute(
        "INSERT INTO api_tokens (user_id, kind, name, token_hash, created_at, expires_at)"
        " VALUES (:u, :k, :n, :h, :now, :exp)",
        params,
    )
    return conn.fetchval("SELECT id FROM api_tokens WHERE token_hash = :h", {"h": params["h"]})


@cache
def _unknown_user_hash() -> str:
    """A real argon2 hash to verify against when the user does not exist (same cost, never matches)."""
    return hash_password(new_token("session"))
