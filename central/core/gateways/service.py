"""Gateways: the field computers that read the meters and send the readings.

A gateway authenticates with its own token (shown once, stored hashed) and may report only
the points assigned to it; a point belongs to at most one gateway. The health columns
(last seen, clock offset, backlog...) are written by the telemetry ingest on every batch;
this module only reads them and decides online/offline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from central.core.audit import store as audit
from central.core.auth.models import Gateway
from central.core.gateways import store
from central.core.gateways.models import GatewayInfo, unique_codes
from central.core.points.service import point_ids
from central.crypto import new_token, token_hash
from central.db import Connection
from central.pagination import Page, PageQuery
from central.problems import Conflict, NotFound, conflict_on_integrity


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


def gateway_info(conn: Connection, name: str, now: datetime, offline_after_s: float) -> GatewayInfo:
    row = store.health_row(conn, name)
    if row is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return _info(row, store.point_codes(conn, [row["id"]]), now, offline_after_s)


def list_gateways(conn: Connection, paging: PageQuery, now: datetime, offline_after_s: float) -> Page[GatewayInfo]:
    page = store.health_page(conn, paging)
    codes = store.point_codes(conn, [row["id"] for row in page.items])
    items = [_info(row, codes, now, offline_after_s) for row in page.items]
    return Page[GatewayInfo](items=items, total=page.total, limit=page.limit, offset=page.offset)


def create_gateway(
    conn: Connection, name: str, point_codes: list[str], actor: str, now: datetime
) -> tuple[Gateway, str]:
    """A new gateway reporting ``point_codes``, and its token (to show once)."""
    token = new_token("gateway")
    with conflict_on_integrity(f"ya existe un gateway llamado {name!r}"):
        store.insert_gateway(conn, name, token_hash(token), now)
    gateway = gateway_by_name(conn, name)
    _assign(conn, gateway, unique_codes(point_codes))
    audit.record(conn, actor, "gateway.created", f"gateway:{name}", now, points=unique_codes(point_codes))
    return gateway, token


def set_gateway_points(conn: Connection, name: str, point_codes: list[str], actor: str, now: datetime) -> None:
    """Replace the gateway's points; a point reported by another gateway is a 409 naming it."""
    gateway = gateway_by_name(conn, name)
    codes = unique_codes(point_codes)
    _assign(conn, gateway, codes)
    audit.record(conn, actor, "gateway.points_changed", f"gateway:{name}", now, points=codes)


def rotate_gateway_token(conn: Connection, name: str, actor: str, now: datetime) -> str:
    """A new token; the old one stops working at once. Also reinstates a revoked gateway."""
    gateway = gateway_by_name(conn, name)
    token = new_token("gateway")
    store.replace_token(conn, gateway.id, token_hash(token), now)
    audit.record(conn, actor, "gateway.token_rotated", f"gateway:{name}", now)
    return token


def revoke_gateway(conn: Connection, name: str, actor: str, now: datetime) -> None:
    """Refuse the gateway's token from now on (idempotent). Its points stay assigned to it."""
    gateway = gateway_by_name(conn, name)
    if store.revoke(conn, gateway.id, now):
        audit.record(conn, actor, "gateway.revoked", f"gateway:{name}", now)


def gateway_by_name(conn: Connection, name: str) -> Gateway:
    """The gateway called ``name`` (revoked or not), else 404."""
    gateway = store.gateway_named(conn, name)
    if gateway is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return gateway


def _assign(conn: Connection, gateway: Gateway, codes: list[str]) -> None:
    ids = point_ids(conn, codes)
    _refuse_taken(conn, gateway, ids)
    with conflict_on_integrity(
        "otro cambio asignó mientras tanto uno de estos puntos a otro gateway; intente de nuevo"
    ):
        store.replace_points(conn, gateway.id, list(ids.values()))


def _refuse_taken(conn: Connection, gateway: Gateway, ids: dict[str, int]) -> None:
    if not ids:
        return
    taken = store.taken_points(conn, gateway.id, list(ids.values()))
    if taken:
        which = ", ".join(f"{row['code']!r} pertenece al gateway {row['name']!r}" for row in taken)
        raise Conflict(
            f"el punto {which}; quítelo primero de allí",
            details=[{"point": row["code"], "gateway": row["name"]} for row in taken],
        )
