"""Gateways: the field computers that read the meters and send the readings.

A gateway authenticates with its own token (shown once, stored hashed) and may report only
the points assigned to it; a point belongs to at most one gateway. The health columns
(last seen, clock offset, backlog...) are written by the telemetry ingest on every batch;
this module only reads them and decides online/offline.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator

from central.core import audit
from central.core.auth import Gateway
from central.core.points import point_ids
from central.core.problems import Conflict, NotFound
from central.crypto import new_token, token_hash
from central.db import Connection, IntegrityError
from central.pagination import Page, PageQuery, fetch_page

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

_SELECT = (
    "SELECT id, name, created_at, token_created_at, revoked_at, last_seen_at, clock_offset_s, agent_version,"
    " buffer_depth, oldest_unsent_s, dropped_total, clock_synced FROM gateways"
)


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))


class _PointCodes(BaseModel):
    @field_validator("points", check_fields=False)
    @classmethod
    def _once_each(cls, codes: list[str]) -> list[str]:
        return _unique(codes)


class GatewayCreate(_PointCodes):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"name": "fundo-el-olivo", "points": ["OB-0101-12", "OB-0101-13"]},
    ]}}

    name: str = Field(pattern=NAME_PATTERN, description="Letters, digits, '.', '_', '-'")
    points: list[str] = Field(default_factory=list, description="Codes of the points it reports")


class GatewayPointsUpdate(_PointCodes):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"points": ["OB-0101-12"]}]}}

    points: list[str] = Field(description="The complete new list of point codes")


class GatewayInfo(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "name": "fundo-el-olivo", "points": ["OB-0101-12"], "online": True,
        "created_at": "2026-11-01T10:00:00Z", "token_created_at": "2026-11-01T10:00:00Z", "revoked_at": None,
        "last_seen_at": "2026-11-28T12:59:30Z", "clock_offset_s": 0.4, "agent_version": "0.1.0",
        "buffer_depth": 0, "oldest_unsent_s": 0.0, "dropped_total": 0, "clock_synced": True,
    }]}}

    name: str
    points: list[str]
    online: bool = Field(description="Seen within the offline threshold and not revoked")
    created_at: datetime
    token_created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    clock_offset_s: float | None = Field(description="Gateway clock minus server clock at its last batch, s")
    agent_version: str | None
    buffer_depth: int | None = Field(description="Readings waiting on the gateway to be sent")
    oldest_unsent_s: float | None = Field(description="Age of the oldest unsent reading, s")
    dropped_total: int | None = Field(description="Readings the gateway had to drop (buffer full) since install")
    clock_synced: bool | None


class GatewayToken(BaseModel):
    """A gateway's new token: the only time it is shown."""

    model_config = {"json_schema_extra": {"examples": [{
        "name": "fundo-el-olivo", "token": "cau_g_Xq3...", "token_created_at": "2026-11-28T13:00:00Z",
    }]}}

    name: str
    token: str = Field(description="Shown only now; put it in the gateway's configuration")
    token_created_at: datetime


def is_online(
    last_seen_at: datetime | None, revoked_at: datetime | None, now: datetime, offline_after_s: float
) -> bool:
    """Online means: not revoked and heard from within ``offline_after_s``."""
    if revoked_at is not None or last_seen_at is None:
        return False
    return now - last_seen_at <= timedelta(seconds=offline_after_s)


def _info(row: dict[str, Any], codes: dict[int, list[str]], now: datetime, offline_after_s: float) -> GatewayInfo:
    gateway_id = row.pop("id")
    online = is_online(row["last_seen_at"], row["revoked_at"], now, offline_after_s)
    return GatewayInfo(**row, points=sorted(codes.get(gateway_id, [])), online=online)


def _point_codes(conn: Connection, gateway_ids: list[int]) -> dict[int, list[str]]:
    """``gateway id -> codes of its points`` for several gateways in one query (a page of the list)."""
    if not gateway_ids:
        return {}
    marks = {f"g{i}": gateway_id for i, gateway_id in enumerate(gateway_ids)}
    rows = conn.fetchall(
        "SELECT gp.gateway_id, p.code FROM gateway_points gp JOIN points p ON p.id = gp.point_id"
        f" WHERE gp.gateway_id IN ({', '.join(':' + mark for mark in marks)})", marks)
    codes: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        codes[row["gateway_id"]].append(row["code"])
    return codes


def gateway_info(conn: Connection, name: str, now: datetime, offline_after_s: float) -> GatewayInfo:
    row = conn.fetchone(f"{_SELECT} WHERE name = :name", {"name": name})
    if row is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return _info(row, _point_codes(conn, [row["id"]]), now, offline_after_s)


