"""People who use the central server: accounts, profiles and passwords.

Passwords are hashed with argon2 and never leave this module; they travel as
``SecretStr`` so a log line or a repr cannot show them. Every change writes an audit row
in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator

from central.core import audit
from central.core.auth import User
from central.core.problems import Conflict, Invalid, NotFound
from central.crypto import hash_password, verify_password
from central.db import Connection, IntegrityError
from central.pagination import Page, PageQuery, fetch_page

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
RESERVED_USERNAMES = frozenset({"me"})
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def _email() -> Any:
    return Field(default=None, pattern=EMAIL_PATTERN, max_length=254)


def _phone() -> Any:
    return Field(default=None, pattern=PHONE_PATTERN, description="E.164, for SMS: +56912345678")


def _password(**default: Any) -> Any:
    return Field(description=f"At least {MIN_PASSWORD_LENGTH} characters", **default,
                 json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH})


def _check_password(value: SecretStr | None) -> SecretStr | None:
    """A length check that, unlike ``min_length``, says "characters" and never echoes the value."""
    if value is not None and not MIN_PASSWORD_LENGTH <= len(value.get_secret_value()) <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"debe tener de {MIN_PASSWORD_LENGTH} a {MAX_PASSWORD_LENGTH} caracteres")
    return value


def _refuse_null(value: Any) -> Any:
    """A change may leave a flag or the password out, but null would mean nothing for it."""
    if value is None:
        raise ValueError("se puede omitir, pero no ser null")
    return value


_COLUMNS = "username, email, phone, is_admin, is_active, notify_email, notify_sms, created_at"


class UserCreate(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "username": "ana", "password": "correct horse battery", "email": "ana@example.cl",
        "phone": "+56912345678", "is_admin": False, "notify_email": True, "notify_sms": True,
    }]}}

    username: str = Field(pattern=USERNAME_PATTERN, description="Lower-case letters, digits, '.', '_', '-'")
    password: SecretStr = _password()
    email: str | None = _email()
    phone: str | None = _phone()
    is_admin: bool = False
    notify_email: bool = True
    notify_sms: bool = False

    _password_length = field_validator("password")(_check_password)

    @field_validator("username")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_USERNAMES:
            raise ValueError(f"'{value}' está reservado")
        return value


class UserOut(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "username": "ana", "email": "ana@example.cl", "phone": "+56912345678", "is_admin": False,
        "is_active": True, "notify_email": True, "notify_sms": True, "created_at": "2026-11-28T13:00:00Z",
    }]}}

    username: str
    email: str | None
    phone: str | None
    is_admin: bool
    is_active: bool
    notify_email: bool
    notify_sms: bool
    created_at: datetime


class _Change(BaseModel):
    """A partial update: only the fields present change; ``null`` clears e-mail or phone."""

    email: str | None = _email()
    phone: str | None = _phone()
    notify_email: bool | None = None
    notify_sms: bool | None = None
    password: SecretStr | None = _password(default=None)

    _password_length = field_validator("password")(_check_password)

    _not_null = field_validator("notify_email", "notify_sms", "password", mode="after")(_refuse_null)


class UserUpdate(_Change):
    """What an administrator may change on any account (a password here is a reset)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"is_admin": True}, {"is_active": False}, {"password": "a new long password"},
    ]}}

    is_admin: bool | None = None
    is_active: bool | None = None

    _flags_not_null = field_validator("is_admin", "is_active", mode="after")(_refuse_null)


class ProfileUpdate(_Change):
    """What a person may change on their own account; a new password needs the old one."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"email": "ana@example.cl", "notify_sms": False},
        {"password": "a new long password", "old_password": "correct horse battery"},
    ]}}

    old_password: SecretStr | None = Field(default=None, description="Needed to change the password")


def _row(conn: Connection, username: str) -> dict[str, Any]:
    row = conn.fetchone(f"SELECT id, {_COLUMNS} FROM users WHERE username = :u", {"u": username})
    if row is None:
        raise NotFound(f"no hay un usuario llamado {username!r}")
    return row


def get_user(conn: Connection, username: str) -> UserOut:
    row = _row(conn, username)
    row.pop("id")
    return UserOut(**row)


def list_users(conn: Connection, paging: PageQuery, *, active: bool | None = None) -> Page[UserOut]:
    where = "" if active is None else " WHERE is_active = :active"
    sql = f"SELECT {_COLUMNS} FROM users{where} ORDER BY username"
    return fetch_page(conn, sql, {} if active is None else {"active": active}, paging, lambda r: UserOut(**r))


def create_user(conn: Connection, new: UserCreate, actor: str, now: datetime) -> UserOut:
    """A new account; 409 if the username is taken."""
    values = new.model_dump(exclude={"password"})
    try:
        conn.execute(
            "INSERT INTO users (username, email, phone, password_hash, is_admin, is_active, notify_email,"
            " notify_sms, created_at) VALUES (:username, :email, :phone, :password_hash, :is_admin, TRUE,"
            " :notify_email, :notify_sms, :now)",
            {**values, "password_hash": hash_password(new.password.get_secret_value()), "now": now},
        )
    except IntegrityError:
        raise Conflict(f"ya existe un usuario llamado {new.username!r}") from None
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
        revoke_all_tokens(conn, row["id"], now)
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
        stored = conn.fetchval("SELECT password_hash FROM users WHERE id = :id", {"id": user.id})
        old = change.old_password.get_secret_value() if change.old_password else ""
        if not verify_password(stored, old):
            raise Invalid("old_password", "falta o no coincide con la contraseña actual")
    _apply(conn, user.id, fields)
    if fields:
        audit.record(conn, user.username, "user.changed", f"user:{user.username}", now, **_described(fields))
    return get_user(conn, user.username)


def revoke_all_tokens(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE api_tokens SET revoked_at = :now WHERE user_id = :id AND revoked_at IS NULL",
        {"now": now, "id": user_id},
    )


def _keep_one_admin(conn: Connection, user_id: int, username: str) -> None:
    others = conn.fetchval(
        "SELECT COUNT(*) FROM users WHERE is_admin AND is_active AND id <> :id", {"id": user_id}
    )
    if not others:
        raise Conflict(f"{username!r} es el último administrador activo; nombre otro primero")


def _apply(conn: Connection, user_id: int, fields: dict[str, Any]) -> None:
    """UPDATE the given columns (names come from the models, never from the request)."""
    values = dict(fields)
    if "password" in values:
        values["password_hash"] = hash_password(values.pop("password").get_secret_value())
    if not values:
        return
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    conn.execute(f"UPDATE users SET {assignments} WHERE id = :user_id", {**values, "user_id": user_id})


def _described(fields: dict[str, Any]) -> dict[str, Any]:
    """What to write in the audit row: the new values, but only the fact of a password change."""
    return {name: ("(changed)" if name == "password" else value) for name, value in fields.items()}
