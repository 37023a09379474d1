"""Gateways and the points they report in the database (``gateways``, ``gateway_points``).

The health columns (last seen, clock offset, backlog...) are written by the telemetry ingest
on every batch; here they are only read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from central.core.auth.models import Gateway
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page

_SELECT = (
    "SELECT id, name, created_at, token_created_at, revoked_at, last_seen_at, clock_offset_s, agent_version,"
    " buffer_depth, oldest_unsent_s, dropped_total, clock_synced FROM gateways"
)


def health_row(conn: Connection, name: str) -> dict[str, Any] | None:
    """The gateway's id, times and health columns."""
    return conn.fetchone(f"{_SELECT} WHERE name = :name", {"name": name})


def health_page(conn: Connection, paging: PageQuery) -> Page[dict[str, Any]]:
    """A page of :func:`health_row` rows, by name."""
    return fetch_page(conn, f"{_SELECT} ORDER BY name", None, paging, dict)


def point_codes(conn: Connection, gateway_ids: list[int]) -> dict[int, list[str]]:
    """``gateway id -> codes of its points`` for several gateways in one query (a page of the list)."""
    if not gateway_ids:
        return {}
    marks = {f"g{i}": gateway_id for i, gateway_id in enumerate(gateway_ids)}
    rows = conn.fetchall(
        "SELECT gp.gateway_id, p.code FROM gateway_points gp JOIN points p ON p.id = gp.point_id"
        f" WHERE gp.gateway_id IN ({', '.join(':' + mark for mark in marks)})",
        marks,
    )
    codes: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        codes[row["gateway_id"]].append(row["code"])
    return codes


def insert_gateway(conn: Connection, name: str, digest: str, now: datetime) -> None:
    """A new gateway with its token's hash; a taken name raises ``IntegrityError``."""
    conn.execute(
        "INSERT INTO gateways (name, token_hash, token_created_at, created_at) VALUES (:n, :h, :now, :now)",
        {"n": name, "h": digest, "now": now},
    )


def gateway_named(conn: Connection, name: str) -> Gateway | None:
    """The gateway called ``name``, revoked or not."""
    return _gateway_where(conn, "name = :name", {"name": name})


def gateway_with_token(conn: Connection, digest: str) -> Gateway | None:
    """The unrevoked gateway whose token has this hash."""
    return _gateway_where(conn, "token_hash = :h AND revoked_at IS NULL", {"h": digest})


def _gateway_where(conn: Connection, condition: str, params: dict[str, Any]) -> Gateway | None:
    row = conn.fetchone(f"SELECT id, name FROM gateways WHERE {condition}", params)
    return None if row is None else Gateway(**row)


def replace_token(conn: Connection, gateway_id: int, digest: str, now: datetime) -> None:
    """A new token hash, which also reinstates a revoked gateway."""
    conn.execute(
        "UPDATE gateways SET token_hash = :h, token_created_at = :now, revoked_at = NULL WHERE id = :id",
        {"h": digest, "now": now, "id": gateway_id},
    )


def revoke(conn: Connection, gateway_id: int, now: datetime) -> bool:
    """Revoke the gateway's token; whether it was not revoked already."""
    return bool(
        conn.execute(
            "UPDATE gateways SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
            {"now": now, "id": gateway_id},
        )
    )


def replace_points(conn: Connection, gateway_id: int, point_ids: list[int]) -> None:
    """Make ``point_ids`` the gateway's points; a point another gateway holds raises ``IntegrityError``."""
    conn.execute("DELETE FROM gateway_points WHERE gateway_id = :g", {"g": gateway_id})
    if point_ids:
        conn.executemany(
            "INSERT INTO gateway_points (gateway_id, point_id) VALUES (:g, :p)",
            [{"g": gateway_id, "p": point_id} for point_id in point_ids],
        )


def taken_points(conn: Connection, gateway_id: int, point_ids: list[int]) -> list[dict[str, Any]]:
    """Those of ``point_ids`` that another gateway reports: ``{code, name}`` (the other gateway's), by code."""
    marks = {f"p{i}": point_id for i, point_id in enumerate(point_ids)}
    return conn.fetchall(
        "SELECT p.code, g.name FROM gateway_points gp JOIN points p ON p.id = gp.point_id"
        " JOIN gateways g ON g.id = gp.gateway_id"
        f" WHERE gp.gateway_id <> :own AND gp.point_id IN ({', '.join(':' + m for m in marks)}) ORDER BY p.code",
        {**marks, "own": gateway_id},
    )
