"""Who is calling: users by session or personal token, gateways by their token.

Only token hashes are stored; a lookup hashes the presented token and finds the row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from central.crypto import token_hash
from central.db import Connection


class User(BaseModel):
    id: int
    username: str
    email: str | None = None
    phone: str | None = None
    is_admin: bool = False
    notify_email: bool = True
    notify_sms: bool = False


class Gateway(BaseModel):
    id: int
    name: str


LAST_USED_RESOLUTION = timedelta(seconds=60)  # coarser than a request, so a read stays a read

USER_COLUMNS = "u.id, u.username, u.email, u.phone, u.is_admin, u.notify_email, u.notify_sms"


def user_for_token(conn: Connection, token: str, now: datetime) -> User | None:
    """The active user owning a valid (unrevoked, unexpired) session or personal token.

    ``last_used_at`` moves at most once per :data:`LAST_USED_RESOLUTION`: most requests only read.
    """
    row = conn.fetchone(
        f"SELECT {USER_COLUMNS}, t.id AS token_id FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.is_active"
        " AND (t.expires_at IS NULL OR t.expires_at > :now)",
        {"h": token_hash(token), "now": now},
    )
    if row is None:
        return None
    conn.execute("UPDATE api_tokens SET last_used_at = :now WHERE id = :id"
                 " AND (last_used_at IS NULL OR last_used_at < :cutoff)",
                 {"now": now, "cutoff": now - LAST_USED_RESOLUTION, "id": row.pop("token_id")})
    return User(**row)


def gateway_for_token(conn: Connection, token: str) -> Gateway | None:
    row = conn.fetchone(
        "SELECT id, name FROM gateways WHERE token_hash = :h AND revoked_at IS NULL", {"h": token_hash(token)}
    )
    return None if row is None else Gateway(**row)


def visible_point_ids(conn: Connection, user: User) -> set[int] | None:
    """The ids of the points ``user`` may see; ``None`` means all (admins)."""
    if user.is_admin:
        return None
    rows = conn.fetchall("SELECT point_id FROM user_points WHERE user_id = :u", {"u": user.id})
    return {row["point_id"] for row in rows}


def point_for_user(conn: Connection, user: User, code: str) -> dict | None:
    """The point row with ``code`` if it exists and ``user`` may see it (else ``None``: a 404,
    so a stranger cannot probe which codes exist)."""
    point = conn.fetchone("SELECT * FROM points WHERE code = :code", {"code": code})
    if point is None:
        return None
    visible = visible_point_ids(conn, user)
    return point if visible is None or point["id"] in visible else None
