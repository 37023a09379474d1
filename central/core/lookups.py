"""What other domains read of core's tables: points, gateways, users and who may see what.

core owns these tables (``central/db/ownership.py``). Telemetry, alerts, notify and compliance
call these functions, or put the SQL expressions they return into their own queries (a join
that stays in the database, with core still the only one to name its tables and columns).
An expression's argument is an SQL expression of the caller's query (a column or a parameter).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from central.core.auth.models import User
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page


def _select(column: str, table: str, key: str, value: str) -> str:
    """``(SELECT column FROM table WHERE key = value)``: the form of every lookup below that reads one
    column of the rows a key picks (``value`` is an SQL expression of the caller's query)."""
    return f"(SELECT {column} FROM {table} WHERE {key} = {value})"


def point_code_sql(point_id: str) -> str:
    """SQL: the code of the point whose id is ``point_id`` (NULL for none)."""
    return point_field_sql("code", point_id)


def point_field_sql(field: Literal["code", "water_right_lps"], point_id: str) -> str:
    """SQL: one field of the point whose id is ``point_id`` (NULL for none)."""
    return _select(field, "points", "id", point_id)


def point_id_sql(code: str) -> str:
    """SQL: the id of the point whose code is ``code`` (NULL for none)."""
    return _select("id", "points", "code", code)


def point_ids_sql() -> str:
    """SQL subquery: the id of every point."""
    return "(SELECT id FROM points)"


def gateway_ids_sql() -> str:
    """SQL subquery: the id of every gateway."""
    return "(SELECT id FROM gateways)"


def gateway_name_sql(gateway_id: str) -> str:
    """SQL: the name of the gateway whose id is ``gateway_id`` (NULL for none)."""
    return _select("name", "gateways", "id", gateway_id)


def gateway_point_ids_sql(gateway_id: str) -> str:
    """SQL subquery: the ids of the points the gateway ``gateway_id`` reports."""
    return _select("point_id", "gateway_points", "gateway_id", gateway_id)


def visible_point_ids_sql(user_id: str) -> str:
    """SQL subquery: the ids of the points granted to the user ``user_id`` (an admin sees all: check first)."""
    return _select("point_id", "user_points", "user_id", user_id)


def visible_gateway_ids_sql(user_id: str) -> str:
    """SQL subquery: the gateways reporting at least one point granted to the user ``user_id``."""
    return (
        f"(SELECT gp.gateway_id FROM gateway_points gp JOIN user_points up ON up.point_id = gp.point_id"
        f" WHERE up.user_id = {user_id})"
    )


def user_sees_sql(user_id: str, *, point_id: str | None = None, gateway_id: str | None = None) -> str:
    """SQL condition: the user ``user_id`` is granted the point ``point_id``, or else one of the
    points of the gateway ``gateway_id`` (an admin sees all: check first)."""
    which = (
        f"up.point_id = {point_id}"
        if point_id is not None
        else f"up.point_id IN {gateway_point_ids_sql(str(gateway_id))}"
    )
    return f"EXISTS (SELECT 1 FROM user_points up WHERE up.user_id = {user_id} AND {which})"


def users_sql() -> str:
    """SQL derived table: every user's id, name, contact details, notification choices and standing."""
    return "(SELECT id, username, email, phone, is_admin, is_active, notify_email, notify_sms FROM users)"


def point_row(conn: Connection, point_id: int) -> dict[str, Any] | None:
    """The point's whole row (None if there is none)."""
    return conn.fetchone("SELECT * FROM points WHERE id = :id", {"id": point_id})


def points_by_id(conn: Connection, point_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The rows of the points among ``point_ids`` that exist, by id."""
    names = {f"p{i}": point_id for i, point_id in enumerate(sorted(set(point_ids)))}
    if not names:
        return []
    return conn.fetchall(f"SELECT * FROM points WHERE id IN ({', '.join(':' + n for n in names)}) ORDER BY id", names)


def gateway_points(conn: Connection, gateway_id: int) -> list[dict[str, Any]]:
    """The points the gateway reports, by code: id, code, sensor depth and flow cut-off."""
    return conn.fetchall(
        "SELECT p.id, p.code, p.sensor_depth_m, p.flow_cutoff_lps FROM points p"
        " JOIN gateway_points gp ON gp.point_id = p.id WHERE gp.gateway_id = :g ORDER BY p.code",
        {"g": gateway_id},
    )


def gateway_point_codes(conn: Connection, gateway_id: int) -> list[str]:
    """The codes of the points the gateway reports, in order."""
    return [row["code"] for row in gateway_points(conn, gateway_id)]


def active_gateways(conn: Connection) -> dict[int, dict[str, Any]]:
    """Unrevoked gateways by id: last contact, clock offset (gateway minus server) and readings dropped."""
    rows = conn.fetchall(
        "SELECT id, last_seen_at, clock_offset_s, dropped_total FROM gateways WHERE revoked_at IS NULL"
    )
    return {row["id"]: row for row in rows}


def users_wanting_sms(conn: Connection) -> int:
    """How many active users ask for alert SMS in their profile and have a phone number."""
    return int(conn.fetchval("SELECT COUNT(*) FROM users WHERE is_active AND notify_sms AND phone IS NOT NULL"))


def visible_points_page(conn: Connection, user: User, paging: PageQuery) -> Page[dict[str, Any]]:
    """A page of the points ``user`` may see, by code: id, code and name."""
    visible = "" if user.is_admin else f" WHERE id IN {visible_point_ids_sql(':u')}"
    return fetch_page(conn, f"SELECT id, code, name FROM points{visible} ORDER BY code", {"u": user.id}, paging, dict)


def visible_points(conn: Connection, user: User) -> list[dict[str, Any]]:
    """Every point ``user`` may see (administrators: all), by code: id, code, name and position."""
    visible = "" if user.is_admin else f" WHERE id IN {visible_point_ids_sql(':u')}"
    return conn.fetchall(
        f"SELECT id, code, name, latitude, longitude FROM points{visible} ORDER BY code", {"u": user.id}
    )


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
