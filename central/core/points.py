"""Catchment points (obras de captación): what is measured, where, under which water right.

A point's ``code`` is its identity towards the regulators (a DGA ``codigoObra`` such as
``OB-0101-12``, or an installation's own code) and never changes. Non-admin users see only
the points granted to them; for anyone else a point they may not see does not exist (404).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from central.core import audit
from central.core.auth import User, point_for_user
from central.core.problems import Conflict, Invalid, NotFound
from central.db import Connection, IntegrityError
from central.errors import invalid_body
from central.pagination import Page, PageQuery, fetch_page

PointKind = Literal["subterranea", "superficial", "superficial_flujometro", "other"]
PointStatus = Literal["active", "inactive", "maintenance"]

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DGA_CODE = re.compile(r"^O[BR]-\d{4}-\d+$")
_LOOKS_DGA = re.compile(r"^O[BR]-")

_SELECT = (
    "SELECT p.id, p.code, p.name, p.kind, p.latitude, p.longitude, p.water_right_lps, p.sensor_depth_m,"
    " p.flow_cutoff_lps, p.status, g.name AS gateway, p.created_at, p.updated_at FROM points p"
    " LEFT JOIN gateway_points gp ON gp.point_id = p.id LEFT JOIN gateways g ON g.id = gp.gateway_id"
)
_EDITABLE = ("name", "kind", "latitude", "longitude", "water_right_lps", "sensor_depth_m", "flow_cutoff_lps", "status")


def is_dga_code(code: str) -> bool:
    """Whether ``code`` is a DGA codigoObra (``OB-0101-12``, ``OR-0502-7``)."""
    return DGA_CODE.match(code) is not None


class PointFields(BaseModel):
    """Everything about a point except its code; the rules every stored point satisfies."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=200)
    kind: PointKind
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS84 degrees; south is negative")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS84 degrees; west is negative")
    water_right_lps: float | None = Field(default=None, ge=0, description="Granted extraction right, L/s")
    sensor_depth_m: float | None = Field(default=None, ge=0, description="Level sensor depth below the collar, m")
    flow_cutoff_lps: float = Field(default=0, ge=0, description="Flows below this count as zero, L/s")
    status: PointStatus = "active"

    @model_validator(mode="after")
    def _position_is_a_pair(self) -> PointFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude y longitude van juntas: dé las dos o ninguna")
        return self


class PointCreate(PointFields):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "code": "OB-0101-12", "name": "Pozo 1 Fundo El Olivo", "kind": "subterranea",
        "latitude": -33.45, "longitude": -70.66, "water_right_lps": 25.0, "sensor_depth_m": 42.0,
        "flow_cutoff_lps": 0.2, "status": "active",
    }]}}

    code: str = Field(pattern=CODE_PATTERN, description="DGA codigoObra (OB-0101-12) or an own code")

    @field_validator("code")
    @classmethod
    def _dga_codes_are_well_formed(cls, code: str) -> str:
        if _LOOKS_DGA.match(code) and not is_dga_code(code):
            raise ValueError(f"{code!r} empieza como un codigoObra de la DGA pero no lo es (se espera algo como OB-0101-12)")
        return code


