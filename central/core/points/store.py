"""Points and their grants in the database (``points``, ``user_points``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.core.points.models import Point
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page

_SELECT = (
    "SELECT p.id, p.code, p.name, p.kind, p.latitude, p.longitude, p.water_right_lps, p.sensor_depth_m,"
    " p.flow_cutoff_lps, p.status, g.name AS gateway, p.created_at, p.updated_at FROM points p"
    " LEFT JOIN gateway_points gp ON gp.point_id = p.id LEFT JOIN gateways g ON g.id = gp.gateway_id"
)


def point_by_code(conn: Connection, code: str) -> Point | None:
    """Any point by code, without a visibility check."""
    row = conn.fetchone(f"{_SELECT} WHERE p.code = :code", {"code": code})
    return None if row is None else Point(**row)


def points_page(
    conn: Connection, paging: PageQuery, *, granted_to: int | None, status: str | None, kind: str | None
) -> Page[Point]:
    """Points by code: only those granted to the user ``granted_to`` (None: all), of one status and/or kind."""
    clauses, params = [], {}
    if granted_to is not None:
        clauses.append("p.id IN (SELECT point_id FROM user_points WHERE user_id = :uid)")
        params["uid"] = granted_to
    for column, value in (("status", status), ("kind", kind)):
        if value is not None:
            clauses.append(f"p.{column} = :{column}")
            params[column] = value
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return fetch_page(conn, f"{_SELECT}{where} ORDER BY p.code", params, paging, lambda row: Point(**row))


def insert_point(conn: Connection, values: dict[str, Any], now: datetime) -> None:
    """A new point from its column values; a taken code raises ``IntegrityError``."""
    columns = ", ".join(values)
    conn.execute(
        f"INSERT INTO points ({columns}, created_at, updated_at)"
        f" VALUES ({', '.join(':' + c for c in values)}, :now, :now)",
        {**values, "now": now},
    )


def update_columns(conn: Connection, point_id: int, fields: dict[str, Any], now: datetime) -> None:
    """UPDATE the given columns (names come from the models, never from the request)."""
    assignments = ", ".join(f"{column} = :{column}" for column in fields)
    conn.execute(
        f"UPDATE points SET {assignments}, updated_at = :now WHERE id = :id", {**fields, "now": now, "id": point_id}
    )


def delete_point(conn: Connection, point_id: int) -> None:
    """Delete the point; one that data refers to raises ``IntegrityError``."""
    conn.execute("DELETE FROM points WHERE id = :id", {"id": point_id})


def is_granted(conn: Connection, user_id: int, point_id: int) -> bool:
    return (
        conn.fetchone(
            "SELECT 1 AS x FROM user_points WHERE user_id = :u AND point_id = :p", {"u": user_id, "p": point_id}
        )
        is not None
    )


def grant(conn: Connection, user_id: int, point_id: int) -> None:
    conn.execute("INSERT INTO user_points (user_id, point_id) VALUES (:u, :p)", {"u": user_id, "p": point_id})


def revoke(conn: Connection, user_id: int, point_id: int) -> bool:
    """Remove the grant; whether there was one."""
    return bool(
        conn.execute("DELETE FROM user_points WHERE user_id = :u AND point_id = :p", {"u": user_id, "p": point_id})
    )


def grantees_page(conn: Connection, point_id: int, paging: PageQuery) -> Page[str]:
    """A page of the usernames granted the point, by name."""
    return fetch_page(
        conn,
        "SELECT u.username FROM user_points up JOIN users u ON u.id = up.user_id WHERE up.point_id = :p"
        " ORDER BY u.username",
        {"p": point_id},
        paging,
        lambda row: row["username"],
    )


def granted_codes_page(conn: Connection, user_id: int, paging: PageQuery) -> Page[str]:
    """A page of the codes of the points granted to the user, by code."""
    return fetch_page(
        conn,
        "SELECT p.code FROM user_points up JOIN points p ON p.id = up.point_id WHERE up.user_id = :u ORDER BY p.code",
        {"u": user_id},
        paging,
        lambda row: row["code"],
    )


def granted_codes(conn: Connection, user_id: int) -> set[str]:
    """The codes of every point granted to the user."""
    return {
        row["code"]
        for row in conn.fetchall(
            "SELECT p.code FROM user_points up JOIN points p ON p.id = up.point_id WHERE up.user_id = :u",
            {"u": user_id},
        )
    }


def ids_of(conn: Connection, codes: list[str]) -> dict[str, int]:
    """``code -> id`` for the codes that name a point."""
    marks = {f"c{i}": code for i, code in enumerate(codes)}
    rows = conn.fetchall(f"SELECT id, code FROM points WHERE code IN ({', '.join(':' + m for m in marks)})", marks)
    return {row["code"]: row["id"] for row in rows}


def user_id(conn: Connection, username: str) -> int | None:
    """The id of the account ``username``."""
    found: Any = conn.fetchval("SELECT id FROM users WHERE username = :u", {"u": username})
    return None if found is None else int(found)
