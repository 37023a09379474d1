"""Logging in and out, personal API tokens, and who a presented token belongs to.

Every token is a random bearer string shown once; only its SHA-256 is stored, so a copy of
the database does not let anyone in. A failed login answers one generic message whether
or not the user exists, and a run of failures for one username locks that username for a
while, as does a run from one client address (see :mod:`central.core.auth.lockout`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from central.core.audit import store as audit
from central.core.auth import lockout, store
from central.core.auth.models import (
    Gateway,
    IssuedSession,
    LoginRequest,
    NewPersonalToken,
    PersonalToken,
    PersonalTokenCreate,
    User,
)
from central.core.gateways import store as gateways_store
from central.crypto import hash_password, new_token, token_hash, verify_password
from central.db import Connection, Database
from central.pagination import Page, PageQuery
from central.problems import InvalidField, NotFound

LAST_USED_RESOLUTION = timedelta(seconds=60)  # coarser than a request, so a read stays a read


def user_for_token(conn: Connection, token: str, now: datetime) -> User | None:
    """The active user owning a valid (unrevoked, unexpired) session or personal token.

    ``last_used_at`` moves at most once per :data:`LAST_USED_RESOLUTION`: most requests send
    only the lookup (the UPDATE, guarded by the same cutoff, goes only when the lookup saw an
    older ``last_used_at``: one round trip less on nearly every request).
    """
    row = store.token_user(conn, token_hash(token), now)
    if row is None:
        return None
    token_id, last_used_at, cutoff = row.pop("token_id"), row.pop("last_used_at"), now - LAST_USED_RESOLUTION
    if last_used_at is None or last_used_at < cutoff:
        store.touch_token(conn, token_id, now, cutoff)
    return User(**row)


def gateway_for_token(conn: Connection, token: str) -> Gateway | None:
    """The unrevoked gateway whose token this is."""
    return gateways_store.gateway_with_token(conn, token_hash(token))


def login(db: Database, request: LoginRequest, address: str, ttl: timedelta, now: datetime) -> IssuedSession | None:
    """A new session token, or ``None`` for any wrong username/password (the caller answers 401).

    Raises :class:`~central.problems.TooManyAttempts` while the username or the client
    ``address`` is locked. The attempt is counted before the password is checked, so
    parallel guesses cannot outrun the count. The password is checked even for unknown
    users so that timing does not tell which usernames exist. Unlike the other functions
    here it owns its transactions: the slow argon2 check runs outside any write lock, so a
    password guesser cannot stall the SQLite writers (the ingest).
    """
    with db.transaction() as conn:
        for key in lockout.keys_for(request.username, address):
            lockout.count_attempt(conn, key, now)
        row = store.login_row(conn, request.username)
    stored = row["password_hash"] if row else _unknown_user_hash()
    if not (verify_password(stored, request.password.get_secret_value()) and row is not None):
        with db.connect() as conn:
            lockout.forget_old(conn, now)
        return None
    with db.transaction() as conn:
        lockout.forgive(conn, request.username, address)
        return _open_session(conn, row["id"], ttl, now)


def _open_session(conn: Connection, user_id: int, ttl: timedelta, now: datetime) -> IssuedSession:
    store.delete_expired_sessions(conn, user_id, now)
    token, expires_at = new_token("session"), now + ttl
    store.insert_token(conn, user_id, "session", "", token_hash(token), now, expires_at)
    return IssuedSession(access_token=token, expires_at=expires_at)


def logout(conn: Connection, token: str, now: datetime) -> None:
    """Revoke the presented token (a session, or a personal token used to log out)."""
    store.revoke_by_hash(conn, token_hash(token), now)


def create_personal_token(
    conn: Connection, user: User, request: PersonalTokenCreate, now: datetime
) -> NewPersonalToken:
    if request.expires_at is not None and request.expires_at <= now:
        raise InvalidField("expires_at", "debe estar en el futuro")
    token = new_token("personal")
    token_id = store.insert_token(conn, user.id, "personal", request.name, token_hash(token), now, request.expires_at)
    audit.record(
        conn, user.username, "token.created", f"user:{user.username}", now, name=request.name, token_id=token_id
    )
    return NewPersonalToken(
        id=token_id, name=request.name, created_at=now, last_used_at=None, expires_at=request.expires_at, token=token
    )


def list_personal_tokens(conn: Connection, user: User, paging: PageQuery, now: datetime) -> Page[PersonalToken]:
    """The user's usable personal tokens (revoked and expired ones are left out)."""
    return store.personal_tokens(conn, user.id, paging, now)


def revoke_personal_token(conn: Connection, user: User, token_id: int, now: datetime) -> None:
    """Revoke one of the user's own personal tokens; another user's id is a 404."""
    if not store.revoke_personal_token(conn, user.id, token_id, now):
        raise NotFound(f"no tiene un token personal activo con id {token_id}")
    audit.record(conn, user.username, "token.revoked", f"user:{user.username}", now, token_id=token_id)


@cache
def _unknown_user_hash() -> str:
    """A real argon2 hash to verify against when the user does not exist (same cost, never matches)."""
    return hash_password(new_token("session"))
