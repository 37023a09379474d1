"""The refusals of the core library, as API errors with their HTTP status.

The library functions raise these; routes let them through (the app answers the standard
error shape) and the command line prints their message. Each message says what and where.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from central.errors import ApiError


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Conflict(ApiError):
    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(409, message, details=details)


class Invalid(ApiError):
    """Input that passed the schema but not the rules that need the database or the time."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(422, f"{field}: {message}", details=[{"loc": ["body", *field.split(".")], "msg": message}])


class TooManyAttempts(ApiError):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(429, message, headers={"Retry-After": str(retry_after_s)})


class ErrorDetail(BaseModel):
    status: int
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no point with code OB-0101-12"])
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_DESCRIPTIONS = {
    401: "Missing, invalid, expired or revoked token",
    403: "The caller is not an administrator",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state; the message says with what",
    422: "The request is not valid; the message names the field",
    429: "Too many failed attempts; retry after the Retry-After header",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer these error statuses."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}
