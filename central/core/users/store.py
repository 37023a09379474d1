"""Accounts in the database (``users``). Passwords arrive here already hashed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.core.users.models import UserOut
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page

_COLUMNS = "username, email, phone, is_admin, is_active, notify_email, notify_sms, created_at"


def user_row(conn: Connection, username: str) -> dict[str, Any] | None:
    """The account's id and public columns."""
    return conn.fetchone(f"SELECT id, {_COLUMNS} FROM users WHERE username = :u", {"u": username})


def users_page(conn: Connection, paging: PageQuery, active: bool | None) -> Page[UserOut]:
    """A page of accounts by username, optionally only the active or the deactivated ones."""
    where = "" if active is None else " WHERE is_active = :active"
    sql = f"SELECT {_COLUMNS} FROM users{where} ORDER BY username"
    return fetch_page(conn, sql, {} if active is None else {"active": active}, paging, lambda r: UserOut(**r))


def insert_user(conn: Connection, values: dict[str, Any], password_hash: str, now: datetime) -> None:
    """A new active account; a taken username raises ``IntegrityError``."""
    conn.execute(
        "INSERT INTO users (username, email, phone, password_hash, is_admin, is_active, notify_email,"
        " notify_sms, created_at) VALUES (:username, :email, :phone, :password_hash, :is_admin, TRUE,"
        " :notify_email, :notify_sms, :now)",
        {**values, "password_hash": password_hash, "now": now},
    )


def update_columns(conn: Connection, user_id: int, values: dict[str, Any]) -> None:
    """UPDATE the given columns (names come from the models, never from the request)."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    conn.execute(f"UPDATE users SET {assignments} WHERE id = :user_id", {**values, "user_id": user_id})


def password_hash(conn: Connection, user_id: int) -> str:
    return conn.fetchval("SELECT password_hash FROM users WHERE id = :id", {"id": user_id})


def other_active_admins(conn: Connection, user_id: int) -> int:
    """How many active administrators there are besides ``user_id``."""
    return int(conn.fetchval("SELECT COUNT(*) FROM users WHERE is_admin AND is_active AND id <> :id", {"id": user_id}))
