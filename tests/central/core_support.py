"""Helpers for the core tests: accounts with ready-made tokens, straight through the library.

Most tests need an account and a token, not a password: those accounts are inserted with
an unusable password hash, which skips argon2 (a tenth of a second per hash) and keeps the
suite fast. Tests that log in ask for a real password with ``with_password=True``.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from central.context import AppContext
from central.core.auth.models import PersonalTokenCreate, User
from central.core.auth.service import create_personal_token
from central.core.users.models import UserCreate
from central.core.users.service import create_user

PASSWORD = "correct horse battery"


def ctx_of(client: TestClient) -> AppContext:
    return client.app.state.ctx


def add_user(client: TestClient, username: str, *, admin: bool = False, with_password: bool = False) -> dict[str, str]:
    """Create ``username`` and return headers with a personal token of theirs.

    ``with_password``: the account gets :data:`PASSWORD` (through ``create_user``) so it can log in.
    """
    ctx = ctx_of(client)
    with ctx.db.transaction() as conn:
        if with_password:
            new = UserCreate(username=username, password=PASSWORD, is_admin=admin)
            create_user(conn, new, "setup", ctx.clock.now())
        else:
            conn.execute(
                "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES (:u, 'unusable', :a, :now)",
                {"u": username, "a": admin, "now": ctx.clock.now()},
            )
    return headers_for(client, username)


def headers_for(client: TestClient, username: str) -> dict[str, str]:
    """A fresh personal token for an existing user."""
    ctx = ctx_of(client)
    with ctx.db.transaction() as conn:
        row = conn.fetchone("SELECT id, username, is_admin FROM users WHERE username = :u", {"u": username})
        issued = create_personal_token(conn, User(**row), PersonalTokenCreate(name="test"), ctx.clock.now())
    return {"Authorization": f"Bearer {issued.token}"}


def audit_rows(client: TestClient, subject: str | None = None) -> list[tuple[str, str, str]]:
    """``(actor, action, subject)`` of the audit rows (setup's token rows left out), oldest first."""
    ctx = ctx_of(client)
    where, params = ("", {}) if subject is None else (" AND subject = :s", {"s": subject})
    with ctx.db.connect() as conn:
        rows = conn.fetchall(
            f"SELECT actor, action, subject FROM audit_log WHERE actor <> 'setup'"
            f" AND action <> 'token.created'{where} ORDER BY id",
            params,
        )
    return [(row["actor"], row["action"], row["subject"]) for row in rows]
