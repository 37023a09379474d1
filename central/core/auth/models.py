"""Who is calling (a user or a gateway), and what logging in and personal tokens exchange."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr

from central.timerange import ACCEPTED_RANGE, BoundedTime


class User(BaseModel):
    id: int
    username: str
    email: str | None = None
    phone: str | None = None
    is_admin: bool = False
    notify_email: bool = True
    notify_sms: bool = False


class Gateway(BaseModel):
    id: int
    name: str


class LoginRequest(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"username": "ana", "password": "correct horse battery"}]}}

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class IssuedSession(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "access_token": "cau_s_4Vh0...",
                    "token_type": "bearer",
                    "expires_at": "2026-11-29T01:00:00Z",
                }
            ]
        }
    }

    access_token: str = Field(description="Send as Authorization: Bearer <token>")
    token_type: str = "bearer"
    expires_at: datetime


class PersonalTokenCreate(BaseModel):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"name": "grafana", "expires_at": "2027-12-31T00:00:00Z"},
                {"name": "backup script"},
            ]
        },
    }

    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    expires_at: BoundedTime | None = Field(default=None, description=f"Never expires when left out; {ACCEPTED_RANGE}")


class PersonalToken(BaseModel):
    """A personal token as listed: everything but the token itself."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 3,
                    "name": "grafana",
                    "created_at": "2026-11-28T13:00:00Z",
                    "last_used_at": "2026-11-28T14:05:00Z",
                    "expires_at": None,
                }
            ]
        }
    }

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When a request last used the token, within a minute: it moves at most once a minute"
    )
    expires_at: datetime | None


class NewPersonalToken(PersonalToken):
    """The answer to creating a token: the only time the token is shown."""

    token: str = Field(description="Shown only now; store it somewhere safe")
