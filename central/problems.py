"""The refusals of the library code (core, telemetry, notify, compliance), as domain errors:
what was refused and why.

The library functions raise these and know nothing of HTTP; the API edge maps each kind to
its status (:data:`central.errors.PROBLEM_STATUS`: not found 404, conflict 409, invalid 422,
too many attempts 429 with Retry-After) and the command line prints the message. Each
message says what and where; ``code`` is the stable reason a client may branch on (the
status's own, ``not_found``, ``conflict``..., unless the refusal names a finer one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from central.db import IntegrityError


class Problem(Exception):
    """A refusal a person can act on; ``details`` are per-field problems when there are any."""

    def __init__(self, message: str, details: Any = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.code = code


class NotFound(Problem):
    """What was named does not exist (or is not visible to whoever asked)."""


class Conflict(Problem):
    """The request contradicts what is stored (a name taken, a point still in use...)."""


@contextmanager
def conflict_on_integrity(message: str) -> Iterator[None]:
    """Turn the database's refusal of a write (a name taken, a row still referred to) into a
    :class:`Conflict` that says which, in the words of the service that tried it."""
    try:
        yield
    except IntegrityError:
        raise Conflict(message) from None


class Invalid(Problem):
    """Input that passed the schema but not the rules that need the database, the time or
    another stored thing (the point a configuration is for, the month a report covers)."""


class InvalidField(Invalid):
    """One body field refused: the message and the details name it, as a schema refusal would."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details=[{"loc": ["body", *field.split(".")], "msg": message}])


class TooManyAttempts(Problem):
    """Too many failed attempts: refused until ``retry_after_s`` seconds have passed."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
