"""Rows for the database tests, written through the library's own store and ingest functions,
so a test's installation is made the way the server makes it and follows its schema.

Each function takes an open ``Connection`` (the caller's transaction) and the time to stamp.
They call the store layer (``central/core/*/store.py``) rather than the services: a service
also hashes the password with argon2 (tens of milliseconds per user, for users that log in
with a token of known text anyway) and writes an audit entry the tests would then have to
step around. Readings go through telemetry's :func:`central.telemetry.ingest.store`, the
function ingest stores a processed batch with, without the latest-reading table, the hour
marks or the gateway's contact: what a test that seeds readings wants is the rows only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from central.core.auth import store as auth_store
from central.core.gateways import store as gateways_store
from central.core.points import store as points_store
from central.core.users import store as users_store
from central.crypto import token_hash
from central.db import Connection
from central.telemetry.ingest import store as store_readings
from central.telemetry.processing import Processed
from protocols.uplink import Quality

UNUSABLE_PASSWORD_HASH = "x"
"""Matches no password: seeded users log in with their personal token, never by password."""


def add_user(
    conn: Connection,
    username: str,
    now: datetime,
    *,
    token: str | None = None,
    is_admin: bool = False,
    email: str | None = None,
    notify_email: bool = True,
) -> int:
    """An active account (with a personal token of text ``token``, if given); its id."""
    values = {
        "username": username,
        "email": email,
        "phone": None,
        "is_admin": is_admin,
        "notify_email": notify_email,
        "notify_sms": False,
    }
    users_store.insert_user(conn, values, UNUSABLE_PASSWORD_HASH, now)
    user_id = points_store.user_id(conn, username)
    assert user_id is not None
    if token is not None:
        auth_store.insert_token(conn, user_id, "personal", "", token_hash(token), now, None)
    return user_id


def add_point(
    conn: Connection, code: str, now: datetime, *, name: str | None = None, kind: str = "subterranea", **columns: Any
) -> int:
    """A point (``columns``: water_right_lps, sensor_depth_m, flow_cutoff_lps, ...); its id."""
    points_store.insert_point(conn, {"code": code, "name": name or code, "kind": kind, **columns}, now)
    return point_ids(conn, [code])[code]


def add_numbered_points(conn: Connection, columns: Sequence[dict[str, Any]], now: datetime) -> None:
    """Points P0, P1, ..., one per item of ``columns`` (its column values: water_right_lps,
    sensor_depth_m, ...), for installations of thousands: no id lookup per point."""
    for n, values in enumerate(columns):
        points_store.insert_point(conn, {"code": f"P{n}", "name": f"P{n}", "kind": "subterranea", **values}, now)


def add_numbered_gateways(conn: Connection, count: int, now: datetime) -> None:
    """Gateways gw-0 .. gw-``count - 1`` writing no point, each with a token nobody holds."""
    for n in range(count):
        gateways_store.insert_gateway(conn, f"gw-{n}", token_hash(f"gw-{n}-token"), now)


def add_gateway(conn: Connection, name: str, token: str, codes: Iterable[str], now: datetime) -> int:
    """A gateway whose token has text ``token``, writing the points ``codes``; its id."""
    gateways_store.insert_gateway(conn, name, token_hash(token), now)
    gateway = gateways_store.gateway_named(conn, name)
    assert gateway is not None
    codes = list(codes)
    ids = point_ids(conn, codes)
    gateways_store.replace_points(conn, gateway.id, [ids[code] for code in codes])
    return gateway.id


def grant(conn: Connection, username: str, code: str) -> None:
    """Let the (non-admin) user ``username`` see the point ``code``."""
    user_id = points_store.user_id(conn, username)
    assert user_id is not None
    points_store.grant(conn, user_id, point_ids(conn, [code])[code])


def point_ids(conn: Connection, codes: list[str]) -> dict[str, int]:
    return points_store.ids_of(conn, codes) if codes else {}


def processed(
    point_id: int,
    ts: datetime,
    variable: str,
    value: float | None,
    *,
    raw_value: float | None = None,
    received_at: datetime | None = None,
) -> Processed:
    """A reading as processing hands it to storage and to alert evaluation: good, or a timeout
    gap when ``value`` is None."""
    return Processed(
        point_id=point_id,
        ts=ts,
        variable=variable,
        value=value,
        raw_value=raw_value,
        unit="x",
        quality=Quality.GOOD if value is not None else Quality.TIMEOUT,
        flags=None,
        seq=None,
        received_at=received_at,
    )


def add_readings(conn: Connection, point_id: int, ts: datetime, **values: float | None) -> None:
    """One reading per variable at ``ts``, received at ``ts`` (a value of None: a timeout gap).
    A reading already stored for (point, ts, variable) stays as it was."""
    rows = [processed(point_id, ts, variable, value, received_at=ts) for variable, value in values.items()]
    store_readings(conn, rows, skip_known=True)
