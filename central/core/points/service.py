"""Catchment points (obras de captación): what is measured, where, under which water right.

Non-admin users see only the points granted to them; for anyone else a point they may not
see does not exist (404). Every change writes an audit row in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from central.core.audit import store as audit
from central.core.auth.models import User
from central.core.lookups import point_for_user
from central.core.points import store
from central.core.points.models import EDITABLE, Point, PointCreate, PointFields, PointUpdate
from central.db import Connection
from central.errors import invalid_body
from central.pagination import Page, PageQuery
from central.problems import InvalidField, NotFound, conflict_on_integrity


def get_point(conn: Connection, user: User, code: str) -> Point:
    """The point if ``user`` may see it; otherwise 404, whether or not it exists."""
    point = store.point_by_code(conn, code)
    if point is None or not (user.is_admin or store.is_granted(conn, user.id, point.id)):
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def list_points(
    conn: Connection, user: User, paging: PageQuery, *, status: str | None = None, kind: str | None = None
) -> Page[Point]:
    """The points ``user`` may see, by code, optionally of one status and/or kind."""
    return store.points_page(conn, paging, granted_to=None if user.is_admin else user.id, status=status, kind=kind)


def create_point(conn: Connection, new: PointCreate, actor: str, now: datetime) -> Point:
    """A new point; 409 if the code is taken."""
    values = new.model_dump()
    with conflict_on_integrity(f"ya existe un punto con código {new.code!r}"):
        store.insert_point(conn, values, now)
    audit.record(conn, actor, "point.created", f"point:{new.code}", now, **values)
    return _existing(conn, new.code)


def update_point(conn: Connection, code: str, change: PointUpdate, actor: str, now: datetime) -> Point:
    """Apply a partial change; the result must satisfy the same rules as a new point (else 422)."""
    current = _existing(conn, code)
    fields = change.model_dump(exclude_unset=True)
    merged = {**current.model_dump(include=set(EDITABLE)), **fields}
    try:
        PointFields(**merged)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    if fields:
        store.update_columns(conn, current.id, fields, now)
        audit.record(conn, actor, "point.changed", f"point:{code}", now, **fields)
    return _existing(conn, code)


def delete_point(conn: Connection, code: str, actor: str, now: datetime) -> None:
    """Delete a point that has no recorded data; one with history should become inactive instead."""
    point = _existing(conn, code)
    with conflict_on_integrity(
        f"el punto {code!r} tiene datos registrados; cambie su estado a inactive en vez de borrarlo"
    ):
        store.delete_point(conn, point.id)
    audit.record(conn, actor, "point.deleted", f"point:{code}", now, name=point.name)


def grant_point(conn: Connection, code: str, username: str, actor: str, now: datetime) -> None:
    """Let ``username`` see the point (idempotent; audited only when it changes something)."""
    point_id, user_id = _existing(conn, code).id, _user_id(conn, username)
    if store.is_granted(conn, user_id, point_id):
        return
    store.grant(conn, user_id, point_id)
    audit.record(conn, actor, "point.access_granted", f"point:{code}", now, username=username)


def revoke_point(conn: Connection, code: str, username: str, actor: str, now: datetime) -> None:
    """Stop ``username`` seeing the point (idempotent; audited only when it changes something)."""
    point_id, user_id = _existing(conn, code).id, _user_id(conn, username)
    if store.revoke(conn, user_id, point_id):
        audit.record(conn, actor, "point.access_revoked", f"point:{code}", now, username=username)


def point_usernames(conn: Connection, code: str, paging: PageQuery) -> Page[str]:
    """A page of who has been granted the point, by name (admins see every point without a grant)."""
    return store.grantees_page(conn, _existing(conn, code).id, paging)


def user_point_codes(conn: Connection, username: str, paging: PageQuery) -> Page[str]:
    """A page of the points granted to ``username``, by code (an administrator sees every point anyway)."""
    return store.granted_codes_page(conn, _user_id(conn, username), paging)


def set_user_points(conn: Connection, username: str, codes: list[str], actor: str, now: datetime) -> None:
    """Make ``codes`` exactly the points ``username`` is granted, in one transaction: each grant and
    revocation is audited as :func:`grant_point` and :func:`revoke_point` do; an unknown code is a 422
    and changes nothing."""
    user_id, wanted = _user_id(conn, username), point_ids(conn, codes)
    held = store.granted_codes(conn, user_id)
    for code in sorted(held - set(wanted)):
        revoke_point(conn, code, username, actor, now)
    for code in sorted(set(wanted) - held):
        grant_point(conn, code, username, actor, now)


def point_ids(conn: Connection, codes: list[str], field: str = "points") -> dict[str, int]:
    """``code -> id`` for every code; an unknown code is a 422 naming it."""
    if not codes:
        return {}
    found = store.ids_of(conn, codes)
    missing = [code for code in codes if code not in found]
    if missing:
        raise InvalidField(field, f"no hay un punto con código {', '.join(repr(code) for code in missing)}")
    return found


def visible_point(conn: Connection, user: User, code: str) -> dict[str, Any]:
    """The point row ``user`` may see, else 404 — the same answer as for a code that does not exist."""
    point = point_for_user(conn, user, code)
    if point is None:
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _existing(conn: Connection, code: str) -> Point:
    point = store.point_by_code(conn, code)
    if point is None:
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _user_id(conn: Connection, username: str) -> int:
    user_id = store.user_id(conn, username)
    if user_id is None:
        raise NotFound(f"no hay un usuario llamado {username!r}")
    return user_id
