"""Accounts, profiles and passwords: the rules around the ``users`` table.

Passwords are hashed with argon2 here and never leave this package. Every change writes an
audit row in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from central.core.audit import store as audit
from central.core.auth import store as auth_store
from central.core.auth.models import User
from central.core.users import store
from central.core.users.models import ProfileUpdate, UserCreate, UserOut, UserUpdate
from central.crypto import hash_password, verify_password
from central.db import Connection
from central.pagination import Page, PageQuery
from central.problems import Conflict, InvalidField, NotFound, conflict_on_integrity


def _row(conn: Connection, username: str) -> dict[str, Any]:
    row = store.user_row(conn, username)
    if row is None:
        raise NotFound(f"no hay un usuario llamado {username!r}")
    return row


def get_user(conn: Connection, username: str) -> UserOut:
    row = _row(conn, username)
    row.pop("id")
    return UserOut(**row)


def list_users(conn: Connection, paging: PageQuery, *, active: bool | None = None) -> Page[UserOut]:
    return store.users_page(conn, paging, active)


def create_user(conn: Connection, new: UserCreate, actor: str, now: datetime) -> UserOut:
    """A new account; 409 if the username is taken."""
    values = new.model_dump(exclude={"password"})
    with conflict_on_integrity(f"ya existe un usuario llamado {new.username!r}"):
        store.insert_user(conn, values, hash_password(new.password.get_secret_value()), now)
    audit.record(conn, actor, "user.created", f"user:{new.username}", now, **values)
    return get_user(conn, new.username)


def update_user(conn: Connection, username: str, change: UserUpdate, actor: str, now: datetime) -> UserOut:
    """An administrator's change; refuses to leave the installation without an active admin."""
    row = _row(conn, username)
    fields = change.model_dump(exclude_unset=True)
    if row["is_admin"] and row["is_active"] and (fields.get("is_admin") is False or fields.get("is_active") is False):
        _keep_one_admin(conn, row["id"], username)
    _apply(conn, row["id"], fields)
    if fields.get("is_active") is False or "password" in fields:
        auth_store.revoke_user_tokens(conn, row["id"], now)
    if fields:
        audit.record(conn, actor, "user.changed", f"user:{username}", now, **_described(fields))
    return get_user(conn, username)


def deactivate_user(conn: Connection, username: str, actor: str, now: datetime) -> UserOut:
    """Locks the account and revokes every token it has; the history stays."""
    return update_user(conn, username, UserUpdate(is_active=False), actor, now)


def update_profile(conn: Connection, user: User, change: ProfileUpdate, now: datetime) -> UserOut:
    """A person's own change; a new password is refused unless ``old_password`` matches."""
    fields = change.model_dump(exclude_unset=True, exclude={"old_password"})
    if "password" in fields:
        old = change.old_password.get_secret_value() if change.old_password else ""
        if not verify_password(store.password_hash(conn, user.id), old):
            raise InvalidField("old_password", "falta o no coincide con la contraseña actual")
    _apply(conn, user.id, fields)
    if fields:
        audit.record(conn, user.username, "user.changed", f"user:{user.username}", now, **_described(fields))
    return get_user(conn, user.username)


def _keep_one_admin(conn: Connection, user_id: int, username: str) -> None:
    if not store.other_active_admins(conn, user_id):
        raise Conflict(f"{username!r} es el último administrador activo; nombre otro primero")


def _apply(conn: Connection, user_id: int, fields: dict[str, Any]) -> None:
    """Store the changed fields, a new password as its hash."""
    values = dict(fields)
    if "password" in values:
        values["password_hash"] = hash_password(values.pop("password").get_secret_value())
    if values:
        store.update_columns(conn, user_id, values)


def _described(fields: dict[str, Any]) -> dict[str, Any]:
    """What to write in the audit row: the new values, but only the fact of a password change."""
    return {name: ("(changed)" if name == "password" else value) for name, value in fields.items()}