def list_gateways(conn: Connection, paging: PageQuery, now: datetime, offline_after_s: float) -> Page[GatewayInfo]:
    page = fetch_page(conn, f"{_SELECT} ORDER BY name", None, paging, dict)
    codes = _point_codes(conn, [row["id"] for row in page.items])
    items = [_info(row, codes, now, offline_after_s) for row in page.items]
    return Page[GatewayInfo](items=items, total=page.total, limit=page.limit, offset=page.offset)


def create_gateway(
    conn: Connection, name: str, point_codes: list[str], actor: str, now: datetime
) -> tuple[Gateway, str]:
    """A new gateway reporting ``point_codes``, and its token (to show once)."""
    token = new_token("gateway")
    try:
        conn.execute(
            "INSERT INTO gateways (name, token_hash, token_created_at, created_at) VALUES (:n, :h, :now, :now)",
            {"n": name, "h": token_hash(token), "now": now},
        )
    except IntegrityError:
        raise Conflict(f"ya existe un gateway llamado {name!r}") from None
    gateway = gateway_by_name(conn, name)
    _assign(conn, gateway, _unique(point_codes))
    audit.record(conn, actor, "gateway.created", f"gateway:{name}", now, points=_unique(point_codes))
    return gateway, token


def set_gateway_points(conn: Connection, name: str, point_codes: list[str], actor: str, now: datetime) -> None:
    """Replace the gateway's points; a point reported by another gateway is a 409 naming it."""
    gateway = gateway_by_name(conn, name)
    codes = _unique(point_codes)
    _assign(conn, gateway, codes)
    audit.record(conn, actor, "gateway.points_changed", f"gateway:{name}", now, points=codes)


def rotate_gateway_token(conn: Connection, name: str, actor: str, now: datetime) -> str:
    """A new token; the old one stops working at once. Also reinstates a revoked gateway."""
    gateway = gateway_by_name(conn, name)
    token = new_token("gateway")
    conn.execute(
        "UPDATE gateways SET token_hash = :h, token_created_at = :now, revoked_at = NULL WHERE id = :id",
        {"h": token_hash(token), "now": now, "id": gateway.id},
    )
    audit.record(conn, actor, "gateway.token_rotated", f"gateway:{name}", now)
    return token


def revoke_gateway(conn: Connection, name: str, actor: str, now: datetime) -> None:
    """Refuse the gateway's token from now on (idempotent). Its points stay assigned to it."""
    gateway = gateway_by_name(conn, name)
    changed = conn.execute("UPDATE gateways SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
                           {"now": now, "id": gateway.id})
    if changed:
        audit.record(conn, actor, "gateway.revoked", f"gateway:{name}", now)


def gateway_by_name(conn: Connection, name: str) -> Gateway:
    """The gateway called ``name`` (revoked or not), else 404."""
    row = conn.fetchone("SELECT id, name FROM gateways WHERE name = :name", {"name": name})
    if row is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return Gateway(**row)


def _assign(conn: Connection, gateway: Gateway, codes: list[str]) -> None:
    ids = point_ids(conn, codes)
    _refuse_taken(conn, gateway, ids)
    conn.execute("DELETE FROM gateway_points WHERE gateway_id = :g", {"g": gateway.id})
    if not ids:
        return
    try:
        conn.executemany("INSERT INTO gateway_points (gateway_id, point_id) VALUES (:g, :p)",
                         [{"g": gateway.id, "p": point_id} for point_id in ids.values()])
    except IntegrityError:
        raise Conflict("otro cambio asignó mientras tanto uno de estos puntos a otro gateway;"
                       " intente de nuevo") from None


def _refuse_taken(conn: Connection, gateway: Gateway, ids: dict[str, int]) -> None:
    if not ids:
        return
    marks = {f"p{i}": point_id for i, point_id in enumerate(ids.values())}
    taken = conn.fetchall(
        "SELECT p.code, g.name FROM gateway_points gp JOIN points p ON p.id = gp.point_id"
        " JOIN gateways g ON g.id = gp.gateway_id"
        f" WHERE gp.gateway_id <> :own AND gp.point_id IN ({', '.join(':' + m for m in marks)}) ORDER BY p.code",
        {**marks, "own": gateway.id},
    )
    if taken:
        which = ", ".join(f"{row['code']!r} pertenece al gateway {row['name']!r}" for row in taken)
        raise Conflict(f"el punto {which}; quítelo primero de allí",
                       details=[{"point": row["code"], "gateway": row["name"]} for row in taken])
