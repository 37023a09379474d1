"""How many password guesses a username, and a client address, get before they are locked.

Each login attempt is counted *before* its password is checked, in one statement that
cannot race (an upsert that refuses a locked row and returns the new count), so parallel
guesses cannot slip in between a check and its count: of 40 guesses sent at once, only
the first :data:`FREE_FAILURES` reach argon2. Attempts are counted per username (known or
not) and per client address (one address guessing many usernames); a correct password
takes its attempt back (:func:`forgive`).

After ``free`` counted attempts the key is locked for :data:`FIRST_LOCK`, and each further
attempt admitted once a lock expires doubles it, up to :data:`LONGEST_LOCK`. Counts older
than :data:`FORGOTTEN_AFTER` start over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple, NoReturn

from central.core.auth import store
from central.db import Connection
from central.problems import TooManyAttempts

FREE_FAILURES = 5  # per username
FREE_FAILURES_PER_ADDRESS = 20  # per client address, across usernames
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
FORGOTTEN_AFTER = timedelta(hours=1)

Scope = Literal["user", "address"]
_REFUSED = {
    "user": "demasiados ingresos fallidos con este usuario",
    "address": "demasiados ingresos fallidos desde esta dirección",
}


class Key(NamedTuple):
    """What attempts are counted against: a username or a client address."""

    scope: Scope
    subject: str
    free: int


def keys_for(username: str, address: str) -> list[Key]:
    """The address first, then the username: every login locks its rows in this order, so
    two logins never wait on each other in a cycle (PostgreSQL)."""
    return [Key("address", address, FREE_FAILURES_PER_ADDRESS), Key("user", username, FREE_FAILURES)]


def lock_for(attempts: int, free: int = FREE_FAILURES) -> timedelta:
    """How long a key stays locked once ``attempts`` attempts in a row are counted against it."""
    if attempts < free:
        return timedelta(0)
    return min(FIRST_LOCK * 2 ** (attempts - free), LONGEST_LOCK)


def count_attempt(conn: Connection, key: Key, now: datetime) -> None:
    """Count one attempt against ``key``, or raise :class:`TooManyAttempts` while it is locked.

    The count and the lock it earns are written in the caller's transaction, in one statement
    that cannot race (:func:`central.core.auth.store.count_attempt`)."""
    attempts = store.count_attempt(conn, key.scope, key.subject, now, now - FORGOTTEN_AFTER)
    if attempts is None:
        _refuse(conn, key, now)
    lock = lock_for(attempts, key.free)
    if lock:
        store.lock_attempts(conn, key.scope, key.subject, now + lock)


def _refuse(conn: Connection, key: Key, now: datetime) -> NoReturn:
    wait = int((store.locked_until(conn, key.scope, key.subject) - now).total_seconds()) + 1
    raise TooManyAttempts(f"{_REFUSED[key.scope]}; intente de nuevo en {wait} s", wait)


def forgive(conn: Connection, username: str, address: str) -> None:
    """A correct password: the username starts over, and the address gets its attempt back
    (and any lock that attempt set), so people logging in from one office are not locked
    out by their own successes while a guesser's failures still count."""
    store.forgive_attempt(conn, username, address)


def forget_old(conn: Connection, now: datetime) -> None:
    """Delete counts nobody added to for :data:`FORGOTTEN_AFTER` (a guesser trying random
    usernames leaves one row per name)."""
    store.forget_attempts_before(conn, now - FORGOTTEN_AFTER)