class PointUpdate(BaseModel):
    """A partial change: fields left out keep their value; ``null`` clears an optional one."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"status": "maintenance"}, {"water_right_lps": 30.0, "flow_cutoff_lps": 0.5},
    ]}}

    name: str | None = None
    kind: PointKind | None = None
    latitude: float | None = None
    longitude: float | None = None
    water_right_lps: float | None = None
    sensor_depth_m: float | None = None
    flow_cutoff_lps: float | None = None
    status: PointStatus | None = None


class Point(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "id": 1, "code": "OB-0101-12", "name": "Pozo 1 Fundo El Olivo", "kind": "subterranea",
        "latitude": -33.45, "longitude": -70.66, "water_right_lps": 25.0, "sensor_depth_m": 42.0,
        "flow_cutoff_lps": 0.2, "status": "active", "gateway": "fundo-el-olivo",
        "created_at": "2026-11-28T13:00:00Z", "updated_at": "2026-11-28T13:00:00Z",
    }]}}

    id: int
    code: str
    name: str
    kind: PointKind
    latitude: float | None
    longitude: float | None
    water_right_lps: float | None
    sensor_depth_m: float | None
    flow_cutoff_lps: float
    status: PointStatus
    gateway: str | None = Field(description="The gateway that reports this point, if any")
    created_at: datetime
    updated_at: datetime


def point_by_code(conn: Connection, code: str) -> Point | None:
    """Any point by code, without a visibility check (for workers and other domains)."""
    row = conn.fetchone(f"{_SELECT} WHERE p.code = :code", {"code": code})
    return None if row is None else Point(**row)


def get_point(conn: Connection, user: User, code: str) -> Point:
    """The point if ``user`` may see it; otherwise 404, whether or not it exists."""
    point = point_by_code(conn, code)
    if point is None or not _may_see(conn, user, point.id):
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _may_see(conn: Connection, user: User, point_id: int) -> bool:
    if user.is_admin:
        return True
    return conn.fetchone(
        "SELECT 1 AS x FROM user_points WHERE user_id = :u AND point_id = :p", {"u": user.id, "p": point_id}
    ) is not None


def list_points(
    conn: Connection, user: User, paging: PageQuery, *, status: str | None = None, kind: str | None = None
) -> Page[Point]:
    """The points ``user`` may see, by code, optionally of one status and/or kind."""
    clauses, params = [], {}
    if not user.is_admin:
        clauses.append("p.id IN (SELECT point_id FROM user_points WHERE user_id = :uid)")
        params["uid"] = user.id
    for column, value in (("status", status), ("kind", kind)):
        if value is not None:
            clauses.append(f"p.{column} = :{column}")
            params[column] = value
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return fetch_page(conn, f"{_SELECT}{where} ORDER BY p.code", params, paging, lambda row: Point(**row))


def create_point(conn: Connection, new: PointCreate, actor: str, now: datetime) -> Point:
    """A new point; 409 if the code is taken."""
    values = new.model_dump()
    columns = ", ".join(values)
    try:
        conn.execute(
            f"INSERT INTO points ({columns}, created_at, updated_at)"
            f" VALUES ({', '.join(':' + c for c in values)}, :now, :now)",
            {**values, "now": now},
        )
    except IntegrityError:
        raise Conflict(f"ya existe un punto con código {new.code!r}") from None
    audit.record(conn, actor, "point.created", f"point:{new.code}", now, **values)
    return _existing(conn, new.code)


def update_point(conn: Connection, code: str, change: PointUpdate, actor: str, now: datetime) -> Point:
    """Apply a partial change; the result must satisfy the same rules as a new point (else 422)."""
    current = _existing(conn, code)
    fields = change.model_dump(exclude_unset=True)
    merged = {**current.model_dump(include=set(_EDITABLE)), **fields}
    try:
        PointFields(**merged)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    if fields:
        assignments = ", ".join(f"{column} = :{column}" for column in fields)
        conn.execute(f"UPDATE points SET {assignments}, updated_at = :now WHERE id = :id",
                     {**fields, "now": now, "id": current.id})
        audit.record(conn, actor, "point.changed", f"point:{code}", now, **fields)
    return _existing(conn, code)


def delete_point(conn: Connection, code: str, actor: str, now: datetime) -> None:
    """Delete a point that has no recorded data; one with history should become inactive instead."""
    point = _existing(conn, code)
    try:
        conn.execute("DELETE FROM points WHERE id = :id", {"id": point.id})
    except IntegrityError:
        raise Conflict(f"el punto {code!r} tiene datos registrados; cambie su estado a inactive en vez de borrarlo") from None
    audit.record(conn, actor, "point.deleted", f"point:{code}", now, name=point.name)


def grant_point(conn: Connection, code: str, username: str, actor: str, now: datetime) -> None:
    """Let ``username`` see the point (idempotent; audited only when it changes something)."""
    point_id, user_id = _existing(conn, code).id, _user_id(conn, username)
    if conn.fetchone("SELECT 1 AS x FROM user_points WHERE user_id = :u AND point_id = :p",
                     {"u": user_id, "p": point_id}):
        return
    conn.execute("INSERT INTO user_points (user_id, point_id) VALUES (:u, :p)", {"u": user_id, "p": point_id})
    audit.record(conn, actor, "point.access_granted", f"point:{code}", now, username=username)


def revoke_point(conn: Connection, code: str, username: str, actor: str, now: datetime) -> None:
    """Stop ``username`` seeing the point (idempotent; audited only when it changes something)."""
    point_id, user_id = _existing(conn, code).id, _user_id(conn, username)
    removed = conn.execute("DELETE FROM user_points WHERE user_id = :u AND point_id = :p",
                           {"u": user_id, "p": point_id})
    if removed:
        audit.record(conn, actor, "point.access_revoked", f"point:{code}", now, username=username)


def point_usernames(conn: Connection, code: str, paging: PageQuery) -> Page[str]:
    """A page of who has been granted the point, by name (admins see every point without a grant)."""
    return fetch_page(
        conn, "SELECT u.username FROM user_points up JOIN users u ON u.id = up.user_id WHERE up.point_id = :p"
        " ORDER BY u.username", {"p": _existing(conn, code).id}, paging, lambda row: row["username"])


def user_point_codes(conn: Connection, username: str, paging: PageQuery) -> Page[str]:
    """A page of the points granted to ``username``, by code (an administrator sees every point anyway)."""
    return fetch_page(
        conn, "SELECT p.code FROM user_points up JOIN points p ON p.id = up.point_id WHERE up.user_id = :u"
        " ORDER BY p.code", {"u": _user_id(conn, username)}, paging, lambda row: row["code"])


def set_user_points(conn: Connection, username: str, codes: list[str], actor: str, now: datetime) -> None:
    """Make ``codes`` exactly the points ``username`` is granted, in one transaction: each grant and
    revocation is audited as :func:`grant_point` and :func:`revoke_point` do; an unknown code is a 422
    and changes nothing."""
    user_id, wanted = _user_id(conn, username), point_ids(conn, codes)
    held = {row["code"] for row in conn.fetchall(
        "SELECT p.code FROM user_points up JOIN points p ON p.id = up.point_id WHERE up.user_id = :u", {"u": user_id})}
    for code in sorted(held - set(wanted)):
        revoke_point(conn, code, username, actor, now)
    for code in sorted(set(wanted) - held):
        grant_point(conn, code, username, actor, now)


def point_ids(conn: Connection, codes: list[str], field: str = "points") -> dict[str, int]:
    """``code -> id`` for every code; an unknown code is a 422 naming it."""
    if not codes:
        return {}
    marks = {f"c{i}": code for i, code in enumerate(codes)}
    rows = conn.fetchall(f"SELECT id, code FROM points WHERE code IN ({', '.join(':' + m for m in marks)})", marks)
    found = {row["code"]: row["id"] for row in rows}
    missing = [code for code in codes if code not in found]
    if missing:
        raise Invalid(field, f"no hay un punto con código {', '.join(repr(code) for code in missing)}")
    return found


def visible_point(conn: Connection, user: User, code: str) -> dict[str, Any]:
    """The point row ``user`` may see, else 404 — the same answer as for a code that does not exist."""
    point = point_for_user(conn, user, code)
    if point is None:
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _existing(conn: Connection, code: str) -> Point:
    point = point_by_code(conn, code)
    if point is None:
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _user_id(conn: Connection, username: str) -> int:
    user_id: Any = conn.fetchval("SELECT id FROM users WHERE username = :u", {"u": username})
    if user_id is None:
        raise NotFound(f"no hay un usuario llamado {username!r}")
    return int(user_id)
