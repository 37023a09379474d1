"""The refusals of the core library, as API errors with their HTTP status.

The library functions raise these; routes let them through (the app answers the standard
error shape) and the command line prints their message. Each message says what and where.
"""

from __future__ import annotations

from typing import Any

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

