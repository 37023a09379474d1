"""What an account looks like from outside, and the changes the API accepts for one.

Passwords travel as ``SecretStr`` so a log line or a repr cannot show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator

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
    return Field(
        description=f"At least {MIN_PASSWORD_LENGTH} characters",
        **default,
        json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH},
    )


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


class UserCreate(BaseModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "username": "ana",
                    "password": "correct horse battery",
                    "email": "ana@example.cl",
                    "phone": "+56912345678",
                    "is_admin": False,
                    "notify_email": True,
                    "notify_sms": True,
                }
            ]
        },
    }

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
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "username": "ana",
                    "email": "ana@example.cl",
                    "phone": "+56912345678",
                    "is_admin": False,
                    "is_active": True,
                    "notify_email": True,
                    "notify_sms": True,
                    "created_at": "2026-11-28T13:00:00Z",
                }
            ]
        }
    }

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

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"is_admin": True},
                {"is_active": False},
                {"password": "a new long password"},
            ]
        },
    }

    is_admin: bool | None = None
    is_active: bool | None = None

    _flags_not_null = field_validator("is_admin", "is_active", mode="after")(_refuse_null)


class ProfileUpdate(_Change):
    """What a person may change on their own account; a new password needs the old one."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"email": "ana@example.cl", "notify_sms": False},
                {"password": "a new long password", "old_password": "correct horse battery"},
            ]
        },
    }

    old_password: SecretStr | None = Field(default=None, description="Needed to change the password")


class UserPointsUpdate(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"points": ["OB-0101-12"]}]}}

    points: list[str] = Field(description="The complete new list of point codes the account may see")
